// The requests an attacker derives from one the console allows: keys folded in case or given
// twice, unknown and dangerous keys at every depth, old API versions, paths written another way,
// and bodies on routes that take none. The console's tests send every variant and accept either a
// refusal or a result that holds only allow-listed values. Pure: no Docker here.
import { foldKey, type Json } from './json.ts';

export interface BaseRequest {
  /** What the request is, for test names. */
  what: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** Path and query without a version prefix: `/containers/create?name=x`. */
  target: string;
  body?: Json;
}

export interface Variant {
  what: string;
  method: string;
  /** Full request target, version prefix included (or not). */
  target: string;
  /** Raw body text (duplicate keys need the text; JSON.stringify cannot write them). */
  body?: string;
}

type Obj = { [key: string]: Json };
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Writes JSON with extra `[key, value]` pairs appended to the object at `path` (duplicates allowed). */
function writeWith(v: Json, path: string[], extra: [string, Json][], at: string[] = []): string {
  if (Array.isArray(v)) return `[${v.map((x, i) => writeWith(x, path, extra, [...at, String(i)])).join(',')}]`;
  if (isObj(v)) {
    const here = at.length === path.length && at.every((x, i) => x === path[i]);
    const pairs = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${writeWith(x, path, extra, [...at, k])}`);
    if (here) for (const [k, x] of extra) pairs.push(`${JSON.stringify(k)}:${JSON.stringify(x)}`);
    return `{${pairs.join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Every object in the body, with its path (map-valued keys included: the variants do not know a map from a struct). */
function objects(v: Json, at: string[] = []): { path: string[]; obj: Obj }[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => objects(x, [...at, String(i)]));
  if (!isObj(v)) return [];
  return [{ path: at, obj: v }, ...Object.entries(v).flatMap(([k, x]) => objects(x, [...at, k]))];
}

function replaceKey(v: Json, path: string[], from: string, to: string): Json {
  if (path.length === 0) {
    if (!isObj(v)) return v;
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k === from ? to : k, { value: x, enumerable: true, writable: true, configurable: true });
    return out;
  }
  const [head, ...rest] = path;
  if (Array.isArray(v)) return v.map((x, i) => (String(i) === head ? replaceKey(x, rest, from, to) : x));
  if (isObj(v)) return { ...v, [head!]: replaceKey(v[head!]!, rest, from, to) };
  return v;
}

/** Spellings Docker's decoder reads as `key`: lower case, upper case, and the Unicode folds onto s and k. */
export function caseTwins(key: string): string[] {
  const out = new Set([key.toLowerCase(), key.toUpperCase(), key.charAt(0).toLowerCase() + key.slice(1), key.replace(/s/i, '\u017f'), key.replace(/k/i, '\u212a')]);
  out.delete(key);
  return [...out].filter((k) => foldKey(k) === foldKey(key));
}

/** A value of the same kind that would reach outside the lab if Docker took it. */
function dangerous(v: Json): Json {
  if (typeof v === 'boolean') return true;
  if (typeof v === 'number') return 1 << 30;
  if (typeof v === 'string') return v === '' ? 'host' : '0.0.0.0';
  if (Array.isArray(v)) return ['/:/host', 'SYS_ADMIN', 'seccomp=unconfined'];
  if (isObj(v)) return { Type: 'syslog', Privileged: true, Binds: ['/:/host'] };
  return 'host';
}

/** Keys that mean something dangerous somewhere in Docker's API, added where they do not belong. */
const INTRUDERS: [string, Json][] = [
  ['Privileged', true],
  ['Binds', ['/:/host']],
  ['CapAdd', ['SYS_ADMIN']],
  ['PidMode', 'host'],
  ['NetworkMode', 'host'],
  ['HostConfig', { Privileged: true, Binds: ['/:/host'] }],
  ['Mounts', [{ Type: 'bind', Source: '/', Target: '/host' }]],
  ['Flowlab_Unknown', 1],
];

const OLD_VERSIONS = ['/v1.12', '/v1.23', '/v1.24', '/v1.40', '/v1.99', '/v2.0'];

/** Bodies that would change a container if Docker took them where none belongs (start below API 1.24 did). */
const SMUGGLED_BODY = JSON.stringify({ Binds: ['/:/host'], Privileged: true, PidMode: 'host', CapAdd: ['SYS_ADMIN'], SecurityOpt: ['seccomp=unconfined'] });

function pathTricks(target: string): string[] {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q);
  const segs = path.split('/').filter(Boolean);
  const out = new Set<string>();
  out.add(`/${segs.join('//')}${query}`);
  out.add(`/${segs.join('/%2F')}${query}`);
  out.add(`/${segs.join('/%252F')}${query}`);
  out.add(`/${segs.join('/./')}${query}`);
  out.add(`/${segs[0]}/../${segs.join('/')}${query}`);
  out.add(`/${segs[0]}/%2e%2e/${segs.join('/')}${query}`);
  out.add(`/${segs.join('/')}/..${query}`);
  out.add(`/${segs.join('/')}%00${query}`);
  out.add(`/${segs.join('\\')}${query}`);
  if (segs.length > 1) out.add(`/${segs[0]}%2F${segs.slice(1).join('/')}${query}`);
  return [...out];
}

/** Every variant of one allowed request. `version` is the prefix the console speaks (`/v1.41`). */
export function variantsOf(base: BaseRequest, version: string): Variant[] {
  const out: Variant[] = [];
  const body = base.body;
  const text = body === undefined ? undefined : JSON.stringify(body);
  const add = (what: string, target: string, b: string | undefined = text, method = base.method) => out.push({ what: `${base.what}: ${what}`, method, target, ...(b === undefined ? {} : { body: b }) });

  for (const v of OLD_VERSIONS) add(`version ${v}`, `${v}${base.target}`);
  for (const t of pathTricks(base.target)) add(`path ${t.slice(0, 60)}`, `${version}${t}`);
  // A query parameter twice, and one the route does not take.
  add('a query parameter given twice', `${version}${base.target}${base.target.includes('?') ? '&' : '?'}force=1&force=0`);
  add('an unknown query parameter', `${version}${base.target}${base.target.includes('?') ? '&' : '?'}checkpoint=x`);

  if (body === undefined || !isObj(body)) {
    // A route that takes no body gets one: below API 1.24, start took a HostConfig this way.
    if (base.method !== 'GET') add('a smuggled HostConfig body', `${version}${base.target}`, SMUGGLED_BODY);
    else add('a body on a GET', `${version}${base.target}`, SMUGGLED_BODY);
    return out;
  }
  for (const { path, obj } of objects(body)) {
    const where = path.join('.') || '(top)';
    for (const [k, v] of Object.entries(obj)) {
      for (const twin of caseTwins(k)) {
        add(`${where}.${k} spelled ${twin}`, `${version}${base.target}`, JSON.stringify(replaceKey(body, path, k, twin)));
        add(`${where}.${k} beside ${twin} = a dangerous value`, `${version}${base.target}`, writeWith(body, path, [[twin, dangerous(v)]]));
      }
      add(`${where}.${k} given twice`, `${version}${base.target}`, writeWith(body, path, [[k, dangerous(v)]]));
    }
    for (const [k, v] of INTRUDERS) if (!Object.hasOwn(obj, k)) add(`${where} with ${k}`, `${version}${base.target}`, writeWith(body, path, [[k, v]]));
  }
  add('a body that is not JSON', `${version}${base.target}`, `${text!.slice(0, -1)}`);
  add('a body nested too deep', `${version}${base.target}`, `${'['.repeat(64)}${']'.repeat(64)}`);
  return out;
}
