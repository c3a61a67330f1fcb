// A Docker Engine API scoped to one lab session: what a learner's console talks to instead of
// the real engine. Each request is read once (version, path, query, body), decided by the routes,
// and what goes to the engine is the request the routes built, at the one API version the
// console speaks, with headers Flowlab writes. Nothing the learner sent is passed through but
// the bytes of an attached stream once the engine has answered 101 and taken it over.
import { timingSafeEqual } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type RequestOptions, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import { commandLine } from '../cli.ts';
import { serialise, type Forward } from './forward.ts';
import { Refusal, SCOPE_MESSAGE, unreadable } from './refusal.ts';
import { API_VERSION, readTarget, type ConsoleRequest } from './request.ts';
import { decide, type RouteContext } from './routes.ts';
import { Scope, type ScopeEngine, type ScopePolicy } from './scope.ts';
import type { Upstream } from '../types.ts';

export const SECRET_HEADER = 'x-flowlab-console';
/** Which session a console's CLI believes it talks to: a listener for another session says so. */
export const SESSION_HEADER = 'x-flowlab-session';
/** The command line the console's shell ran (its words, NUL-separated, base64), and that run's id. */
export const COMMAND_HEADER = 'x-flowlab-command';
export const RUN_HEADER = 'x-flowlab-run';
const MAX_COMMAND = 2000;
/** Runs remembered at once: a run's later requests (a CLI command makes several) join its entry. */
const RUNS_KEPT = 64;
const MAX_BODY = 1024 * 1024;

export class ScopedApi {
  private readonly upstream: Upstream;
  private readonly ctx: RouteContext;
  /** Typed commands seen, by run id: their handle in the action log. */
  private readonly runs = new Map<string, number>();
  readonly server: Server;

