// How the HTTP API answers: every reply { ok, ...data } or { ok: false, error }, errors mapped to
// statuses by their kind in one place, bodies validated with messages that say what was expected.
import type { NextFunction, Request, Response } from 'express';
import { SESSION_ID_RE } from '../protocol/session-id.ts';
import { AUTH_COOKIE } from '../protocol/workshop.ts';
import { failed, ok } from '../protocol/reply.ts';
import { FlowlabError, kindOfStatus } from '../util/errors.ts';
import type { Principal } from '../workshop/tokens.ts';

export class HttpError extends FlowlabError {
  constructor(status: number, message: string) {
    super(message, kindOfStatus(status));
  }
}

export const wrap = (fn: (req: Request, res: Response) => Promise<unknown> | unknown) => (req: Request, res: Response, next: NextFunction) => {
  Promise.resolve(fn(req, res)).then((data) => {
    if (!res.headersSent) res.json(ok(data as object));
  }, next);
};

export function sessionParam(req: Request): string {
  const id = String(req.params.id);
  if (!SESSION_ID_RE.test(id)) throw new HttpError(400, `expected a session id of 8-32 hex characters, found "${id.slice(0, 40)}"`);
  return id;
}


export const principal = (res: Response): Principal | undefined => res.locals.principal as Principal | undefined;

/** The sign-in cookie; an empty token with a zero lifetime clears it. */
export function authCookie(req: Request, token: string, maxAgeS = 12 * 3600): string {
  return `${AUTH_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${req.secure ? '; Secure' : ''}`;
}

export function invalid(what: string, issues: { path: PropertyKey[]; message: string }[], expected: string): HttpError {
  const issue = issues[0]!;
  return new HttpError(400, `invalid ${what} at ${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}; expected ${expected}`);
}

/** The one place a failure becomes an HTTP answer: Flowlab's errors by their kind, Express's by their status. */
export function errorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  const e = err as Error & { status?: number; type?: string };
  // Flowlab's errors say what kind they are; Express's own say their status.
  const status = err instanceof FlowlabError ? err.status
    : e.type === 'entity.parse.failed' ? 400
    : e.type === 'entity.too.large' ? 413
    : typeof e.status === 'number' && e.status >= 400 && e.status < 500 ? e.status
    : 500;
  const message = e.type === 'entity.parse.failed' ? `expected a JSON body: ${e.message}` : e.message;
  res.status(status).json(failed(message));
}
