// Every body the console accepts, as a strict shape: a key the shape does not name is refused at
// any depth (one that differs only in case from a known key is named as such: Docker would read
// it as that key), and settings the console does not offer may only be left at Docker's default,
// which is what the docker CLI sends for every flag not given. What passes is typed; the routes
// build the body they forward from these values, never from the bytes that came in.
import { z } from 'zod';
import { foldKey, parseStrictJson, type Json } from './json.ts';
import { ALIAS, IPV4, SIGNAL, USER } from './patterns.ts';
import { refuse, type Refusal } from './refusal.ts';

/** Docker's zero value: what the CLI sends for an option that was not given. */
const unset = z.union([z.null(), z.literal(''), z.literal(0), z.literal(false), z.array(z.never()).max(0), z.strictObject({})]);

/** Keys only accepted at their default, and why the console does not offer them. */
const WHY_OFF = new Map<string, string>();

const strict = <T extends z.ZodRawShape>(fields: T) => z.strictObject(fields);

/** Settings the console does not offer: accepted at Docker's default only, never forwarded. */
function off<K extends string>(reason: string, ...keys: K[]): Record<K, z.ZodOptional<z.ZodType>> {
  return offAt(reason, unset, ...keys);
}

/** The same, where the CLI's default for the setting is another value than Docker's zero. */
function offAt<K extends string>(reason: string, otherDefault: z.ZodType, ...keys: K[]): Record<K, z.ZodOptional<z.ZodType>> {
  for (const k of keys) WHY_OFF.set(k, reason);
  const value = otherDefault === unset ? unset : z.union([unset, otherDefault]);
  return Object.fromEntries(keys.map((k) => [k, value.optional()])) as unknown as Record<K, z.ZodOptional<z.ZodType>>;
}

const str = z.string().max(4096);
const list = z.array(str).max(256);
const nullableList = list.nullable().optional();
const int = (min: number, max: number) => z.number().int().min(min).max(max);
/** Docker takes `"Cmd": "sh"` as well as `["sh"]` (its strslice type). */
const command = z.union([str.transform((s) => [s]), list]).nullable().optional();
const ipv4 = z.string().regex(IPV4, 'an IPv4 address');
const user = z.string().regex(USER, 'a user[:group]').optional();
/** A terminal's rows and columns. */
const consoleSize = z.tuple([int(0, 10000), int(0, 10000)]).nullable().optional();
const portKey = z.string().regex(/^\d{1,5}(\/(tcp|udp|sctp))?$/, 'a container port like 8080/tcp');
const labels = z.record(z.string().max(256), z.string().max(4096)).nullable().optional();
const nanos = int(0, 24 * 3600 * 1e9);

const MOUNTS = 'volumes and mounts reach outside the lab';
const HOST_NS = "it shares a namespace with the Docker host, which the lab does not give";
const HOST_THINGS = 'it belongs to the Docker host, not to a lab';
const PRIVILEGED = 'privileged mode controls the whole Docker host';
const STATIC = "Docker sets it; a request does not";

const endpointShape = strict({
  IPAMConfig: strict({ IPv4Address: z.union([ipv4, z.literal('')]).optional(), ...off('the lab networks are IPv4 only', 'IPv6Address', 'LinkLocalIPs') }).nullable().optional(),
  Aliases: z.array(z.string().regex(ALIAS, 'a network alias (letters, digits, _ . -)')).max(32).nullable().optional(),
  ...off("links are legacy; use the lab's networks and names", 'Links'),
  ...off('network driver options are set by the lab', 'DriverOpts'),
  ...off(STATIC, 'NetworkID', 'EndpointID', 'Gateway', 'IPAddress', 'IPPrefixLen', 'IPv6Gateway', 'GlobalIPv6Address', 'GlobalIPv6PrefixLen', 'MacAddress', 'DNSNames', 'GwPriority'),
});
export type EndpointBody = z.infer<typeof endpointShape>;

const portBinding = strict({ HostIp: z.string().max(64).optional(), HostPort: z.string().regex(/^\d{0,5}$/, 'a host port number').optional() });

