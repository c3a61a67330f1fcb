// A Docker Engine API scoped to one lab session: what a learner's console talks to instead of
// the real engine. Every request is checked against the session — deny by default — then
// forwarded; objects of other sessions are answered "no such container" as if they did not
// exist. Requests that change something are recorded as the docker command they correspond to.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { commandLine } from './cli.ts';
import { LABEL } from './labels.ts';
import type { DockerRuntime } from './runtime.ts';

export interface ScopePolicy {
  session: string;
  /** Labels every object the console creates gets (session, scenario, owner, registry). */
  labels: Record<string, string>;
  /** Image short names and references that may run, short name -> reference. */
  images: Record<string, string>;
  /** Host ports the session may publish. */
  hostPorts: number[];
  limits: { memoryBytes: number; nanoCpus: number; pidsLimit: number };
  /** Roles the console may look at but never change (its own machinery). */
  protectedRoles: string[];
  /** The console's own network: nothing else may join it. */
  consoleNetwork: string;
  /** Whether the lab uses Docker's default bridge (then new containers may join it). */
  defaultBridge: boolean;
  /** The lab's services and their aliases per network (full network name), to re-create one under its name. */
  services: Record<string, Record<string, string[]>>;
  /** Capabilities a container the console runs has (on top of none: the rest are dropped). */
  baseCaps: string[];
  /** A lab service re-created under its name gets the capabilities the lab gives it, no more. */
  serviceCaps: Record<string, string[]>;
  /** The DNS servers a container on each lab network uses (the lab's resolver), full network name. */
  dns: Record<string, string[]>;
  /** Whether an address is inside one of the lab's subnets. */
  labAddress(ip: string): boolean;
  /** Records an action the learner took, as a docker command. */
  record(command: string): void;
  /** Something in the lab changed (a container started, was removed, joined a network). */
  changed?(): void;
}

