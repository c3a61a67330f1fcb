// From the Engine API's inspect answers to Flowlab's records (server/docker/types.ts). Pure:
// tested without Docker.
import type Docker from 'dockerode';
import type { PublishedPort } from './specs.ts';
import type { ContainerState, EndpointState, NetworkDetails } from './types.ts';

export function decodeContainer(c: Docker.ContainerInspectInfo): ContainerState {
  const networks: Record<string, EndpointState> = {};
  for (const [name, n] of Object.entries(c.NetworkSettings?.Networks ?? {})) {
    networks[name] = { ip: n.IPAddress, aliases: n.Aliases ?? [], networkId: n.NetworkID, gateway: n.Gateway };
  }
  const ports: PublishedPort[] = [];
  for (const [key, binds] of Object.entries(c.NetworkSettings?.Ports ?? {})) {
    const [port, proto] = key.split('/');
    for (const b of binds ?? []) ports.push({ hostIp: b.HostIp, hostPort: Number(b.HostPort), containerPort: Number(port), proto: proto as 'tcp' });
  }
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    image: c.Config.Image,
    labels: c.Config.Labels ?? {},
    running: c.State.Running,
    paused: c.State.Paused,
    status: c.State.Status,
    startedAt: c.State.StartedAt,
    exitCode: c.State.ExitCode,
    health: (c.State.Health?.Status as ContainerState['health']) ?? 'none',
    networkMode: c.HostConfig.NetworkMode ?? '',
    networks,
    ports,
    host: {
      privileged: !!c.HostConfig.Privileged,
      capAdd: c.HostConfig.CapAdd ?? [],
      capDrop: c.HostConfig.CapDrop ?? [],
      readOnly: !!c.HostConfig.ReadonlyRootfs,
      securityOpt: c.HostConfig.SecurityOpt ?? [],
      init: !!(c.HostConfig as { Init?: boolean }).Init,
      memoryBytes: c.HostConfig.Memory ?? 0,
      nanoCpus: c.HostConfig.NanoCpus ?? 0,
      pidsLimit: c.HostConfig.PidsLimit ?? 0,
      dns: c.HostConfig.Dns ?? [],
      dnsSearch: c.HostConfig.DnsSearch ?? [],
      extraHosts: c.HostConfig.ExtraHosts ?? [],
      mounts: [
        ...(c.Mounts ?? []).map((m) => ({ type: String(m.Type), source: String(m.Source ?? ''), destination: String(m.Destination) })),
        ...(c.HostConfig.Binds ?? []).map((b) => ({ type: 'bind', source: b.split(':')[0] ?? '', destination: b.split(':')[1] ?? '' })),
      ],
      tmpfs: Object.keys((c.HostConfig as { Tmpfs?: Record<string, string> }).Tmpfs ?? {}),
    },
  };
}

export function decodeNetwork(n: Docker.NetworkInspectInfo): NetworkDetails {
  return {
    id: n.Id,
    name: n.Name,
    driver: n.Driver,
    internal: !!n.Internal,
    attachable: !!n.Attachable,
    options: n.Options ?? {},
    labels: n.Labels ?? {},
    subnets: (n.IPAM?.Config ?? []).map((c: { Subnet?: string }) => c.Subnet).filter((x: string | undefined): x is string => !!x),
    gateways: (n.IPAM?.Config ?? []).map((c: { Gateway?: string }) => c.Gateway).filter((x: string | undefined): x is string => !!x),
    containers: Object.entries(n.Containers ?? {}).map(([id, c]) => ({ id, name: String((c as { Name?: string }).Name ?? ''), ipv4: String((c as { IPv4Address?: string }).IPv4Address ?? '').split('/')[0] ?? '' })),
  };
}
