// Time a learner worked on a lab, not time since they started it: each thing they do (a probe, a
// hint, a diagnosis, a command in a terminal, a look in the inspector) adds the time since the one
// before, up to WORK_GAP_MS; a longer pause is a break. Persisted per session (at most about once
// a second per session, since terminal input comes in bursts), read back with what is pending.
import type { WorkshopSessionRow, WorkshopStore } from '../store/workshops.ts';

/** A pause longer than this is not work. */
export const WORK_GAP_MS = 3 * 60_000;
/** A running lab with no work for this long is flagged idle on the trainer's dashboard. */
export const IDLE_FLAG_MS = 5 * 60_000;
const FLUSH_MS = 1000;

interface Pending {
  last: number;
  ms: number;
  flushedAt: number;
}

export class Activity {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly store: () => WorkshopStore) {}

  /** The learner did something in the session. */
  worked(row: WorkshopSessionRow, now = Date.now()): void {
    const p = this.pending.get(row.session) ?? { last: row.active_at ?? row.started_at, ms: 0, flushedAt: 0 };
    p.ms += Math.min(Math.max(0, now - p.last), WORK_GAP_MS);
    p.last = now;
    this.pending.set(row.session, p);
    if (now - p.flushedAt >= FLUSH_MS) this.flush(row.session, p);
  }

  private flush(session: string, p: Pending): void {
    this.store().addWork(session, p.ms, p.last);
    p.ms = 0;
    p.flushedAt = p.last;
  }

  /** Work time and last activity of a session, what is stored and what is pending together. */
  of(row: WorkshopSessionRow): { workedMs: number; lastActive: number | null } {
    const p = this.pending.get(row.session);
    return { workedMs: row.worked_ms + (p?.ms ?? 0), lastActive: p?.last ?? row.active_at };
  }

  /** Writes what is pending (before a view is exported, or at close). */
  flushAll(): void {
    for (const [session, p] of this.pending) if (p.ms > 0) this.flush(session, p);
  }

  forget(session: string): void {
    const p = this.pending.get(session);
    if (p && p.ms > 0) this.flush(session, p);
    this.pending.delete(session);
  }
}

/**
 * Whether a learner looks stuck on a lab: it runs, they have not passed, and they either failed
 * twice or worked on it longer than the lab says it takes (at least 10 minutes).
 */
export function looksStuck(s: { running: boolean; passed: boolean; failedAttempts: number; workedMs: number; labMinutes: number }): boolean {
  if (!s.running || s.passed) return false;
  return s.failedAttempts >= 2 || s.workedMs > Math.max(s.labMinutes, 10) * 60_000;
}
