// Every body the console accepts, as a strict shape: a key the shape does not name is refused at
// any depth (one that differs only in case from a known key is named as such: Docker would read
// it as that key), and settings the console does not offer may only be left at Docker's default,
// which is what the docker CLI sends for every flag not given. What passes is typed; the routes
// build the body they forward from these values, never from the bytes that came in.
import { z } from 'zod';
import { foldKey, parseStrictJson, JsonRefusal, type Json } from './json.ts';
import { Refusal, refuse } from './refusal.ts';

/** Docker's zero value: what the CLI sends for an option that was not given. */
const unset = z.union([z.null(), z.literal(''), z.literal(0), z.literal(false), z.array(z.never()).max(0), z.strictObject({})]);

/** Every key some shape names (a key that differs from one only in case is named as its twin). */
const KNOWN = new Set<string>();
/** Keys only accepted at their default, and why the console does not offer them. */
const WHY_OFF = new Map<string, string>();

function strict<T extends z.ZodRawShape>(fields: T) {
  for (const k of Object.keys(fields)) KNOWN.add(k);
  return z.strictObject(fields);
}

/** Settings the console does not offer: accepted at Docker's default only, never forwarded. */
function off<K extends string>(reason: string, ...keys: K[]): Record<K, z.ZodOptional<typeof unset>> {
  for (const k of keys) WHY_OFF.set(k, reason);
  return Object.fromEntries(keys.map((k) => [k, unset.optional()])) as Record<K, z.ZodOptional<typeof unset>>;
}

const str = z.string().max(4096);
const list = z.array(str).max(256);
const nullableList = list.nullable().optional();
const int = (min: number, max: number) => z.number().int().min(min).max(max);
/** Docker takes `"Cmd": "sh"` as well as `["sh"]` (its strslice type). */
const command = z.union([str.transform((s) => [s]), list]).nullable().optional();
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
export const isIpv4 = (ip: string) => IPV4.test(ip);
const ipv4 = z.string().regex(IPV4, 'an IPv4 address');
const portKey = z.string().regex(/^\d{1,5}(\/(tcp|udp|sctp))?$/, 'a container port like 8080/tcp');
const labels = z.record(z.string().max(256), z.string().max(4096)).nullable().optional();
const nanos = int(0, 24 * 3600 * 1e9);

const MOUNTS = 'volumes and mounts reach outside the lab';
const HOST_NS = "it shares a namespace with the Docker host, which the lab does not give";
const HOST_THINGS = 'it belongs to the Docker host, not to a lab';
const PRIVILEGED = 'privileged mode controls the whole Docker host';
const STATIC = "Docker sets it; a request does not";

export const endpointShape = strict({
  IPAMConfig: strict({ IPv4Address: z.union([ipv4, z.literal('')]).optional(), ...off('the lab networks are IPv4 only', 'IPv6Address', 'LinkLocalIPs') }).nullable().optional(),
  Aliases: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a network alias (letters, digits, _ . -)')).max(32).nullable().optional(),
  ...off("links are legacy; use the lab's networks and names", 'Links'),
  ...off('network driver options are set by the lab', 'DriverOpts'),
  ...off(STATIC, 'NetworkID', 'EndpointID', 'Gateway', 'IPAddress', 'IPPrefixLen', 'IPv6Gateway', 'GlobalIPv6Address', 'GlobalIPv6PrefixLen', 'MacAddress', 'DNSNames', 'GwPriority'),
});
export type EndpointBody = z.infer<typeof endpointShape>;

const portBinding = strict({ HostIp: z.string().max(64).optional(), HostPort: z.string().regex(/^\d{0,5}$/, 'a host port number').optional() });

