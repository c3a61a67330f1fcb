// `flowlab serve`: the HTTP API and the web app. Listens at once; lab images build in the
// background and their progress shows in /api/health. Every reply is { ok, error?, ...data }.
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Server as SocketServer } from 'socket.io';
import { labSummaries, labView, openApp, type App } from '../app/app.ts';
import { WEB_DIST_DIR, type Settings } from '../config.ts';
import { ensureLabImages } from '../images/build.ts';
import { loadLab } from '../lab/catalogue.ts';
import { createSessionBodySchema } from '../protocol/session.ts';
import { probeRequestSchema } from '../protocol/probe.ts';
import { Prober } from '../probe/prober.ts';
import { SESSION_ID_RE } from '../docker/labels.ts';
import { attachFlowSockets } from './flows-socket.ts';
import { attachTerminalSockets } from './terminal-socket.ts';
import { capturedPcap, retainedEvents } from '../flow/collector.ts';
import { Grader } from '../grade/grader.ts';
import { diagnosisSchema } from '../protocol/diagnosis.ts';
import type { FlowEvent } from '../protocol/flow.ts';
import { ProgressStore } from '../store/progress.ts';
import { AUTH_COOKIE, broadcastSchema, createWorkshopSchema, joinSchema, trainerLoginSchema } from '../protocol/workshop.ts';
import { RateLimiter } from '../workshop/limits.ts';
import { TokenSigner, type Principal } from '../workshop/tokens.ts';
import { defaultMaxLabs, Workshops } from '../workshop/workshops.ts';
import { apiGate, sameOrigin, socketAccess, type Gate } from './auth.ts';
import { attachWorkshopSockets } from './workshop-socket.ts';
import { bounded, has } from '../util/lookup.ts';
import { FlowlabError, kindOfStatus } from '../util/errors.ts';
import { doctor, engineMissingAdvice, engineSetupHere } from '../app/doctor.ts';
import { LAB_ID_RE } from '../protocol/lab-id.ts';
import { failed, ok } from '../protocol/reply.ts';
import { endLab, restartLab, startLab } from '../app/labs.ts';

export interface ServeOptions {
  port: number;
  /** Workshop mode: sign-in, roles, learners' own labs within a capacity, the trainer's dashboard. */
  workshop?: { maxLabs?: number; idleMinutes?: number; idleMs?: number };
  host: string;
  progress?: (line: string) => void;
  settings?: Partial<Settings>;
  /** Sweep dead sessions and build images at start (off in some tests). */
  background?: boolean;
  /** Exit the process on SIGINT/SIGTERM after tearing this instance's labs down. */
  handleSignals?: boolean;
}

export interface Running {
  url: string;
  app: App;
  /** In workshop mode: the trainer's token (the link `flowlab serve --workshop` prints carries it). */
  trainerToken?: string;
  workshops?: Workshops;
  close(): Promise<void>;
}

type ImagesState = { state: 'checking' | 'setting-up' | 'building' | 'ready' | 'failed'; detail: string; log: string[] };

class HttpError extends FlowlabError {
  constructor(status: number, message: string) {
    super(message, kindOfStatus(status));
  }
}

const wrap = (fn: (req: Request, res: Response) => Promise<unknown> | unknown) => (req: Request, res: Response, next: NextFunction) => {
  Promise.resolve(fn(req, res)).then((data) => {
    if (!res.headersSent) res.json(ok(data as object));
  }, next);
};

function sessionParam(req: Request): string {
  const id = String(req.params.id);
  if (!SESSION_ID_RE.test(id)) throw new HttpError(400, `expected a session id of 8-32 hex characters, found "${id.slice(0, 40)}"`);
  return id;
}

export interface HttpExtras {
  /** An event the live flow stream has seen, by id. */
  seenEvent?: (session: string, id: string) => FlowEvent | undefined;
  /** Workshop mode: every /api call is authenticated and checked against the caller's role. */
  gate?: Gate;
}

const principal = (res: Response): Principal | undefined => res.locals.principal as Principal | undefined;

