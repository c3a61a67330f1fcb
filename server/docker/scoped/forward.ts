// What the console's API sends to the engine for one allowed request: built by Flowlab from
// values it read and checked, never the bytes the learner sent.

export interface Forward {
  method: 'GET' | 'HEAD' | 'POST' | 'DELETE';
  /** The path without the version prefix (the proxy adds the one version it speaks). */
  path: string;
  query?: Record<string, string>;
  /** A JSON body Flowlab built; serialised by the proxy. */
  body?: unknown;
  /** The docker command this request is, for the action log (recorded once the engine said yes). */
  record?: string;
  /** The lab changed: captures and the topology follow. */
  changed?: boolean;
  /** Takes over the connection (attach, exec start with a stream). */
  hijack?: boolean;
  /** Sees the engine's answer (to remember an exec it created). */
  after?: (out: Buffer) => void;
  /** Rewrites the engine's answer before the learner sees it. */
  filter?: (out: Buffer) => Buffer;
}

/** The request line and body bytes a Forward becomes. */
export function serialise(f: Forward, version: string): { target: string; body?: Buffer } {
  const q = new URLSearchParams(f.query ?? {}).toString();
  const path = f.path.split('/').map((s) => encodeURIComponent(s)).join('/');
  return { target: `/v${version}${path}${q ? `?${q}` : ''}`, ...(f.body === undefined ? {} : { body: Buffer.from(JSON.stringify(f.body)) }) };
}
