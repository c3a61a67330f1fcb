// Workshop mode: a trainer's workshop, the learners who joined it with its code, and each
// learner's labs — started on demand within the host's capacity (beyond it, learners queue, and
// see their place and the lab's progress), variants spread so neighbours differ, torn down when
// idle, reset by the trainer (one learner's or everyone's), and all torn down when it ends. What
// the room does goes to an event feed; the time each learner works is counted as they work.
import { randomBytes, randomInt } from 'node:crypto';
import { totalmem } from 'node:os';
import { labSummaries, type App } from '../app/app.ts';
import { endLab, startLab } from '../app/labs.ts';
import { loadLab } from '../lab/catalogue.ts';
import type { Lab } from '../lab/schema.ts';
import type { LabSummary } from '../protocol/session.ts';
import type { CreateWorkshop, EndedBy, JoinAddress, LabSlot, LearnerAction, LearnerView, StartProgress, TrainerView, WorkshopInfo } from '../protocol/workshop.ts';
import { troubleTodo } from '../session/engine.ts';
import { NoWarmLeft } from '../session/errors.ts';
import { ProgressStore } from '../store/progress.ts';
import { WorkshopStore, type LearnerRow, type WorkshopRow, type WorkshopSessionRow } from '../store/workshops.ts';
import { FlowlabError, kindOfStatus } from '../util/errors.ts';
import { Activity, IDLE_FLAG_MS } from './activity.ts';
import { Feed } from './feed.ts';
import { spreadSeed } from './spread.ts';
import { labsOn, preparePlan } from './prepare.ts';
import { engineLoads } from '../app/placement.ts';
import { poolRefusal } from '../lab/pooling.ts';
import { footprint } from '../session/plan.ts';
import type { PreparePlan, PrepareProgress } from '../protocol/warm.ts';
import { exportFileName, resultsCsv, slotView, variantsDrawn, type RoomFacts } from './views.ts';

export class WorkshopError extends FlowlabError {
  override name = 'WorkshopError';
  constructor(status: number, message: string) {
    super(message, kindOfStatus(status));
  }
}

export interface WorkshopOptions {
  /**
   * At most this many learner labs run at once; more wait in a queue. Unset: the sum over the
   * engines that answer and take labs of what each holds (see labsOn).
   */
  maxLabs?: number;
  /** A lab with no activity for this long is torn down (the learner can start it again). */
  idleMs: number;
  /** A start that takes longer is reported in the event feed. */
  slowStartMs?: number;
  /** How often each engine of the pool is pinged for the feed (default 5 s; 0: never). */
  engineWatchMs?: number;
  /** A running lab with no work for this long is flagged idle on the dashboard (default 5 min). */
  idleFlagMs?: number;
  /** An engine ping slower than this is reported as a slow engine (default 2 s). */
  engineSlowMs?: number;
}

const SLOW_START_MS = 60_000;

/** This machine's share, until the engines have been asked. */
export function defaultMaxLabs(): number {
  return labsOn(totalmem());
}