/** The sign-in cookie; an empty token with a zero lifetime clears it. */
function authCookie(req: Request, token: string, maxAgeS = 12 * 3600): string {
  return `${AUTH_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${req.secure ? '; Secure' : ''}`;
}

function invalid(what: string, issues: { path: PropertyKey[]; message: string }[], expected: string): HttpError {
  const issue = issues[0]!;
  return new HttpError(400, `invalid ${what} at ${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}; expected ${expected}`);
}

export function createHttpApp(app: App, images: ImagesState, extras: HttpExtras = {}): express.Express {
  const web = express();
  web.disable('x-powered-by');
  // Only a proxy the trainer named may say the request came over HTTPS (Secure cookies) and from
  // whom (rate limits): never a client because it connects from loopback, where host-network lab
  // containers live too.
  web.set('trust proxy', app.settings.trustProxy ?? false);
  web.use(express.json({ limit: '64kb' }));
  const gate = extras.gate;
  if (gate) web.use('/api', apiGate(gate));
  const workshops = gate?.workshops;
  /** A learner may act only while their workshop is open (not ended, not past its time limit). */
  const learnerOf = (res: Response) => {
    const p = principal(res);
    return p?.role === 'learner' ? p : undefined;
  };

  web.get('/api/me', wrap((_req, res) => {
    const p = principal(res);
    if (!gate || !p) return { role: 'local' };
    if (p.role === 'trainer') {
      const w = gate.workshops.current();
      return { role: 'trainer', workshop: w ? { id: w.id, name: w.name } : null };
    }
    const view = gate.workshops.learnerView(p.learner);
    return { role: 'learner', learner: view?.me, workshop: view && view.workshop.ended_at === null ? { id: view.workshop.id, name: view.workshop.name } : null };
  }));

  if (gate && workshops) {
    web.post('/api/auth/trainer', wrap((req, res) => {
      const body = trainerLoginSchema.safeParse(req.body ?? {});
      if (!body.success) throw invalid('sign-in', body.error.issues, '{ "token": "<the token from the trainer link>" }');
      if (gate.signer.verify(body.data.token)?.role !== 'trainer') throw new HttpError(401, 'that is not the trainer token this server printed; open the link from flowlab serve --workshop again');
      res.setHeader('set-cookie', authCookie(req, body.data.token));
      return { role: 'trainer' };
    }));

    web.post('/api/workshop/join', wrap((req, res) => {
      const body = joinSchema.safeParse(req.body ?? {});
      if (!body.success) throw invalid('join request', body.error.issues, '{ "code": "<the join code>", "name": "<your display name>" }');
      const joined = workshops.join(body.data.code, body.data.name);
      const token = gate.signer.sign({ role: 'learner', learner: joined.learner.id, workshop: joined.workshop.id });
      res.setHeader('set-cookie', authCookie(req, token));
      res.status(201);
      return { token, ...joined };
    }));

    web.post('/api/auth/logout', wrap((req, res) => {
      res.setHeader('set-cookie', authCookie(req, '', 0));
      return {};
    }));

    web.post('/api/workshops', wrap((req, res) => {
      const body = createWorkshopSchema.safeParse(req.body ?? {});
      if (!body.success) throw invalid('workshop', body.error.issues, '{ "name", "labs": ["<lab id>", ...], "code"?, "minutes"?, "allow_shared"? }');
      res.status(201);
      return { workshop: workshops.create(body.data) };
    }));

    web.get('/api/workshop', wrap((_req, res) => {
      const p = principal(res)!;
      return { view: p.role === 'trainer' ? workshops.trainerView() : workshops.learnerView(p.learner) };
    }));

    web.post('/api/workshop/labs/:lab/start', wrap((req, res) => {
      const lab = String(req.params.lab);
      if (!LAB_ID_RE.test(lab)) throw new HttpError(400, `expected a lab id like "bridge-basics", found "${lab.slice(0, 40)}"`);
      res.status(202);
      return { slot: workshops.start(learnerOf(res)!.learner, lab) };
    }));

    web.post('/api/workshop/broadcast', wrap((req) => {
      const body = broadcastSchema.safeParse(req.body ?? {});
      if (!body.success) throw invalid('message', body.error.issues, '{ "message": "<1-500 characters>" }');
      workshops.broadcast(body.data.message);
      return {};
    }));

    web.post('/api/workshop/learners/:learner/labs/:lab/reset', wrap(async (req) => ({ slot: await workshops.reset(String(req.params.learner), String(req.params.lab)) })));

    web.get('/api/workshop/learners/:learner/actions', wrap((req) => ({ actions: workshops.learnerActions(String(req.params.learner)) })));

    web.get('/api/workshop/export.csv', wrap((_req, res) => {
      res.setHeader('content-type', 'text/csv; charset=utf-8');
      res.setHeader('content-disposition', 'attachment; filename="workshop-results.csv"');
      res.send(workshops.exportCsv());
    }));

    web.post('/api/workshop/end', wrap(async () => ({ removed: await workshops.end() })));
  }

  // What the page's banners show: the engine reachable or not, the lab images building or not.
  let engine: { at: number; reachable: boolean; detail: string } = { at: 0, reachable: false, detail: '' };
  const engineState = async () => {
    if (Date.now() - engine.at < 2000) return engine;
    try {
      const info = await app.docker.info();
      engine = { at: Date.now(), reachable: true, detail: `Docker ${info.serverVersion}` };
    } catch (e) {
      engine = { at: Date.now(), reachable: false, detail: `the Docker engine does not answer (${(e as Error).message}); start it (flowlab doctor --fix, or systemctl start docker) — this page recovers by itself` };
    }
    return engine;
  };
  web.get('/api/health', wrap(async () => {
    const e = await engineState();
    return { status: 'up', instance: app.engine.instance.id, images: { state: images.state, detail: images.detail }, docker: { reachable: e.reachable, detail: e.detail } };
  }));

  web.get('/api/scenarios', wrap(() => ({ scenarios: labSummaries() })));

  web.get('/api/scenarios/:id', wrap((req) => {
    const id = String(req.params.id);
    if (!LAB_ID_RE.test(id)) throw new HttpError(400, `expected a lab id like "bridge-basics", found "${id.slice(0, 40)}"`);
    const lab = labSummaries().find((l) => l.id === id);
    if (!lab) throw new HttpError(404, `unknown lab "${id}"`);
    return { lab: labView(loadLab(id).lab) };
  }));

  web.get('/api/results', wrap(() => ({ results: new ProgressStore(app.engine.db).results() })));

  // What the catalogue shows a learner: their best score per lab (no variant, no answer).
  web.get('/api/learners/:name/scores', wrap((req) => {
    const name = String(req.params.name);
    if (!/^[\p{L}\p{N} ._-]{1,64}$/u.test(name)) throw new HttpError(400, `expected a learner name of 1-64 letters, digits, spaces, . _ -; found "${name.slice(0, 40)}"`);
    return { learner: name, scores: new ProgressStore(app.engine.db).bestScores(name) };
  }));

  web.get('/api/sessions', wrap((_req, res) => {
    const learner = learnerOf(res);
    if (!learner || !workshops) return { sessions: app.engine.status() };
    const mine = new Set(workshops.sessionsOfLearner(learner.learner));
    return { sessions: app.engine.status().filter((s) => mine.has(s.session)) };
  }));

  web.post(
    '/api/sessions',
    wrap(async (req, res) => {
      const body = createSessionBodySchema.safeParse(req.body ?? {});
      if (!body.success) {
        throw invalid('body', body.error.issues, '{ "scenario": "<lab id>", "seed"?: <integer> }');
      }
      if (!LAB_ID_RE.test(body.data.scenario)) throw new HttpError(400, `expected a lab id from the catalogue like "bridge-basics", found "${body.data.scenario.slice(0, 60)}" (lab files are started with flowlab up)`);
      // While images are only being checked, `up` joins that check; a real build takes minutes.
      if (images.state === 'building') throw new HttpError(503, `lab images are still being built (${images.detail}); try again shortly`);
      const topology = await startLab(app, body.data.scenario, {
        ...(body.data.seed !== undefined ? { seed: body.data.seed } : {}),
        ...(body.data.learner !== undefined ? { learner: body.data.learner } : {}),
      });
      res.status(201);
      return { session: topology };
    }),
  );

  web.get('/api/sessions/:id', wrap((req) => ({ session: app.engine.status(sessionParam(req))[0] })));

  web.get('/api/sessions/:id/actions', wrap((req) => {
    const id = sessionParam(req);
    if (!app.engine.store.get(id)) throw new HttpError(404, `unknown session "${id}"`);
    // Entries that would reveal the injected fault stay hidden until the learner is graded.
    const graded = app.engine.store.get(id)?.state === 'ready' && new Grader(app.engine.live(id)).graded();
    return { actions: app.engine.store.actions(id, { includeRevealing: graded }) };
  }));

  web.post(
    '/api/sessions/:id/probes',
    wrap(async (req) => {
      const id = sessionParam(req);
      const body = probeRequestSchema.safeParse(req.body ?? {});
      if (!body.success) throw new HttpError(400, 'invalid body; expected { "from": "<service or host>", "target": "<probe target>" } or { "matrix": true }');
      const prober = new Prober(app.engine.live(id));
      const opts = body.data.timeout_ms !== undefined ? { timeoutMs: body.data.timeout_ms } : {};
      if ('matrix' in body.data) return { results: await prober.matrix(opts) };
      return { result: (await prober.run([{ from: body.data.from, to: body.data.target }], opts))[0] };
    }),
  );

  web.post(
    '/api/sessions/:id/diagnosis',
    wrap(async (req, res) => {
      const id = sessionParam(req);
      const body = diagnosisSchema.safeParse(req.body ?? {});
      if (!body.success) {
        throw invalid('diagnosis', body.error.issues, '{ "cause", "culprit", "evidence": [ids], "note"?, "fixed"? }');
      }
      if (learnerOf(res)) workshops?.assertLearnerMayAct(learnerOf(res)!.learner);
      const result = await new Grader(app.engine.live(id)).grade(body.data);
      workshops?.changed();
      return { result };
    }),
  );

  web.get('/api/sessions/:id/hints', wrap((req) => new Grader(app.engine.live(sessionParam(req))).hints()));

  web.post('/api/sessions/:id/hints', wrap((req) => {
    const grader = new Grader(app.engine.live(sessionParam(req)));
    const hint = grader.takeHint();
    workshops?.changed();
    return { hint, next: grader.hints().next };
  }));

  web.post(
    '/api/sessions/:id/pins',
    wrap(async (req) => {
      const id = sessionParam(req);
      const eventId = String((req.body as { id?: unknown } | undefined)?.id ?? '');
      if (!/^e[0-9a-f]{16}t?$/.test(eventId)) throw new HttpError(400, 'expected { "id": "<a flow event id>" }');
      const live = app.engine.live(id);
      // The server keeps the event as it saw it: a client never says what an event contained.
      const event = extras.seenEvent?.(id, eventId) ?? (await retainedEvents(live)).find((e) => e.id === eventId);
      if (!event) throw new HttpError(404, `no flow event ${eventId} in session ${id} (it may have left the capture ring)`);
      new ProgressStore(app.engine.db).pin(id, event);
      return { pinned: event };
    }),
  );

  web.get(
    '/api/sessions/:id/pcap',
    wrap(async (req, res) => {
      const id = sessionParam(req);
      const service = String(req.query.service ?? '');
      if (!/^[a-z][a-z0-9-]{0,31}$/.test(service)) throw new HttpError(400, 'expected ?service=<a service of the lab>');
      const live = app.engine.live(id);
      if (!has(live.lab.services, service)) throw new HttpError(404, `unknown service "${service}" in session ${id}`);
      let pcap: Buffer;
      try {
        pcap = await capturedPcap(live, service);
      } catch (e) {
        throw new HttpError(404, (e as Error).message);
      }
      res.setHeader('content-type', 'application/vnd.tcpdump.pcap');
      res.setHeader('content-disposition', `attachment; filename="${id}-${service}.pcap"`);
      res.send(pcap);
    }),
  );

  // The learner's docker console: created on first use; a terminal attaches to its container.
  web.post(
    '/api/sessions/:id/console',
    wrap(async (req) => {
      const id = sessionParam(req);
      const rec = app.engine.store.get(id);
      if (!rec) throw new HttpError(404, `unknown session "${id}"`);
      if (rec.state !== 'ready') throw new HttpError(409, `session ${id} is ${rec.state}; its console opens once it is ready`);
      return { console: await app.consoles.ensure(id) };
    }),
  );

  // The inspector: how a service sees the lab from inside (addresses, resolver, listening sockets).
  web.get(
    '/api/sessions/:id/services/:service',
    wrap(async (req) => {
      const id = sessionParam(req);
      const service = String(req.params.service);
      if (!app.engine.store.get(id)) throw new HttpError(404, `unknown session "${id}"`);
      const live = app.engine.live(id);
      if (!has(live.lab.services, service)) throw new HttpError(404, `unknown service "${bounded(service, 40)}" in session ${id}; expected one of: ${Object.keys(live.lab.services).join(', ')}`);
      const seen = await live.inside(service);
      const topology = live.topology.services.find((s) => s.name === service) ?? null;
      return { service, container: seen.container, state: seen.state, topology, resolv_conf: seen.resolvConf, addresses: seen.addresses, listening: seen.listening };
    }),
  );

  // Restart the lab (same seed: the same breakage) or start it over with a new seed.
  web.post(
    '/api/sessions/:id/restart',
    wrap(async (req, res) => {
      const id = sessionParam(req);
      const body = (req.body ?? {}) as { new_seed?: unknown };
      if (body.new_seed !== undefined && typeof body.new_seed !== 'boolean') throw new HttpError(400, 'expected { "new_seed"?: true | false }');
      const rec = app.engine.store.get(id);
      if (!rec) throw new HttpError(404, `unknown session "${id}"`);
      if (workshops?.ownerOf(id)) {
        // A workshop lab restarts within the capacity; when the server is full it queues.
        const slot = await workshops.restart(id, { newSeed: body.new_seed === true });
        res.status(slot.session ? 201 : 202);
        return { session: slot.session ? app.engine.status(slot.session)[0] ?? { session: slot.session } : null, slot, replaces: id };
      }
      const topology = await restartLab(app, id, { newSeed: body.new_seed === true });
      res.status(201);
      return { session: topology, replaces: id };
    }),
  );

  web.delete('/api/sessions/:id', wrap(async (req) => {
    const removed = await endLab(app, sessionParam(req));
    workshops?.released();
    return { removed };
  }));

  web.use('/api', (req, res) => {
    res.status(404).json(failed(`no such API route: ${req.method} ${req.originalUrl}`));
  });

  if (existsSync(WEB_DIST_DIR)) {
    web.use(express.static(WEB_DIST_DIR));
    web.get(/^\/(?!api\/).*/, (_req, res) => res.sendFile(join(WEB_DIST_DIR, 'index.html')));
  } else {
    web.get('/', (_req, res) => {
      res.type('text/plain').send('Flowlab is running, but the web app is not built: run npm run build:web (npm start does it for you).\n');
    });
  }

  web.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as Error & { status?: number; type?: string };
    // Flowlab's errors say what kind they are; Express's own say their status.
    const status = err instanceof FlowlabError ? err.status
      : e.type === 'entity.parse.failed' ? 400
      : e.type === 'entity.too.large' ? 413
      : typeof e.status === 'number' && e.status >= 400 && e.status < 500 ? e.status
      : 500;
    const message = e.type === 'entity.parse.failed' ? `expected a JSON body: ${e.message}` : e.message;
    res.status(status).json(failed(message));
  });
  return web;
}

