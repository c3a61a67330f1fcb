// npm run bench:workshop [-- --learners N --echo-samples N --probes N --terminal <service|console> --same-address --no-floor --warm]
//
// A workshop under load, through `flowlab serve --workshop` run as a child process (so its memory
// can be read from /proc) with a data directory of its own. A trainer creates the workshop with
// its dashboard socket open; N simulated learners (default 20; each an HTTP client and a
// socket.io client) join with the code, all start their lab at once, and once every lab is ready
// all of them at once open a terminal and time its echo, run probes, and submit a diagnosis.
// Before that, one learner alone does the same: the baseline the loaded figures are divided by,
// measured in the same run. The workshop is then ended and every Docker object of this data
// directory is counted: there must be none left.
//
// The lab is split-networks (4 services, a bridge lab with a diagnosis to grade): bridge-basics,
// the healthy 4-service starter, has no diagnosis.
// Each learner connects from an address of its own (127.0.0.10, .11, ...), as learners on their
// own machines do: joins are rate-limited per address. --same-address joins them all from
// 127.0.0.1, as behind one NAT.
// First, the Docker floor (bench/docker-floor.ts): the same N labs' containers, straight from
// Flowlab's plan, started through the same connection and start gate with nothing else around
// them (no readiness wait, no server); the all-up time is divided by it (--no-floor skips it).
// Targets on the reference 2-core machine: all labs up <= 60 s, terminal echo p95 <= 300 ms,
// server RSS <= 300 MB. A missed target is reported, not an error; the exit code is non-zero only
// when the bench could not run, or when Docker objects were left behind.
//
// --warm: the same room again, prepared. Once the first workshop has ended (its leftovers
// counted), a second one on the same server and lab: the trainer prepares it (POST
// /api/workshop/prepare {learners: N}, timed until its progress says done, and divided by the
// Docker floor), then N fresh learners join and all start at once, each claiming a warm lab, and
// work as before. The first workshop ends first so the Prepare has the whole capacity (--max-labs)
// to itself, as a room prepared before its learners arrive would. Targets with the pool: start to
// ready p95 <= 0.5 s, all N ready <= 5 s, echo p95 <= 300 ms. A learner sees ready through
// `workshop:view` (sent to them as soon as their lab is ready); the server's own created-to-ready
// is printed too.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { LABEL } from '../server/docker/labels.ts';
import { dockerFloor, type Floor } from './docker-floor.ts';
import type { GradeResult } from '../server/protocol/diagnosis.ts';
import type { ProbeResult } from '../server/protocol/probe.ts';
import type { LabView, SessionSummary } from '../server/protocol/session.ts';
import type { TerminalOpened, TerminalOutput } from '../server/protocol/terminal.ts';
import type { PreparePlan, PrepareProgress, WarmStatus } from '../server/protocol/warm.ts';
import type { LabSlot, LearnerView, TrainerView, WorkshopInfo } from '../server/protocol/workshop.ts';
import { flag, opt } from './lib/args.ts';
import { containerStates, freePort, leftovers } from './lib/docker.ts';
import { cpuBetween, loadavg, machineCpu, pidOf, procStats, RssSampler } from './lib/proc.ts';
import { runTo } from './lib/run.ts';
import { pct } from './lib/stats.ts';

const LEARNERS = Math.max(1, Number(opt('learners', '20')) || 20);
const ECHO_SAMPLES = Math.max(1, Number(opt('echo-samples', '20')) || 20);
const PROBES = Math.max(1, Number(opt('probes', '5')) || 5);
const TERMINAL = opt('terminal', 'api');
const SAME_ADDRESS = flag('same-address');
const FLOOR = !flag('no-floor');
const WARM = flag('warm');
const MAX_LABS = Math.max(25, LEARNERS);
const LAB = 'split-networks';
const CODE = 'BENCH1';
const WARM_CODE = 'BENCH2';
const TARGETS = { allUpS: 60, echoP95Ms: 300, rssMb: 300 };
const WARM_TARGETS = { upP95S: 0.5, allUpS: 5, echoP95Ms: 300 };
/** Preparing warms N labs at the lowest start priority, a start place left free: slower than the crowd's own start. */
const PREPARE_TIMEOUT_MS = 15 * 60_000;
const READY_TIMEOUT_MS = 5 * 60_000;
const ECHO_TIMEOUT_MS = 5000;
/** Ending tears every lab down: on 2 busy cores that takes about a minute for 20 labs. */
const END_TIMEOUT_MS = 10 * 60_000;
const ECHO_SPACING_MS = 100;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const log = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the server did wrong, with the exact request and answer: the bench's report carries them. */
const misbehaved: string[] = [];
const note = (s: string) => {
  if (misbehaved.length < 40) misbehaved.push(s);
};

// ---- HTTP -------------------------------------------------------------------------------

interface Reply<T> {
  status: number;
  body: { ok: boolean; error?: string } & Partial<T>;
  ms: number;
  headers: Record<string, string | string[] | undefined>;
}

