// Workshop mode's gate: who is calling (the auth cookie or a bearer token), what their role may
// do, and which sessions are theirs. Deny by default: a route not listed here is the trainer's.
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Server, Socket } from 'socket.io';
import { AUTH_COOKIE } from '../protocol/workshop.ts';
import { LIMIT_WORDS, type LimitKind, type RateLimiter } from '../workshop/limits.ts';
import type { Principal, TokenSigner } from '../workshop/tokens.ts';
import type { Workshops } from '../workshop/workshops.ts';
import { failed } from '../protocol/reply.ts';

export interface Gate {
  signer: TokenSigner;
  workshops: Workshops;
  limiter: RateLimiter;
}

type Rule = 'open' | 'any' | 'learner' | 'trainer' | 'session';

/** Routes a learner may call; everything else under /api is the trainer's. */
const RULES: [string, RegExp, Rule][] = [
  ['GET', /^\/api\/health$/, 'open'],
  ['POST', /^\/api\/auth\/trainer$/, 'open'],
  ['POST', /^\/api\/workshop\/join$/, 'open'],
  ['GET', /^\/api\/me$/, 'any'],
  ['POST', /^\/api\/auth\/logout$/, 'any'],
  ['GET', /^\/api\/scenarios(\/[^/]+)?$/, 'any'],
  ['GET', /^\/api\/sessions$/, 'any'],
  ['GET', /^\/api\/workshop$/, 'any'],
  ['POST', /^\/api\/workshop\/labs\/[^/]+\/start$/, 'learner'],
  ['*', /^\/api\/sessions\/[^/]+(\/.*)?$/, 'session'],
];

/** What a request costs in rate-limit terms. */
const COSTS: [string, RegExp, LimitKind][] = [
  ['POST', /^\/api\/workshop\/labs\/[^/]+\/start$/, 'session'],
  ['POST', /^\/api\/sessions\/[^/]+\/restart$/, 'session'],
  ['POST', /^\/api\/sessions$/, 'session'],
  ['POST', /^\/api\/sessions\/[^/]+\/probes$/, 'probe'],
  ['POST', /^\/api\/sessions\/[^/]+\/console$/, 'console'],
  ['POST', /^\/api\/sessions\/[^/]+\/diagnosis$/, 'grade'],
  ['POST', /^\/api\/workshop\/join$/, 'join'],
  ['POST', /^\/api\/auth\/trainer$/, 'login'],
];

/** decodeURIComponent that answers undefined for malformed input instead of throwing. */
function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decode(part.slice(i + 1).trim());
  }
  return undefined;
}

/** The caller of an HTTP request or a socket handshake, if their token is good and still stands for someone. */
function principalOf(gate: Gate, headers: IncomingMessage['headers'], handshakeToken?: unknown): Principal | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
  const token = bearer ?? (typeof handshakeToken === 'string' ? handshakeToken : undefined) ?? cookieValue(headers.cookie, AUTH_COOKIE);
  const p = token ? gate.signer.verify(token) : undefined;
  if (p?.role === 'learner' && !gate.workshops.learner(p.learner)) return undefined;
  return p;
}

/** A browser's request must come from this server's own pages (the Origin names this host). */
export function sameOrigin(headers: IncomingMessage['headers']): boolean {
  const origin = headers.origin;
  if (!origin || origin === 'null') return origin === undefined;
  try {
    return new URL(origin).host === headers.host;
  } catch {
    return false;
  }
}

/** Whether the principal may act on the session: the trainer on any, a learner on their own. */
function mayUseSession(gate: Gate, p: Principal | undefined, session: string): boolean {
  if (!p) return false;
  if (p.role === 'trainer') return true;
  return gate.workshops.ownerOf(session) === p.learner;
}

const whoKey = (p: Principal | undefined, req: { ip?: string | undefined }) => (p?.role === 'learner' ? `l:${p.learner}` : p?.role === 'trainer' ? 'trainer' : `ip:${req.ip ?? '?'}`);