export const SECRET_HEADER = 'x-flowlab-console';
const CONTEXT_NETWORKS = ['bridge', 'host', 'none'];
const ALLOWED_CAPS = ['NET_ADMIN', 'NET_RAW'];
const MAX_BODY = 1024 * 1024;
const MAX_REPLICAS = 8;
/** What a container, network or service reference may look like: a name or an id (prefix). */
const REF = /^\/?[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

interface Upstream {
  socketPath?: string;
  host?: string;
  port?: number;
}

function upstreamFromEnv(): Upstream {
  const host = process.env.DOCKER_HOST;
  if (!host || host.startsWith('unix://')) return { socketPath: host ? host.slice('unix://'.length) : '/var/run/docker.sock' };
  const m = /^tcp:\/\/([^:/]+):(\d+)/.exec(host);
  if (!m) throw new Error(`the console needs DOCKER_HOST as unix:// or tcp://host:port, found ${host}`);
  if (process.env.DOCKER_TLS_VERIFY === '1') throw new Error('the console cannot forward to a TLS-protected DOCKER_HOST yet');
  return { host: m[1], port: Number(m[2]) };
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const scopeMessage = "this lab's console can only touch this lab's containers and networks";
const refuse = (what: string) => new Refusal(403, `${scopeMessage}: ${what}`);
const notFound = (kind: 'container' | 'network' | 'exec instance' | 'service', ref: string) =>
  new Refusal(404, kind === 'network' ? `network ${ref} not found` : `No such ${kind}: ${ref}`);

const otherLabsName = (name: string) => refuse(`names starting with fl- belong to Flowlab's labs; ${name} is not one of this lab's (name yours without the fl- prefix)`);

type Decision = { path: string; body?: Buffer; record?: string; changed?: boolean; after?: (body: Buffer) => void; filter?: (body: Buffer) => Buffer };

interface Endpoint {
  Aliases?: string[] | null;
  Links?: string[] | null;
  DriverOpts?: Record<string, string> | null;
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null;
}

function jsonBody<T>(body: Buffer | undefined): T {
  const text = body?.toString() || '{}';
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Refusal(400, `the request body must be JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Refusal(400, `the request body must be a JSON object, found ${text.slice(0, 40)}`);
  return v as T;
}

/**
 * A setting left at Docker's default: what the CLI sends for every option not given. A struct
 * (RestartPolicy, LogConfig) is empty when its fields are; a map (Volumes, Tmpfs, Sysctls) only
 * when it has no keys at all — `{"/data": {}}` is a volume.
 */
function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.entries(v).every(([k, x]) => /^[A-Z][A-Za-z0-9]*$/.test(k) && isEmpty(x));
  return false;
}
const hasKeys = (v: unknown) => !!v && typeof v === 'object' && Object.keys(v).length > 0;

/** Deny by default: a setting the console does not know may only be left at its default. */
function onlyKnown(obj: Record<string, unknown>, known: readonly string[], where: string): void {
  const unknown = Object.keys(obj).filter((k) => !known.includes(k) && !isEmpty(obj[k]));
  if (unknown.length > 0) throw refuse(`${where} sets ${unknown.join(', ')}, which the console does not offer`);
}

const CONFIG_KEYS = ['Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'ExposedPorts', 'Tty', 'OpenStdin', 'StdinOnce', 'Env', 'Cmd', 'Healthcheck', 'ArgsEscaped', 'Image', 'WorkingDir', 'Entrypoint', 'NetworkDisabled', 'MacAddress', 'Labels', 'StopSignal', 'StopTimeout', 'Shell', 'HostConfig', 'NetworkingConfig'];
const HOST_KEYS = ['NetworkMode', 'PortBindings', 'CapAdd', 'CapDrop', 'Dns', 'DnsOptions', 'DnsSearch', 'ExtraHosts', 'AutoRemove', 'RestartPolicy', 'Init', 'Memory', 'MemorySwap', 'MemoryReservation', 'MemorySwappiness', 'NanoCpus', 'CpuShares', 'CpuPeriod', 'CpuQuota', 'CpusetCpus', 'PidsLimit', 'ConsoleSize', 'ReadonlyRootfs', 'SecurityOpt', 'LogConfig', 'OomScoreAdj', 'ShmSize', 'GroupAdd', 'PidMode', 'IpcMode', 'UTSMode', 'UsernsMode', 'CgroupnsMode', 'Isolation', 'ContainerIDFile'];
const ENDPOINT_KEYS = ['Aliases', 'IPAMConfig', 'Links', 'DriverOpts', 'NetworkID', 'EndpointID', 'Gateway', 'IPAddress', 'IPPrefixLen', 'IPv6Gateway', 'GlobalIPv6Address', 'GlobalIPv6PrefixLen', 'MacAddress', 'DNSNames', 'GwPriority'];

export class ScopedApi {
  private readonly upstream = upstreamFromEnv();
  private readonly execs = new Set<string>();
  readonly server: Server;

  constructor(
    private readonly rt: DockerRuntime,
    private readonly policy: ScopePolicy,
    private readonly secret: string,
  ) {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.handleUpgrade(req, socket as Socket, head));
  }

  // ---- what belongs to the session ----

  private owns(labels: Record<string, string> | undefined): boolean {
    return labels?.[LABEL.session] === this.policy.session;
  }

  /** A container of this session by id, name, or the lab's short name (`web` for fl-<s>-web). */
  private async container(ref: string): Promise<{ id: string; name: string; labels: Record<string, string> }> {
    if (!REF.test(ref)) throw notFound('container', ref);
    // The lab's short name first: `db` is also a prefix of every container id starting with db.
    for (const candidate of [`fl-${this.policy.session}-${ref}`, ref]) {
      const st = await this.rt.inspectContainer(candidate).catch(() => undefined);
      if (st && this.owns(st.labels)) return { id: st.id, name: st.name, labels: st.labels };
    }
    throw notFound('container', ref);
  }

  private async changeable(ref: string): Promise<{ id: string; name: string }> {
    const c = await this.container(ref);
    const role = c.labels[LABEL.role] ?? '';
    if (this.policy.protectedRoles.includes(role)) throw refuse(`${c.name} is part of Flowlab's own machinery (${role}); look at it, but leave it be`);
    return c;
  }

  private async network(ref: string): Promise<{ id: string; name: string; context: boolean }> {
    if (!REF.test(ref)) throw notFound('network', ref);
    for (const candidate of [`fl-${this.policy.session}-${ref}`, ref]) {
      const n = await this.rt.inspectNetwork(candidate).catch(() => undefined);
      if (!n) continue;
      if (this.owns(n.labels)) return { id: n.id, name: n.name, context: false };
      if (CONTEXT_NETWORKS.includes(n.name)) return { id: n.id, name: n.name, context: true };
    }
    throw notFound('network', ref);
  }

  private async service(ref: string): Promise<{ id: string; name: string }> {
    if (!REF.test(ref)) throw notFound('service', ref);
    const all = await this.rt.listServices({ [LABEL.session]: this.policy.session });
    const found = all.find((s) => s.id === ref || s.id.startsWith(ref) || s.name === ref || s.name === `fl-${this.policy.session}-${ref}`);
    if (!found) throw notFound('service', ref);
    return found;
  }

  // ---- the allow-list ----

  private withLabelFilter(query: URLSearchParams): URLSearchParams {
    let filters: Record<string, string[] | Record<string, boolean>> = {};
    try {
      filters = JSON.parse(query.get('filters') ?? '{}') as typeof filters;
    } catch {
      throw new Refusal(400, `filters must be JSON, found ${query.get('filters')}`);
    }
    if (typeof filters !== 'object' || filters === null || Array.isArray(filters)) throw new Refusal(400, 'filters must be a JSON object');
    const mine = `${LABEL.session}=${this.policy.session}`;
    // The engine takes either form ({"label":["a=b"]} or {"label":{"a=b":true}}), but one form per request.
    const mapForm = Object.values(filters).some((v) => v && !Array.isArray(v));
    const label = filters.label;
    const list = Array.isArray(label) ? label : label ? Object.keys(label) : [];
    filters.label = mapForm ? Object.fromEntries([...list, mine].map((l) => [l, true])) : [...list, mine];
    const out = new URLSearchParams(query);
    out.set('filters', JSON.stringify(filters));
    return out;
  }

  private async decide(method: string, path: string, query: URLSearchParams, body: Buffer | undefined): Promise<Decision> {
    const q = query.toString();
    const same = { path: `${path}${q ? `?${q}` : ''}` };
    const p = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (p.some((x) => x === '.' || x === '..' || x.includes('/'))) throw refuse(`${method} ${path} is not a path the console knows`);
    const [a, b, c] = p;
    const is = (m: string, n: number) => method === m && p.length === n;

    if (a === '_ping' && p.length === 1 && (method === 'GET' || method === 'HEAD')) return same;
    if (is('GET', 1) && a === 'version') return same;
    if (is('GET', 1) && a === 'info') return { ...same, filter: (out) => this.filterInfo(out) };

    if (a === 'containers') {
      if (is('GET', 2) && b === 'json') return { path: `/containers/json?${this.withLabelFilter(query)}` };
      if (is('POST', 2) && b === 'create') return this.create(query, body);
      if (p.length >= 2 && b) {
        if (is('GET', 3) && ['json', 'logs', 'top', 'stats'].includes(c!)) {
          const ct = await this.container(b);
          return { path: `/containers/${ct.id}/${c}${q ? `?${q}` : ''}` };
        }
        if (is('POST', 3) && ['start', 'stop', 'restart', 'kill', 'pause', 'unpause'].includes(c!)) {
          const ct = await this.changeable(b);
          return { path: `/containers/${ct.id}/${c}${q ? `?${q}` : ''}`, record: commandLine(['docker', c!, ct.name]), changed: true };
        }
        if (is('POST', 3) && ['wait', 'resize', 'attach'].includes(c!)) {
          const ct = await this.container(b);
          return { path: `/containers/${ct.id}/${c}${q ? `?${q}` : ''}` };
        }
        if (is('DELETE', 2)) {
          const ct = await this.changeable(b);
          return { path: `/containers/${ct.id}${q ? `?${q}` : ''}`, record: commandLine(['docker', 'rm', ...(query.get('force') === '1' || query.get('force') === 'true' ? ['--force'] : []), ct.name]), changed: true };
        }
        if (is('POST', 3) && c === 'exec') {
          const ct = await this.changeable(b);
          const ex = jsonBody<{ Cmd?: string[]; Privileged?: boolean }>(body);
          if (ex.Privileged) throw refuse('privileged exec controls the whole Docker host');
          const cmd = ex.Cmd ?? [];
          return {
            path: `/containers/${ct.id}/exec`,
            ...(body ? { body } : {}),
            record: commandLine(['docker', 'exec', ct.name, ...cmd]),
            after: (out) => {
              const id = (JSON.parse(out.toString() || '{}') as { Id?: string }).Id;
              if (id) this.execs.add(id);
            },
          };
        }
      }
    }

    if (a === 'exec' && b) {
      if (!this.execs.has(b)) throw notFound('exec instance', b);
      if ((is('POST', 3) && (c === 'start' || c === 'resize')) || (is('GET', 3) && c === 'json')) return same;
    }

    if (a === 'networks') {
      if (is('GET', 1)) return { ...same, filter: (out) => this.filterNetworks(out) };
      if (is('GET', 2) && b) {
        const n = await this.network(b);
        return { path: `/networks/${n.id}${q ? `?${q}` : ''}`, filter: (out) => this.filterNetworkMembers(out) };
      }
      if (is('POST', 3) && b && (c === 'connect' || c === 'disconnect')) return this.connect(b, c, body);
    }

    if (is('GET', 1) && a === 'events') return { path: `/events?${this.withLabelFilter(query)}` };

    if (a === 'services') {
      if (is('GET', 1)) return this.serviceList(query);
      if (is('GET', 2) && b) return { path: `/services/${(await this.service(b)).id}${q ? `?${q}` : ''}` };
      if (is('GET', 3) && b && c === 'logs') return { path: `/services/${(await this.service(b)).id}/logs${q ? `?${q}` : ''}` };
      if (is('POST', 3) && b && c === 'update') return this.serviceUpdate(b, query, body);
    }
    if (is('GET', 1) && a === 'tasks') {
      const mine = await this.rt.listServices({ [LABEL.session]: this.policy.session });
      const ids = mine.map((s) => s.id);
      // `docker service ps/scale/update` filter tasks by the name the learner typed: the short one.
      const filters = JSON.parse(query.get('filters') ?? '{}') as Record<string, string[] | Record<string, boolean>>;
      const wanted = filters.service;
      if (wanted) {
        const names = Array.isArray(wanted) ? wanted : Object.keys(wanted);
        const mapped = names.map((n) => mine.find((s) => s.name === `fl-${this.policy.session}-${n}`)?.id ?? n);
        filters.service = Array.isArray(wanted) ? mapped : Object.fromEntries(mapped.map((n) => [n, true]));
        const out = new URLSearchParams(query);
        out.set('filters', JSON.stringify(filters));
        return { path: `/tasks?${out}`, filter: (body) => Buffer.from(JSON.stringify((JSON.parse(body.toString()) as { ServiceID?: string }[]).filter((t) => ids.includes(t.ServiceID ?? '')))) };
      }
      return { ...same, filter: (out) => Buffer.from(JSON.stringify((JSON.parse(out.toString()) as { ServiceID?: string }[]).filter((t) => ids.includes(t.ServiceID ?? '')))) };
    }
    if (method === 'GET' && a === 'nodes' && p.length <= 2) return same;

    // `docker inspect <ref>` tries every kind of object in turn: what is not this lab's does not exist.
    if (method === 'GET' && p.length >= 3 && a === 'images' && p.at(-1) === 'json') {
      const name = p.slice(1, -1).join('/');
      const ref = this.policy.images[name] ?? this.policy.images[name.replace(/:latest$/, '')];
      if (ref) return { path: `/images/${ref}/json` };
      throw new Refusal(404, `No such image: ${name}`);
    }
    if (method === 'GET' && p.length === 2 && ['volumes', 'secrets', 'configs', 'plugins'].includes(a!)) throw new Refusal(404, `No such ${a!.slice(0, -1)}: ${b}`);
    if (method === 'GET' && p.length === 3 && a === 'plugins' && c === 'json') throw new Refusal(404, `No such plugin: ${b}`);
    if (method === 'GET' && p.length === 2 && a === 'tasks') {
      const ids = (await this.rt.listServices({ [LABEL.session]: this.policy.session })).map((s) => s.id);
      return { ...same, filter: (out) => {
        const t = JSON.parse(out.toString()) as { ServiceID?: string };
        if (!ids.includes(t.ServiceID ?? '')) throw new Refusal(404, `No such task: ${b}`);
        return out;
      } };
    }

    if (a === 'images' && b === 'create') throw refuse('images cannot be pulled here; labs run the lab images only (toolbox)');
    if (a === 'build') throw refuse('images cannot be built from the console');
    if (a === 'volumes') throw refuse('volumes reach outside the lab');
    if (a === 'swarm') throw refuse('swarm membership belongs to the Docker host');
    if (['plugins', 'secrets', 'configs'].includes(a ?? '')) throw refuse(`${a} belong to the Docker host`);
    if (p.at(-1) === 'prune') throw refuse('prune would reach other labs');
    throw refuse(`${method} /${p.join('/')} is not something the console offers`);
  }

  /**
   * `docker service ps web` looks the service up by exact name: a short name the learner types is
   * answered with the lab's service of that name (fl-<session>-web), shown under the short name.
   */
  private serviceList(query: URLSearchParams): Decision {
    const q = this.withLabelFilter(query);
    const filters = JSON.parse(q.get('filters') ?? '{}') as Record<string, string[] | Record<string, boolean>>;
    const nameFilter = filters.name;
    const names = Array.isArray(nameFilter) ? nameFilter : nameFilter ? Object.keys(nameFilter) : [];
    const prefix = `fl-${this.policy.session}-`;
    const short = names.filter((n) => !n.startsWith('fl-'));
    if (short.length === 0) return { path: `/services?${q}` };
    const all = [...new Set([...names, ...short.map((n) => `${prefix}${n}`)])];
    filters.name = Array.isArray(nameFilter) ? all : Object.fromEntries(all.map((n) => [n, true]));
    q.set('filters', JSON.stringify(filters));
    return {
      path: `/services?${q}`,
      filter: (out) => {
        const list = JSON.parse(out.toString()) as { Spec?: { Name?: string } }[];
        for (const s of list) if (s.Spec?.Name && short.includes(s.Spec.Name.slice(prefix.length)) && s.Spec.Name.startsWith(prefix)) s.Spec.Name = s.Spec.Name.slice(prefix.length);
        return Buffer.from(JSON.stringify(list));
      },
    };
  }

  /** `docker info` shows the engine, not what else runs on it. */
  private filterInfo(out: Buffer): Buffer {
    const info = JSON.parse(out.toString()) as Record<string, unknown> & { Swarm?: { LocalNodeState?: string; NodeID?: string; ControlAvailable?: boolean } };
    const keep = ['ID', 'ServerVersion', 'OperatingSystem', 'OSType', 'OSVersion', 'Architecture', 'KernelVersion', 'NCPU', 'MemTotal', 'Driver', 'CgroupDriver', 'CgroupVersion', 'DefaultRuntime', 'Name', 'IndexServerAddress'];
    const trimmed: Record<string, unknown> = Object.fromEntries(keep.filter((k) => k in info).map((k) => [k, info[k]]));
    trimmed.Swarm = { LocalNodeState: info.Swarm?.LocalNodeState ?? 'inactive', NodeID: info.Swarm?.NodeID ?? '', ControlAvailable: info.Swarm?.ControlAvailable ?? false };
    trimmed.Warnings = ["this lab's console shows only the engine's version and this lab's objects"];
    return Buffer.from(JSON.stringify(trimmed));
  }

  private filterNetworks(out: Buffer): Buffer {
    const nets = JSON.parse(out.toString()) as { Name: string; Labels?: Record<string, string> }[];
    return Buffer.from(JSON.stringify(nets.filter((n) => (this.owns(n.Labels) && n.Name !== this.policy.consoleNetwork) || CONTEXT_NETWORKS.includes(n.Name)).map((n) => this.trimMembers(n))));
  }

  private filterNetworkMembers(out: Buffer): Buffer {
    return Buffer.from(JSON.stringify(this.trimMembers(JSON.parse(out.toString()) as { Name: string; Containers?: Record<string, { Name?: string }> })));
  }

  /** Docker's own networks are shown as context, with only this session's containers in them. */
  private trimMembers<T extends { Name: string; Containers?: Record<string, { Name?: string }> }>(n: T): T {
    if (!n.Containers) return n;
    const prefix = `fl-${this.policy.session}-`;
    return { ...n, Containers: Object.fromEntries(Object.entries(n.Containers).filter(([, c]) => (c.Name ?? '').startsWith(prefix))) };
  }

  private async connect(netRef: string, verb: 'connect' | 'disconnect', body: Buffer | undefined): Promise<Decision> {
    const n = await this.network(netRef);
    if (n.name === this.policy.consoleNetwork) throw refuse("the console's own network takes no other container");
    if (n.context && !(n.name === 'bridge' && this.policy.defaultBridge)) throw refuse(`the ${n.name} network is shown for context only`);
    const req = jsonBody<{ Container?: string; EndpointConfig?: Endpoint; Force?: boolean }>(body);
    const ct = await this.changeable(req.Container ?? '');
    if (req.EndpointConfig) this.checkEndpoint(req.EndpointConfig, `network ${verb}`);
    const aliases = req.EndpointConfig?.Aliases ?? [];
    const ip = req.EndpointConfig?.IPAMConfig?.IPv4Address;
    return {
      path: `/networks/${n.id}/${verb}`,
      body: Buffer.from(JSON.stringify({ ...req, Container: ct.id })),
      record: commandLine(['docker', 'network', verb, ...(verb === 'connect' ? [...aliases.flatMap((x) => ['--alias', x]), ...(ip ? ['--ip', ip] : [])] : req.Force ? ['--force'] : []), n.name, ct.name]),
      changed: true,
    };
  }

  /** An endpoint may carry aliases and a lab address; nothing else that reaches further. */
  private checkEndpoint(e: Endpoint, where: string): void {
    onlyKnown(e as Record<string, unknown>, ENDPOINT_KEYS, where);
    if (e.Links && e.Links.length > 0) throw refuse('links are legacy; use the lab\'s networks and names');
    if (e.DriverOpts && Object.keys(e.DriverOpts).length > 0) throw refuse('network driver options are set by the lab');
    const ipam = e.IPAMConfig ?? {};
    onlyKnown(ipam as Record<string, unknown>, ['IPv4Address', 'IPv6Address'], `${where} IPAMConfig`);
    if (ipam.IPv4Address && !this.policy.labAddress(ipam.IPv4Address)) throw refuse(`the address ${ipam.IPv4Address} is outside this lab's subnets`);
    if (ipam.IPv6Address) throw refuse('the lab networks are IPv4 only');
  }

  private async create(query: URLSearchParams, body: Buffer | undefined): Promise<Decision> {
    const spec = jsonBody<Record<string, unknown> & {
      Image?: string;
      Cmd?: string[];
      Labels?: Record<string, string>;
      HostConfig?: Record<string, unknown>;
      NetworkingConfig?: { EndpointsConfig?: Record<string, Endpoint> };
    }>(body);
    onlyKnown(spec, CONFIG_KEYS, 'the container config');
    const prefix = `fl-${this.policy.session}-`;
    let name = (query.get('name') ?? '').replace(/^\//, '');
    if (name && !REF.test(name)) throw new Refusal(400, `a container name is letters, digits, _ . - (found "${name}")`);
    if (name.startsWith('fl-') && !name.startsWith(prefix)) throw otherLabsName(name);
    // Every name is fl-<session>-<name>: a name never collides with another session's.
    name = name ? (name.startsWith(prefix) ? name : `${prefix}${name}`) : `${prefix}run-${randomBytes(3).toString('hex')}`;
    const existing = await this.rt.inspectContainer(name).catch(() => undefined);
    if (existing && !this.owns(existing.labels)) throw refuse(`the name ${name} is taken`);
    const short = name.slice(prefix.length);
    const serviceAliases = this.policy.services[short];

    const image = this.policy.images[spec.Image ?? ''] ?? this.policy.images[(spec.Image ?? '').replace(/:latest$/, '')];
    if (!image) throw refuse(`only the lab images run here (${Object.keys(this.policy.images).filter((k) => !k.includes('/')).join(', ')}), not ${spec.Image}`);

    const host = { ...(spec.HostConfig ?? {}) } as Record<string, unknown> & {
      NetworkMode?: string;
      CapAdd?: string[] | null;
      CapDrop?: string[] | null;
      SecurityOpt?: string[] | null;
      PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
      Dns?: string[] | null;
      LogConfig?: { Type?: string; Config?: Record<string, string> } | null;
      OomScoreAdj?: number;
    };
    if (host.Privileged) throw refuse('privileged containers control the whole Docker host');
    for (const key of ['Binds', 'Mounts', 'VolumesFrom', 'VolumeDriver']) if (!isEmpty(host[key])) throw refuse('volumes and mounts reach outside the lab');
    if (hasKeys(host.Tmpfs)) throw refuse('tmpfs mounts are set by Flowlab');
    if (hasKeys(spec.Volumes)) throw refuse('volumes reach outside the lab');
    for (const key of ['Devices', 'DeviceRequests', 'DeviceCgroupRules']) if (!isEmpty(host[key])) throw refuse('devices belong to the Docker host');
    for (const key of ['PidMode', 'IpcMode', 'UTSMode', 'UsernsMode', 'CgroupnsMode']) {
      const v = String(host[key] ?? '');
      if (v && v !== 'private' && v !== 'shareable') throw refuse(`${key} ${v} shares a namespace the lab does not give`);
    }
    if (host.CgroupParent || host.Cgroup) throw refuse('cgroups are set by Flowlab');
    if (hasKeys(host.Sysctls)) throw refuse("kernel settings are not the console's to change");
    if (host.Runtime && host.Runtime !== 'runc') throw refuse('only the default runtime runs here');
    if (host.PublishAllPorts) throw refuse("publish ports one by one, on this lab's own host ports");
    if (!isEmpty(host.Links)) throw refuse("links are legacy; use the lab's networks and names");
    // An empty list here means "mask nothing": present at all, it weakens the container.
    if ((host.MaskedPaths ?? null) !== null || (host.ReadonlyPaths ?? null) !== null) throw refuse("the kernel's masked and read-only paths stay as Docker sets them");
    if (host.LogConfig?.Type && !['json-file', 'local', 'none'].includes(host.LogConfig.Type)) throw refuse(`the ${host.LogConfig.Type} log driver sends logs off this lab`);
    if ((host.OomScoreAdj ?? 0) < 0 || host.OomKillDisable) throw refuse('the out-of-memory killer treats lab containers like any other');
    onlyKnown(host, HOST_KEYS, 'HostConfig');
    const caps = (host.CapAdd ?? []).map((x) => x.toUpperCase().replace(/^CAP_/, ''));
    const tooMuch = caps.filter((x) => !ALLOWED_CAPS.includes(x));
    if (tooMuch.length > 0) throw refuse(`capabilities beyond NET_ADMIN and NET_RAW (${tooMuch.join(', ')}) reach outside the container`);
    const secOpts = (host.SecurityOpt ?? []).filter((o) => !o.startsWith('no-new-privileges'));
    if (secOpts.length > 0) throw refuse(`security options are set by Flowlab (${secOpts.join(', ')})`);
    for (const d of host.Dns ?? []) if (!/^127\./.test(d) && !this.policy.labAddress(d)) throw refuse(`the DNS server ${d} is outside the lab: lookups would leave this machine`);

    // Networks: this session's, a container of this session, none, or the default bridge when the lab uses it.
    const mode = host.NetworkMode ?? '';
    const given = spec.NetworkingConfig?.EndpointsConfig ?? {};
    if (mode === 'host') throw refuse("the host's network is the Docker host's own");
    if (mode.startsWith('container:')) {
      const target = await this.container(mode.slice('container:'.length));
      if (target.labels[LABEL.role] === 'console') throw refuse("the console's network namespace is its own");
      host.NetworkMode = `container:${target.id}`;
    } else if (mode === '' || mode === 'default' || mode === 'bridge') {
      if (!this.policy.defaultBridge && Object.keys(given).length === 0) throw refuse("pick one of this lab's networks (--network), a container's (--network container:<name>), or none");
    } else if (mode !== 'none') {
      const n = await this.network(mode);
      if (n.context || n.name === this.policy.consoleNetwork) throw refuse(`containers cannot join the ${n.name} network here`);
      host.NetworkMode = n.name;
    }
    const endpoints: Record<string, Endpoint> = {};
    for (const [net, cfg] of Object.entries(given)) {
      const n = await this.network(net);
      if (n.name === this.policy.consoleNetwork || (n.context && !(n.name === 'bridge' && this.policy.defaultBridge))) throw refuse(`containers cannot join the ${n.name} network here`);
      this.checkEndpoint(cfg ?? {}, `the ${net} endpoint`);
      endpoints[n.name] = { ...(cfg ?? {}) };
      if (mode === net) host.NetworkMode = n.name;
    }
    // A lab service re-created under its name answers to its names again, as Compose would do.
    if (serviceAliases && host.NetworkMode && !host.NetworkMode.startsWith('container:') && !['none', 'bridge', 'default'].includes(host.NetworkMode)) {
      endpoints[host.NetworkMode] ??= {};
    }
    if (serviceAliases) {
      for (const [net, e] of Object.entries(endpoints)) {
        const names = [short, ...(serviceAliases[net] ?? [])];
        if (net !== 'bridge') e.Aliases = [...new Set([...(e.Aliases ?? []), ...names])];
      }
    }

    // Published ports: on 127.0.0.1, and only the host ports this session owns.
    for (const binds of Object.values(host.PortBindings ?? {})) {
      for (const bnd of binds ?? []) {
        if (bnd.HostIp && !bnd.HostIp.startsWith('127.')) throw refuse(`ports are published on 127.0.0.1 here, not ${bnd.HostIp}`);
        bnd.HostIp = bnd.HostIp || '127.0.0.1';
        if (bnd.HostPort && bnd.HostPort !== '0' && !this.policy.hostPorts.includes(Number(bnd.HostPort))) {
          throw refuse(`host port ${bnd.HostPort} is not this lab's; it may publish ${this.policy.hostPorts.join(', ') || 'no fixed port'} (or let Docker pick one)`);
        }
      }
    }

    const labels = { ...(spec.Labels ?? {}) };
    if (Object.keys(labels).some((k) => k.startsWith('flowlab.'))) throw refuse("flowlab.* labels are Flowlab's to set");
    Object.assign(labels, this.policy.labels, { [LABEL.name]: short, [LABEL.role]: serviceAliases ? 'service' : 'learner' });

    const { memoryBytes, nanoCpus, pidsLimit } = this.policy.limits;
    const cap = (v: unknown, max: number) => (typeof v === 'number' && v > 0 ? Math.min(v, max) : max);
    // Lab containers run with every capability dropped but the few a lab needs; so does this one.
    const netMode = String(host.NetworkMode ?? '');
    const dns = (host.Dns ?? []).length > 0 ? host.Dns : netMode.startsWith('container:') ? undefined : (this.policy.dns[netMode] ?? this.policy.dns[Object.keys(endpoints)[0] ?? ''] ?? ['127.0.0.1']);
    const newHost = {
      ...host,
      ...(dns ? { Dns: dns } : {}),
      CapAdd: [...new Set([...(serviceAliases ? (this.policy.serviceCaps[short] ?? this.policy.baseCaps) : this.policy.baseCaps), ...caps])],
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Memory: cap(host.Memory, memoryBytes),
      MemorySwap: cap(host.Memory, memoryBytes),
      NanoCpus: cap(host.NanoCpus, nanoCpus),
      PidsLimit: cap(host.PidsLimit, pidsLimit),
      Privileged: false,
    };
    const newSpec = { ...spec, Image: image, Labels: labels, HostConfig: newHost, NetworkingConfig: { EndpointsConfig: endpoints } };
    const out = new URLSearchParams(query);
    out.set('name', name);
    const ports = Object.entries(host.PortBindings ?? {}).flatMap(([k, bs]) => (bs ?? []).flatMap((bnd) => ['--publish', `${bnd.HostIp}:${bnd.HostPort ?? ''}:${k.replace(/\/tcp$/, '')}`]));
    const nets = [...new Set([...(host.NetworkMode ? [String(host.NetworkMode)] : []), ...Object.keys(endpoints)])];
    const entry = Array.isArray(spec.Entrypoint) && spec.Entrypoint.length > 0 ? ['--entrypoint', String(spec.Entrypoint[0])] : [];
    return {
      path: `/containers/create?${out}`,
      body: Buffer.from(JSON.stringify(newSpec)),
      record: commandLine([
        'docker', 'create', '--name', name,
        ...nets.flatMap((n) => ['--network', n, ...(endpoints[n]?.Aliases ?? []).flatMap((a) => ['--network-alias', a])]),
        ...ports,
        '--cap-drop', 'ALL',
        ...newHost.CapAdd.flatMap((x) => ['--cap-add', x]),
        ...(dns ?? []).flatMap((x) => ['--dns', x]),
        ...entry,
        image,
        ...(spec.Cmd ?? []),
      ]),
      changed: true,
    };
  }

  private async serviceUpdate(ref: string, query: URLSearchParams, body: Buffer | undefined): Promise<Decision> {
    const svc = await this.service(ref);
    type Spec = {
      Labels?: Record<string, string>;
      Mode?: { Replicated?: { Replicas?: number }; Global?: unknown };
      EndpointSpec?: { Mode?: string; Ports?: unknown[] };
      TaskTemplate?: {
        ContainerSpec?: { Image?: string; Env?: string[]; Args?: string[]; Command?: string[]; Mounts?: { Type?: string }[]; CapabilityAdd?: string[]; Privileges?: unknown; Sysctls?: Record<string, string>; Labels?: Record<string, string>; Hostname?: string };
        Networks?: { Target: string; Aliases?: string[] }[];
        Runtime?: string;
        PluginSpec?: unknown;
      };
    };
    const spec = jsonBody<Spec>(body);
    const current = ((await this.rt.serviceSpec(svc.id)) ?? {}) as Spec;
    const cs = spec.TaskTemplate?.ContainerSpec ?? {};
    const image = (cs.Image ?? '').split('@')[0]!;
    if (!this.policy.images[image] && !Object.values(this.policy.images).includes(image)) throw refuse(`only the lab images run here, not ${cs.Image}`);
    if ((cs.Mounts ?? []).some((m) => m.Type !== 'tmpfs')) throw refuse('volumes and mounts reach outside the lab');
    if (!isEmpty(cs.Privileges)) throw refuse('privileges are set by Flowlab');
    if (hasKeys(cs.Sysctls)) throw refuse("kernel settings are not the console's to change");
    if (spec.TaskTemplate?.PluginSpec || (spec.TaskTemplate?.Runtime && spec.TaskTemplate.Runtime !== 'container')) throw refuse('services here run containers');
    const had = (current.TaskTemplate?.ContainerSpec?.CapabilityAdd ?? []).map((x) => x.replace(/^CAP_/, ''));
    const tooMuch = (cs.CapabilityAdd ?? []).map((x) => x.replace(/^CAP_/, '')).filter((x) => !ALLOWED_CAPS.includes(x) && !had.includes(x));
    if (tooMuch.length > 0) throw refuse(`capabilities beyond NET_ADMIN and NET_RAW (${tooMuch.join(', ')}) reach outside the container`);
    // Swarm publishes through the routing mesh on every address of the host: not from a lab.
    if ((spec.EndpointSpec?.Ports ?? []).length > (current.EndpointSpec?.Ports ?? []).length) throw refuse("swarm publishes ports on every address of the host; this lab's console cannot");
    if (spec.Mode?.Global && !current.Mode?.Global) throw refuse('global mode runs a task on every node of the swarm');
    const replicas = spec.Mode?.Replicated?.Replicas ?? 0;
    if (replicas > MAX_REPLICAS) throw refuse(`a lab service runs at most ${MAX_REPLICAS} replicas, not ${replicas}`);
    for (const n of spec.TaskTemplate?.Networks ?? []) {
      const net = await this.network(n.Target);
      if (net.context || net.name === this.policy.consoleNetwork) throw refuse(`services cannot join the ${net.name} network here`);
    }
    // flowlab.* labels stay exactly as they were.
    const keep = (now: Record<string, string> | undefined, was: Record<string, string> | undefined) => {
      const mine = Object.fromEntries(Object.entries(now ?? {}).filter(([k]) => !k.startsWith('flowlab.')));
      if (Object.entries(now ?? {}).some(([k, v]) => k.startsWith('flowlab.') && was?.[k] !== v)) throw refuse("flowlab.* labels are Flowlab's to set");
      return { ...mine, ...Object.fromEntries(Object.entries(was ?? {}).filter(([k]) => k.startsWith('flowlab.'))) };
    };
    spec.Labels = keep(spec.Labels, current.Labels);
    if (spec.TaskTemplate?.ContainerSpec) spec.TaskTemplate.ContainerSpec.Labels = keep(cs.Labels, current.TaskTemplate?.ContainerSpec?.Labels);

    // The action log gets the flags that say what changed.
    const was = current.TaskTemplate?.ContainerSpec ?? {};
    const flags: string[] = [];
    if (image !== (was.Image ?? '').split('@')[0]) flags.push('--image', image);
    if (replicas !== (current.Mode?.Replicated?.Replicas ?? 0)) flags.push('--replicas', String(replicas));
    for (const e of cs.Env ?? []) if (!(was.Env ?? []).includes(e)) flags.push('--env-add', e);
    for (const e of was.Env ?? []) if (!(cs.Env ?? []).includes(e)) flags.push('--env-rm', e.split('=')[0]!);
    if (JSON.stringify(cs.Args ?? []) !== JSON.stringify(was.Args ?? [])) flags.push('--args', (cs.Args ?? []).join(' '));
    const nets = (x: Spec) => (x.TaskTemplate?.Networks ?? []).map((n) => n.Target);
    for (const n of nets(spec)) if (!nets(current).includes(n)) flags.push('--network-add', n);
    for (const n of nets(current)) if (!nets(spec).includes(n)) flags.push('--network-rm', n);
    if (query.get('rollback') === 'previous') flags.push('--rollback');
    return { path: `/services/${svc.id}/update?${query}`, body: Buffer.from(JSON.stringify(spec)), record: commandLine(['docker', 'service', 'update', ...flags, svc.name]), changed: true };
  }

  // ---- plumbing ----

  private authorised(req: IncomingMessage): boolean {
    const given = Buffer.from(String(req.headers[SECRET_HEADER] ?? ''));
    const secret = Buffer.from(this.secret);
    return given.length === secret.length && timingSafeEqual(given, secret);
  }

  private done(d: Decision): void {
    if (d.record) this.policy.record(d.record);
    if (d.changed) this.policy.changed?.();
  }

  private parse(req: IncomingMessage): { method: string; version: string; path: string; query: URLSearchParams } {
    const url = new URL(req.url ?? '/', 'http://console');
    const m = /^\/(v\d+\.\d+)(\/.*)$/.exec(url.pathname);
    return { method: req.method ?? 'GET', version: m ? `/${m[1]}` : '', path: m ? m[2]! : url.pathname, query: url.searchParams };
  }

  private async readBody(req: IncomingMessage): Promise<Buffer | undefined> {
    if (!['POST', 'PUT'].includes(req.method ?? '')) return undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) throw new Refusal(413, 'request body too large');
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  private fail(res: ServerResponse, e: unknown): void {
    const r = e instanceof Refusal ? e : new Refusal(400, `the console could not read that request: ${(e as Error).message}`);
    if (res.headersSent) return void res.destroy();
    res.writeHead(r.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: r.message }));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (!this.authorised(req)) throw new Refusal(401, 'this console is not authorised for this lab');
      const { method, version, path, query } = this.parse(req);
      const body = await this.readBody(req);
      const d = await this.decide(method, path, query, body);
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !['host', 'content-length', SECRET_HEADER, 'transfer-encoding'].includes(k)) headers[k] = v;
      if (d.body ?? body) headers['content-length'] = String((d.body ?? body)!.length);
      const upstream = httpRequest({ ...this.upstream, method, path: `${version}${d.path}`, headers });
      upstream.on('response', (up) => {
        if (d.filter || d.after) {
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () => {
            try {
              let out: Buffer = Buffer.concat(chunks);
              const ok = (up.statusCode ?? 500) < 300;
              if (ok && d.after) d.after(out);
              if (ok && d.filter) out = d.filter(out);
              if (ok) this.done(d);
              const h = { ...up.headers, 'content-length': String(out.length) };
              delete h['transfer-encoding'];
              res.writeHead(up.statusCode ?? 500, h);
              res.end(out);
            } catch (e) {
              this.fail(res, e);
            }
          });
          return;
        }
        if ((up.statusCode ?? 500) < 300) this.done(d);
        res.writeHead(up.statusCode ?? 500, up.headers);
        res.flushHeaders(); // long polls (wait, events, logs --follow) answer their headers first
        up.pipe(res);
      });
      upstream.on('error', (e) => this.fail(res, new Refusal(502, `the Docker engine did not answer: ${e.message}`)));
      res.on('close', () => upstream.destroy());
      upstream.end(d.body ?? body);
    } catch (e) {
      this.fail(res, e);
    }
  }

  /** attach and exec start take over the connection: checked like any request, then piped raw. */
  private async handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const reject = (status: number, message: string) => {
      const body = JSON.stringify({ message });
      socket.end(`HTTP/1.1 ${status} Refused\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    try {
      if (!this.authorised(req)) return reject(401, 'this console is not authorised for this lab');
      const { method, version, path, query } = this.parse(req);
      const p = path.split('/').filter(Boolean);
      const hijackable = (p[0] === 'containers' && p[2] === 'attach') || (p[0] === 'exec' && p[2] === 'start');
      if (method !== 'POST' || p.length !== 3 || !hijackable) return reject(403, `${scopeMessage}: ${method} ${path} cannot take over the connection`);
      const d = await this.decide(method, path, query, undefined);
      const upstream = this.upstream.socketPath ? netConnect(this.upstream.socketPath) : netConnect(this.upstream.port!, this.upstream.host!);
      const lines = [`${method} ${version}${d.path} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const k = req.rawHeaders[i]!;
        if (k.toLowerCase() === SECRET_HEADER) continue;
        lines.push(`${k}: ${k.toLowerCase() === 'host' ? 'docker' : req.rawHeaders[i + 1]}`);
      }
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream);
      upstream.pipe(socket);
      const end = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', end);
      upstream.on('error', end);
      socket.on('close', end);
      upstream.on('close', end);
    } catch (e) {
      const r = e instanceof Refusal ? e : new Refusal(400, (e as Error).message);
      reject(r.status, r.message);
    }
  }
}
