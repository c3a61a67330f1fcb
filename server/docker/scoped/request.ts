// The request line of a console call, read once: its API version, its path as decoded segments,
// its query as single values. Nothing here is forwarded: the proxy builds the path and query it
// sends from what the routes make of these.
import { Refusal, refuse, unreadable } from './refusal.ts';
import { bounded } from '../../util/lookup.ts';

/**
 * The one Docker API version the console speaks, and forwards at. The console's own CLI (Debian's
 * docker.io 20.10) speaks it; every engine Flowlab supports (API 1.41 or newer) answers it.
 * Below 1.24 the engine still applied a HostConfig sent on `start`, which no check here sees.
 */
export const API_VERSION = '1.41';

export interface ConsoleRequest {
  method: string;
  /** Decoded path segments: `/containers/web/json` → ['containers', 'web', 'json']. */
  segments: string[];
  /** Each query parameter once (a parameter given twice is refused: Docker and we could read different ones). */
  query: Map<string, string>;
  /** The body, as bytes (empty when none came). */
  body: Buffer;
}

const VERSION_RE = /^v(\d+)\.(\d+)$/;

function compareVersion(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number) as [number, number];
  const [bm, bn] = b.split('.').map(Number) as [number, number];
  return am !== bm ? am - bm : an - bn;
}

/** Reads the request target (`/v1.41/containers/json?all=1`) into a version-free path and a query. */
export function readTarget(method: string, target: string): Omit<ConsoleRequest, 'body'> {
  // PUT is Docker's for copying files in (docker cp): refused as what it is, not as an unknown method.
  if (method === 'PUT') throw refuse('copying files into a container (docker cp, PUT …/archive) is not offered; change files inside with docker exec');
  if (!/^(GET|HEAD|POST|DELETE)$/.test(method)) throw new Refusal(405, `the console takes GET, HEAD, POST and DELETE, not ${bounded(method, 12)}`);
  if (!target.startsWith('/')) throw unreadable(`a path starts with /, found ${bounded(target)}`);
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const rawQuery = q < 0 ? '' : target.slice(q + 1);
  const raw = rawPath.split('/').slice(1);
  if (raw.some((s) => s === '')) throw unreadable(`an empty path segment in ${bounded(rawPath)}`);
  const segments = raw.map((s) => {
    let d: string;
    try {
      d = decodeURIComponent(s);
    } catch {
      throw unreadable(`bad percent-encoding in ${bounded(s)}`);
    }
    // Decoded once: a segment that still holds a separator, a dot segment or another escape is
    // not a name anything here has.
    if (d === '.' || d === '..' || /[/\\%]/.test(d) || [...d].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) throw refuse(`${bounded(rawPath)} is not a path the console knows (a segment decodes to ${JSON.stringify(bounded(d, 40))})`);
    return d;
  });
  const v = VERSION_RE.exec(segments[0] ?? '');
  if (v) {
    const asked = `${v[1]}.${v[2]}`;
    if (compareVersion(asked, API_VERSION) < 0) {
      throw new Refusal(400, `this lab's console speaks Docker API ${API_VERSION}; /v${asked} is older (below 1.24 the engine applies settings sent on start, which the console cannot check). Use a client that speaks ${API_VERSION} (the console's docker CLI does)`);
    }
    if (compareVersion(asked, API_VERSION) > 0) {
      throw new Refusal(400, `this lab's console speaks Docker API ${API_VERSION}, not ${asked}; set DOCKER_API_VERSION=${API_VERSION} or let the client negotiate`);
    }
    segments.shift();
  }
  const query = new Map<string, string>();
  for (const [k, val] of new URLSearchParams(rawQuery)) {
    if (query.has(k)) throw unreadable(`the query gives ${bounded(k, 40)} twice`);
    query.set(k, val);
  }
  return { method, segments, query };
}