export const hostConfigShape = strict({
  NetworkMode: z.string().max(200).optional(),
  PortBindings: z.record(portKey, z.array(portBinding).max(8).nullable()).nullable().optional(),
  RestartPolicy: strict({ Name: z.enum(['', 'no', 'always', 'unless-stopped', 'on-failure']).optional(), MaximumRetryCount: int(0, 10).optional() }).nullable().optional(),
  AutoRemove: z.boolean().optional(),
  CapAdd: nullableList,
  CapDrop: nullableList,
  Dns: nullableList,
  DnsOptions: nullableList,
  DnsSearch: nullableList,
  ExtraHosts: z.array(z.string().regex(/^[A-Za-z0-9_.-]{1,253}:([0-9.]{7,15}|host-gateway)$/, 'a host entry like name:10.0.0.5 or name:host-gateway')).max(32).nullable().optional(),
  LogConfig: strict({ Type: z.string().max(32).optional(), Config: z.record(z.string().max(64), z.string().max(256)).nullable().optional() }).nullable().optional(),
  OomScoreAdj: int(0, 1000).optional(),
  ReadonlyRootfs: z.boolean().optional(),
  SecurityOpt: nullableList,
  ShmSize: int(0, 2 ** 40).optional(),
  ConsoleSize: z.tuple([int(0, 10000), int(0, 10000)]).nullable().optional(),
  Isolation: z.enum(['', 'default']).optional(),
  CpuShares: int(0, 262144).optional(),
  Memory: int(0, 2 ** 50).optional(),
  MemorySwap: int(-1, 2 ** 50).optional(),
  MemoryReservation: int(0, 2 ** 50).optional(),
  MemorySwappiness: int(-1, 100).nullable().optional(),
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
  ...off('cgroups and resource limits are set by Flowlab', 'Cgroup', 'CgroupParent', 'Ulimits', 'KernelMemory', 'KernelMemoryTCP', 'BlkioWeight', 'BlkioWeightDevice', 'BlkioDeviceReadBps', 'BlkioDeviceWriteBps', 'BlkioDeviceReadIOps', 'BlkioDeviceWriteIOps', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'CpusetCpus', 'CpusetMems', 'CpuCount', 'CpuPercent', 'IOMaximumIOps', 'IOMaximumBandwidth'),
  // An empty list here means "mask nothing": present at all, it would weaken the container.
  MaskedPaths: z.null().optional(),
  ReadonlyPaths: z.null().optional(),
  ...off('capabilities are given with CapAdd, within what the lab allows', 'Capabilities'),
  ...off(HOST_THINGS, 'GroupAdd', 'ContainerIDFile', 'Annotations'),
});
export type HostConfigBody = z.infer<typeof hostConfigShape>;

export const createShape = strict({
  Hostname: z.string().regex(/^[A-Za-z0-9.-]{0,63}$/, 'a host name').optional(),
  Domainname: z.string().regex(/^[A-Za-z0-9.-]{0,253}$/, 'a domain name').optional(),
  User: z.string().regex(/^[A-Za-z0-9_.:-]{0,64}$/, 'a user[:group]').optional(),
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
  StopSignal: z.string().regex(/^(SIG)?[A-Z0-9+-]{1,12}$|^\d{1,2}$/, 'a signal like TERM').optional(),
  StopTimeout: int(0, 3600).nullable().optional(),
  HostConfig: hostConfigShape.optional(),
  NetworkingConfig: strict({ EndpointsConfig: z.record(z.string().max(200), endpointShape.nullable()).nullable().optional() }).nullable().optional(),
  ...off(MOUNTS, 'Volumes'),
  ...off(STATIC, 'OnBuild', 'ArgsEscaped', 'NetworkDisabled', 'MacAddress', 'Shell'),
});
export type CreateBody = z.infer<typeof createShape>;

export const execShape = strict({
  User: z.string().regex(/^[A-Za-z0-9_.:-]{0,64}$/, 'a user[:group]').optional(),
  Tty: z.boolean().optional(),
  AttachStdin: z.boolean().optional(),
  AttachStdout: z.boolean().optional(),
  AttachStderr: z.boolean().optional(),
  Detach: z.boolean().optional(),
  DetachKeys: z.string().max(64).optional(),
  Env: nullableList,
  WorkingDir: z.string().max(1024).optional(),
  Cmd: list.min(1),
  ConsoleSize: z.tuple([int(0, 10000), int(0, 10000)]).nullable().optional(),
  ...off(PRIVILEGED, 'Privileged'),
});
export type ExecBody = z.infer<typeof execShape>;

export const execStartShape = strict({
  Detach: z.boolean().optional(),
  Tty: z.boolean().optional(),
  ConsoleSize: z.tuple([int(0, 10000), int(0, 10000)]).nullable().optional(),
});

export const connectShape = strict({ Container: z.string().max(200), EndpointConfig: endpointShape.nullable().optional() });
export const disconnectShape = strict({ Container: z.string().max(200), Force: z.boolean().optional() });

function unknownKey(path: PropertyKey[], key: string, where: string): Refusal {
  const at = [...path.map(String), key].join('.');
  const twin = [...KNOWN].find((k) => k !== key && foldKey(k) === foldKey(key));
  if (twin) return refuse(`${where} sets ${at}, which differs only in case from ${twin}: Docker would read it as ${twin}, so the console refuses it (write ${twin})`);
  return refuse(`${where} sets ${at}, which the console does not offer`);
}

/** Reads a body: strict JSON, then the shape. `where` names it in messages ("the container config"). */
export function readBody<S extends z.ZodType>(shape: S, body: Buffer, where: string): z.infer<S> {
  let json: Json;
  try {
    json = parseStrictJson(body.length > 0 ? body.toString('utf8') : '{}', where);
  } catch (e) {
    if (e instanceof JsonRefusal) throw new Refusal(400, e.message);
    throw e;
  }
  return readJson(shape, json, where);
}

/** The shape check alone, on JSON already read. */
export function readJson<S extends z.ZodType>(shape: S, json: Json, where: string): z.infer<S> {
  const r = shape.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') throw unknownKey(issue.path, issue.keys[0]!, where);
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