const hostConfigShape = strict({
  NetworkMode: z.string().max(200).optional(),
  PortBindings: z.record(portKey, z.array(portBinding).max(8).nullable()).nullable().optional(),
  RestartPolicy: strict({ Name: z.enum(['', 'no', 'always', 'unless-stopped', 'on-failure']).optional(), MaximumRetryCount: int(0, 10).optional() }).nullable().optional(),
  AutoRemove: z.boolean().optional(),
  CapAdd: nullableList,
  CapDrop: nullableList,
  Dns: z.array(ipv4).max(8).nullable().optional(),
  DnsOptions: nullableList,
  DnsSearch: nullableList,
  ExtraHosts: z.array(z.string().regex(/^[A-Za-z0-9_.-]{1,253}:([0-9.]{7,15}|host-gateway)$/, 'a host entry like name:10.0.0.5 or name:host-gateway')).max(32).nullable().optional(),
  LogConfig: strict({ Type: z.string().max(32).optional(), Config: z.record(z.string().max(64), z.string().max(256)).nullable().optional() }).nullable().optional(),
  OomScoreAdj: int(0, 1000).optional(),
  ReadonlyRootfs: z.boolean().optional(),
  SecurityOpt: nullableList,
  ShmSize: int(0, 2 ** 40).optional(),
  ConsoleSize: consoleSize,
  Memory: int(0, 2 ** 50).optional(),
  NanoCpus: int(0, 2 ** 50).optional(),
  PidsLimit: int(-1, 2 ** 31).nullable().optional(),
  Init: z.boolean().nullable().optional(),
  IpcMode: z.enum(['', 'private', 'none']).optional(),
  CgroupnsMode: z.enum(['', 'private']).optional(),
  ...off(PRIVILEGED, 'Privileged'),
  ...off("publish ports one by one, on this lab's own host ports", 'PublishAllPorts'),
  ...off('the out-of-memory killer treats lab containers like any other', 'OomKillDisable'),
  ...off(HOST_NS, 'PidMode', 'UTSMode', 'UsernsMode'),
  ...off(MOUNTS, 'Binds', 'Mounts', 'VolumeDriver', 'VolumesFrom', 'StorageOpt'),
  ...off('tmpfs mounts are set by Flowlab', 'Tmpfs'),
  ...off("links are legacy; use the lab's networks and names", 'Links'),
  ...off('devices belong to the Docker host', 'Devices', 'DeviceCgroupRules', 'DeviceRequests'),
  ...off("kernel settings are not the console's to change", 'Sysctls'),
  ...off('only the default runtime runs here', 'Runtime'),
  ...offAt('only the default isolation runs here', z.literal('default'), 'Isolation'),
  ...offAt('memory swap follows the memory limit Flowlab sets', z.literal(-1), 'MemorySwappiness'),
  ...off('cgroups and resource limits are set by Flowlab', 'CpuShares', 'MemorySwap', 'MemoryReservation', 'Cgroup', 'CgroupParent', 'Ulimits', 'KernelMemory', 'KernelMemoryTCP', 'BlkioWeight', 'BlkioWeightDevice', 'BlkioDeviceReadBps', 'BlkioDeviceWriteBps', 'BlkioDeviceReadIOps', 'BlkioDeviceWriteIOps', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'CpusetCpus', 'CpusetMems', 'CpuCount', 'CpuPercent', 'IOMaximumIOps', 'IOMaximumBandwidth'),
  // An empty list here means "mask nothing": present at all, it would weaken the container.
  MaskedPaths: z.null().optional(),
  ReadonlyPaths: z.null().optional(),
  ...off('capabilities are given with CapAdd, within what the lab allows', 'Capabilities'),
  ...off(HOST_THINGS, 'GroupAdd', 'ContainerIDFile', 'Annotations'),
});

export const createShape = strict({
  Hostname: z.string().regex(/^[A-Za-z0-9.-]{0,63}$/, 'a host name').optional(),
  Domainname: z.string().regex(/^[A-Za-z0-9.-]{0,253}$/, 'a domain name').optional(),
  User: user,
  AttachStdin: z.boolean().optional(),
  AttachStdout: z.boolean().optional(),
  AttachStderr: z.boolean().optional(),
  Tty: z.boolean().optional(),
  OpenStdin: z.boolean().optional(),
  StdinOnce: z.boolean().optional(),
  ExposedPorts: z.record(portKey, strict({})).nullable().optional(),
  Env: nullableList,
  Cmd: command,
  Entrypoint: command,
  Healthcheck: strict({ Test: list.nullable().optional(), Interval: nanos.optional(), Timeout: nanos.optional(), Retries: int(0, 100).optional(), StartPeriod: nanos.optional() }).nullable().optional(),
  Image: z.string().max(256),
  WorkingDir: z.string().max(1024).optional(),
  Labels: labels,
  StopSignal: z.string().regex(SIGNAL, 'a signal like TERM').optional(),
  StopTimeout: int(0, 3600).nullable().optional(),
  HostConfig: hostConfigShape.optional(),
  NetworkingConfig: strict({ EndpointsConfig: z.record(z.string().max(200), endpointShape.nullable()).nullable().optional() }).nullable().optional(),
  ...off(MOUNTS, 'Volumes'),
  ...off(STATIC, 'OnBuild', 'ArgsEscaped', 'NetworkDisabled', 'MacAddress', 'Shell'),
});
export type CreateBody = z.infer<typeof createShape>;

export const execShape = strict({
  User: user,
  Tty: z.boolean().optional(),
  AttachStdin: z.boolean().optional(),
  AttachStdout: z.boolean().optional(),
  AttachStderr: z.boolean().optional(),
  Detach: z.boolean().optional(),
  DetachKeys: z.string().max(64).optional(),
  Env: nullableList,
  WorkingDir: z.string().max(1024).optional(),
  Cmd: list.min(1),
  ConsoleSize: consoleSize,
  ...off(PRIVILEGED, 'Privileged'),
});

export const execStartShape = strict({
  Detach: z.boolean().optional(),
  Tty: z.boolean().optional(),
  ConsoleSize: consoleSize,
});

