// Workshops in the registry: the workshop (name, join code, labs, time limit, last broadcast),
// the learners who joined it, every session a learner had for one of its labs (with the time they
// worked in it and why it ended), the rounds a trainer's resets begin, and the room's event feed.
import type { Db } from './db.ts';

export interface WorkshopRow {
  id: string;
  name: string;
  code: string;
  /** JSON list of lab ids. */
  labs: string;
  minutes: number | null;
  allow_shared: number;
  started_at: number;
  /** When the trainer began ending it (labs are being removed); ended_at once they are gone. */
  ending_at: number | null;
  ended_at: number | null;
  message: string | null;
  message_at: number | null;
}

export interface LearnerRow {
  id: string;
  name: string;
  workshop: string;
  joined_at: number;
}

/** A learner's session for a lab, with the session's state and seed when the registry still has it. */
export interface WorkshopSessionRow {
  session: string;
  learner: string;
  lab: string;
  started_at: number;
  state: string | null;
  seed: number | null;
  variant: string | null;
  /** The round of the lab it belongs to (a trainer's reset begins the next). */
  round: number;
  worked_ms: number;
  active_at: number | null;
  ended_by: string | null;
  /** When the registry marked it ended (or failed). */
  ended_at: number | null;
}

export interface EventRow {
  seq: number;
  at: number;
  kind: string;
  text: string;
  learner: string | null;
  lab: string | null;
}

const SESSION_COLUMNS = 'ws.session, ws.learner, ws.lab, ws.started_at, s.state, s.seed, ws.variant, ws.round, ws.worked_ms, ws.active_at, ws.ended_by, s.ended_at';

export class WorkshopStore {
  constructor(private readonly db: Db) {}

  /** The workshop that has not ended (the newest, should there be more). */
  open(): WorkshopRow | undefined {
    return this.db.prepare(`SELECT * FROM workshops WHERE ended_at IS NULL ORDER BY started_at DESC LIMIT 1`).get() as WorkshopRow | undefined;
  }

  /** The newest workshop, ended or not. */
  newest(): WorkshopRow | undefined {
    return this.db.prepare(`SELECT * FROM workshops ORDER BY started_at DESC LIMIT 1`).get() as WorkshopRow | undefined;
  }

  get(id: string): WorkshopRow | undefined {
    return this.db.prepare(`SELECT * FROM workshops WHERE id = ?`).get(id) as WorkshopRow | undefined;
  }

  openWithCode(code: string): WorkshopRow | undefined {
    return this.db.prepare(`SELECT * FROM workshops WHERE ended_at IS NULL AND code = ?`).get(code) as WorkshopRow | undefined;
  }