/** Join codes avoid letters and digits that read alike (O/0, I/1). */
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const key = (learner: string, lab: string) => `${learner}\u0000${lab}`;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const duration = (ms: number) => (ms < 60_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`);
const minutesAgo = (ms: number) => `${Math.max(1, Math.round((Date.now() - ms) / 60_000))} min ago`;

export class Workshops implements RoomFacts {
  private queue: { learner: string; lab: string; seed?: number; fresh?: boolean }[] = [];
  private readonly launching = new Map<string, Promise<void>>();
  private readonly progress = new Map<string, StartProgress>();
  /** The variant each lab still coming up was given (it is stored once the lab is up). */
  private readonly drawing = new Map<string, { lab: string; variant: string }>();
  /** Sessions the idle reaper is removing now. */
  private readonly reaping = new Set<string>();
  private readonly failures = new Map<string, string>();
  /** When each session was last used at all (pages open count): idle expiry counts from here. */
  private readonly used = new Map<string, number>();
  private readonly summaries = new Map<string, LabSummary>();
  private readonly labs = new Map<string, Lab>();
  private readonly timers: NodeJS.Timeout[] = [];
  private listeners: ((event: 'changed' | 'ended' | 'ready', learner?: string) => void)[] = [];
  private joinAt: JoinAddress[] = [];
  readonly activity = new Activity(() => this.store);
  readonly feed = new Feed(() => this.store);
  /** The labs the pool holds, summed over its engines at the last look (when --max-labs does not say). */
  private poolLabs = defaultMaxLabs();
  private readonly unsubscribe: () => void;
  /** Bumped on every change a view would show. */
  rev = 0;
  /** The trainer's Prepare for the running workshop: for how many learners, and from which plan. */
  private prepared: { workshop: string; learners: number; plan: PreparePlan; startedAt: number } | undefined;
  /** Starts on their way that will claim a warm lab, by lab (they need no place of their own). */
  private readonly claiming = new Map<string, number>();

  constructor(
    private readonly app: App,
    readonly opts: WorkshopOptions,
  ) {
    this.timers.push(setInterval(() => void this.reapIdle(), Math.max(500, Math.min(15_000, opts.idleMs / 3))));
    // The engines' health and their sessions' reach the feed; the server checks them.
    this.unsubscribe = app.health.on((e) => {
      if (e.kind === 'engine') this.event('engine', e.engine === 'local' ? e.text : `engine ${e.engine}: ${e.text}`);
      else if (this.slotOfSession(e.session)) this.event('engine', e.text, this.slotOfSession(e.session));
    });
    if (opts.maxLabs === undefined) {
      const measure = () => void this.measurePool();
      measure();
      this.timers.push(setInterval(measure, opts.engineWatchMs || 5000));
    }
    for (const t of this.timers) t.unref();
    this.unwatchWarm = app.warm?.on(() => this.changed());
  }

  private readonly unwatchWarm: (() => void) | undefined;

  get store(): WorkshopStore {
    return new WorkshopStore(this.app.engine.db);
  }

  get progressStore(): ProgressStore {
    return new ProgressStore(this.app.engine.db);
  }

  /** `ready`: a learner's lab is ready (their screen is told at once, not at the next look). */
  on(listener: (event: 'changed' | 'ended' | 'ready', learner?: string) => void): void {
    this.listeners.push(listener);
  }

  /** Something a view shows changed (a grade, a hint...). */
  changed(): void {
    this.rev++;
    for (const l of this.listeners) l('changed');
  }

  /** Where learners open the workshop (the server says once it listens). */
  setJoinAddresses(addresses: JoinAddress[]): void {
    this.joinAt = addresses;
  }

  private event(kind: Parameters<Feed['add']>[1], text: string, at: { learner?: string; lab?: string } = {}): void {
    const w = this.current();
    if (!w) return;
    this.feed.add(w.id, kind, text, at);
    this.changed();
  }

  // ---- the workshop ----------------------------------------------------------------------

  current(): WorkshopRow | undefined {
    return this.store.open();
  }

  private byId(id: string): WorkshopRow | undefined {
    return this.store.get(id);
  }

  create(body: CreateWorkshop): WorkshopInfo {
    const open = this.current();
    if (open) throw new WorkshopError(409, `workshop "${open.name}" is still running; end it before creating another`);
    const known = new Map(labSummaries(this.app.settings.labDirs).map((l) => [l.id, l]));
    const unknown = body.labs.filter((l) => !known.has(l));
    if (unknown.length) throw new WorkshopError(400, `unknown lab(s) ${unknown.map((l) => `"${l}"`).join(', ')}; expected ids from the catalogue (flowlab list)`);
    const labs = [...new Set(body.labs)].map((l) => known.get(l)!);
    const shared = labs.filter((l) => l.isolation.default_bridge || l.isolation.host_network);
    if (shared.length && !body.allow_shared) {
      const why = shared.map((l) => `${l.id} (${l.isolation.host_network ? "uses the host's network" : "uses Docker's default bridge"})`).join(', ');
      throw new WorkshopError(
        400,
        `these labs cannot be isolated between learners on one Docker host: ${why}; containers on the default bridge reach each other, and host-network containers share the host's ports and see every lab. Leave them out, or set allow_shared to run them anyway`,
      );
    }
    const code = body.code ?? Array.from({ length: 6 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
    const id = randomBytes(6).toString('hex');
    this.store.create({ id, name: body.name, code, labs: labs.map((l) => l.id), minutes: body.minutes ?? null, allowShared: !!body.allow_shared });
    for (const l of labs) this.summaries.set(l.id, l);
    this.changed();
    return this.info(this.byId(id)!, true);
  }

  private labsOf(w: WorkshopRow): string[] {
    return JSON.parse(w.labs) as string[];
  }

  private summary(lab: string): LabSummary {
    let s = this.summaries.get(lab);
    if (!s) {
      for (const l of labSummaries(this.app.settings.labDirs)) this.summaries.set(l.id, l);
      s = this.summaries.get(lab) ?? { id: lab, title: lab, summary: '', network: 'bridge', level: 'beginner', minutes: 0, tags: [], topic: 'other', isolation: { default_bridge: false, host_network: false }, nodes: 0 };
    }
    return s;
  }

  /** A lab's definition (its causes and minutes for the dashboard, its variants to spread). */
  get idleFlagMs(): number {
    return this.opts.idleFlagMs ?? IDLE_FLAG_MS;
  }

  labDef(lab: string): Lab | undefined {
    if (!this.labs.has(lab)) {
      try {
        this.labs.set(lab, loadLab(lab, {}, this.app.settings.labDirs).lab);
      } catch {
        return undefined;
      }
    }
    return this.labs.get(lab);
  }

  private endsAt(w: WorkshopRow): number | null {
    return w.minutes === null ? null : w.started_at + w.minutes * 60_000;
  }

  private info(w: WorkshopRow, trainer: boolean): WorkshopInfo {
    return {
      id: w.id,
      name: w.name,
      state: w.ended_at !== null ? 'ended' : w.ending_at !== null ? 'ending' : 'open',
      ...(trainer ? { code: w.code } : {}),
      labs: this.labsOf(w).map((l) => this.summary(l)),
      minutes: w.minutes,
      allow_shared: w.allow_shared === 1,
      started_at: iso(w.started_at)!,
      ends_at: iso(this.endsAt(w)),
      ended_at: iso(w.ended_at),
      message: w.message ? { text: w.message, at: iso(w.message_at)! } : null,
    };
  }

  /** Whether learners may still start labs and submit diagnoses. */
  private assertOpen(w: WorkshopRow | undefined): asserts w is WorkshopRow {
    if (!w || w.ended_at !== null) throw new WorkshopError(409, 'the workshop has ended');
    if (w.ending_at !== null) throw new WorkshopError(409, 'the workshop is ending: its labs are being removed');
    const ends = this.endsAt(w);
    if (ends !== null && Date.now() > ends) throw new WorkshopError(409, `the workshop's time is up (it ended at ${new Date(ends).toISOString()})`);
  }

  /** Refuses when the learner's workshop has ended or its time is up. */
  assertLearnerMayAct(learner: string): void {
    const l = this.learner(learner);
    this.assertOpen(l && this.byId(l.workshop));
  }

  broadcast(message: string): void {
    const w = this.current();
    if (!w) throw new WorkshopError(404, 'no workshop is running');
    this.store.broadcast(w.id, message);
    this.changed();
  }

  /**
   * Ends the workshop: no more joins or starts, every screen says it is ending while every
   * learner lab is torn down, then that it has ended.
   */
  async end(): Promise<number> {
    const w = this.current();
    if (!w) throw new WorkshopError(404, 'no workshop is running');
    if (w.ending_at !== null) throw new WorkshopError(409, 'the workshop is already ending');
    this.store.beginEnd(w.id);
    this.queue = [];
    this.changed();
    await Promise.allSettled([...this.launching.values()]);
    await this.unprepare();
    const live = this.sessionsOf(w.id).filter((s) => s.state === 'starting' || s.state === 'ready');
    await Promise.allSettled(live.map((s) => this.endSession(s.session, 'workshop')));
    this.activity.flushAll();
    this.store.end(w.id);
    this.rev++;
    for (const l of this.listeners) l('ended');
    return live.length;
  }

  // ---- learners --------------------------------------------------------------------------

  join(code: string, name: string): { learner: { id: string; name: string }; workshop: { id: string; name: string } } {
    const w = this.store.openWithCode(code);
    if (!w || w.ending_at !== null) throw new WorkshopError(404, `no running workshop has the code ${code}; check it with your trainer`);
    if (this.store.nameTaken(w.id, name)) throw new WorkshopError(409, `the name "${name}" is already taken in this workshop; choose another`);
    const id = randomBytes(8).toString('hex');
    this.store.addLearner(id, w.id, name);
    this.changed();
    return { learner: { id, name }, workshop: { id: w.id, name: w.name } };
  }

  learner(id: string): LearnerRow | undefined {
    return this.store.learner(id);
  }

  /** The learner a session belongs to, if it is a workshop session. */
  ownerOf(session: string): string | undefined {
    return this.store.ownerOf(session);
  }

  sessionsOfLearner(learner: string): string[] {
    return this.store.sessionsOfLearner(learner).map((r) => r.session);
  }

  private sessionsOf(workshop: string): WorkshopSessionRow[] {
    return this.store.sessionsOf(workshop);
  }

  /** The session is in use (a page open on it, an API call, a terminal): idle expiry counts from here. */
  touch(session: string): void {
    this.used.set(session, Date.now());
  }

  /** The learner did something in the session (not a page polling it): their time worked counts. */
  worked(session: string): void {
    this.touch(session);
    const row = this.store.session(session);
    if (row && row.state === 'ready') this.activity.worked(row);
  }

  /**
   * Why a learner's session can no longer be used, when it was a workshop lab that ended: what
   * they are told instead of acting on it silently.
   */
  gone(session: string): string | undefined {
    const row = this.store.session(session);
    if (!row || row.state === 'ready' || row.state === 'starting' || row.state === null) return undefined;
    const when = minutesAgo(row.ended_at ?? row.started_at);
    const by: Record<EndedBy, string> = {
      reset: `your trainer reset this lab (${when}): a fresh one was started for you; open it from the workshop page`,
      restart: `you restarted this lab (${when}); the new one is on the workshop page`,
      idle: `this lab was removed ${when} after ${duration(this.opts.idleMs)} without activity; start it again from the workshop page`,
      workshop: 'the workshop has ended; its labs were removed',
      learner: `you ended this lab (${when}); start it again from the workshop page`,
    };
    return by[(row.ended_by ?? 'learner') as EndedBy] ?? by.learner;
  }

  // ---- labs: start, queue, reset, idle expiry --------------------------------------------

  /** At most this many learner labs at once: --max-labs, or the pool's engines summed. */
  get maxLabs(): number {
    return this.opts.maxLabs ?? this.poolLabs;
  }

  /** The engines that answer and take labs, each holding what its memory allows. */
  private async measurePool(): Promise<void> {
    const list = await this.app.engines.list().catch(() => []);
    const open = list.filter((e) => e.state === 'up' && !e.drained && e.facts);
    if (list.length === 0) return;
    const before = this.poolLabs;
    this.poolLabs = Math.max(1, open.reduce((n, e) => n + labsOn(e.facts!.memoryBytes), 0));
    if (this.poolLabs !== before) {
      this.changed();
      this.pump();
    }
  }

  engineOf(session: string): string | null {
    return this.app.engine.store.get(session)?.engine ?? null;
  }

  trouble(session: string): LabSlot['trouble'] {
    const rec = this.app.engine.store.get(session);
    if (!rec?.trouble || rec.state !== 'ready') return null;
    return { kind: rec.trouble.kind, engine: rec.engine, reason: rec.trouble.reason, todo: troubleTodo(rec) };
  }

  /** The learner and lab of a session of this workshop. */
  private slotOfSession(session: string): { learner: string; lab: string } | undefined {
    const w = this.current();
    const s = w ? this.sessionsOf(w.id).find((x) => x.session === session) : undefined;
    return s ? { learner: s.learner, lab: s.lab } : undefined;
  }

  private running(): number {
    const w = this.current();
    // A lab whose engine is lost holds no place: that engine's room is not counted meanwhile.
    const live = w ? this.sessionsOf(w.id).filter((s) => s.state === 'ready' && !this.launching.has(key(s.learner, s.lab)) && this.app.engine.store.get(s.session)?.trouble?.kind !== 'engine-lost').length : 0;
    return live + this.launching.size + (w ? this.warmHeld(w) : 0);
  }

  /** Warm labs of the workshop's labs not yet spoken for: they hold their place in the room too. */
  private warmHeld(w: WorkshopRow): number {
    const warm = this.app.warm;
    if (!warm) return 0;
    return this.labsOf(w).reduce((n, lab) => n + Math.max(0, warm.claimableCount(lab) + warm.startingCount(lab) - (this.claiming.get(lab) ?? 0)), 0);
  }

  /** Whether a start of this lab will find a warm one to claim (and so needs no new place). */
  private warmFor(lab: string): boolean {
    return (this.app.warm?.claimableCount(lab) ?? 0) > (this.claiming.get(lab) ?? 0);
  }

  // ---- Prepare ---------------------------------------------------------------------------

  /** What N learners × the workshop's labs need, against the room the engines give now. */
  async plan(learners: number): Promise<PreparePlan> {
    const w = this.current();
    if (!w) throw new WorkshopError(404, 'no workshop is running');
    const loads = (await engineLoads(this.app)).filter((l) => l.up && !l.drained);
    const labs = this.labsOf(w).map((lab) => {
      const def = this.labDef(lab);
      const refused = def ? poolRefusal(def) : 'its lab file does not load';
      return { lab, ...(def ? footprint(def) : { containers: 0, memoryBytes: 0 }), networks: def ? Object.keys(def.networks).length : 0, started: this.startedCount(w, lab), ...(refused ? { refused } : {}) };
    });
    const engines = loads.map((l) => {
      const took = this.app.engine.runtimeOf(l.name).starts?.took;
      return { name: l.name, memoryBytes: l.memoryBytes, reservedBytes: l.reservedBytes, startsAtOnce: l.startsAtOnce, ...(took && took.starts > 0 ? { startMs: took.ms / took.starts } : {}) };
    });
    // What this Prepare already holds is not "in use" against itself.
    const held = this.prepared?.workshop === w.id ? this.warmHeld(w) : 0;
    return preparePlan(learners, labs, engines, { maxLabs: this.maxLabs, inUse: this.running() - held, fixed: this.opts.maxLabs !== undefined });
  }

  /**
   * The trainer prepares the room for N learners: each lab of the workshop kept warm until N
   * learners have started it (as much as the room holds); learners' Start claims from it.
   */
  async prepare(learners: number): Promise<{ plan: PreparePlan; progress: PrepareProgress }> {
    const w = this.current();
    this.assertOpen(w);
    if (!this.app.warm) throw new WorkshopError(409, 'this server keeps no warm pools');
    const plan = await this.plan(learners);
    this.prepared = { workshop: w.id, learners, plan, startedAt: Date.now() };
    this.app.warm.want(`workshop:${w.id}`, () => this.preparedWants());
    this.event('prepare', `preparing the room for ${learners} learner${learners === 1 ? '' : 's'}: ${plan.total.sessions} labs to warm${plan.fits ? '' : ` (${plan.advice[0]})`}`);
    return { plan, progress: this.prepareProgress()! };
  }

  /** Stops preparing: warm labs nobody claimed yet end (a standing pool keeps its own). */
  async unprepare(): Promise<void> {
    const w = this.prepared;
    this.prepared = undefined;
    if (!w || !this.app.warm) return;
    this.app.warm.want(`workshop:${w.workshop}`, undefined);
    await this.app.warm.idle(30_000);
    this.changed();
  }

  /** What the Prepare still wants warm, by lab: one per learner who has not started it, as the room allows. */
  private preparedWants(): Record<string, number> {
    const p = this.prepared;
    const w = this.current();
    if (!p || !w || w.id !== p.workshop || w.ending_at !== null) return {};
    const sessions = this.sessionsOf(w.id);
    const out: Record<string, number> = {};
    // The room left once the labs running and the standing pools of the workshop's labs are counted.
    const standing = this.app.warm?.sizes() ?? {};
    let room = Math.max(0, this.maxLabs - (this.running() - this.warmHeld(w)) - this.labsOf(w).reduce((n, lab) => n + (standing[lab] ?? 0), 0));
    for (const row of p.plan.labs) {
      if (row.refused) continue;
      const n = Math.min(room, Math.max(0, p.learners - this.startedCount(w, row.lab, sessions)));
      out[row.lab] = n;
      room -= n;
    }
    return out;
  }

  /** Learners who have started the lab in this workshop; one whose start is on its way counts (the claim it makes is the pool's to count). */
  private startedCount(w: WorkshopRow, lab: string, sessions = this.sessionsOf(w.id)): number {
    const launching = [...this.launching.keys()].filter((k) => k.endsWith(`\u0000${lab}`)).map((k) => k.split('\u0000')[0]!);
    return new Set([...sessions.filter((s) => s.lab === lab).map((s) => s.learner), ...launching]).size;
  }

  private prepareProgress(): PrepareProgress | undefined {
    const p = this.prepared;
    const w = this.current();
    if (!p || !w || w.id !== p.workshop) return undefined;
    const status = this.app.warm?.status();
    const labs = p.plan.labs.filter((l) => !l.refused).map((l) => l.lab);
    const pools = status?.pools.filter((x) => labs.includes(x.lab)) ?? [];
    const sessions = this.sessionsOf(w.id);
    const claimed = sessions.filter((s) => labs.includes(s.lab) && s.started_at >= p.startedAt).length;
    const engines: PrepareProgress['engines'] = {};
    for (const s of status?.sessions ?? []) {
      if (!labs.includes(s.lab) || (s.state !== 'warm' && s.state !== 'starting')) continue;
      const e = (engines[s.engine] ??= { warm: 0, starting: 0 });
      if (s.state === 'warm') e.warm++;
      else e.starting++;
    }
    // What the Prepare wants warm now (the learners still to start, within the room), and how many
    // of those are: the standing pools' own are not its.
    const wants = this.preparedWants();
    const wanted = labs.reduce((n, lab) => n + (wants[lab] ?? 0), 0);
    const warm = labs.reduce((n, lab) => n + Math.min(wants[lab] ?? 0, Math.max(0, (pools.find((x) => x.lab === lab)?.warm ?? 0) - (pools.find((x) => x.lab === lab)?.size ?? 0))), 0);
    return { learners: p.learners, wanted, warm, claimed, engines, started_at: new Date(p.startedAt).toISOString(), done: warm >= wanted };
  }

  queued(learner: string, lab: string): number | undefined {
    const i = this.queue.findIndex((q) => key(q.learner, q.lab) === key(learner, lab));
    return i < 0 ? undefined : i + 1;
  }

  starting(learner: string, lab: string): StartProgress | undefined {
    const k = key(learner, lab);
    return this.launching.has(k) ? (this.progress.get(k) ?? { stage: 'preparing', networks: 0, services_ready: 0, services_total: 0 }) : undefined;
  }

  failure(learner: string, lab: string): string | undefined {
    return this.failures.get(key(learner, lab));
  }

  /** Starts (or queues) the learner's lab; a lab already running, starting or queued is left as it is. */
  start(learner: string, lab: string, opts: { seed?: number; fresh?: boolean } = {}): LabSlot {
    const l = this.learner(learner);
    const w = l && this.byId(l.workshop);
    this.assertOpen(w);
    if (!this.labsOf(w).includes(lab)) throw new WorkshopError(404, `lab "${lab}" is not part of this workshop; expected one of: ${this.labsOf(w).join(', ')}`);
    const k = key(learner, lab);
    const now = slotView(this, w, learner, lab).slot;
    if (['queued', 'starting', 'ready'].includes(now.state)) return now;
    this.failures.delete(k);
    if (this.warmFor(lab) || this.running() < this.maxLabs) this.launch(learner, lab, opts);
    else {
      if (this.queue.length === 0) this.event('queue', `a queue is forming: ${this.maxLabs} labs run, the most this server takes; ${l?.name ?? "a learner"} waits for ${this.summary(lab).title}`, { learner, lab });
      this.queue.push({ learner, lab, ...opts });
    }
    this.changed();
    return slotView(this, w, learner, lab).slot;
  }

  /**
   * The seed of a learner's new lab: the one asked for, or one that spreads the lab's variants over
   * the room — counting the labs still coming up, so learners who start together differ too.
   */
  private seedFor(w: WorkshopRow, learner: string, lab: string, opts: { seed?: number; fresh?: boolean }): { seed?: number; variant?: string } {
    if (opts.seed !== undefined) return { seed: opts.seed };
    const def = this.labDef(lab);
    if (!def) return {};
    const others = this.sessionsOf(w.id).filter((s) => s.lab === lab && s.learner !== learner);
    const drawn = { ...(variantsDrawn(others)[lab] ?? {}) };
    for (const [k, d] of this.drawing) if (d.lab === lab && k !== key(learner, lab)) drawn[d.variant] = (drawn[d.variant] ?? 0) + 1;
    const tries = opts.fresh ? this.store.sessionsOfLearner(learner, lab).length : 0;
    const { seed, variant } = spreadSeed(def, drawn, `${w.id}:${learner}:${lab}${tries ? `:${tries}` : ''}`);
    return variant ? { seed, variant } : { seed };
  }

  private launch(learner: string, lab: string, opts: { seed?: number; fresh?: boolean }): void {
    const k = key(learner, lab);
    const l = this.learner(learner)!;
    const w = this.byId(l.workshop)!;
    const round = this.store.round(learner, lab).round;
    const { seed, variant } = this.seedFor(w, learner, lab, opts);
    if (variant) this.drawing.set(k, { lab, variant });
    // It will claim a warm lab: that lab's place is this start's. The pool keeps it from the
    // moment the start counts as started, until the store has handed one out (or had none).
    const claims = this.warmFor(lab);
    if (claims) this.claiming.set(lab, (this.claiming.get(lab) ?? 0) + 1);
    const poolClaim = claims ? this.app.warm?.claimBegins(lab) : undefined;
    let claimOpen = claims;
    const claimDone = () => {
      poolClaim?.();
      if (!claimOpen) return;
      claimOpen = false;
      this.claiming.set(lab, (this.claiming.get(lab) ?? 1) - 1);
    };
    // None left after all (taken by another start, another process): it starts on demand only
    // within the room, as any start does; otherwise it waits in the queue.
    const claim = claims ? { answered: claimDone, coldAllowed: () => this.running() <= this.maxLabs } : undefined;
    this.progress.set(k, { stage: 'preparing', networks: 0, services_ready: 0, services_total: 0 });
    const t0 = Date.now();
    let up = false;
    const work = (async () => {
      try {
        const topology = await startLab(this.app, lab, {
          ...(claim ? { claim } : {}),
          learner: `${l.name} [${w.code}]`,
          ...(seed !== undefined ? { seed } : {}),
          steps: (s) => {
            this.progress.set(k, { stage: s.stage, networks: s.networks, services_ready: s.servicesReady, services_total: s.servicesTotal });
            this.changed();
          },
        });
        const rec = this.app.engine.store.get(topology.session);
        this.store.addSession({ session: topology.session, learner, lab, round, variant: rec?.variant ?? null });
        claimDone();
        up = true;
        this.touch(topology.session);
        const took = Date.now() - t0;
        if (took > (this.opts.slowStartMs ?? SLOW_START_MS)) this.event('start-slow', `${l.name}'s ${this.summary(lab).title} took ${Math.round(took / 1000)} s to start`, { learner, lab });
        // Ended while it was starting: it goes straight away.
        if (this.byId(l.workshop)?.ending_at !== null) await this.endSession(topology.session, 'workshop').catch(() => undefined);
      } catch (e) {
        if (e instanceof NoWarmLeft && this.current()?.id === w.id) {
          // Back to the front of the queue: it starts when a place frees.
          this.queue.unshift({ learner, lab, ...(seed !== undefined ? { seed } : {}) });
        } else {
          this.failures.set(k, (e as Error).message);
          this.event('start-failed', `${l.name}'s ${this.summary(lab).title} did not start: ${(e as Error).message}`, { learner, lab });
        }
      } finally {
        claimDone();
        this.launching.delete(k);
        this.drawing.delete(k);
        this.progress.delete(k);
        this.changed();
        // Its slot reads ready from now on: the learner is told at once.
        if (up) for (const f of this.listeners) f('ready', learner);
        this.pump();
      }
    })();
    this.launching.set(k, work);
  }

  /** Starts queued labs while there is room. */
  private pump(): void {
    const w = this.current();
    if (!w || w.ending_at !== null) return;
    for (let i = 0; i < this.queue.length; ) {
      const q = this.queue[i]!;
      if (!this.warmFor(q.lab) && this.running() >= this.maxLabs) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      const { learner, lab, ...opts } = q;
      this.launch(learner, lab, opts);
      this.changed();
    }
  }

  /** A session ends, and why is kept: a learner acting on it later is told. */
  private async endSession(session: string, by: EndedBy): Promise<void> {
    this.store.endedBy(session, by);
    this.activity.forget(session);
    this.used.delete(session);
    await endLab(this.app, session);
  }

  /**
   * The trainer resets a learner's lab: torn down and started again with the same breakage
   * (seed), its clock and counters afresh (the earlier sessions stay in the history).
   */
  async reset(learner: string, lab: string): Promise<LabSlot> {
    const l = this.learner(learner);
    const w = l && this.byId(l.workshop);
    if (!l || !w || w.id !== this.current()?.id) throw new WorkshopError(404, `unknown learner "${learner}" in the running workshop`);
    if (!this.labsOf(w).includes(lab)) throw new WorkshopError(404, `lab "${lab}" is not part of this workshop`);
    const k = key(learner, lab);
    this.queue = this.queue.filter((q) => key(q.learner, q.lab) !== k);
    await this.launching.get(k)?.catch(() => undefined);
    const last = this.store.sessionsOfLearner(learner, lab).at(-1);
    if (last && (last.state === 'ready' || last.state === 'starting')) await this.endSession(last.session, 'reset');
    this.failures.delete(k);
    this.store.nextRound(learner, lab);
    return this.start(learner, lab, last?.seed !== null && last?.seed !== undefined ? { seed: last.seed } : {});
  }

  /** Resets a lab for every learner who has started it; how many were reset. */
  async resetLab(lab: string): Promise<number> {
    const w = this.current();
    if (!w) throw new WorkshopError(404, 'no workshop is running');
    if (!this.labsOf(w).includes(lab)) throw new WorkshopError(404, `lab "${lab}" is not part of this workshop; expected one of: ${this.labsOf(w).join(', ')}`);
    // Everyone on the lab now (running it, on the way, or whose start failed); not who ended it or let it expire.
    const who = this.store.learnersOf(w.id).filter((l) => ['ready', 'starting', 'queued', 'failed'].includes(slotView(this, w, l.id, lab).slot.state));
    const done = await Promise.allSettled(who.map((l) => this.reset(l.id, lab)));
    const n = done.filter((d) => d.status === 'fulfilled').length;
    this.event('reset', `${this.summary(lab).title} was reset for everyone (${n} learner${n === 1 ? '' : 's'})`, { lab });
    return n;
  }

  /** A learner's own restart of their lab (the same seed, or a new draw), within the capacity. */
  async restart(session: string, opts: { newSeed: boolean }): Promise<LabSlot> {
    const row = this.store.session(session);
    if (!row) throw new WorkshopError(404, `unknown session "${session}"`);
    const l = this.learner(row.learner);
    this.assertOpen(l && this.byId(l.workshop));
    await this.endSession(session, 'restart').catch(() => undefined);
    this.start(row.learner, row.lab, !opts.newSeed && row.seed !== null ? { seed: row.seed } : { fresh: true });
    await this.launching.get(key(row.learner, row.lab))?.catch(() => undefined);
    return slotView(this, this.byId(l!.workshop)!, row.learner, row.lab).slot;
  }

  /** A learner's lab went down by their own hand: its place goes to the queue. */
  released(session: string): void {
    this.store.endedBy(session, 'learner');
    this.activity.forget(session);
    this.changed();
    this.pump();
  }

  private async reapIdle(): Promise<void> {
    const w = this.current();
    if (!w || w.ending_at !== null) return;
    const now = Date.now();
    // A session being removed still reads ready until it is gone: it is reaped once.
    const idle = this.sessionsOf(w.id).filter((s) => s.state === 'ready' && !this.reaping.has(s.session) && now - (this.used.get(s.session) ?? s.started_at) > this.opts.idleMs);
    if (idle.length === 0) return;
    for (const s of idle) this.reaping.add(s.session);
    try {
      await Promise.allSettled(idle.map((s) => this.endSession(s.session, 'idle')));
    } finally {
      for (const s of idle) this.reaping.delete(s.session);
    }
    for (const s of idle) {
      const l = this.learner(s.learner);
      this.event('expired', `${l?.name ?? s.learner}'s ${this.summary(s.lab).title} was removed after ${duration(this.opts.idleMs)} without activity`, { learner: s.learner, lab: s.lab });
    }
    this.changed();
    this.pump();
  }

  // ---- views -----------------------------------------------------------------------------

  learnerView(learner: string): LearnerView | null {
    const l = this.learner(learner);
    const w = l && this.byId(l.workshop);
    if (!l || !w) return null;
    return { role: 'learner', workshop: this.info(w, false), me: { id: l.id, name: l.name }, labs: this.labsOf(w).map((lab) => slotView(this, w, learner, lab).slot) };
  }

  trainerView(): TrainerView | null {
    const w = this.current();
    if (!w) return null;
    const labs = this.labsOf(w);
    const sessions = this.sessionsOf(w.id);
    const typed = (learner: string) =>
      sessions.filter((s) => s.learner === learner).reduce((n, s) => n + this.app.engine.store.learnerActions(s.session).filter((a) => a.kind === 'command').length, 0);
    const drawn = variantsDrawn(sessions);
    return {
      role: 'trainer',
      workshop: this.info(w, true),
      learners: this.store.learnersOf(w.id).map((l) => ({ id: l.id, name: l.name, joined_at: iso(l.joined_at)!, labs: labs.map((lab) => slotView(this, w, l.id, lab).trainer), console_actions: typed(l.id) })),
      capacity: { max_labs: this.maxLabs, running: this.running(), queued: this.queue.length, idle_minutes: Math.round((this.opts.idleMs / 60_000) * 10) / 10 },
      join: this.joinAt,
      variants: Object.fromEntries(labs.filter((lab) => (this.labDef(lab)?.variants.length ?? 0) > 1).map((lab) => [lab, drawn[lab] ?? {}])),
      events: this.feed.list(w.id),
      prepare: this.prepared?.workshop === w.id ? { plan: this.prepared.plan, progress: this.prepareProgress()! } : null,
    };
  }

  /** What a learner did in their docker consoles and terminals, lab by lab: what they typed, what it changed, the shells they opened. */
  learnerActions(learner: string): LearnerAction[] {
    const l = this.learner(learner);
    if (!l || l.workshop !== this.current()?.id) throw new WorkshopError(404, `unknown learner "${learner}" in the running workshop`);
    const rows = this.store.sessionsOfLearner(learner);
    return rows.flatMap((r) => this.app.engine.store.learnerActions(r.session).map((a) => ({ lab: r.lab, session: r.session, ...a })));
  }

  /** The results of the running workshop, or of the newest one once it ended; with a file name. */
  exportCsv(): { name: string; csv: string } {
    const w = this.current() ?? this.store.newest();
    if (!w) throw new WorkshopError(404, 'no workshop to export');
    return { name: exportFileName(w), csv: resultsCsv(this, w, this.labsOf(w)) };
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.unsubscribe();
    this.unwatchWarm?.();
    if (this.prepared) this.app.warm?.want(`workshop:${this.prepared.workshop}`, undefined);
    this.activity.flushAll();
  }
}
