// Workshop mode: a trainer's workshop, the learners who joined it with its code, and each
// learner's labs — started on demand within the host's capacity (beyond it, learners queue),
// torn down when idle, reset by the trainer, and all torn down when the workshop ends.
import { randomBytes, randomInt } from 'node:crypto';
import { totalmem } from 'node:os';
import { labSummaries, type App } from '../app/app.ts';
import type { CreateWorkshop, LabSlot, LearnerAction, LearnerView, TrainerView, WorkshopInfo } from '../protocol/workshop.ts';
import type { LabSummary } from '../protocol/session.ts';
import { csvFile } from '../util/csv.ts';
import { FlowlabError, kindOfStatus } from '../util/errors.ts';
import { endLab, startLab } from '../app/labs.ts';
import { ProgressStore } from '../store/progress.ts';
import { WorkshopStore, type LearnerRow, type WorkshopRow, type WorkshopSessionRow } from '../store/workshops.ts';

export class WorkshopError extends FlowlabError {
  override name = 'WorkshopError';
  constructor(status: number, message: string) {
    super(message, kindOfStatus(status));
  }
}

export interface WorkshopOptions {
  /** At most this many learner labs run at once; more wait in a queue. */
  maxLabs: number;
  /** A lab with no activity for this long is torn down (the learner can start it again). */
  idleMs: number;
}

/** What a lab needs, roughly, with its capture sidecars and resolver: keeps a third of the memory free. */
const MB_PER_LAB = 384;

export function defaultMaxLabs(): number {
  return Math.max(2, Math.floor(((totalmem() / 2 ** 20) * 2) / 3 / MB_PER_LAB));
}

type SessionRow = WorkshopSessionRow;