export async function startServer(opts: ServeOptions): Promise<Running> {
  const log = opts.progress ?? (() => {});
  const app = openApp(opts.settings);
  const images: ImagesState = { state: 'checking', detail: 'checking lab images', log: [] };
  const holder: { sockets?: ReturnType<typeof attachFlowSockets> } = {};
  let gate: Gate | undefined;
  let trainerToken: string | undefined;
  if (opts.workshop) {
    const idleMs = opts.workshop.idleMs ?? (opts.workshop.idleMinutes ?? 30) * 60_000;
    const signer = new TokenSigner(app.settings.dataDir);
    gate = { signer, workshops: new Workshops(app, { maxLabs: opts.workshop.maxLabs ?? defaultMaxLabs(), idleMs }), limiter: new RateLimiter() };
    trainerToken = signer.sign({ role: 'trainer' });
  }
  const server: Server = createHttpApp(app, images, { seenEvent: (s, id) => holder.sockets?.event(s, id), ...(gate ? { gate } : {}) }).listen(opts.port, opts.host);
  // Same-origin only: the web app is served from here. CORS does not cover WebSockets, so a
  // browser's Origin is checked on every connection too.
  const io = new SocketServer(server, {
    serveClient: false,
    cors: { origin: false },
    allowRequest: (req, done) => done(sameOrigin(req.headers) ? null : 'cross-origin connection refused', sameOrigin(req.headers)),
    maxHttpBufferSize: 256 * 1024,
  });
  const access = gate ? socketAccess(io, gate) : undefined;
  const sockets = attachFlowSockets(io, app, access);
  const terminals = attachTerminalSockets(io, app, access);
  const workshopSockets = gate ? attachWorkshopSockets(io, gate) : undefined;
  holder.sockets = sockets;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === 'EADDRINUSE' ? `port ${opts.port} on ${opts.host} is already in use; pass --port` : e.message)),
    );
  });
  const addr = server.address();
  const url = `http://${opts.host}:${typeof addr === 'object' && addr ? addr.port : opts.port}`;
  log(`Flowlab is serving ${url}`);

  if (opts.background !== false) {
    void (async () => {
      try {
        // No engine yet on a fresh machine: set it up as doctor --fix would (root with apt), with progress on the page.
        const plan = await engineSetupHere(app.docker);
        if (plan === 'explain') throw new Error(engineMissingAdvice());
        if (plan === 'install') {
          images.state = 'setting-up';
          const report = await doctor(app.settings, {
            fix: true,
            progress: (line) => {
              images.detail = line.trim();
              images.log = [...images.log.slice(-50), line];
              log(line);
            },
          });
          const failed = report.checks.filter((c) => c.status === 'error');
          if (failed.length > 0) throw new Error(failed.map((c) => `${c.name}: ${c.detail}`).join('; '));
        }
        const swept = await app.engine.sweep();
        if (swept.removed.length > 0) log(`swept ${swept.removed.length} dead session(s)`);
        for (const f of swept.failed) log(`could not sweep session ${f.session} yet: ${f.error}`);
        await ensureLabImages(app.docker, (line) => {
          if (/^(building|base image|pulling|cannot pull|installing|importing|debootstrap)/.test(line)) images.state = 'building';
          images.detail = line.trim();
          images.log = [...images.log.slice(-50), line];
          log(line);
        });
        images.state = 'ready';
        images.detail = 'lab images ready';
      } catch (e) {
        images.state = 'failed';
        images.detail = (e as Error).message;
        log(`lab images: ${(e as Error).message} (run: flowlab doctor --fix)`);
      }
    })();
  } else {
    images.state = 'ready';
    images.detail = 'not checked';
  }

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      sockets.close();
      terminals.close();
      workshopSockets?.close();
      gate?.workshops.close();
      io.close();
      await app.engine.shutdown(5000);
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      app.close();
    })();
    return closing;
  };
  if (opts.handleSignals !== false) {
    const onSignal = (sig: string) => {
      log(`${sig}: tearing down this instance's labs`);
      const hardStop = setTimeout(() => process.exit(1), 6000);
      void close().finally(() => {
        clearTimeout(hardStop);
        process.exit(0);
      });
    };
    process.once('SIGINT', () => onSignal('SIGINT'));
    process.once('SIGTERM', () => onSignal('SIGTERM'));
  }
  return { url, app, close, ...(trainerToken ? { trainerToken, workshops: gate!.workshops } : {}) };
}
