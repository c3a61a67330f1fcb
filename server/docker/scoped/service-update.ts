// `docker service update` and `docker service scale` from the console. The CLI sends the whole
// service spec back, changed. What is forwarded is the spec Docker holds now, with only the
// fields a lab lets a learner change copied over (each checked); any other difference between
// the two is refused, whatever its case or nesting. So mounts, privileges, ports, placement and
// resources stay exactly as Flowlab made them.
import { commandLine } from '../cli.ts';
import { foldKey, type Json } from './json.ts';
import type { Forward } from './forward.ts';
import { ALIAS } from './patterns.ts';
import { refuse } from './refusal.ts';
import { bounded } from '../../util/lookup.ts';
import type { Scope } from './scope.ts';
import { capabilities } from './create.ts';

const MAX_REPLICAS = 8;

type Obj = { [key: string]: Json };
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Docker leaves empty fields out of what it returns, and the CLI may send them: empty is absent. */
function normalise(v: Json | undefined): Json | undefined {
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map((x) => normalise(x) ?? null);
  if (isObj(v)) {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) {
      const n = normalise(x);
      if (n !== undefined) Object.defineProperty(out, k, { value: n, enumerable: true, writable: true, configurable: true });
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return v === null || v === '' || v === 0 || v === false ? undefined : v;
}

/** The paths the console may change, each with its check; everything else must stay as it is. */
const CHANGEABLE = [
  'Labels',
  'TaskTemplate.ContainerSpec.Image',
  'TaskTemplate.ContainerSpec.Env',
  'TaskTemplate.ContainerSpec.Args',
  'TaskTemplate.ContainerSpec.Command',
  'TaskTemplate.ContainerSpec.Labels',
  'TaskTemplate.ContainerSpec.CapabilityAdd',
  'TaskTemplate.Networks',
  'TaskTemplate.ForceUpdate',
  'Mode.Replicated.Replicas',
  'EndpointSpec.Mode',
  'UpdateConfig',
  'RollbackConfig',
] as const;
type Path = (typeof CHANGEABLE)[number];

function get(o: Json | undefined, path: string): Json | undefined {
  let v: Json | undefined = o;
  for (const k of path.split('.')) v = isObj(v) && Object.hasOwn(v, k) ? v[k] : undefined;
  return v;
}

function set(o: Obj, path: string, value: Json | undefined): void {
  const keys = path.split('.');
  let cur = o;
  for (const k of keys.slice(0, -1)) {
    if (!isObj(cur[k])) cur[k] = {};
    cur = cur[k] as Obj;
  }
  const last = keys.at(-1)!;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
}

/** JSON with keys in order: the same value always reads the same. */
function canonical(v: Json | undefined): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/** The first place where `a` and `b` differ outside the changeable paths, or undefined. */
function firstDifference(a: Json | undefined, b: Json | undefined, at = ''): string | undefined {
  if ((CHANGEABLE as readonly string[]).includes(at)) return undefined;
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference(Object.hasOwn(a, k) ? a[k] : undefined, Object.hasOwn(b, k) ? b[k] : undefined, at ? `${at}.${k}` : k);
      if (d) return d;
    }
    return undefined;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    // What is not changeable is forwarded as Docker holds it: only a change matters, not the order the CLI wrote it in.
    const sorted = (x: Json[]) => [...x].sort((p, q) => (canonical(p) < canonical(q) ? -1 : 1));
    const [sa, sb] = [sorted(a), sorted(b)];
    return sa.map((x, i) => firstDifference(x, sb[i], `${at}[${i}]`)).find(Boolean);
  }
  if (isObj(a) !== isObj(b)) {
    // A branch only one side has: fine if everything under it is changeable.
    const side = (isObj(a) ? a : b) as Obj;
    return Object.keys(side).map((k) => firstDifference(isObj(a) ? side[k] : undefined, isObj(b) ? side[k] : undefined, at ? `${at}.${k}` : k)).find(Boolean);
  }
  return canonical(a) === canonical(b) ? undefined : at || '(the whole spec)';
}