/** Join codes avoid letters and digits that read alike (O/0, I/1). */
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const key = (learner: string, lab: string) => `${learner}\u0000${lab}`;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export class Workshops {
  private queue: { learner: string; lab: string; seed?: number }[] = [];
  private readonly launching = new Map<string, Promise<void>>();
  private readonly failures = new Map<string, string>();
  private readonly activity = new Map<string, number>();
  private readonly summaries = new Map<string, LabSummary>();
  private reaper?: NodeJS.Timeout;
  private listeners: ((event: 'changed' | 'ended') => void)[] = [];
  /** Bumped on every change a view would show. */
  rev = 0;

  constructor(
    private readonly app: App,
    readonly opts: WorkshopOptions,
  ) {
    this.reaper = setInterval(() => void this.reapIdle(), Math.max(500, Math.min(15_000, opts.idleMs / 3)));
    this.reaper.unref();
  }

  private get store(): WorkshopStore {
    return new WorkshopStore(this.app.engine.db);
  }

  on(listener: (event: 'changed' | 'ended') => void): void {
    this.listeners.push(listener);
  }

  /** Something a view shows changed (a grade, a hint...). */
  changed(): void {
    this.rev++;
    for (const l of this.listeners) l('changed');
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
    const known = new Map(labSummaries().map((l) => [l.id, l]));
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
      for (const l of labSummaries()) this.summaries.set(l.id, l);
      s = this.summaries.get(lab) ?? { id: lab, title: lab, summary: '', network: 'bridge', level: 'beginner', minutes: 0, tags: [], isolation: { default_bridge: false, host_network: false } };
    }
    return s;
  }

  private endsAt(w: WorkshopRow): number | null {
    return w.minutes === null ? null : w.started_at + w.minutes * 60_000;
  }

  private info(w: WorkshopRow, trainer: boolean): WorkshopInfo {
    return {
      id: w.id,
      name: w.name,
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

  /** Ends the workshop: no more joins or starts, and every learner lab is torn down. */
  async end(): Promise<number> {
    const w = this.current();
    if (!w) throw new WorkshopError(404, 'no workshop is running');
    this.store.end(w.id);
    this.queue = [];
    await Promise.allSettled([...this.launching.values()]);
    const live = this.sessionsOf(w.id).filter((s) => s.state === 'starting' || s.state === 'ready');
    await Promise.allSettled(live.map((s) => endLab(this.app, s.session)));
    this.rev++;
    for (const l of this.listeners) l('ended');
    return live.length;
  }

  // ---- learners --------------------------------------------------------------------------

  join(code: string, name: string): { learner: { id: string; name: string }; workshop: { id: string; name: string } } {
    const w = this.store.openWithCode(code);
    if (!w) throw new WorkshopError(404, `no running workshop has the code ${code}; check it with your trainer`);
    if (this.store.nameTaken(w.id, name)) throw new WorkshopError(409, `the name "${name}" is already taken in this workshop; choose another`);
    const id = randomBytes(8).toString('hex');
    this.store.addLearner(id, w.id, name);
    this.changed();
    return { learner: { id, name }, workshop: { id: w.id, name: w.name } };
  }

  learner(id: string): LearnerRow | undefined {
    return this.store.learner(id);
  }

  private learnersOf(workshop: string): LearnerRow[] {
    return this.store.learnersOf(workshop);
  }

  /** The learner a session belongs to, if it is a workshop session. */
  ownerOf(session: string): string | undefined {
    return this.store.ownerOf(session);
  }

  sessionsOfLearner(learner: string): string[] {
    return this.store.sessionsOfLearner(learner).map((r) => r.session);
  }

  private sessionsOf(workshop: string): SessionRow[] {
    return this.store.sessionsOf(workshop);
  }

  /** Marks a learner's session as used now (HTTP calls, terminals, flows): idle expiry counts from here. */
  touch(session: string): void {
    this.activity.set(session, Date.now());
  }

  // ---- labs: start, queue, reset, idle expiry --------------------------------------------

  private running(): number {
    const w = this.current();
    const live = w ? this.sessionsOf(w.id).filter((s) => s.state === 'ready' && !this.launching.has(key(s.learner, s.lab))).length : 0;
    return live + this.launching.size;
  }

  /** Starts (or queues) the learner's lab; a lab already running, starting or queued is left as it is. */
  start(learner: string, lab: string, opts: { seed?: number } = {}): LabSlot {
    const l = this.learner(learner);
    const w = l && this.byId(l.workshop);
    this.assertOpen(w);
    if (!this.labsOf(w).includes(lab)) throw new WorkshopError(404, `lab "${lab}" is not part of this workshop; expected one of: ${this.labsOf(w).join(', ')}`);
    const k = key(learner, lab);
    const now = this.slot(w, learner, lab);
    if (['queued', 'starting', 'ready'].includes(now.state)) return now;
    this.failures.delete(k);
    if (this.running() < this.opts.maxLabs) this.launch(learner, lab, opts.seed);
    else this.queue.push({ learner, lab, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) });
    this.changed();
    return this.slot(w, learner, lab);
  }

  private launch(learner: string, lab: string, seed?: number): void {
    const k = key(learner, lab);
    const l = this.learner(learner)!;
    const work = (async () => {
      try {
        const topology = await startLab(this.app, lab, {
          learner: `${l.name} [${this.byId(l.workshop)?.code ?? l.workshop}]`,
          ...(seed !== undefined ? { seed } : {}),
        });
        this.store.addSession(topology.session, learner, lab);
        this.touch(topology.session);
        // Ended while it was starting: it goes straight away.
        if (this.byId(l.workshop)?.ended_at !== null) await endLab(this.app, topology.session).catch(() => undefined);
      } catch (e) {
        this.failures.set(k, (e as Error).message);
      } finally {
        this.launching.delete(k);
        this.changed();
        this.pump();
      }
    })();
    this.launching.set(k, work);
  }

  /** Starts queued labs while there is room. */
  private pump(): void {
    const w = this.current();
    if (!w) return;
    while (this.queue.length > 0 && this.running() < this.opts.maxLabs) {
      const next = this.queue.shift()!;
      this.launch(next.learner, next.lab, next.seed);
      this.changed();
    }
  }

  /** The trainer resets a learner's lab: torn down and started again with the same breakage (seed). */
  async reset(learner: string, lab: string): Promise<LabSlot> {
    const l = this.learner(learner);
    const w = l && this.byId(l.workshop);
    if (!l || !w || w.id !== this.current()?.id) throw new WorkshopError(404, `unknown learner "${learner}" in the running workshop`);
    if (!this.labsOf(w).includes(lab)) throw new WorkshopError(404, `lab "${lab}" is not part of this workshop`);
    const k = key(learner, lab);
    this.queue = this.queue.filter((q) => key(q.learner, q.lab) !== k);
    await this.launching.get(k)?.catch(() => undefined);
    const last = this.latest(learner, lab);
    if (last && (last.state === 'ready' || last.state === 'starting')) await endLab(this.app, last.session);
    this.failures.delete(k);
    return this.start(learner, lab, last?.seed !== null && last?.seed !== undefined ? { seed: last.seed } : {});
  }

  /** A learner's own restart of their lab (the same seed), within the capacity. */
  async restart(session: string, opts: { newSeed: boolean }): Promise<LabSlot> {
    const row = this.store.session(session);
    if (!row) throw new WorkshopError(404, `unknown session "${session}"`);
    const l = this.learner(row.learner);
    this.assertOpen(l && this.byId(l.workshop));
    await endLab(this.app, session).catch(() => undefined);
    this.start(row.learner, row.lab, !opts.newSeed && row.seed !== null ? { seed: row.seed } : {});
    await this.launching.get(key(row.learner, row.lab))?.catch(() => undefined);
    return this.slot(this.byId(l!.workshop)!, row.learner, row.lab);
  }

  /** A learner's lab went down by their own hand: its place goes to the queue. */
  released(): void {
    this.changed();
    this.pump();
  }

  private latest(learner: string, lab: string): SessionRow | undefined {
    return this.store.sessionsOfLearner(learner, lab).at(-1);
  }

  private async reapIdle(): Promise<void> {
    const w = this.current();
    if (!w) return;
    const now = Date.now();
    const idle = this.sessionsOf(w.id).filter((s) => s.state === 'ready' && now - (this.activity.get(s.session) ?? s.started_at) > this.opts.idleMs);
    if (idle.length === 0) return;
    await Promise.allSettled(idle.map((s) => endLab(this.app, s.session)));
    for (const s of idle) this.activity.delete(s.session);
    this.changed();
    this.pump();
  }

  // ---- views -----------------------------------------------------------------------------

  private slot(w: WorkshopRow, learner: string, lab: string): LabSlot {
    const k = key(learner, lab);
    const rows = this.store.sessionsOfLearner(learner, lab);
    const graded = new ProgressStore(this.app.engine.db).summaryOf(rows.map((r) => r.session));
    const last = rows.at(-1);
    const position = this.queue.findIndex((q) => key(q.learner, q.lab) === k);
    const state: LabSlot['state'] =
      position >= 0 ? 'queued'
      : this.launching.has(k) ? 'starting'
      : this.failures.has(k) ? 'failed'
      : !last ? 'not-started'
      : last.state === 'ready' ? 'ready'
      : last.state === 'starting' ? 'starting'
      : w.ended_at !== null ? 'ended'
      : 'expired';
    const first = rows[0]?.started_at;
    return {
      lab,
      state,
      session: state === 'ready' && last ? last.session : null,
      position: position >= 0 ? position + 1 : null,
      score: graded.best,
      passed: graded.passed,
      hints: graded.hints,
      attempts: graded.attempts,
      seconds: first === undefined ? null : Math.round(((graded.passedAt ?? Date.now()) - first) / 1000),
      error: state === 'failed' ? (this.failures.get(k) ?? null) : null,
    };
  }

  learnerView(learner: string): LearnerView | null {
    const l = this.learner(learner);
    const w = l && this.byId(l.workshop);
    if (!l || !w) return null;
    return { role: 'learner', workshop: this.info(w, false), me: { id: l.id, name: l.name }, labs: this.labsOf(w).map((lab) => this.slot(w, learner, lab)) };
  }

  trainerView(): TrainerView | null {
    const w = this.current();
    if (!w) return null;
    const labs = this.labsOf(w);
    const sessions = this.sessionsOf(w.id);
    const consoleActions = (learner: string) =>
      sessions.filter((s) => s.learner === learner).reduce((n, s) => n + this.app.engine.store.learnerActions(s.session).length, 0);
    return {
      role: 'trainer',
      workshop: this.info(w, true),
      learners: this.learnersOf(w.id).map((l) => ({ id: l.id, name: l.name, joined_at: iso(l.joined_at)!, labs: labs.map((lab) => this.slot(w, l.id, lab)), console_actions: consoleActions(l.id) })),
      capacity: { max_labs: this.opts.maxLabs, running: this.running(), queued: this.queue.length, idle_minutes: Math.round((this.opts.idleMs / 60_000) * 10) / 10 },
    };
  }

  /** The commands a learner ran in their docker consoles and terminals, lab by lab. */
  learnerActions(learner: string): LearnerAction[] {
    const l = this.learner(learner);
    if (!l || l.workshop !== this.current()?.id) throw new WorkshopError(404, `unknown learner "${learner}" in the running workshop`);
    const rows = this.store.sessionsOfLearner(learner);
    return rows.flatMap((r) => this.app.engine.store.learnerActions(r.session).map((a) => ({ lab: r.lab, session: r.session, ...a })));
  }

  /** One row per learner and lab: what a trainer keeps after the day. */
  exportCsv(): string {
    const w = this.current() ?? this.store.newest();
    if (!w) throw new WorkshopError(404, 'no workshop to export');
    const header = ['workshop', 'learner', 'joined_at', 'lab', 'state', 'best_score', 'passed', 'attempts', 'hints', 'seconds'];
    const rows = this.learnersOf(w.id).flatMap((l) =>
      this.labsOf(w).map((lab) => {
        const s = this.slot(w, l.id, lab);
        return [w.name, l.name, iso(l.joined_at)!, lab, s.state, s.score ?? '', s.passed ? 'yes' : 'no', s.attempts, s.hints, s.seconds ?? ''];
      }),
    );
    return csvFile(header, rows);
  }

  close(): void {
    clearInterval(this.reaper);
  }
}