/** `docker node update`: what a lab with its own nodes lets a learner change (availability, labels). */
export const nodeSpecShape = strict({
  Name: z.string().max(64).optional(),
  Labels: z.record(z.string().max(128), z.string().max(256)).optional(),
  Role: z.enum(['manager', 'worker']),
  Availability: z.enum(['active', 'pause', 'drain']),
});

export const connectShape = strict({ Container: z.string().max(200), EndpointConfig: endpointShape.nullable().optional() });
export const disconnectShape = strict({ Container: z.string().max(200), Force: z.boolean().optional() });

type Def = { type: string; innerType?: z.ZodType; in?: z.ZodType; shape?: Record<string, z.ZodType>; element?: z.ZodType; valueType?: z.ZodType; options?: z.ZodType[]; items?: z.ZodType[] };
const defOf = (t: z.ZodType) => (t as unknown as { _zod: { def: Def } })._zod.def;

/** The schema under optional, nullable, default and transforms. */
function bare(t: z.ZodType): z.ZodType {
  const d = defOf(t);
  if (d.innerType && ['optional', 'nullable', 'default', 'readonly', 'catch'].includes(d.type)) return bare(d.innerType);
  if (d.type === 'pipe' && d.in) return bare(d.in);
  return t;
}

/** The keys the shape names for the object at `path` in a body (a union's options together). */
function keysAt(shape: z.ZodType, path: PropertyKey[]): string[] {
  const d = defOf(bare(shape));
  if (path.length === 0) {
    if (d.type === 'object') return Object.keys(d.shape ?? {});
    return d.type === 'union' ? (d.options ?? []).flatMap((o) => keysAt(o, [])) : [];
  }
  const [p, ...rest] = path;
  const child =
    d.type === 'object' ? d.shape?.[String(p)]
    : d.type === 'array' ? d.element
    : d.type === 'record' ? d.valueType
    : d.type === 'tuple' ? d.items?.[Number(p)]
    : undefined;
  if (child) return keysAt(child, rest);
  return d.type === 'union' ? (d.options ?? []).flatMap((o) => keysAt(o, path)) : [];
}

function unknownKey(shape: z.ZodType, path: PropertyKey[], key: string, where: string): Refusal {
  const at = [...path.map(String), key].join('.');
  const twin = keysAt(shape, path).find((k) => k !== key && foldKey(k) === foldKey(key));
  if (twin) return refuse(`${where} sets ${at}, which differs only in case from ${twin}: Docker would read it as ${twin}, so the console refuses it (write ${twin})`);
  return refuse(`${where} sets ${at}, which the console does not offer`);
}

/** A request body as strict JSON (an empty body reads as {}). */
export function readJsonBody(body: Buffer, where: string): Json {
  return parseStrictJson(body.length > 0 ? body.toString('utf8') : '{}', where);
}

/** Reads a body: strict JSON, then the shape. `where` names it in messages ("the container config"). */
export function readBody<S extends z.ZodType>(shape: S, body: Buffer, where: string): z.infer<S> {
  return readJson(shape, readJsonBody(body, where), where);
}

/** The shape check alone, on JSON already read. */
function readJson<S extends z.ZodType>(shape: S, json: Json, where: string): z.infer<S> {
  const r = shape.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') throw unknownKey(shape, issue.path, issue.keys[0]!, where);
  const at = issue.path.map(String).join('.') || '(the whole body)';
  const found = valueAt(json, issue.path);
  const key = String(issue.path.at(-1) ?? '');
  const why = WHY_OFF.get(key) ?? (key === 'MaskedPaths' || key === 'ReadonlyPaths' ? "the kernel's masked and read-only paths stay as Docker sets them" : undefined);
  if (why && found !== undefined) throw refuse(`${where} sets ${at} to ${short(found)}: ${why}`);
  throw refuse(`${where}: ${at} must be ${describeIssue(issue)}, found ${short(found)}`);
}

function valueAt(json: Json, path: PropertyKey[]): unknown {
  let v: unknown = json;
  for (const p of path) v = v && typeof v === 'object' && Object.hasOwn(v, p as string) ? (v as Record<string, unknown>)[p as string] : undefined;
  return v;
}

const short = (v: unknown) => {
  const s = v === undefined ? 'nothing' : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
};

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `${issue.expected === 'nonoptional' ? 'given' : `a${/^[aeiou]/.test(issue.expected) ? 'n' : ''} ${issue.expected}`}`;
    case 'invalid_value':
      return `one of ${issue.values.map((x) => JSON.stringify(x)).join(', ')}`;
    case 'too_big':
      return `at most ${String(issue.maximum)}${issue.origin === 'array' ? ' items' : issue.origin === 'string' ? ' characters' : ''}`;
    case 'too_small':
      return `at least ${String(issue.minimum)}${issue.origin === 'array' ? ' items' : issue.origin === 'string' ? ' characters' : ''}`;
    case 'invalid_format':
      return issue.message || 'well formed';
    default:
      return issue.message;
  }
}