const strings = (v: Json | undefined, what: string, max = 256): string[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > max || v.some((x) => typeof x !== 'string' || x.length > 4096)) throw refuse(`${what} must be a list of strings`);
  return v as string[];
};
const labelMap = (v: Json | undefined, what: string): Record<string, string> => {
  if (v === undefined) return {};
  if (!isObj(v) || Object.values(v).some((x) => typeof x !== 'string')) throw refuse(`${what} must map names to strings`);
  return v as Record<string, string>;
};

/** The fields of Docker's ServiceSpec (API 1.41), at any depth: a key that differs from one only in case is refused. */
const SPEC_FIELDS = [
  'Name', 'Labels', 'TaskTemplate', 'Mode', 'UpdateConfig', 'RollbackConfig', 'Networks', 'EndpointSpec',
  'ContainerSpec', 'PluginSpec', 'NetworkAttachmentSpec', 'Resources', 'RestartPolicy', 'Placement', 'ForceUpdate', 'Runtime', 'LogDriver',
  'Image', 'Command', 'Args', 'Hostname', 'Env', 'Dir', 'User', 'Groups', 'Privileges', 'TTY', 'OpenStdin', 'ReadOnly', 'Mounts', 'StopSignal',
  'StopGracePeriod', 'Healthcheck', 'Hosts', 'DNSConfig', 'Secrets', 'Configs', 'Isolation', 'Init', 'Sysctls', 'CapabilityAdd', 'CapabilityDrop', 'Ulimits',
  'Type', 'Source', 'Target', 'Consistency', 'BindOptions', 'VolumeOptions', 'TmpfsOptions', 'SizeBytes', 'Propagation', 'NonRecursive',
  'NoCopy', 'DriverConfig', 'Hard', 'Soft', 'CredentialSpec', 'SELinuxContext', 'Disable', 'Role', 'Level', 'Config', 'File', 'Registry',
  'UID', 'GID', 'SecretID', 'SecretName', 'ConfigID', 'ConfigName', 'Kind', 'Value', 'NamedResourceSpec', 'DiscreteResourceSpec',
  'ReplicatedJob', 'GlobalJob', 'MaxConcurrent', 'TotalCompletions', 'ContainerID', 'Remote', 'Disabled', 'Description', 'Limits', 'Reservations', 'NanoCPUs', 'MemoryBytes', 'Pids', 'GenericResources', 'Condition', 'Delay',
  'MaxAttempts', 'Window', 'Constraints', 'Preferences', 'MaxReplicas', 'Platforms', 'Aliases', 'DriverOpts', 'Replicated', 'Global', 'Replicas',
  'Parallelism', 'FailureAction', 'Monitor', 'MaxFailureRatio', 'Order', 'Ports', 'Protocol', 'TargetPort', 'PublishedPort', 'PublishMode',
  'Nameservers', 'Search', 'Options', 'Test', 'Interval', 'Timeout', 'Retries', 'StartPeriod', 'Spread', 'SpreadDescriptor', 'Architecture', 'OS',
];
/** Whose children are names, not fields: their keys may be written in any case. */
const MAPS = ['Labels', 'DriverOpts', 'Sysctls', 'Options'];

/** Refuses a key Docker would read as another (case) or does not know, outside maps of names. */
function checkKeys(v: Json | undefined, at: string, parentKey = ''): void {
  if (Array.isArray(v)) return v.forEach((x, i) => checkKeys(x, `${at}[${i}]`, parentKey));
  if (!isObj(v) || MAPS.includes(parentKey)) return;
  for (const [k, x] of Object.entries(v)) {
    const here = at ? `${at}.${k}` : k;
    if (!SPEC_FIELDS.includes(k)) {
      const twin = SPEC_FIELDS.find((f) => foldKey(f) === foldKey(k));
      throw refuse(twin ? `the service spec sets ${bounded(here, 80)}, which differs only in case from ${twin}: Docker would read it as ${twin}, so the console refuses it` : `the service spec sets ${bounded(here, 80)}, which Docker's service spec does not have`);
    }
    checkKeys(x, here, k);
  }
}