class Http {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });

  constructor(
    private readonly base: URL,
    private readonly localAddress: string,
    public token?: string,
  ) {}

  request<T>(method: string, path: string, body?: unknown, timeoutMs = 60_000): Promise<Reply<T>> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const t = performance.now();
    return new Promise((resolvePromise, reject) => {
      const req = httpRequest(
        {
          host: this.base.hostname,
          port: this.base.port,
          method,
          path,
          agent: this.agent,
          localAddress: this.localAddress,
          headers: {
            accept: 'application/json',
            ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
            ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          },
          timeout: timeoutMs,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            const ms = performance.now() - t;
            let parsed: Reply<T>['body'];
            try {
              parsed = JSON.parse(text) as Reply<T>['body'];
            } catch {
              parsed = { ok: false, error: `not JSON: ${text.slice(0, 200)}` } as Reply<T>['body'];
            }
            resolvePromise({ status: res.statusCode ?? 0, body: parsed, ms, headers: res.headers });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs / 1000} s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** A request that must answer `want`; anything else stops the bench, quoting request and answer. */
  async must<T>(method: string, path: string, body: unknown, want: number, timeoutMs?: number): Promise<Reply<T>> {
    const r = await this.request<T>(method, path, body, timeoutMs);
    if (r.status !== want) throw new Error(`${method} ${path} ${body === undefined ? '' : JSON.stringify(body)} -> ${r.status} ${JSON.stringify(r.body).slice(0, 400)} (expected ${want})`);
    return r;
  }

  close(): void {
    this.agent.destroy();
  }
}

// ---- the server child --------------------------------------------------------------------



/** bin/flowlab.js runs the sources through tsx when the bundle is stale: bundle them (about a second), so the server measured is the one shipped. */
async function freshBundle(): Promise<string> {
  const r = await runTo([process.execPath, join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/build-cli.ts'], { cwd: ROOT });
  if (r.code !== 0) throw new Error(`tsx scripts/build-cli.ts exited ${r.code}: ${r.out.trim()}`);
  return 'dist/cli.mjs';
}

interface ServerChild {
  child: ChildProcess;
  url: URL;
  trainerToken: string;
  lines: string[];
  exited: Promise<number | null>;
}

/** The server's environment: its own data directory, whose path its objects' registry label carries (never a FLOWLAB_REGISTRY_NAME). */
function serverEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FLOWLAB_DATA: dataDir };
  delete env.FLOWLAB_REGISTRY_NAME;
  // The first workshop is the one with no pool: a standing one from the environment would feed it.
  delete env.FLOWLAB_WARM;
  return env;
}

async function startServerChild(dataDir: string): Promise<ServerChild> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'flowlab.js'), 'serve', '--workshop', '--port', String(port), '--max-labs', String(MAX_LABS)], {
    cwd: ROOT,
    env: serverEnv(dataDir),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const link = new Promise<{ url: URL; token: string }>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`flowlab serve printed no trainer link in 60 s:\n${lines.slice(-20).join('\n')}`)), 60_000);
    let pending = '';
    const onData = (b: Buffer) => {
      pending += b.toString();
      const parts = pending.split('\n');
      pending = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 2000) lines.splice(0, 1000);
        const m = /trainer link \(.*?\): (http:\/\/\S+?)\/#trainer=(\S+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          res({ url: new URL(m[1]!), token: m[2]! });
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`flowlab serve exited ${code} before printing the trainer link:\n${lines.slice(-20).join('\n')}`));
    });
  });
  const { url, token } = await link;
  return { child, url, trainerToken: token, lines, exited };
}





/** Docker objects Flowlab made that still exist (this data directory's, or all), counted. */
async function leftoverCounts(dataDir?: string): Promise<{ containers: number; networks: number; services: number }> {
  const l = await leftovers(dataDir ? { registry: dataDir } : {});
  return { containers: l.containers.length, networks: l.networks.length, services: l.services.length };
}

// ---- a learner ---------------------------------------------------------------------------

interface Measures {
  upMs?: number;
  openMs: number[];
  echoMs: number[];
  echoLost: number;
  throttled: number;
  probeMs: number[];
  probeFailed: number;
  graded: number;
  passed: number;
  gradeFailed: number;
}

const newMeasures = (): Measures => ({ openMs: [], echoMs: [], echoLost: 0, throttled: 0, probeMs: [], probeFailed: 0, graded: 0, passed: 0, gradeFailed: 0 });

class Learner {
  readonly http: Http;
  socket?: Socket;
  view?: LearnerView;
  session?: string;
  readonly m = newMeasures();
  private readonly terminals = new Map<string, { buf: string; want?: { token: string; done: (ms: number) => void; t: number } }>();
  private viewWaiters: (() => void)[] = [];

  constructor(
    readonly name: string,
    private readonly base: URL,
    readonly address: string,
    private readonly code = CODE,
  ) {
    this.http = new Http(base, address);
  }

  async join(): Promise<{ waitedS: number }> {
    let waitedS = 0;
    const body = { code: this.code, name: this.name };
    for (;;) {
      const r = await this.http.request<{ token: string }>('POST', '/api/workshop/join', body);
      if (r.status === 201 && r.body.token) {
        this.http.token = r.body.token;
        return { waitedS };
      }
      if (r.status !== 429 || waitedS > 300) throw new Error(`POST /api/workshop/join ${JSON.stringify(body)} from ${this.address} -> ${r.status} ${JSON.stringify(r.body)}`);
      const wait = Number(r.headers['retry-after'] ?? 5) || 5;
      if (waitedS === 0) note(`POST /api/workshop/join ${JSON.stringify(body)} from ${this.address} -> 429 ${JSON.stringify(r.body)} (joins are limited per address)`);
      waitedS += wait;
      await sleep(wait * 1000);
    }
  }

  async connect(): Promise<void> {
    const socket = io(this.base.origin, { auth: { token: this.http.token }, transports: ['websocket'], forceNew: true, reconnection: false });
    this.socket = socket;
    socket.on('workshop:view', (v: LearnerView) => {
      this.view = v;
      const w = this.viewWaiters;
      this.viewWaiters = [];
      for (const f of w) f();
    });
    socket.on('term:output', (o: TerminalOutput) => {
      const t = this.terminals.get(o.id);
      if (!t) return;
      if (o.data.includes('[flowlab: input is arriving too fast')) this.m.throttled++;
      t.buf = (t.buf + o.data).slice(-8192);
      if (t.want && t.buf.includes(t.want.token)) {
        const { done, t: sent } = t.want;
        t.want = undefined;
        t.buf = '';
        done(performance.now() - sent);
      }
    });
    await new Promise<void>((res, rej) => {
      socket.once('connect', () => res());
      socket.once('connect_error', (e) => rej(new Error(`socket.io connection of ${this.name} refused: ${e.message}`)));
    });
  }

