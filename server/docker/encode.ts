// From Flowlab's specs to the Engine API's create options: every container and service Flowlab
// makes gets the same locked-down defaults here (no privileges, no-new-privileges, limits, a
// bounded json-file log), whatever layer asked for it. Pure: tested without Docker.
import type Docker from 'dockerode';
import type { ContainerSpec, EndpointSpec, HealthcheckSpec, SwarmServiceSpec } from './specs.ts';

/** What `docker create` sends for a container spec: Flowlab's locked-down defaults, the spec's settings. */
export function containerCreateOptions(spec: ContainerSpec): Docker.ContainerCreateOptions {
  const net = spec.network;
  const first = net.kind === 'networks' ? net.endpoints[0] : undefined;
  const networkMode =
    net.kind === 'networks' ? first?.network ?? 'none'
    : net.kind === 'container' ? `container:${net.container}`
    : net.kind === 'default-bridge' ? 'bridge'
    : net.kind;
  const exposed: Record<string, object> = {};
  for (const p of [...spec.ports.map((p) => ({ port: p.containerPort, proto: p.proto })), ...spec.exposed]) exposed[`${p.port}/${p.proto}`] = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of spec.ports) (bindings[`${p.containerPort}/${p.proto}`] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  return {
    name: spec.name,
    Image: spec.image,
    ...(spec.command ? { Cmd: spec.command } : {}),
    Env: spec.env,
    Labels: spec.labels,
    ExposedPorts: exposed,
    ...(spec.healthcheck ? { Healthcheck: healthConfig(spec.healthcheck) } : {}),
    ...(spec.nestedEngine ? { Hostname: spec.nestedEngine.hostname } : {}),
    HostConfig: {
      NetworkMode: networkMode,
      PortBindings: bindings,
      Dns: spec.dns,
      DnsSearch: spec.dnsSearch,
      DnsOptions: spec.dnsOptions,
      ExtraHosts: spec.extraHosts,
      CapAdd: spec.capAdd,
      CapDrop: spec.capDrop,
      SecurityOpt: securityOpt(spec),
      ReadonlyRootfs: spec.readOnly,
      Tmpfs: spec.tmpfs,
      Memory: spec.memoryBytes,
      MemorySwap: spec.memoryBytes,
      NanoCpus: spec.nanoCpus,
      PidsLimit: spec.pidsLimit,
      Init: spec.init,
      Privileged: false,
      RestartPolicy: { Name: 'no' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } },
    },
    NetworkingConfig: first ? { EndpointsConfig: { [first.network]: endpointConfig(first) } } : {},
  };
}

/** Every container may not gain privileges; an engine node runs without profiles (--privileged is refused on many hosts). */
export function securityOpt(spec: ContainerSpec): string[] {
  return spec.nestedEngine ? ['seccomp=unconfined', 'apparmor=unconfined'] : ['no-new-privileges'];
}

/** What `docker service create` sends for a swarm service spec. */
export function serviceCreateOptions(spec: SwarmServiceSpec): Docker.CreateServiceOptions {
  return {
    Name: spec.name,
    Labels: spec.labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.image,
        ...(spec.command ? { Args: spec.command } : {}),
        Env: spec.env,
        Labels: spec.labels,
        Init: true,
        ReadOnly: spec.readOnly,
        CapabilityAdd: spec.capAdd,
        CapabilityDrop: spec.capDrop,
        DNSConfig: { Nameservers: spec.dns, Options: spec.dnsOptions },
        Mounts: Object.keys(spec.tmpfs).map((path) => ({ Type: 'tmpfs', Target: path, TmpfsOptions: { SizeBytes: 16 * 1024 * 1024 } })),
        ...(spec.healthcheck ? { HealthCheck: healthConfig(spec.healthcheck) } : {}),
      },
      Resources: { Limits: { MemoryBytes: spec.memoryBytes, NanoCPUs: spec.nanoCpus, Pids: spec.pidsLimit } },
      RestartPolicy: { Condition: 'on-failure', MaxAttempts: 3 },
      Networks: spec.networks.map((n) => ({ Target: n.network, Aliases: n.aliases })),
      ...(spec.constraints?.length ? { Placement: { Constraints: spec.constraints } } : {}),
    },
    Mode: { Replicated: { Replicas: spec.replicas } },
    EndpointSpec: { Mode: spec.endpointMode },
  } as Docker.CreateServiceOptions;
}

export function endpointConfig(e: Omit<EndpointSpec, 'network'>): Docker.EndpointSettings {
  return { Aliases: e.aliases, ...(e.ipv4Address ? { IPAMConfig: { IPv4Address: e.ipv4Address } } : {}) };
}

function healthConfig(h: HealthcheckSpec) {
  const ns = (ms: number | undefined) => (ms === undefined ? undefined : ms * 1e6);
  return { Test: h.test, Interval: ns(h.intervalMs), Timeout: ns(h.timeoutMs), Retries: h.retries, StartPeriod: ns(h.startPeriodMs) };
}
