// Every error a user can act on carries what kind of failure it is, as a field: the HTTP layer,
// the CLI and the socket handlers read the kind, never the message text. One table maps a kind to
// its HTTP status.

export type ErrorKind =
  /** The request or the lab file is malformed, or names something that cannot be. */
  | 'invalid'
  /** The thing named does not exist (a session, a service, a workshop). */
  | 'not-found'
  /** It exists, but is not in a state that allows this (a session still starting, a workshop that ended). */
  | 'conflict'
  | 'unauthorized'
  | 'forbidden'
  | 'too-large'
  | 'rate-limited'
  /** Something Flowlab needs is not there (the Docker engine, an image, a kernel feature). */
  | 'unavailable'
  | 'internal';

export const HTTP_STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'too-large': 413,
  'rate-limited': 429,
  internal: 500,
  unavailable: 503,
};

export class FlowlabError extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind,
  ) {
    super(message);
  }

  get status(): number {
    return HTTP_STATUS[this.kind];
  }
}

/** The kind an HTTP status stands for (for errors made from one). */
export function kindOfStatus(status: number): ErrorKind {
  const found = (Object.entries(HTTP_STATUS) as [ErrorKind, number][]).find(([, s]) => s === status);
  return found ? found[0] : status >= 500 ? 'internal' : 'invalid';
}
