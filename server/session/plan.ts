// From a lab and what a session was given (subnets, host ports) to the Docker objects that make
// it: pure, so the whole shape of a lab can be tested without a daemon.
import { LAB_DNS_OPTIONS, type ContainerSpec, type EndpointSpec, type HealthcheckSpec, type NetworkSpec, type SwarmServiceSpec } from '../docker/specs.ts';
import { LABEL, objectName, sessionLabels, type SessionRef } from '../docker/labels.ts';
import { hostAt, parseCidr } from '../lab/ipv4.ts';
import { imageRef, TOOLBOX_REF } from '../lab/lab-images.ts';
import { networkDriver, servicesOf, type ServiceModel } from '../lab/model.ts';
import { leaderOf, nodesOf } from '../lab/nodes.ts';
import { durationMs, type Lab, type ServiceDef } from '../lab/schema.ts';
import type { Allocation } from '../store/sessions.ts';

export const RESOLVER_NAME = 'lab-dns';
/** The helper on the host's network that probes `from: host` run in. */
export const HOST_HELPER = 'probe-host';

/** Limits every lab container gets: enough for the lab tools, too little to hurt the host. */
export const LIMITS = { memoryBytes: 128 * 1024 * 1024, nanoCpus: 0.5e9, pidsLimit: 128 };
const TMPFS = { '/tmp': 'rw,size=16m,mode=1777', '/run': 'rw,size=8m,mode=755' };
/** What a bridged lab service may do by default: bind low ports, ping and capture in its own netns. */
export const DEFAULT_CAPS = ['NET_BIND_SERVICE', 'NET_RAW'];

export type SessionAllocation = Allocation;

export const portKey = (service: string, containerPort: number, proto: string) => `${service}/${containerPort}/${proto}`;

export interface PlannedNetwork {
  name: string;
  spec: NetworkSpec;
}

export interface PlannedService {
  name: string;
  model: ServiceModel;
  kind: 'container' | 'swarm-service';
  container?: ContainerSpec;
  swarm?: SwarmServiceSpec;
  /** The lab tools are in the image, so readiness can be checked from inside. */
  labImage: boolean;
}

export interface LabPlan {
  networks: PlannedNetwork[];
  resolver?: ContainerSpec;
  /** The resolver's address on each lab network it joins. */
  resolverIps: Record<string, string>;
  /** True when the resolver also sits on Docker's default bridge (its address there is dynamic). */
  resolverOnDefaultBridge: boolean;
  services: PlannedService[];
}

/** The containers a plan makes for the lab itself: its resolver, then its services (not swarm ones). */
export function planContainers(plan: LabPlan): ContainerSpec[] {
  return [...(plan.resolver ? [plan.resolver] : []), ...plan.services.flatMap((s) => (s.container ? [s.container] : []))];
}

function planNetworks(lab: Lab, ref: SessionRef, alloc: SessionAllocation): PlannedNetwork[] {
  return Object.entries(lab.networks).map(([name, def]) => {
    const d = def ?? {};
    const options: Record<string, string> = {};
    for (const [k, v] of Object.entries(d.driver_opts ?? {})) options[k] = String(v);
    const subnet = alloc.subnets[name];
    return {
      name,
      spec: {
        name: objectName(ref.session, name),
        driver: networkDriver(d),
        ...(subnet ? { subnet } : {}),
        ...(d.ipam?.config[0]?.gateway ? { gateway: d.ipam.config[0].gateway } : {}),
        internal: d.internal ?? false,
        attachable: d.attachable ?? false,
        options,
        labels: sessionLabels(ref, name, 'network'),
      },
    };
  });
}

/** Which lab networks the resolver joins: every one a container may join. */
function resolverNetworks(lab: Lab): string[] {
  return Object.entries(lab.networks)
    .filter(([, def]) => networkDriver(def ?? {}) === 'bridge' || def?.attachable === true)
    .map(([name]) => name);
}

