// A session as Docker has it right now: addresses, aliases (Docker's own among them: the
// container's name and short id) and host ports, gateways, read back from the daemon (never from
// memory), in the lab's own names.
import { objectName, shortName } from '../docker/labels.ts';
import type { DockerApi } from '../docker/types.ts';
import { hostAt, parseCidr } from '../lab/ipv4.ts';
import { networkDriver } from '../lab/model.ts';
import type { Lab } from '../lab/schema.ts';
import type { Topology, TopologyService } from '../protocol/session.ts';
import { RESOLVER_NAME, type LabPlan, type PlannedService } from './plan.ts';
import { nodesOf, placementOf } from '../lab/nodes.ts';
import type { Allocation } from '../store/sessions.ts';
import { planNodes } from './node-plan.ts';

/** A container service as the plan makes it, before faults: its networks and aliases, its published ports. */
function designedOf(s: PlannedService, labNet: (dockerName: string) => string): NonNullable<TopologyService['designed']> {
  const c = s.container!;
  const mode = s.model.def.network_mode ?? (s.model.attachment.kind === 'default-bridge' ? 'bridge' : 'networks');
  const networks = c.network.kind === 'networks' ? Object.fromEntries(c.network.endpoints.map((e) => [labNet(e.network), e.aliases.filter((a) => a !== s.name)])) : c.network.kind === 'default-bridge' ? { bridge: [] } : {};
  return { network_mode: mode, networks, ports: c.ports.map((p) => ({ host_ip: p.hostIp, host_port: p.hostPort, container_port: p.containerPort, proto: p.proto })) };
}

export async function describeTopology(rt: DockerApi, session: string, lab: Lab, seed: number, plan: LabPlan, engine = 'local', alloc?: Allocation): Promise<Topology> {
  const labNet = (dockerName: string) => shortName(session, dockerName) ?? dockerName;
  const nodes = nodesOf(lab);
  const nodesPlan = alloc ? planNodes(lab, { session, scenario: lab.id, owner: '', registry: '' }, alloc) : undefined;
  const placement = placementOf(lab);
  const onNodes = (s: PlannedService) => (nodes.length ? { nodes: placement[s.name] ?? [] } : {});
  const services: TopologyService[] = await Promise.all(
    plan.services.map(async (s): Promise<TopologyService> => {
      if (s.swarm) {
        return {
          name: s.name,
          container: s.swarm.name,
          kind: 'swarm-service',
          network_mode: 'overlay',
          networks: Object.fromEntries(s.swarm.networks.map((n) => [labNet(n.network), { ip: '', aliases: n.aliases.filter((a) => a !== s.name) }])),
          ports: [],
          replicas: s.swarm.replicas,
          ...onNodes(s),
          designed: { network_mode: 'overlay', networks: Object.fromEntries(s.swarm.networks.map((n) => [labNet(n.network), n.aliases.filter((a) => a !== s.name)])), ports: [] },
        };
      }
      const st = await rt.inspectContainer(s.container!.name);
      return {
        name: s.name,
        container: s.container!.name,
        kind: 'container',
        // What runs now: a fault may have moved a service to the host's network.
        network_mode: st?.networkMode === 'host' ? 'host' : s.model.def.network_mode ?? (s.model.attachment.kind === 'default-bridge' ? 'bridge' : 'networks'),
        networks: Object.fromEntries(
          Object.entries(st?.networks ?? {})
            .filter(([net]) => net !== 'host' && net !== 'none')
            .map(([net, e]) => [labNet(net), { ip: e.ip, aliases: e.aliases }]),
        ),
        ports: (st?.ports ?? []).map((p) => ({ host_ip: p.hostIp, host_port: p.hostPort, container_port: p.containerPort, proto: p.proto })),
        ...onNodes(s),
        designed: designedOf(s, labNet),
      };
    }),
  );
  // Docker records a gateway only when one was asked for; otherwise it takes the subnet's first address.
  const gateways = await Promise.all(plan.networks.map(async (n) => {
    const d = await rt.inspectNetwork(n.spec.name);
    const subnet = d?.subnets[0] ?? n.spec.subnet;
    return d?.gateways[0] ?? (subnet ? hostAt(parseCidr(subnet), 1) : '');
  }));
  return {
    session,
    scenario: lab.id,
    seed,
    engine,
    services,
    networks: plan.networks.map((n, i) => ({
      name: n.name,
      docker_name: n.spec.name,
      gateway: gateways[i]!,
      driver: networkDriver(lab.networks[n.name] ?? {}),
      subnet: n.spec.subnet ?? '',
      internal: n.spec.internal,
      mtu: Number(n.spec.options['com.docker.network.driver.mtu'] ?? (networkDriver(lab.networks[n.name] ?? {}) === 'overlay' ? 1450 : 1500)),
    })),
    ...(plan.resolver ? { resolver: { container: objectName(session, RESOLVER_NAME), ips: { ...plan.resolverIps } } } : {}),
    ...(nodes.length ? { nodes: nodes.map((n) => ({ name: n.name, role: n.role, labels: n.labels, address: nodesPlan?.nodes.find((p) => p.name === n.name)?.ip ?? '' })) } : {}),
  };
}
