// `flowlab serve`: the HTTP API and the web app. Listens at once; lab images build in the
// background and their progress shows in /api/health. Every reply is { ok, error?, ...data }.
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import express from 'express';
import { Server as SocketServer } from 'socket.io';
import { openApp, type App } from '../app/app.ts';
import { WEB_DIST_DIR, type Settings } from '../config.ts';
import { attachFlowSockets } from './flows-socket.ts';
import { attachTerminalSockets } from './terminal-socket.ts';
import type { FlowEvent } from '../protocol/flow.ts';
import { RateLimiter } from '../workshop/limits.ts';
import { TokenSigner } from '../workshop/tokens.ts';
import { Workshops } from '../workshop/workshops.ts';
import { joinAddresses } from '../workshop/addresses.ts';
import type { JoinAddress } from '../protocol/workshop.ts';
import { apiGate, sameOrigin, socketAccess, type Gate } from './auth.ts';
import { attachWorkshopSockets } from './workshop-socket.ts';
import { failed } from '../protocol/reply.ts';
import { errorHandler } from './respond.ts';
import { catalogueRoutes } from './routes/catalogue.ts';
import type { ImagesState, RouteContext } from './routes/context.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { workshopRoutes } from './routes/workshop.ts';
import { engineRoutes } from './routes/engines.ts';
import { warmRoutes } from './routes/warm.ts';
import { startUp } from './startup.ts';
import { WarmPools } from '../app/warm.ts';

export interface ServeOptions {
  port: number;
  /** Workshop mode: sign-in, roles, learners' own labs within a capacity, the trainer's dashboard. */
  workshop?: { maxLabs?: number; idleMinutes?: number; idleMs?: number; slowStartMs?: number; engineWatchMs?: number; idleFlagMs?: number; engineSlowMs?: number };
  host: string;
  progress?: (line: string) => void;
  settings?: Partial<Settings>;
  /** How often every engine and its sessions are checked (default 5 s; 0: never). */
  engineWatchMs?: number;
  /** Sweep dead sessions and build images at start (off in some tests). */
  background?: boolean;
  /** Exit the process on SIGINT/SIGTERM after tearing this instance's labs down. */
  handleSignals?: boolean;
  /** Standing warm pools to keep (serve --warm), besides FLOWLAB_WARM and the ones set before. */
  warm?: Record<string, number>;
  /** How often warm pools are looked at (default: as often as engines are checked, 5 s). */
  warmTickMs?: number;
}

export interface Running {
  url: string;
  app: App;
  /** In workshop mode: the trainer's token (the link `flowlab serve --workshop` prints carries it). */
  trainerToken?: string;
  workshops?: Workshops;
  /** Where learners open it: the public URL, then the addresses it listens on. */
  join: JoinAddress[];
  close(): Promise<void>;
}


export interface HttpExtras {
  /** An event the live flow stream has seen, by id. */
  seenEvent?: (session: string, id: string) => FlowEvent | undefined;
  /** Workshop mode: every /api call is authenticated and checked against the caller's role. */
  gate?: Gate;
}

function createHttpApp(app: App, images: ImagesState, extras: HttpExtras = {}): express.Express {
  const web = express();
  web.disable('x-powered-by');
  // Only a proxy the trainer named may say the request came over HTTPS (Secure cookies) and from
  // whom (rate limits): never a client because it connects from loopback, where host-network lab
  // containers live too.
  web.set('trust proxy', app.settings.trustProxy ?? false);
  web.use(express.json({ limit: '64kb' }));
  const gate = extras.gate;
  if (gate) web.use('/api', apiGate(gate));
  const ctx: RouteContext = { app, images, seenEvent: extras.seenEvent, gate, workshops: gate?.workshops };
  workshopRoutes(web, ctx);
  engineRoutes(web, ctx);
  warmRoutes(web, ctx);
  catalogueRoutes(web, ctx);
  sessionRoutes(web, ctx);

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

  web.use(errorHandler);
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
    const workshopOpts = { ...opts.workshop, idleMs };
    gate = { signer, workshops: new Workshops(app, workshopOpts), limiter: new RateLimiter() };
    trainerToken = signer.sign({ role: 'trainer' });
  }
  // Every engine and its sessions checked while the server runs: a lost engine's labs say so.
  const watchMs = opts.workshop?.engineWatchMs ?? opts.engineWatchMs ?? 5000;
  app.health.start(watchMs, opts.workshop?.engineSlowMs);
  app.warm = new WarmPools(app, { ttlMs: app.settings.warmTtlMs, tickMs: opts.warmTickMs ?? (watchMs || 5000), ready: () => images.state === 'ready', log });
  app.health.on(() => app.warm?.kick());
  for (const [lab, size] of Object.entries({ ...app.settings.warm, ...opts.warm })) {
    // A lab named wrongly stops the server before it listens: the trainer sees why at once.
    await app.warm.setSize(lab, size).catch((e: Error) => {
      app.close();
      throw new Error(`${opts.warm && lab in opts.warm ? '--warm' : 'FLOWLAB_WARM'}: ${e.message}`);
    });
  }
  app.warm.start();
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
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const url = `http://${opts.host}:${port}`;
  log(`Flowlab is serving ${url}`);
  const join = joinAddresses(opts.host, port, app.settings.publicUrl);
  gate?.workshops.setJoinAddresses(join);

  if (opts.background !== false) void startUp(app, images, log);
  else {
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
      // Refills on their way give up first, so none makes objects after the shutdown listed them.
      await app.warm?.close();
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
  return { url, app, close, join, ...(trainerToken ? { trainerToken, workshops: gate!.workshops } : {}) };
}