export function planLab(lab: Lab, ref: SessionRef, alloc: SessionAllocation): LabPlan {
  const models = servicesOf(lab);
  const networks = planNetworks(lab, ref, alloc);
  const resolverIps: Record<string, string> = {};
  for (const name of resolverNetworks(lab)) {
    const subnet = alloc.subnets[name];
    if (subnet) resolverIps[name] = hostAt(parseCidr(subnet), -2);
  }
  const needsResolver = models.some((m) => m.attachment.kind === 'networks' || m.attachment.kind === 'default-bridge');
  const onDefaultBridge = models.some((m) => m.attachment.kind === 'default-bridge');
  const endpoints: EndpointSpec[] = [
    ...(onDefaultBridge ? [{ network: 'bridge', aliases: [] }] : []),
    ...Object.entries(resolverIps).map(([name, ip]) => ({ network: objectName(ref.session, name), aliases: [], ipv4Address: ip })),
  ];
  const records = Object.entries(lab.resolver?.records ?? {}).flatMap(([name, v]) => (Array.isArray(v) ? v : [v]).map((ip) => `${name}=${ip}`));
  const resolver: ContainerSpec | undefined =
    needsResolver && endpoints.length > 0
      ? {
          ...baseContainer(objectName(ref.session, RESOLVER_NAME), TOOLBOX_REF, onNode(sessionLabels(ref, RESOLVER_NAME, 'resolver'), leaderOf(nodesOf(lab))?.name)),
          command: ['lab-serve', 'dns', '--port', '53', ...records.flatMap((r) => ['--record', r])],
          network: { kind: 'networks', endpoints },
          // dnsmasq sets its group even when it stays root.
          capAdd: ['NET_BIND_SERVICE', 'SETGID'],
        }
      : undefined;
  return {
    networks,
    ...(resolver ? { resolver } : {}),
    resolverIps,
    resolverOnDefaultBridge: onDefaultBridge,
    services: models.map((m) => planService(m, ref, alloc, resolverIps)),
  };
}

/**
 * A Flowlab helper for a session (probe runner, netns tool): the toolbox, labelled with the
 * session so teardown and sweep find it, and locked down like a lab container.
 */
export function helperContainer(ref: SessionRef, name: string, network: ContainerSpec['network'], capAdd: string[], command: string[], role: 'helper' | 'fault' = 'helper'): ContainerSpec {
  return {
    ...baseContainer(objectName(ref.session, `${name}-${Math.random().toString(16).slice(2, 8)}`), TOOLBOX_REF, sessionLabels(ref, name, role)),
    network,
    // Nothing on the host's network may be touched or watched from a helper.
    capAdd: network.kind === 'host' ? [] : capAdd,
    command,
  };
}

/** The services whose network namespace gets a capture sidecar (never the host's own). */
export function capturedServices(lab: Lab): string[] {
  if (!lab.capture) return [];
  return servicesOf(lab)
    .filter((m) => !m.swarm && (m.attachment.kind === 'networks' || m.attachment.kind === 'default-bridge' || m.attachment.kind === 'none'))
    .map((m) => m.name);
}

/**
 * The nodes whose underlay gets a capture sidecar (a lab with nodes): on the session's engine, in
 * the node container's namespace, where VXLAN leaves and arrives.
 */
export function capturedNodes(lab: Lab): string[] {
  return lab.capture ? nodesOf(lab).map((n) => n.name) : [];
}

/** Every capture point of a lab: its captured services, then its captured nodes (no name is both). */
export function capturePoints(lab: Lab): string[] {
  return [...capturedServices(lab), ...capturedNodes(lab)];
}

/**
 * The containers a lab runs on its engine — its resolver, services (each replica), capture
 * sidecars, and for a lab with nodes the node containers — and their memory summed (limits, and
 * each node's own engine): what placement reserves for it.
 */
export function footprint(lab: Lab): { containers: number; memoryBytes: number } {
  const models = servicesOf(lab);
  const resolver = models.some((m) => m.attachment.kind === 'networks' || m.attachment.kind === 'default-bridge') ? 1 : 0;
  const services = models.reduce((n, m) => n + (m.swarm ? (m.def.deploy?.replicas ?? 1) : 1), 0);
  const containers = resolver + services + capturedServices(lab).length + trafficSources(lab).length;
  // A lab with nodes: each node is one more container on the engine (and its underlay's capture),
  // its own engine's memory besides the lab's.
  const nodes = nodesOf(lab).length;
  const underlay = capturedNodes(lab).length;
  return { containers: containers + nodes + underlay, memoryBytes: (containers + underlay) * LIMITS.memoryBytes + nodes * NODE_OVERHEAD_BYTES };
}

/** What a lab node's own engine takes before any lab container (dockerd and containerd: measured ~40 MB). */
export const NODE_OVERHEAD_BYTES = 64 * 1024 * 1024;

export const captureName = (service: string) => `${service}-capture`;

/**
 * A capture sidecar: the toolbox running lab-capture in the service's network namespace (or a
 * node's: `worker-1.node`, the node container's name), with only NET_RAW (to open a packet
 * socket), keeping a bounded ring.
 */