  create(w: { id: string; name: string; code: string; labs: string[]; minutes: number | null; allowShared: boolean }): void {
    this.db
      .prepare(`INSERT INTO workshops (id, name, code, labs, minutes, allow_shared, started_at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
      .run(w.id, w.name, w.code, JSON.stringify(w.labs), w.minutes, w.allowShared ? 1 : 0, Date.now());
  }

  broadcast(id: string, message: string): void {
    this.db.prepare(`UPDATE workshops SET message = ?, message_at = ? WHERE id = ?`).run(message, Date.now(), id);
  }

  beginEnd(id: string): void {
    this.db.prepare(`UPDATE workshops SET ending_at = ? WHERE id = ? AND ending_at IS NULL`).run(Date.now(), id);
  }

  end(id: string): void {
    this.db.prepare(`UPDATE workshops SET ended_at = ? WHERE id = ?`).run(Date.now(), id);
  }

  // ---- learners ----

  nameTaken(workshop: string, name: string): boolean {
    return !!this.db.prepare(`SELECT 1 FROM workshop_learners WHERE workshop = ? AND lower(name) = lower(?)`).get(workshop, name);
  }

  addLearner(id: string, workshop: string, name: string): void {
    this.db.prepare(`INSERT INTO workshop_learners (id, workshop, name, joined_at) VALUES (?, ?, ?, ?)`).run(id, workshop, name, Date.now());
  }

  learner(id: string): LearnerRow | undefined {
    return this.db.prepare(`SELECT id, name, workshop, joined_at FROM workshop_learners WHERE id = ?`).get(id) as LearnerRow | undefined;
  }

  learnersOf(workshop: string): LearnerRow[] {
    return this.db.prepare(`SELECT id, name, workshop, joined_at FROM workshop_learners WHERE workshop = ? ORDER BY joined_at`).all(workshop) as LearnerRow[];
  }

  // ---- learners' sessions ----

  addSession(s: { session: string; learner: string; lab: string; round: number; variant: string | null }): void {
    this.db.prepare(`INSERT INTO workshop_sessions (session, learner, lab, started_at, round, variant) VALUES (?, ?, ?, ?, ?, ?)`).run(s.session, s.learner, s.lab, Date.now(), s.round, s.variant);
  }

  /** Why a session ended, kept the first time it is said. */
  endedBy(session: string, by: string): void {
    this.db.prepare(`UPDATE workshop_sessions SET ended_by = ? WHERE session = ? AND ended_by IS NULL`).run(by, session);
  }

  /** Time worked in a session, added, and when. */
  addWork(session: string, ms: number, at: number): void {
    this.db.prepare(`UPDATE workshop_sessions SET worked_ms = worked_ms + ?, active_at = ? WHERE session = ?`).run(Math.round(ms), at, session);
  }

  /** The round a learner's lab is in, and how many resets began one. */
  round(learner: string, lab: string): { round: number; resetAt: number | null } {
    const r = this.db.prepare(`SELECT round, reset_at FROM workshop_slots WHERE learner = ? AND lab = ?`).get(learner, lab) as { round: number; reset_at: number } | undefined;
    return r ? { round: r.round, resetAt: r.reset_at } : { round: 0, resetAt: null };
  }

  /** A trainer's reset: the lab's counters begin afresh in the next round. */
  nextRound(learner: string, lab: string): number {
    this.db
      .prepare(`INSERT INTO workshop_slots (learner, lab, round, reset_at) VALUES (?, ?, 1, ?) ON CONFLICT (learner, lab) DO UPDATE SET round = round + 1, reset_at = excluded.reset_at`)
      .run(learner, lab, Date.now());
    return this.round(learner, lab).round;
  }

  // ---- the event feed ----

  addEvent(workshop: string, e: { kind: string; text: string; learner?: string | null; lab?: string | null }): void {
    this.db
      .prepare(`INSERT INTO workshop_events (workshop, seq, at, kind, text, learner, lab) VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM workshop_events WHERE workshop = ?), ?, ?, ?, ?, ?)`)
      .run(workshop, workshop, Date.now(), e.kind, e.text, e.learner ?? null, e.lab ?? null);
  }

  /** The newest events first. */
  events(workshop: string, limit: number): EventRow[] {
    return this.db.prepare(`SELECT seq, at, kind, text, learner, lab FROM workshop_events WHERE workshop = ? ORDER BY seq DESC LIMIT ?`).all(workshop, limit) as EventRow[];
  }

  /** The learner a session belongs to, if it is a workshop session. */
  ownerOf(session: string): string | undefined {
    return (this.db.prepare(`SELECT learner FROM workshop_sessions WHERE session = ?`).get(session) as { learner: string } | undefined)?.learner;
  }

  session(session: string): WorkshopSessionRow | undefined {
    return this.db.prepare(`SELECT ${SESSION_COLUMNS} FROM workshop_sessions ws LEFT JOIN sessions s ON s.id = ws.session WHERE ws.session = ?`).get(session) as WorkshopSessionRow | undefined;
  }

  /** A learner's sessions, oldest first (all labs, or one). */
  sessionsOfLearner(learner: string, lab?: string): WorkshopSessionRow[] {
    const base = `SELECT ${SESSION_COLUMNS} FROM workshop_sessions ws LEFT JOIN sessions s ON s.id = ws.session WHERE ws.learner = ?`;
    return (lab === undefined ? this.db.prepare(`${base} ORDER BY ws.started_at`).all(learner) : this.db.prepare(`${base} AND ws.lab = ? ORDER BY ws.started_at`).all(learner, lab)) as WorkshopSessionRow[];
  }

  /** Every session of a workshop's learners, oldest first. */
  sessionsOf(workshop: string): WorkshopSessionRow[] {
    return this.db
      .prepare(
        `SELECT ${SESSION_COLUMNS}
         FROM workshop_sessions ws JOIN workshop_learners wl ON wl.id = ws.learner LEFT JOIN sessions s ON s.id = ws.session
         WHERE wl.workshop = ? ORDER BY ws.started_at`,
      )
      .all(workshop) as WorkshopSessionRow[];
  }
}
