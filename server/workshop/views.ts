// What the room looks like: a learner's place in each lab (their view), what the trainer sees of it
// besides (variant, cause, activity, flags), and the results export. Built from the registry and
// what the workshop holds in memory (the queue, starts under way, failures), never stored twice.
import type { Lab } from '../lab/schema.ts';
import type { EndedBy, LabSlot, StartProgress, TrainerSlot } from '../protocol/workshop.ts';
import type { ProgressStore } from '../store/progress.ts';
import type { WorkshopRow, WorkshopSessionRow, WorkshopStore } from '../store/workshops.ts';
import { csvFile } from '../util/csv.ts';
import { looksStuck, type Activity } from './activity.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** What the workshop holds in memory about a learner's lab. */
export interface RoomFacts {
  store: WorkshopStore;
  progressStore: ProgressStore;
  activity: Activity;
  /** 1 = next; undefined when not queued. */
  queued(learner: string, lab: string): number | undefined;
  starting(learner: string, lab: string): StartProgress | undefined;
  failure(learner: string, lab: string): string | undefined;
  labDef(lab: string): Lab | undefined;
  /** No work for this long flags a running lab idle. */
  idleFlagMs: number;
  /** A running session its engine let down (engine-lost, broken), or null. */
  trouble(session: string): LabSlot['trouble'];
  /** The engine a session runs on. */
  engineOf(session: string): string | null;
}

export interface SlotView {
  slot: LabSlot;
  trainer: TrainerSlot;
}

export function slotView(room: RoomFacts, w: WorkshopRow, learner: string, lab: string, now = Date.now()): SlotView {
  const rows = room.store.sessionsOfLearner(learner, lab);
  const { round } = room.store.round(learner, lab);
  const current = rows.filter((r) => r.round === round);
  const last = rows.at(-1);
  const graded = room.progressStore.summaryOf(current.map((r) => r.session));
  const position = room.queued(learner, lab);
  const starting = room.starting(learner, lab);
  const failure = room.failure(learner, lab);
  const closing = w.ending_at !== null || w.ended_at !== null;
  const state: LabSlot['state'] =
    closing ? (last || position !== undefined || starting ? 'ended' : 'not-started')
    : position !== undefined ? 'queued'
    : starting ? 'starting'
    : failure !== undefined ? 'failed'
    : !last ? 'not-started'
    : last.state === 'ready' ? 'ready'
    : last.state === 'starting' ? 'starting'
    : 'expired';
  const work = current.map((r) => room.activity.of(r));
  const workedMs = work.reduce((n, a) => n + a.workedMs, 0);
  const lastActive = Math.max(0, ...work.map((a) => a.lastActive ?? 0), ...current.map((r) => r.started_at)) || null;
  const previous = [...rows].reverse().find((r) => r.ended_by !== null && r !== (state === 'ready' ? last : undefined));
  const slot: LabSlot = {
    lab,
    state,
    session: state === 'ready' && last ? last.session : null,
    position: state === 'queued' ? position! : null,
    progress: state === 'queued' ? { stage: 'preparing', networks: 0, services_ready: 0, services_total: 0 } : state === 'starting' ? (starting ?? null) : null,
    previous: previous ? { session: previous.session, by: previous.ended_by as EndedBy, at: iso(previous.ended_at ?? previous.started_at)! } : null,
    score: graded.best,
    passed: graded.passed,
    hints: graded.hints,
    attempts: graded.attempts,
    seconds: current.length === 0 ? null : Math.round(workedMs / 1000),
    error: state === 'failed' ? (failure ?? null) : null,
    trouble: state === 'ready' && last ? room.trouble(last.session) : null,
  };
  const def = room.labDef(lab);
  const cause = graded.lastCause ? def?.diagnosis?.causes.find((c) => c.id === graded.lastCause) : undefined;
  const running = state === 'ready';
  const latest = current.at(-1) ?? last;
  const trainer: TrainerSlot = {
    ...slot,
    engine: running && slot.session ? room.engineOf(slot.session) : null,
    variant: latest?.variant ?? null,
    seed: latest?.seed ?? null,
    cause: graded.lastCause ? { id: graded.lastCause, text: cause?.text ?? graded.lastCause } : null,
    last_activity: iso(lastActive),
    idle: running && now - (lastActive ?? now) > room.idleFlagMs,
    stuck: looksStuck({ running, passed: graded.passed, failedAttempts: graded.failed, workedMs, labMinutes: def?.minutes ?? 0 }),
    resets: round,
  };
  return { slot, trainer };
}

/** Per lab with variants: how many learners' latest session drew each variant. */
export function variantsDrawn(sessions: WorkshopSessionRow[]): Record<string, Record<string, number>> {
  const latest = new Map<string, WorkshopSessionRow>();
  for (const s of sessions) latest.set(`${s.learner}\u0000${s.lab}`, s);
  const out: Record<string, Record<string, number>> = {};
  for (const s of latest.values()) {
    if (!s.variant) continue;
    const lab = (out[s.lab] ??= {});
    lab[s.variant] = (lab[s.variant] ?? 0) + 1;
  }
  return out;
}

/** One row per learner and lab: what a trainer keeps after the day (the CLI's results have the same variant and seed). */
export function resultsCsv(room: RoomFacts, w: WorkshopRow, labs: string[]): string {
  room.activity.flushAll();
  const header = ['workshop', 'learner', 'joined_at', 'lab', 'variant', 'seed', 'state', 'best_score', 'passed', 'attempts', 'hints', 'seconds_worked', 'resets', 'last_cause'];
  const rows = room.store.learnersOf(w.id).flatMap((l) =>
    labs.map((lab) => {
      const s = slotView(room, w, l.id, lab).trainer;
      return [w.name, l.name, iso(l.joined_at)!, lab, s.variant ?? '', s.seed ?? '', s.state, s.score ?? '', s.passed ? 'yes' : 'no', s.attempts, s.hints, s.seconds ?? '', s.resets, s.cause?.id ?? ''];
    }),
  );
  return csvFile(header, rows);
}

/** The export's file name: the workshop's name and day, in letters a file system keeps. */
export function exportFileName(w: WorkshopRow): string {
  const name = w.name.normalize('NFKD').replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '').toLowerCase().slice(0, 60) || 'workshop';
  return `${name}-${new Date(w.started_at).toISOString().slice(0, 10)}.csv`;
}