export function captureContainer(ref: SessionRef, service: string, ringBytes: number): ContainerSpec {
  const mb = Math.ceil(ringBytes / 1024 / 1024) + 4;
  return {
    ...baseContainer(objectName(ref.session, captureName(service)), TOOLBOX_REF, sessionLabels(ref, captureName(service), 'capture')),
    network: { kind: 'container', container: objectName(ref.session, service) },
    capAdd: ['NET_RAW'],
    tmpfs: { '/tmp': 'rw,size=1m,mode=1777', '/run': `rw,size=${mb}m,mode=755` },
    command: ['lab-capture', 'run', '--ring-bytes', String(ringBytes)],
  };
}

export const trafficName = (service: string) => `${service}-traffic`;

/** The services whose namespace sends some of the lab's own traffic (its `traffic:`), in order. */
export function trafficSources(lab: Lab): string[] {
  return [...new Set(lab.traffic.map((t) => t.from))];
}

/** How long one call of a lab's traffic may take: as long as its interval, from 1 to 5 s. */
export function trafficTimeoutMs(everyMs: number): number {
  return Math.min(5000, Math.max(1000, everyMs));
}

/**
 * The lab's own traffic from one service: the toolbox running lab-traffic in the namespace of
 * `netns` (the service's container, or a task of a swarm service), with no capability unless a
 * call pings (NET_RAW). `calls` are lab-traffic's arguments: every ms, jitter ms, command.
 */
export function trafficContainer(ref: SessionRef, service: string, netns: string, calls: string[], pings: boolean): ContainerSpec {
  return {
    ...baseContainer(objectName(ref.session, trafficName(service)), TOOLBOX_REF, sessionLabels(ref, trafficName(service), 'traffic')),
    network: { kind: 'container', container: netns },
    capAdd: pings ? ['NET_RAW'] : [],
    tmpfs: { '/tmp': 'rw,size=1m,mode=1777' },
    command: ['lab-traffic', ...calls],
  };
}

/** A container locked down the way every Flowlab container is: no capabilities, read-only, limits. */
export function baseContainer(name: string, image: string, labels: Record<string, string>): ContainerSpec {
  return {
    name,
    image,
    env: [],
    labels,
    network: { kind: 'none' },
    ports: [],
    exposed: [],
    dns: [],
    dnsSearch: [],
    dnsOptions: [],
    extraHosts: [],
    capAdd: [],
    capDrop: ['ALL'],
    readOnly: true,
    tmpfs: { ...TMPFS },
    ...LIMITS,
    init: true,
  };
}

/** In a lab with nodes, the node a container goes on (the Docker layer reads it). */
function onNode(labels: Record<string, string>, node: string | undefined): Record<string, string> {
  return node ? { ...labels, [LABEL.node]: node } : labels;
}