  constructor(
    engine: ScopeEngine,
    private readonly policy: ScopePolicy,
    private readonly secret: string,
    /** The engine's API, as its runtime knows it (DockerRuntime.upstream): socket, host and port, TLS. */
    upstream: Upstream,
  ) {
    this.upstream = upstream;
    this.ctx = { scope: new Scope(policy, engine), execs: new Set() };
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.handleUpgrade(req, socket as Socket, head));
  }

  /** Wrong secret: 401. A console of another session reaching this listener is told which session it reached. */
  private authorise(req: IncomingMessage): void {
    const claimed = req.headers[SESSION_HEADER];
    if (typeof claimed === 'string' && claimed !== this.policy.session) {
      throw new Refusal(421, `this address serves the console of lab session ${this.policy.session}, not ${claimed.slice(0, 40)}; the console network was handed out while another console still listened on it (end and start the lab again)`);
    }
    const given = Buffer.from(String(req.headers[SECRET_HEADER] ?? ''));
    const secret = Buffer.from(this.secret);
    if (!(given.length === secret.length && timingSafeEqual(given, secret))) throw new Refusal(401, 'this console is not authorised for this lab');
  }

  /** The whole decision for one request: what to send the engine. Exposed for tests of the policy against a real engine. */
  async decide(method: string, target: string, body: Buffer = Buffer.alloc(0)): Promise<Forward> {
    const r: ConsoleRequest = { ...readTarget(method, target), body };
    return decide(this.ctx, r);
  }

  /**
   * The command the learner typed that sent this request, recorded on its first request (what
   * the CLI sends for one command shares a run id). Nothing the learner sends here is trusted for
   * anything but the trainer's view of what they typed.
   */
  private typed(req: IncomingMessage): number | undefined {
    const run = req.headers[RUN_HEADER];
    const words = req.headers[COMMAND_HEADER];
    if (typeof run !== 'string' || typeof words !== 'string' || !/^[A-Za-z0-9]{1,32}$/.test(run) || !this.policy.typed) return undefined;
    const known = this.runs.get(run);
    if (known !== undefined) return known;
    const args = Buffer.from(words.slice(0, (MAX_COMMAND * 4) / 3 + 4), 'base64').toString('utf8').split('\0').filter((w, i, all) => w !== '' || i < all.length - 1);
    if (args.length === 0) return undefined;
    const line = commandLine(['docker', ...args.slice(0, 64)]);
    const handle = this.policy.typed(line.length > MAX_COMMAND ? `${line.slice(0, MAX_COMMAND)}…` : line);
    this.runs.set(run, handle);
    if (this.runs.size > RUNS_KEPT) this.runs.delete(this.runs.keys().next().value!);
    return handle;
  }

  private done(f: Forward, typed: number | undefined): void {
    if (f.record) this.policy.record(f.record);
    if (f.changed) {
      if (typed !== undefined) this.policy.typedChanged?.(typed);
      this.policy.changed?.();
    }
  }

  private headers(body: Buffer | undefined, upgrade: boolean): Record<string, string> {
    return {
      host: 'docker',
      ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
      ...(upgrade ? { connection: 'Upgrade', upgrade: 'tcp' } : {}),
    };
  }

  private async readBody(req: IncomingMessage): Promise<Buffer> {
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
    const r = e instanceof Refusal ? e : unreadable((e as Error).message);
    if (res.headersSent) return void res.destroy();
    res.writeHead(r.status, { 'content-type': 'application/json', 'api-version': API_VERSION });
    res.end(JSON.stringify({ message: r.message }));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      this.authorise(req);
      const typed = this.typed(req);
      const body = await this.readBody(req);
      const f = await this.decide(req.method ?? 'GET', req.url ?? '/', body);
      const out = serialise(f, API_VERSION);
      const { tls, dial, ...where } = this.upstream;
      const options = { ...where, method: f.method, path: out.target, headers: this.headers(out.body, false) };
      // The engine's certificate names its address, not the Host header Flowlab writes ("docker").
      const upstream = dial
        ? httpRequest({ ...options, createConnection: dialled(dial) })
        : tls
          ? httpsRequest({ ...options, ...tls, checkServerIdentity: (_name, cert) => checkServerIdentity(where.host!, cert) })
          : httpRequest(options);
      upstream.on('response', (up) => {
        const headers = { ...up.headers, 'api-version': API_VERSION };
        const ok = (up.statusCode ?? 500) < 300;
        if (f.filter || f.after) {
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () => {
            try {
              let answer: Buffer = Buffer.concat(chunks);
              if (ok && f.after) f.after(answer);
              if (ok && f.filter) answer = f.filter(answer);
              if (ok) this.done(f, typed);
              delete headers['transfer-encoding'];
              res.writeHead(up.statusCode ?? 500, { ...headers, 'content-length': String(answer.length) });
              res.end(answer);
            } catch (e) {
              this.fail(res, e);
            }
          });
          return;
        }
        if (ok) this.done(f, typed);
        res.writeHead(up.statusCode ?? 500, headers);
        res.flushHeaders(); // long polls (wait, events, logs --follow) answer their headers first
        up.pipe(res);
      });
      upstream.on('error', (e) => this.fail(res, new Refusal(502, `the Docker engine did not answer: ${e.message}`)));
      res.on('close', () => upstream.destroy());
      upstream.end(out.body);
    } catch (e) {
      this.fail(res, e);
    }
  }

  /** Reads exactly the request's body from the start of an upgraded connection. */
  private upgradeBody(req: IncomingMessage, socket: Socket, head: Buffer): Promise<{ body: Buffer; rest: Buffer }> {
    const length = Number(req.headers['content-length'] ?? 0);
    if (!Number.isInteger(length) || length < 0 || length > MAX_BODY) return Promise.reject(unreadable('a bad Content-Length'));
    if (req.headers['transfer-encoding']) return Promise.reject(unreadable('a chunked body on a connection upgrade'));
    return new Promise((resolve, reject) => {
      let buf = head;
      const check = () => {
        if (buf.length < length) return false;
        socket.off('data', more);
        socket.off('end', ended);
        resolve({ body: buf.subarray(0, length), rest: buf.subarray(length) });
        return true;
      };
      const more = (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        check();
      };
      const ended = () => reject(new Refusal(400, 'the connection ended before its body'));
      if (check()) return;
      socket.on('data', more);
      socket.on('end', ended);
    });
  }

  /**
   * attach and exec start take over the connection: read and decided like any request, sent,
   * and piped raw only once the engine answers 101. Until then nothing more the learner sent
   * reaches the engine: an engine that refuses (an exec whose container stopped) keeps its
   * connection open for the next request, and that request would be the learner's, unread.
   */
  private async handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const reject = (e: unknown) => {
      const r = e instanceof Refusal ? e : new Refusal(400, (e as Error).message);
      const text = JSON.stringify({ message: r.message });
      socket.end(`HTTP/1.1 ${r.status} Refused\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
    };
    try {
      this.authorise(req);
      const typed = this.typed(req);
      const { body, rest } = await this.upgradeBody(req, socket, head);
      socket.pause();
      const f = await this.decide(req.method ?? 'GET', req.url ?? '/', body);
      if (!f.hijack) throw new Refusal(403, `${SCOPE_MESSAGE}: ${req.method} ${(req.url ?? '').slice(0, 80)} cannot take over the connection`);
      const out = serialise(f, API_VERSION);
      const { socketPath, host, port, tls, dial } = this.upstream;
      const upstream: Duplex = dial ? await dial() : socketPath ? netConnect(socketPath) : tls ? tlsConnect({ host: host!, port: port!, ...tls }) : netConnect(port!, host!);
      const end = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', end);
      upstream.on('error', end);
      socket.on('close', end);
      upstream.on('close', end);
      const headers = Object.entries(this.headers(out.body, true)).map(([k, v]) => `${k}: ${v}`);
      upstream.write(`${f.method} ${out.target} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
      if (out.body) upstream.write(out.body);
      const answer = await engineAnswer(upstream);
      if (answer.status !== 101) {
        // Refused: the learner gets the engine's answer, and the connection ends with it.
        socket.end(answer.bytes, end);
        return;
      }
      this.done(f, typed);
      socket.write(answer.bytes);
      if (rest.length > 0) upstream.write(rest);
      socket.pipe(upstream);
      upstream.pipe(socket);
      socket.resume();
    } catch (e) {
      reject(e);
    }
  }
}