export async function rewriteServiceUpdate(scope: Scope, ref: string, query: Record<string, string>, requested: Json): Promise<Forward> {
  const svc = await scope.service(ref);
  const current = ((await scope.engine.serviceSpec(svc.id)) ?? {}) as Obj;
  if (!isObj(requested)) throw refuse('a service update sends the service spec, a JSON object');
  checkKeys(requested, '');
  const diff = firstDifference(normalise(current), normalise(requested));
  if (diff) throw refuse(`a service update from the console may change ${CHANGEABLE.join(', ')}; this one changes ${bounded(diff, 80)}, which stays as the lab made it`);

  const next = structuredClone(current);
  const take = (path: Path, value: Json | undefined) => set(next, path, value);
  const want = (path: Path) => normalise(get(requested, path));

  // flowlab.* labels stay exactly as they were; the learner's own may change.
  for (const path of ['Labels', 'TaskTemplate.ContainerSpec.Labels'] as const) {
    const was = labelMap(get(current, path), path);
    const now = labelMap(want(path), path);
    const flowlab = (m: Record<string, string>) => JSON.stringify(Object.entries(m).filter(([k]) => k.startsWith('flowlab.')).sort());
    if (flowlab(was) !== flowlab(now)) throw refuse("flowlab.* labels are Flowlab's to set");
    take(path, now);
  }

  const image = get(requested, 'TaskTemplate.ContainerSpec.Image');
  if (typeof image !== 'string') throw refuse('a service runs an image: TaskTemplate.ContainerSpec.Image is missing');
  const imageRef = scope.image(image);
  if (!imageRef) throw refuse(`only the lab images run here, not ${bounded(image, 60)}`);
  take('TaskTemplate.ContainerSpec.Image', imageRef);
  for (const path of ['TaskTemplate.ContainerSpec.Env', 'TaskTemplate.ContainerSpec.Args', 'TaskTemplate.ContainerSpec.Command'] as const) {
    const v = strings(want(path), path);
    take(path, v.length > 0 ? v : undefined);
  }

  const had = strings(get(current, 'TaskTemplate.ContainerSpec.CapabilityAdd'), 'CapabilityAdd').map((x) => x.replace(/^CAP_/, ''));
  const caps = capabilities(strings(want('TaskTemplate.ContainerSpec.CapabilityAdd'), 'CapabilityAdd'), had);
  take('TaskTemplate.ContainerSpec.CapabilityAdd', caps.length > 0 ? caps : undefined);

  const nets = want('TaskTemplate.Networks');
  if (nets !== undefined && (!Array.isArray(nets) || nets.length > 8)) throw refuse('TaskTemplate.Networks must be a list of at most 8 networks');
  const networks: Obj[] = [];
  for (const n of (nets ?? []) as Json[]) {
    if (!isObj(n) || typeof n.Target !== 'string' || Object.keys(n).some((k) => !['Target', 'Aliases'].includes(k))) throw refuse('each of TaskTemplate.Networks is { Target, Aliases }');
    const net = await scope.joinable(n.Target, 'service');
    const aliases = strings(n.Aliases, 'Aliases', 32);
    if (aliases.some((a) => !ALIAS.test(a))) throw refuse('a network alias is letters, digits, _ . -');
    networks.push({ Target: net.id, ...(aliases.length > 0 ? { Aliases: aliases } : {}) });
  }
  take('TaskTemplate.Networks', networks.length > 0 ? networks : undefined);

  const force = want('TaskTemplate.ForceUpdate') ?? 0;
  if (typeof force !== 'number' || !Number.isInteger(force) || force < 0) throw refuse('TaskTemplate.ForceUpdate must be a whole number');
  take('TaskTemplate.ForceUpdate', force);

  if (get(current, 'Mode.Replicated') === undefined) throw refuse('only replicated services are scaled here');
  const replicas = want('Mode.Replicated.Replicas') ?? 0;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0 || replicas > MAX_REPLICAS) throw refuse(`a lab service runs at most ${MAX_REPLICAS} replicas, not ${bounded(String(replicas), 12)}`);
  take('Mode.Replicated.Replicas', replicas);

  const endpointMode = want('EndpointSpec.Mode') ?? 'vip';
  if (endpointMode !== 'vip' && endpointMode !== 'dnsrr') throw refuse(`the endpoint mode is vip or dnsrr, not ${bounded(String(endpointMode), 20)}`);
  take('EndpointSpec.Mode', endpointMode);

  for (const path of ['UpdateConfig', 'RollbackConfig'] as const) take(path, rolloutConfig(want(path), path));

  // The action log gets the flags that say what changed.
  const was = (path: string) => get(current, path);
  const flags: string[] = [];
  const list = (path: string) => strings(get(next, path), path);
  if (imageRef !== String(was('TaskTemplate.ContainerSpec.Image') ?? '').split('@')[0]) flags.push('--image', imageRef);
  if (replicas !== (was('Mode.Replicated.Replicas') ?? 0)) flags.push('--replicas', String(replicas));
  const env = list('TaskTemplate.ContainerSpec.Env');
  const oldEnv = strings(was('TaskTemplate.ContainerSpec.Env'), 'Env');
  for (const e of env) if (!oldEnv.includes(e)) flags.push('--env-add', e);
  for (const e of oldEnv) if (!env.includes(e)) flags.push('--env-rm', e.split('=')[0]!);
  if (JSON.stringify(list('TaskTemplate.ContainerSpec.Args')) !== JSON.stringify(strings(was('TaskTemplate.ContainerSpec.Args'), 'Args'))) flags.push('--args', list('TaskTemplate.ContainerSpec.Args').join(' '));
  const targets = (o: Json | undefined) => ((get(o, 'TaskTemplate.Networks') ?? []) as Obj[]).map((n) => String(n.Target));
  for (const n of targets(next)) if (!targets(current).includes(n)) flags.push('--network-add', n);
  for (const n of targets(current)) if (!targets(next).includes(n)) flags.push('--network-rm', n);
  if (endpointMode !== (was('EndpointSpec.Mode') ?? 'vip')) flags.push('--endpoint-mode', String(endpointMode));
  for (const c of caps) if (!had.includes(c)) flags.push('--cap-add', c);
  if (force !== (was('TaskTemplate.ForceUpdate') ?? 0)) flags.push('--force');
  if (query.rollback === 'previous') flags.push('--rollback');
  return {
    method: 'POST',
    path: `/services/${svc.id}/update`,
    query,
    body: next,
    record: commandLine(['docker', 'service', 'update', ...flags, svc.name]),
    changed: true,
  };
}