function planService(m: ServiceModel, ref: SessionRef, alloc: SessionAllocation, resolverIps: Record<string, string>): PlannedService {
  const def = m.def;
  const a = m.attachment;
  const labels = sessionLabels(ref, m.name, 'service');
  const image = imageRef(def.image);
  const labImage = image === TOOLBOX_REF;
  const command = def.command === undefined ? undefined : Array.isArray(def.command) ? def.command : splitCommand(def.command);
  const env = environment(def);
  const firstNet = a.kind === 'networks' ? a.networks[0]?.network : undefined;
  const resolverIp = firstNet ? resolverIps[firstNet] : undefined;
  // Unknown names go to the lab resolver, never to this machine's resolver. Where the resolver
  // cannot be reached, 127.0.0.1 makes the lookup fail inside the container instead.
  const dns = def.dns !== undefined ? (Array.isArray(def.dns) ? def.dns : [def.dns]) : resolverIp ? [resolverIp] : ['127.0.0.1'];
  const caps = [...new Set([...DEFAULT_CAPS, ...(def.cap_add ?? []).map((c) => c.toUpperCase().replace(/^CAP_/, ''))])];

  if (m.swarm && a.kind === 'networks') {
    const swarm: SwarmServiceSpec = {
      name: objectName(ref.session, m.name),
      image,
      ...(command ? { command } : {}),
      env,
      labels,
      networks: a.networks.map((n) => ({ network: objectName(ref.session, n.network), aliases: withServiceName(m.name, n.aliases) })),
      replicas: def.deploy?.replicas ?? 1,
      endpointMode: def.deploy?.endpoint_mode ?? 'vip',
      ...(def.deploy?.placement?.constraints?.length ? { constraints: def.deploy.placement.constraints.map((c) => c.trim()) } : {}),
      dns,
      dnsOptions: def.dns_opt ?? [...LAB_DNS_OPTIONS],
      capAdd: caps,
      capDrop: ['ALL'],
      readOnly: def.read_only ?? true,
      tmpfs: { ...TMPFS },
      ...LIMITS,
      ...(def.healthcheck ? { healthcheck: healthcheck(def.healthcheck) } : {}),
    };
    return { name: m.name, model: m, kind: 'swarm-service', swarm, labImage };
  }

  const container: ContainerSpec = {
    ...baseContainer(objectName(ref.session, m.name), image, onNode(labels, def.node)),
    ...(command ? { command } : {}),
    env,
    readOnly: def.read_only ?? true,
    exposed: m.listens.map((l) => ({ port: l.port, proto: l.proto })),
    ports: m.ports.map((p) => ({
      hostIp: p.hostIp,
      hostPort: p.hostPort === 'auto' ? alloc.hostPorts[portKey(m.name, p.containerPort, p.proto)] ?? 0 : p.hostPort,
      containerPort: p.containerPort,
      proto: p.proto,
    })),
    dnsSearch: def.dns_search === undefined ? [] : Array.isArray(def.dns_search) ? def.dns_search : [def.dns_search],
    dnsOptions: def.dns_opt ?? [],
    extraHosts: extraHosts(def),
    ...(def.healthcheck ? { healthcheck: healthcheck(def.healthcheck) } : {}),
  };
  switch (a.kind) {
    case 'networks':
      container.network = {
        kind: 'networks',
        endpoints: a.networks.map((n) => ({
          network: objectName(ref.session, n.network),
          aliases: withServiceName(m.name, n.aliases),
          ...(n.ipv4Address ? { ipv4Address: n.ipv4Address } : {}),
        })),
      };
      container.dns = dns;
      if (def.dns_opt === undefined) container.dnsOptions = [...LAB_DNS_OPTIONS];
      container.capAdd = caps;
      break;
    case 'default-bridge':
      container.network = { kind: 'default-bridge' };
      // Filled in once the resolver's address on the default bridge is known.
      container.dns = def.dns !== undefined ? dns : [];
      container.capAdd = caps;
      break;
    case 'host':
      // Nothing in a host-network container may touch or watch the host's network.
      container.network = { kind: 'host' };
      container.ports = [];
      container.capAdd = [];
      break;
    case 'none':
      container.network = { kind: 'none' };
      container.capAdd = caps;
      break;
    case 'service':
      container.network = { kind: 'container', container: objectName(ref.session, a.service) };
      container.ports = [];
      container.exposed = [];
      container.capAdd = caps;
      break;
  }
  return { name: m.name, model: m, kind: 'container', container, labImage };
}

/** As in Compose, a service answers to its own name on every network it joins. */
function withServiceName(name: string, aliases: string[]): string[] {
  return [...new Set([name, ...aliases])];
}

function environment(def: ServiceDef): string[] {
  if (!def.environment) return [];
  if (Array.isArray(def.environment)) return def.environment;
  return Object.entries(def.environment).map(([k, v]) => `${k}=${String(v)}`);
}

function extraHosts(def: ServiceDef): string[] {
  const e = def.extra_hosts;
  if (!e) return [];
  if (Array.isArray(e)) return e.map((h) => h.replace('=', ':'));
  return Object.entries(e).map(([k, v]) => `${k}:${v}`);
}

function healthcheck(h: NonNullable<ServiceDef['healthcheck']>): HealthcheckSpec {
  if (h.disable) return { test: ['NONE'] };
  const test = typeof h.test === 'string' ? ['CMD-SHELL', h.test] : h.test;
  const out: HealthcheckSpec = { test };
  const interval = durationMs(h.interval);
  const timeout = durationMs(h.timeout);
  const start = durationMs(h.start_period);
  if (interval !== undefined) out.intervalMs = interval;
  if (timeout !== undefined) out.timeoutMs = timeout;
  if (h.retries !== undefined) out.retries = h.retries;
  if (start !== undefined) out.startPeriodMs = start;
  return out;
}

/** Compose splits a string command like a shell would, without running one. */
export function splitCommand(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '"' | "'" | undefined;
  let has = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      cur += text[++i];
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} quote in command: ${text}`);
  if (has || cur) out.push(cur);
  return out;
}