const MAX_HEAD = 64 * 1024;

/**
 * The engine's answer to an upgrade request: its status, and the bytes read so far. A 101 is
 * answered as soon as its head is in (what follows is the stream); any other answer is read to
 * the end of its body (Content-Length, or the connection's end), since the engine would keep the
 * connection for another request.
 */
function engineAnswer(upstream: Duplex): Promise<{ status: number; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let status = 0;
    let need = -1;
    let chunked = false;
    const finish = () => {
      upstream.off('data', more);
      upstream.off('end', finish);
      upstream.pause();
      if (status === 0) return reject(new Refusal(502, 'the Docker engine ended the connection without an answer'));
      resolve({ status, bytes: buf });
    };
    const more = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (status === 0) {
        const at = buf.indexOf('\r\n\r\n');
        if (at < 0) {
          if (buf.length > MAX_HEAD) reject(new Refusal(502, 'the Docker engine answered with an unreadable head'));
          return;
        }
        const headText = buf.subarray(0, at).toString('latin1');
        status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headText)?.[1] ?? 502);
        if (status === 101) return finish();
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(headText);
        need = length ? at + 4 + Number(length[1]) : -1;
        chunked = /\r\ntransfer-encoding:\s*chunked/i.test(headText);
      }
      if (need >= 0 && buf.length >= need) {
        buf = buf.subarray(0, need);
        finish();
      } else if (chunked && buf.subarray(-5).toString('latin1') === '0\r\n\r\n') finish();
    };
    upstream.on('data', more);
    upstream.on('end', finish);
  });
}

/** http.request's createConnection for a connection made on demand (a lab node's engine). */
function dialled(dial: () => Promise<Duplex>): NonNullable<RequestOptions['createConnection']> {
  return ((_options: unknown, done: (e: Error | null, socket?: Duplex) => void) => {
    dial().then((socket) => done(null, socket), (e: Error) => done(e));
    return undefined;
  }) as unknown as NonNullable<RequestOptions['createConnection']>;
}