function deny(res: Response, status: number, error: string): void {
  res.status(status).json(failed(error));
}

/** Express middleware for /api in workshop mode. */
export function apiGate(gate: Gate) {
  return (req: Request, res: Response, next: NextFunction) => {
    const path = req.path.startsWith('/api') ? req.path : `/api${req.path}`;
    const rule = RULES.find(([m, re]) => (m === '*' || m === req.method) && re.test(path))?.[2] ?? 'trainer';
    if (req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req.headers)) {
      return deny(res, 403, `cross-origin request refused: expected the Origin ${req.headers.host ?? '(this server)'}, found ${req.headers.origin}`);
    }
    const p = principalOf(gate, req.headers);
    const cost = COSTS.find(([m, re]) => m === req.method && re.test(path))?.[2];
    if (cost) {
      const r = gate.limiter.take(cost, whoKey(p, req));
      if (!r.ok) {
        res.setHeader('retry-after', String(r.retryAfterS));
        return deny(res, 429, `too many ${LIMIT_WORDS[cost]}; try again in ${r.retryAfterS} s`);
      }
    }
    if (rule === 'open') return next();
    if (!p) return deny(res, 401, 'sign in first: join the workshop with its code (learners) or open the trainer link');
    res.locals.principal = p;
    if (rule === 'any') return next();
    if (rule === 'trainer' && p.role !== 'trainer') return deny(res, 403, 'only the trainer may do this');
    if (rule === 'learner' && p.role !== 'learner') return deny(res, 403, 'only a learner may do this (the trainer resets labs from the dashboard)');
    if (rule === 'session') {
      const id = decode(/^\/api\/sessions\/([^/]+)/.exec(path)![1]!);
      if (id === undefined) return deny(res, 400, 'expected a session id of 8-32 hex characters, found a malformed escape');
      if (!mayUseSession(gate, p, id)) return deny(res, 403, `session ${id.slice(0, 40)} is not yours`);
      // A lab that was reset, restarted or removed is never acted on silently: the learner is told what happened.
      const gone = p.role === 'learner' && req.method !== 'GET' ? gate.workshops.gone(id) : undefined;
      if (gone) return deny(res, 410, gone);
      // Pages poll a lab (GET): that keeps it from idling out; what the learner does counts as work.
      if (req.method !== 'GET' || /^\/api\/sessions\/[^/]+\/services\//.test(path)) gate.workshops.worked(id);
      else gate.workshops.touch(id);
    }
    next();
  };
}

/** What the socket handlers ask in workshop mode. */
export interface SocketAccess {
  /** Why the socket's caller may not use the session, or undefined when they may. */
  refuse(socket: Socket, session: string): string | undefined;
  /** Takes a rate-limit token; false when the caller is over their limit. */
  limit(socket: Socket, kind: LimitKind): boolean;
  /** The session is in use (idle expiry counts from here). */
  touch(session: string): void;
  /** The learner did something in the session (their time worked counts). */
  worked(session: string): void;
}

/** Authenticates every socket.io connection, and answers the handlers' questions. */
export function socketAccess(io: Server, gate: Gate): SocketAccess {
  io.use((socket, next) => {
    const p = principalOf(gate, socket.handshake.headers, (socket.handshake.auth as { token?: unknown } | undefined)?.token);
    if (!p) return next(new Error('sign in first: join the workshop with its code (learners) or open the trainer link'));
    socket.data.principal = p;
    next();
  });
  return {
    refuse(socket, session) {
      const p = socket.data.principal as Principal | undefined;
      if (!mayUseSession(gate, p, session)) return `session ${session} is not yours`;
      const gone = p?.role === 'learner' ? gate.workshops.gone(session) : undefined;
      if (gone) return gone;
      gate.workshops.touch(session);
      return undefined;
    },
    limit: (socket, kind) => gate.limiter.take(kind, whoKey(socket.data.principal as Principal | undefined, { ip: socket.handshake.address })).ok,
    touch: (session) => gate.workshops.touch(session),
    worked: (session) => gate.workshops.worked(session),
  };
}