/** `--update-parallelism`, `--update-delay`, …: how a change rolls out, nothing more. */
function rolloutConfig(v: Json | undefined, where: string): Obj | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) throw refuse(`${where} must be an object`);
  const out: Obj = {};
  const num = (k: string, max: number) => {
    const x = v[k];
    if (x === undefined) return;
    if (typeof x !== 'number' || x < 0 || x > max) throw refuse(`${where}.${k} must be a number from 0 to ${max}`);
    out[k] = x;
  };
  const oneOf = (k: string, values: string[]) => {
    const x = v[k];
    if (x === undefined) return;
    if (typeof x !== 'string' || !values.includes(x)) throw refuse(`${where}.${k} must be one of ${values.join(', ')}`);
    out[k] = x;
  };
  for (const k of Object.keys(v)) if (!['Parallelism', 'Delay', 'Monitor', 'MaxFailureRatio', 'FailureAction', 'Order'].includes(k)) throw refuse(`${where} sets ${bounded(k, 40)}, which the console does not offer`);
  num('Parallelism', 64);
  num('Delay', 3600e9);
  num('Monitor', 3600e9);
  num('MaxFailureRatio', 1);
  oneOf('FailureAction', ['pause', 'continue', 'rollback']);
  oneOf('Order', ['stop-first', 'start-first']);
  return Object.keys(out).length > 0 ? out : undefined;
}
