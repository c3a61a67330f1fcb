// A lab's services and networks in one canonical shape, whatever Compose spelling the file used.
import { PORT_SHORT_RE, type Lab, type NetworkDef, type ServiceDef } from './schema.ts';

export type Proto = 'tcp' | 'udp';

export interface PortSpec {
  hostIp: string;
  hostPort: number | 'auto';
  containerPort: number;
  proto: Proto;
}

export interface NetworkAttachment {
  network: string;
  aliases: string[];
  ipv4Address?: string;
}

export type Attachment =
  | { kind: 'networks'; networks: NetworkAttachment[] }
  | { kind: 'default-bridge' }
  | { kind: 'host' }
  | { kind: 'none' }
  | { kind: 'service'; service: string };

export interface ServiceModel {
  name: string;
  def: ServiceDef;
  attachment: Attachment;
  ports: PortSpec[];
  /** Container ports the service is expected to listen on: published and exposed ones. */
  listens: { port: number; proto: Proto }[];
  /** Services this one must wait for, with whether it waits for their health. */
  dependsOn: { service: string; healthy: boolean }[];
  swarm: boolean;
}

export const DEFAULT_HOST_IP = '127.0.0.1';

function parsePort(entry: NonNullable<ServiceDef['ports']>[number]): PortSpec {
  if (typeof entry === 'number') return { hostIp: DEFAULT_HOST_IP, hostPort: 'auto', containerPort: entry, proto: 'tcp' };
  if (typeof entry === 'object') {
    return {
      hostIp: entry.host_ip ?? DEFAULT_HOST_IP,
      hostPort: entry.published ?? 'auto',
      containerPort: entry.target,
      proto: entry.protocol ?? 'tcp',
    };
  }
  const m = PORT_SHORT_RE.exec(entry);
  if (!m) throw new Error(`expected a port mapping like "auto:8080", found "${entry}"`);
  return {
    hostIp: m[1] ?? DEFAULT_HOST_IP,
    hostPort: m[2] === undefined || m[2] === 'auto' ? 'auto' : Number(m[2]),
    containerPort: Number(m[3]),
    proto: (m[4] ?? 'tcp') as Proto,
  };
}

function attachmentOf(def: ServiceDef): Attachment {
  const mode = def.network_mode;
  if (mode === 'host') return { kind: 'host' };
  if (mode === 'none') return { kind: 'none' };
  if (mode === 'bridge') return { kind: 'default-bridge' };
  if (mode?.startsWith('service:')) return { kind: 'service', service: mode.slice('service:'.length) };
  if (!def.networks) return { kind: 'default-bridge' };
  if (Array.isArray(def.networks)) return { kind: 'networks', networks: def.networks.map((network) => ({ network, aliases: [] })) };
  return {
    kind: 'networks',
    networks: Object.entries(def.networks).map(([network, opts]) => ({
      network,
      aliases: opts?.aliases ?? [],
      ...(opts?.ipv4_address ? { ipv4Address: opts.ipv4_address } : {}),
    })),
  };
}

function serviceModel(name: string, def: ServiceDef): ServiceModel {
  const attachment = attachmentOf(def);
  const ports = (def.ports ?? []).map(parsePort);
  const listens = new Map<string, { port: number; proto: Proto }>();
  for (const p of ports) listens.set(`${p.containerPort}/${p.proto}`, { port: p.containerPort, proto: p.proto });
  for (const e of def.expose ?? []) {
    const [portText, proto] = String(e).split('/');
    const l = { port: Number(portText), proto: (proto ?? 'tcp') as Proto };
    listens.set(`${l.port}/${l.proto}`, l);
  }
  // As in Compose, the short form waits for the dependency to start, not to be healthy.
  const dependsOn = Array.isArray(def.depends_on)
    ? def.depends_on.map((service) => ({ service, healthy: false }))
    : Object.entries(def.depends_on ?? {}).map(([service, c]) => ({ service, healthy: c.condition === 'service_healthy' }));
  if (attachment.kind === 'service' && !dependsOn.some((d) => d.service === attachment.service)) {
    dependsOn.push({ service: attachment.service, healthy: false });
  }
  return { name, def, attachment, ports, listens: [...listens.values()], dependsOn, swarm: def.deploy !== undefined };
}

export function servicesOf(lab: Lab): ServiceModel[] {
  return Object.entries(lab.services).map(([name, def]) => serviceModel(name, def));
}

export function networkDriver(def: NetworkDef): 'bridge' | 'overlay' {
  return def.driver ?? 'bridge';
}

/** Labs whose sessions cannot be isolated from each other on one host. */
export function isolationLimits(lab: Lab): { defaultBridge: boolean; hostNetwork: boolean } {
  const models = servicesOf(lab);
  return {
    defaultBridge: models.some((s) => s.attachment.kind === 'default-bridge'),
    hostNetwork: models.some((s) => s.attachment.kind === 'host'),
  };
}

/** The first dependency cycle among the services, as a path that ends where it starts. */
export function dependencyCycle(models: ServiceModel[]): string[] | undefined {
  const byName = new Map(models.map((m) => [m.name, m]));
  const done = new Set<string>();
  const visit = (name: string, trail: string[]): string[] | undefined => {
    if (trail.includes(name)) return [...trail.slice(trail.indexOf(name)), name];
    if (done.has(name)) return undefined;
    for (const d of byName.get(name)?.dependsOn ?? []) {
      if (!byName.has(d.service)) continue;
      const cycle = visit(d.service, [...trail, name]);
      if (cycle) return cycle;
    }
    done.add(name);
    return undefined;
  };
  for (const m of models) {
    const cycle = visit(m.name, []);
    if (cycle) return cycle;
  }
  return undefined;
}