  slot(): LabSlot | undefined {
    return this.view?.labs.find((l) => l.lab === LAB);
  }

  async start(): Promise<void> {
    await this.http.must('POST', `/api/workshop/labs/${LAB}/start`, undefined, 202);
  }

  /** Resolves when a `workshop:view` says the lab is ready: the time it arrived. */
  async ready(since: number): Promise<number> {
    const deadline = since + READY_TIMEOUT_MS;
    for (;;) {
      const s = this.slot();
      if (s?.state === 'ready' && s.session) {
        this.session = s.session;
        return performance.now();
      }
      if (s?.state === 'failed') throw new Error(`${this.name}'s lab failed to start: ${s.error}`);
      if (s?.state === 'expired' || s?.state === 'ended') throw new Error(`${this.name}'s lab is ${s.state} before it was ever ready`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`${this.name}'s lab is not ready after ${READY_TIMEOUT_MS / 1000} s (last state ${s?.state ?? 'none'})`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, Math.min(left, 5000));
        this.viewWaiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }

  /**
   * Its session's created_at to ready_at as the server recorded them (a claim sets created_at):
   * the start without the half second a `workshop:view` may wait to be sent.
   */
  async serverUpMs(): Promise<number> {
    const path = `/api/sessions/${this.session}`;
    const r = await this.http.request<{ session: SessionSummary }>('GET', path);
    const s = r.body.session;
    if (r.status === 200 && s?.ready_at) return Date.parse(s.ready_at) - Date.parse(s.created_at);
    note(`GET ${path} (${this.name}) -> ${r.status} ${JSON.stringify(r.body).slice(0, 300)} (expected a ready session with ready_at)`);
    return Number.NaN;
  }

  /** Opens a shell and times the echo of typed input, ECHO_SAMPLES times, ECHO_SPACING_MS apart. */
  async terminal(): Promise<void> {
    const socket = this.socket!;
    const payload = { session: this.session!, target: TERMINAL, cols: 80, rows: 24 };
    const t0 = performance.now();
    const opened = (await socket.timeout(60_000).emitWithAck('term:open', payload)) as ({ ok: true } & TerminalOpened) | { ok: false; error: string };
    if (!opened.ok) {
      note(`term:open ${JSON.stringify(payload)} (${this.name}) -> ${JSON.stringify(opened)}`);
      throw new Error(`${this.name} could not open a terminal: ${opened.error}`);
    }
    this.m.openMs.push(performance.now() - t0);
    const id = opened.id;
    const term: { buf: string; want?: { token: string; done: (ms: number) => void; t: number } } = { buf: '' };
    this.terminals.set(id, term);
    // The login shell's banner and prompt first: sampling starts once it is quiet.
    const bannerBy = performance.now() + 10_000;
    let seen = '';
    while (performance.now() < bannerBy) {
      await sleep(300);
      if (term.buf.length > 0 && term.buf === seen) break;
      seen = term.buf;
    }
    term.buf = '';
    await sleep(Math.random() * ECHO_SPACING_MS);
    for (let i = 0; i < ECHO_SAMPLES; i++) {
      // A comment line: the shell echoes it as it is typed and runs nothing.
      const token = `#w${i}q`;
      const ms = await new Promise<number>((res) => {
        const timer = setTimeout(() => {
          term.want = undefined;
          res(Number.NaN);
        }, ECHO_TIMEOUT_MS);
        term.want = {
          token,
          t: performance.now(),
          done: (x) => {
            clearTimeout(timer);
            res(x);
          },
        };
        socket.emit('term:input', { id, data: `${token}\r` });
      });
      if (Number.isNaN(ms)) this.m.echoLost++;
      else this.m.echoMs.push(ms);
      await sleep(ECHO_SPACING_MS);
    }
    await socket.timeout(10_000).emitWithAck('term:close', { id }).catch(() => undefined);
    this.terminals.delete(id);
  }

  /** PROBES probes, one after another, then a diagnosis graded on what they showed. */
  async probesAndDiagnosis(): Promise<void> {
    const specs = [
      { from: 'api', target: 'tcp:db:5432' },
      { from: 'api', target: 'dns:metrics' },
      { from: 'web', target: 'http://api:8080/' },
      { from: 'api', target: 'dns:db' },
      { from: 'web', target: 'dns:api' },
    ];
    const results = new Map<string, ProbeResult>();
    for (let i = 0; i < PROBES; i++) {
      const body = specs[i % specs.length]!;
      const path = `/api/sessions/${this.session}/probes`;
      const r = await this.http.request<{ result: ProbeResult }>('POST', path, body);
      if (r.status === 200 && r.body.result) {
        this.m.probeMs.push(r.ms);
        results.set(body.target, r.body.result);
      } else {
        this.m.probeFailed++;
        note(`POST ${path} ${JSON.stringify(body)} (${this.name}) -> ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      }
      await sleep(300);
    }
    // api resolves metrics only when it was moved onto the monitoring network; otherwise db left backend.
    const onMonitoring = results.get('dns:metrics')?.status === 'ok';
    const evidence = results.get('tcp:db:5432')?.id;
    const diagnosis = { cause: onMonitoring ? 'api-wrong-network' : 'db-disconnected', culprit: onMonitoring ? 'api' : 'db', evidence: evidence ? [evidence] : [] };
    const path = `/api/sessions/${this.session}/diagnosis`;
    const r = await this.http.request<{ result: GradeResult }>('POST', path, diagnosis);
    if (r.status === 200 && r.body.result) {
      this.m.graded++;
      if (r.body.result.passed) this.m.passed++;
    } else {
      this.m.gradeFailed++;
      note(`POST ${path} ${JSON.stringify(diagnosis)} (${this.name}) -> ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    }
  }

  /** Terminal and probes at the same time, as a learner with two tabs open; then the diagnosis. */
  async work(): Promise<void> {
    await Promise.all([this.terminal(), this.probesAndDiagnosis()]);
  }

  close(): void {
    this.socket?.close();
    this.http.close();
  }
}

// ---- the run -----------------------------------------------------------------------------

interface Phase {
  learners: number;
  upMs: number[];
  allUpMs: number;
  /** With --warm: each session's created_at (or claim) to ready_at, as the server recorded them. */
  serverUpMs: number[];
  m: Measures;
  rssPeak: number;
  cpuShare: number;
  dockerdShare: number;
  wallS: number;
  /** The machine's 1-minute load average at the start and end: it is shared. */
  load: [number, number];
  /** This server's Docker containers when every lab was ready (capture sidecars still starting). */
  containersAtUp: number;
  /** Busy and iowait shares of the machine's cores while the labs came up, and while learners worked. */
  machineUp: { busy: number; iowait: number };
  machineWork: { busy: number; iowait: number };
}


const merge = (ls: Learner[]): Measures => {
  const all = newMeasures();
  for (const l of ls) {
    all.openMs.push(...l.m.openMs);
    all.echoMs.push(...l.m.echoMs);
    all.probeMs.push(...l.m.probeMs);
    for (const k of ['echoLost', 'throttled', 'probeFailed', 'graded', 'passed', 'gradeFailed'] as const) all[k] += l.m[k];
  }
  return all;
};

/** The learners start their labs together, wait until all are ready, then all work at once. */
async function runPhase(learners: Learner[], rss: RssSampler, pid: number, dataDir: string, label: string): Promise<Phase> {
  rss.phase();
  const load0 = loadavg();
  const dockerd = pidOf('dockerd');
  const cpu0 = procStats(pid)?.cpuS ?? 0;
  const dcpu0 = dockerd ? (procStats(dockerd)?.cpuS ?? Number.NaN) : Number.NaN;
  const m0 = machineCpu();
  const t0 = performance.now();
  await Promise.all(learners.map((l) => l.start()));
  log(`${label}: ${learners.length} lab start(s) accepted in ${((performance.now() - t0) / 1000).toFixed(1)} s; waiting for ready`);
  let up = 0;
  const upMs = await Promise.all(
    learners.map(async (l) => {
      const ms = (await l.ready(t0)) - t0;
      l.m.upMs = ms;
      up++;
      if (learners.length > 1 && (up % 5 === 0 || up === learners.length)) log(`${label}: ${up}/${learners.length} labs ready at ${(ms / 1000).toFixed(1)} s`);
      return ms;
    }),
  );
  const allUpMs = Math.max(...upMs);
  const m1 = machineCpu();
  const containersAtUp = (await leftoverCounts(dataDir)).containers;
  // The same filter counts the leftovers: it must see the running labs, or a leak would pass for none.
  if (!(containersAtUp > 0)) throw new Error(`docker ps --filter label=${LABEL.registry}=${resolve(dataDir)} finds no container while ${learners.length} lab(s) run; the leftover count would be blind`);
  log(`${label}: all ${learners.length} lab(s) ready in ${(allUpMs / 1000).toFixed(1)} s; terminals, probes and diagnoses`);
  const serverUpMs = WARM ? await Promise.all(learners.map((l) => l.serverUpMs())) : [];
  await Promise.all(learners.map((l) => l.work()));
  const m2 = machineCpu();
  const wallS = (performance.now() - t0) / 1000;
  const cpuShare = ((procStats(pid)?.cpuS ?? cpu0) - cpu0) / wallS;
  const dockerdShare = ((dockerd ? (procStats(dockerd)?.cpuS ?? Number.NaN) : Number.NaN) - dcpu0) / wallS;
  return { learners: learners.length, upMs, allUpMs, serverUpMs, m: merge(learners), rssPeak: rss.phase(), cpuShare, dockerdShare, wallS, load: [load0, loadavg()], containersAtUp, machineUp: cpuBetween(m0, m1), machineWork: cpuBetween(m1, m2) };
}

interface PreparedCase {
  plan: PreparePlan;
  progress: PrepareProgress;
  /** From POST /api/workshop/prepare until its progress said done. */
  prepareMs: number;
  /** ... until every container of the warm labs ran (their capture sidecars start after ready). */
  quietMs: number;
  /** Warm sessions of the lab GET /api/warm listed once the prepare was done. */
  warmSessions: number;
  phase: Phase;
  /** Learners whose session was one of those warm ones. */
  claimed: number;
  /** Warm sessions of the lab still listed after DELETE /api/workshop/prepare. */
  warmAfterUnprepare: number;
  joinWaitS: number;
  removed: number;
  endS: number;
  left: { containers: number; networks: number; services: number };
}

/** A fresh workshop, prepared by the trainer for N learners; then N fresh learners start at once, each claiming a warm lab. */
async function preparedCase(url: URL, trainer: Http, rss: RssSampler, pid: number, dataDir: string, learners: Learner[]): Promise<PreparedCase> {
  await trainer.must<{ workshop: WorkshopInfo }>('POST', '/api/workshops', { name: 'workshop bench, prepared', labs: [LAB], code: WARM_CODE }, 201);
  const asked = { learners: LEARNERS };
  const tp = performance.now();
  const first = await trainer.must<{ plan: PreparePlan; progress: PrepareProgress }>('POST', '/api/workshop/prepare', asked, 200);
  const plan = first.body.plan!;
  let progress = first.body.progress!;
  if (!plan.fits) note(`POST /api/workshop/prepare ${JSON.stringify(asked)} -> a plan that does not fit: ${plan.advice.join('; ')}`);
  log(`prepare: ${plan.total.sessions} ${LAB} lab(s) to warm for ${LEARNERS} learners, estimated ${plan.estimate_s} s`);
  for (let said = tp; !progress.done; ) {
    if (performance.now() - tp > PREPARE_TIMEOUT_MS) throw new Error(`POST /api/workshop/prepare ${JSON.stringify(asked)}: its progress is not done after ${PREPARE_TIMEOUT_MS / 60_000} min: ${JSON.stringify(progress)}`);
    await sleep(250);
    const v = await trainer.must<{ view: TrainerView | null }>('GET', '/api/workshop', undefined, 200);
    const p = v.body.view?.prepare;
    if (!p) throw new Error(`GET /api/workshop while preparing -> prepare ${JSON.stringify(p)} (expected { plan, progress })`);
    progress = p.progress;
    if (performance.now() - said >= 5000) {
      said = performance.now();
      log(`prepare: ${progress.warm}/${progress.wanted} warm at ${((said - tp) / 1000).toFixed(0)} s`);
    }
  }
  const prepareMs = performance.now() - tp;
  const status = (await trainer.must<WarmStatus>('GET', '/api/warm', undefined, 200)).body;
  const warmIds = new Set((status.sessions ?? []).filter((x) => x.lab === LAB && x.state === 'warm').map((x) => x.session));
  if (warmIds.size < LEARNERS) note(`GET /api/warm once the prepare said done -> ${warmIds.size} warm ${LAB} session(s) for ${LEARNERS} learners (progress ${JSON.stringify(progress)})`);
  log(`prepare: done in ${(prepareMs / 1000).toFixed(1)} s, ${warmIds.size} warm; waiting for their capture sidecars`);
  // The room is prepared once the capture sidecars run too: learners arrive after the trainer, not on the same second.
  let quietMs = Number.NaN;
  for (let last = -1, by = performance.now() + 120_000; performance.now() < by; await sleep(1000)) {
    const c = await containerStates(dataDir);
    if (c.running === c.all && c.all === last) {
      quietMs = performance.now() - tp;
      break;
    }
    last = c.all;
  }

  const crowd = Array.from({ length: LEARNERS }, (_, i) => new Learner(`learner ${i + 1}`, url, SAME_ADDRESS ? '127.0.0.1' : `127.0.${100 + Math.floor(i / 240)}.${10 + (i % 240)}`, WARM_CODE));
  learners.push(...crowd);
  let joinWaitS = 0;
  for (const l of crowd) joinWaitS += (await l.join()).waitedS;
  await Promise.all(crowd.map((l) => l.connect()));
  const phase = await runPhase(crowd, rss, pid, dataDir, 'prepared');
  const claimed = crowd.filter((l) => l.session !== undefined && warmIds.has(l.session)).length;
  if (claimed < LEARNERS) note(`${LEARNERS - claimed} of ${LEARNERS} learners' POST /api/workshop/labs/${LAB}/start got a session that was not one of the ${warmIds.size} warm ones GET /api/warm listed`);

  // Every learner started: nothing is left warm for this workshop, and none may stay after unpreparing.
  await trainer.must('DELETE', '/api/workshop/prepare', undefined, 200);
  const after = (await trainer.must<WarmStatus>('GET', '/api/warm', undefined, 200)).body;
  const warmAfterUnprepare = (after.sessions ?? []).filter((x) => x.lab === LAB).length;
  if (warmAfterUnprepare > 0) note(`GET /api/warm after DELETE /api/workshop/prepare -> ${warmAfterUnprepare} ${LAB} session(s) still warm: ${JSON.stringify(after.sessions)}`);
  const te = performance.now();
  const end = await trainer.must<{ removed: number }>('POST', '/api/workshop/end', undefined, 200, END_TIMEOUT_MS);
  const endS = (performance.now() - te) / 1000;
  log(`prepared workshop ended in ${endS.toFixed(1)} s (${end.body.removed} lab(s) torn down)`);
  const left = await leftoverCounts(dataDir);
  return { plan, progress, prepareMs, quietMs, warmSessions: warmIds.size, phase, claimed, warmAfterUnprepare, joinWaitS, removed: end.body.removed ?? 0, endS, left };
}

async function main(): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flowlab-bench-workshop-'));
  let server: ServerChild | undefined;
  let rss: RssSampler | undefined;
  let trainer: Http | undefined;
  let trainerSocket: Socket | undefined;
  const learners: Learner[] = [];
  let ended = false;
  let failure: Error | undefined;
  const unknown = { containers: Number.NaN, networks: Number.NaN, services: Number.NaN };
  let left = unknown;
  let leftAfterExit: typeof unknown;
  let hwm = Number.NaN;
  let runner = '';
  let idleRss = Number.NaN;
  let joinWaitS = 0;
  let trainerViews = 0;
  let removed: number | undefined;
  let endS = Number.NaN;
  let base: Phase | undefined;
  let load: Phase | undefined;
  let floor: Floor | undefined;
  let prepared: PreparedCase | undefined;
  const globalBefore = await leftoverCounts();
  const onSignal = () => {
    // The server tears its labs down on SIGTERM.
    server?.child.kill('SIGTERM');
    process.exit(130);
  };
  process.once('SIGINT', onSignal);

  try {
    if (FLOOR) floor = await dockerFloor(LAB, LEARNERS, log);
    runner = await freshBundle();
    server = await startServerChild(dataDir);
    const pid = server.child.pid!;
    log(`flowlab serve --workshop on ${server.url.origin} (pid ${pid}, ${runner}, FLOWLAB_DATA=${dataDir})`);
    rss = new RssSampler(pid);
    rss.start();
    trainer = new Http(server.url, '127.0.0.1', server.trainerToken);

    // Lab images are checked (or built) in the background at start.
    for (let at = Date.now(); ; await sleep(500)) {
      const h = await trainer.request<{ images: { state: string; detail: string } }>('GET', '/api/health');
      if (h.body.images?.state === 'ready') break;
      if (h.body.images?.state === 'failed') throw new Error(`lab images: ${h.body.images.detail}`);
      if (Date.now() - at > 15 * 60_000) throw new Error(`lab images not ready after 15 min: ${h.body.images?.detail}`);
    }
    const lab = await trainer.must<{ lab: LabView }>('GET', `/api/scenarios/${LAB}`, undefined, 200);
    const causes = lab.body.lab?.diagnosis?.causes.map((c) => c.id) ?? [];
    if (!causes.includes('api-wrong-network') || !causes.includes('db-disconnected')) throw new Error(`${LAB} no longer has the diagnosis causes this bench submits; found ${JSON.stringify(causes)}`);
    await trainer.must<{ workshop: WorkshopInfo }>('POST', '/api/workshops', { name: 'workshop bench', labs: [LAB], code: CODE }, 201);
    // The trainer's dashboard is open for the whole workshop, as it would be.
    trainerSocket = io(server.url.origin, { auth: { token: server.trainerToken }, transports: ['websocket'], forceNew: true, reconnection: false });
    trainerSocket.on('workshop:view', (_v: TrainerView) => trainerViews++);
    await sleep(1000);
    idleRss = rss.last;

    // ---- baseline: one learner alone ----
    const solo = new Learner('baseline', server.url, SAME_ADDRESS ? '127.0.0.1' : '127.0.0.9');
    learners.push(solo);
    await solo.join();
    await solo.connect();
    base = await runPhase([solo], rss, pid, dataDir, 'baseline');
    // Its lab goes, so the load is exactly N labs.
    await solo.http.must('DELETE', `/api/sessions/${solo.session}`, undefined, 200);
    solo.close();

    // ---- the workshop: N learners ----
    const crowd = Array.from({ length: LEARNERS }, (_, i) => new Learner(`learner ${i + 1}`, server!.url, SAME_ADDRESS ? '127.0.0.1' : `127.0.${10 + Math.floor(i / 240)}.${10 + (i % 240)}`));
    learners.push(...crowd);
    const tj = performance.now();
    for (const l of crowd) joinWaitS += (await l.join()).waitedS;
    await Promise.all(crowd.map((l) => l.connect()));
    log(`${LEARNERS} learners joined and connected in ${((performance.now() - tj) / 1000).toFixed(1)} s`);
    load = await runPhase(crowd, rss, pid, dataDir, 'workshop');

    // ---- the end ----
    const te = performance.now();
    const end = await trainer.must<{ removed: number }>('POST', '/api/workshop/end', undefined, 200, END_TIMEOUT_MS);
    ended = true;
    removed = end.body.removed;
    endS = (performance.now() - te) / 1000;
    log(`workshop ended in ${((performance.now() - te) / 1000).toFixed(1)} s (${removed} lab(s) torn down)`);
    left = await leftoverCounts(dataDir);
    if (WARM) {
      ended = false;
      prepared = await preparedCase(server.url, trainer, rss, pid, dataDir, learners);
      ended = true;
    }
    hwm = procStats(pid)?.hwm ?? Number.NaN;
  } catch (e) {
    failure = e as Error;
    log(`bench failed: ${failure.message}`);
  } finally {
    rss?.stop();
    trainerSocket?.close();
    for (const l of learners) l.close();
    if (server && !ended && trainer && server.child.exitCode === null) {
      await trainer.request('POST', '/api/workshop/end', undefined, END_TIMEOUT_MS).catch(() => undefined);
    }
    trainer?.close();
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      const code = await Promise.race([server.exited, sleep(15_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') {
        note(`flowlab serve did not exit within 15 s of SIGTERM; killed`);
        server.child.kill('SIGKILL');
        await server.exited;
      }
    }
    leftAfterExit = await leftoverCounts(dataDir);
    // Only when something was left: sweep is the recovery, and it must not hide a leak from the count.
    if (failure || leftAfterExit.containers + leftAfterExit.networks + leftAfterExit.services !== 0) {
      log('sweeping what was left (flowlab sweep)');
      const r = await runTo([process.execPath, join(ROOT, 'bin', 'flowlab.js'), 'sweep'], { cwd: ROOT, env: serverEnv(dataDir) }).catch((e: Error) => ({ code: 1, out: e.message }));
      log(r.out.trim());
    }
    rmSync(dataDir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
  }
  const globalAfter = await leftoverCounts();

  const serverErrors = (server?.lines ?? []).filter((l) => /error|fail|could not|cannot|unhandled/i.test(l)).slice(0, 20);
  if (!base || !load) {
    if (serverErrors.length) log(`server said:\n  ${serverErrors.join('\n  ')}`);
    if (misbehaved.length) log(`server answers:\n  ${misbehaved.join('\n  ')}`);
    return 1;
  }

  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const ms = (x: number) => (Number.isNaN(x) ? 'n/a' : `${Math.round(x)}`);
  const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(1)}x` : 'n/a');
  const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const pair = (xs: number[]) => `${ms(pct(xs, 50))} / ${ms(pct(xs, 95))} ms`;
  const col = (a: string, b: string, c: string, d = '') => `${a.padEnd(32)}${b.padEnd(22)}${c.padEnd(24)}${d}`;
  const L = load.m;
  const B = base.m;
  const echoP95 = pct(L.echoMs, 95);
  const peak = Math.max(load.rssPeak, base.rssPeak);
  const leftTotal = left.containers + left.networks + left.services;
  const leftExitTotal = leftAfterExit.containers + leftAfterExit.networks + leftAfterExit.services;
  const leftPrepared = prepared ? prepared.left.containers + prepared.left.networks + prepared.left.services : 0;
  const verdict = Number.isNaN(leftExitTotal) ? 'unknown (docker did not answer)' : leftExitTotal === 0 && (Number.isNaN(leftTotal) || leftTotal === 0) && leftPrepared === 0 ? 'ok' : 'LEAK';

  console.log(`\nworkshop bench: ${LEARNERS} learners, lab ${LAB} (4 services), terminal in ${TERMINAL}, one run on ${runner}`);
  console.log(col('', 'baseline (1 learner)', `loaded (${LEARNERS} learners)`, 'loaded/baseline    target'));
  console.log(col('  all labs up', s(base.allUpMs), s(load.allUpMs), `${ratio(load.allUpMs, base.allUpMs).padEnd(19)}<= ${TARGETS.allUpS} s: ${mark(load.allUpMs <= TARGETS.allUpS * 1000)}`));
  if (floor) {
    console.log(col(`  docker floor, ${floor.labs} labs`, '', s(floor.labsMs), `all labs up / floor: ${ratio(load.allUpMs, floor.labsMs)}`));
    console.log(`    Docker starting the same ${floor.labs} x ${floor.perLab.lab} lab containers (services, resolver) from Flowlab's plan and nothing else, ${floor.startsAtOnce || 'unlimited'} start(s) at once, no readiness wait; ${s(floor.allMs)} with the ${floor.labs} x ${floor.perLab.capture} capture sidecars`);
  }
  console.log(col('  lab up, per learner p50', s(pct(base.upMs, 50)), s(pct(load.upMs, 50)), ratio(pct(load.upMs, 50), pct(base.upMs, 50))));
  console.log(`    every lab's up time (s): ${[...load.upMs].sort((a, b) => a - b).map((x) => (x / 1000).toFixed(0)).join(' ')}`);
  console.log(col('  containers when all were up', `${base.containersAtUp}`, `${load.containersAtUp}`, '(services, lab resolvers, capture sidecars)'));
  console.log(col('  terminal open p50 / p95', pair(B.openMs), pair(L.openMs), ratio(pct(L.openMs, 95), pct(B.openMs, 95))));
  console.log(col('  terminal echo p50 / p95', pair(B.echoMs), pair(L.echoMs), `${ratio(echoP95, pct(B.echoMs, 95)).padEnd(19)}p95 <= ${TARGETS.echoP95Ms} ms: ${mark(echoP95 <= TARGETS.echoP95Ms)}`));
  console.log(col('    samples (lost, throttled)', `${B.echoMs.length} (${B.echoLost}, ${B.throttled})`, `${L.echoMs.length} (${L.echoLost}, ${L.throttled})`));
  console.log(col('  probe round trip p50 / p95', pair(B.probeMs), pair(L.probeMs), ratio(pct(L.probeMs, 95), pct(B.probeMs, 95))));
  console.log(col('    probes (failed)', `${B.probeMs.length} (${B.probeFailed})`, `${L.probeMs.length} (${L.probeFailed})`));
  console.log(col('  diagnoses graded (passed)', `${B.graded}/1 (${B.passed})`, `${L.graded}/${LEARNERS} (${L.passed})`));
  const share = (x: number) => (Number.isNaN(x) ? 'n/a' : `${Math.round(x * 100)}%`);
  console.log(col('  CPU, server / dockerd', `${share(base.cpuShare)} / ${share(base.dockerdShare)} over ${base.wallS.toFixed(0)} s`, `${share(load.cpuShare)} / ${share(load.dockerdShare)} over ${load.wallS.toFixed(0)} s`, '(one core = 100%)'));
  const busy = (x: { busy: number; iowait: number }) => `${Math.round(x.busy * 100)}% (+${Math.round(x.iowait * 100)}% io)`;
  console.log(col('  machine busy, labs coming up', busy(base.machineUp), busy(load.machineUp), '(all cores = 100%)'));
  console.log(col('  machine busy, learners work', busy(base.machineWork), busy(load.machineWork)));
  console.log(col('  load average, start-end', `${base.load[0].toFixed(1)}-${base.load[1].toFixed(1)}`, `${load.load[0].toFixed(1)}-${load.load[1].toFixed(1)}`, '(2 cores, shared)'));
  console.log(col('  server peak RSS', `${base.rssPeak.toFixed(0)} MB`, `${load.rssPeak.toFixed(0)} MB`, `${ratio(load.rssPeak, base.rssPeak).padEnd(19)}<= ${TARGETS.rssMb} MB: ${mark(peak <= TARGETS.rssMb)}`));
  console.log(`  server RSS idle before any lab ${idleRss.toFixed(0)} MB; VmHWM at the end ${hwm.toFixed(0)} MB`);
  console.log(`  leftovers after POST /api/workshop/end (${removed} labs torn down in ${endS.toFixed(1)} s): ${left.containers} containers, ${left.networks} networks, ${left.services} services; after the server exited: ${leftExitTotal} — must be 0: ${verdict}`);
  console.log(`  flowlab objects on this Docker host (any data directory): ${globalBefore.containers}+${globalBefore.networks}+${globalBefore.services} before, ${globalAfter.containers}+${globalAfter.networks}+${globalAfter.services} after`);
  console.log(`  joins: ${SAME_ADDRESS ? 'all from 127.0.0.1' : 'one address per learner'}${joinWaitS ? `, ${joinWaitS} s waited on the per-address join limit` : ''}; trainer dashboard got ${trainerViews} views`);
  if (prepared) {
    const P = prepared.phase;
    const s2 = (x: number) => (Number.isNaN(x) ? 'n/a' : `${(x / 1000).toFixed(2)} s`);
    const r2 = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : 'n/a');
    const vs = (a: number, b: number, target = '') => `${r2(a, b).padEnd(19)}${target}`;
    const upP95 = pct(P.upMs, 95);
    const pEcho = pct(P.m.echoMs, 95);
    const plan = prepared.plan;
    console.log(`\nprepared room (--warm): a fresh workshop on the same server, POST /api/workshop/prepare ${JSON.stringify({ learners: LEARNERS })}, then ${LEARNERS} fresh learners start at once`);
    console.log(`  prepare until progress.done ${s(prepared.prepareMs)} (plan: ${plan.total.sessions} labs, estimated ${plan.estimate_s} s, ${plan.fits ? 'fits' : `does not fit: ${plan.advice[0]}`}); ${prepared.warmSessions} warm then; all their containers running at ${s(prepared.quietMs)}`);
    if (floor) console.log(`  prepare / docker floor: ${ratio(prepared.prepareMs, floor.labsMs)} (${s(prepared.prepareMs)} / ${s(floor.labsMs)} for ${floor.labs} labs); with capture sidecars ${ratio(prepared.quietMs, floor.allMs)} (${s(prepared.quietMs)} / ${s(floor.allMs)})`);
    console.log(col('', `no pool (${LEARNERS} learners)`, `prepared (${LEARNERS} learners)`, 'prepared/no pool   target'));
    console.log(col('  start to ready p50', s2(pct(load.upMs, 50)), s2(pct(P.upMs, 50)), vs(pct(P.upMs, 50), pct(load.upMs, 50))));
    console.log(col('  start to ready p95', s2(pct(load.upMs, 95)), s2(upP95), vs(upP95, pct(load.upMs, 95), `<= ${WARM_TARGETS.upP95S} s: ${mark(upP95 <= WARM_TARGETS.upP95S * 1000)}`)));
    console.log(col('  start to ready max', s2(load.allUpMs), s2(P.allUpMs), vs(P.allUpMs, load.allUpMs)));
    console.log(col(`  all ${LEARNERS} ready`, s2(load.allUpMs), s2(P.allUpMs), vs(P.allUpMs, load.allUpMs, `<= ${WARM_TARGETS.allUpS} s: ${mark(P.allUpMs <= WARM_TARGETS.allUpS * 1000)}`)));
    console.log(`    from each POST /api/workshop/labs/${LAB}/start until its learner's workshop:view reads ready (sent to them once their lab is ready)`);
    if (floor?.networkChange) {
      const n = floor.networkChange;
      console.log(`  engine floor for claims: one lab's network change (disconnect + connect) ${Math.round(n.oneMs)} ms alone; ${floor.labs - 1} labs' at once ${s2(n.allMs)} — the engine applies them one at a time, and each claim of ${LAB} makes two`);
    }
    console.log(col('  server created->ready p50/p95', `${s2(pct(load.serverUpMs, 50))} / ${s2(pct(load.serverUpMs, 95))}`, `${s2(pct(P.serverUpMs, 50))} / ${s2(pct(P.serverUpMs, 95))}`, vs(pct(P.serverUpMs, 95), pct(load.serverUpMs, 95), '(a claim sets created_at; GET /api/sessions/:id)')));
    console.log(`    every prepared lab's start to ready (s): ${[...P.upMs].sort((a, b) => a - b).map((x) => (x / 1000).toFixed(2)).join(' ')}`);
    console.log(col('  claimed from the pool', '-', `${prepared.claimed}/${LEARNERS}`, `(their session was one GET /api/warm listed warm)`));
    console.log(col('  terminal open p50 / p95', pair(L.openMs), pair(P.m.openMs), vs(pct(P.m.openMs, 95), pct(L.openMs, 95))));
    console.log(col('  terminal echo p50 / p95', pair(L.echoMs), pair(P.m.echoMs), vs(pEcho, echoP95, `p95 <= ${WARM_TARGETS.echoP95Ms} ms: ${mark(pEcho <= WARM_TARGETS.echoP95Ms)}`)));
    console.log(col('    samples (lost, throttled)', `${L.echoMs.length} (${L.echoLost}, ${L.throttled})`, `${P.m.echoMs.length} (${P.m.echoLost}, ${P.m.throttled})`));
    console.log(col('  probe round trip p50 / p95', pair(L.probeMs), pair(P.m.probeMs), vs(pct(P.m.probeMs, 95), pct(L.probeMs, 95))));
    console.log(col('  diagnoses graded (passed)', `${L.graded}/${LEARNERS} (${L.passed})`, `${P.m.graded}/${LEARNERS} (${P.m.passed})`));
    console.log(col('  machine busy, labs coming up', busy(load.machineUp), busy(P.machineUp), '(all cores = 100%)'));
    console.log(col('  machine busy, learners work', busy(load.machineWork), busy(P.machineWork)));
    console.log(col('  load average, start-end', `${load.load[0].toFixed(1)}-${load.load[1].toFixed(1)}`, `${P.load[0].toFixed(1)}-${P.load[1].toFixed(1)}`));
    console.log(col('  server peak RSS', `${load.rssPeak.toFixed(0)} MB`, `${P.rssPeak.toFixed(0)} MB`, `${r2(P.rssPeak, load.rssPeak).padEnd(19)}<= ${TARGETS.rssMb} MB: ${mark(P.rssPeak <= TARGETS.rssMb)}`));
    console.log(`  warm ${LAB} sessions after DELETE /api/workshop/prepare: ${prepared.warmAfterUnprepare}; leftovers after its POST /api/workshop/end (${prepared.removed} labs torn down in ${prepared.endS.toFixed(1)} s): ${prepared.left.containers} containers, ${prepared.left.networks} networks, ${prepared.left.services} services — must be 0: ${leftPrepared === 0 ? 'ok' : 'LEAK'}`);
    if (prepared.joinWaitS) console.log(`  joins: ${prepared.joinWaitS} s waited on the per-address join limit`);
  }
  if (misbehaved.length) console.log(`\nserver answers that were not what the bench expected:\n  ${misbehaved.join('\n  ')}`);
  if (serverErrors.length) console.log(`\nserver log lines that look like errors:\n  ${serverErrors.join('\n  ')}`);
  if (failure) console.log(`\nthe bench did not finish: ${failure.message}`);
  return failure || leftExitTotal !== 0 || Number.isNaN(leftExitTotal) || (!Number.isNaN(leftTotal) && leftTotal !== 0) || leftPrepared !== 0 ? 1 : 0;
}

const code = await main();
// Keep-alive sockets of learners that never got closed must not hold a finished bench open.
setTimeout(() => process.exit(code), 100).unref();
process.exitCode = code;
