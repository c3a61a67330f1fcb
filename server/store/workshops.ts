// Workshops in the registry: the workshop (name, join code, labs, time limit, last broadcast),
// the learners who joined it, and every session a learner had for one of its labs.
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
}

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

  addSession(session: string, learner: string, lab: string): void {
    this.db.prepare(`INSERT INTO workshop_sessions (session, learner, lab, started_at) VALUES (?, ?, ?, ?)`).run(session, learner, lab, Date.now());
  }

  /** The learner a session belongs to, if it is a workshop session. */
  ownerOf(session: string): string | undefined {
    return (this.db.prepare(`SELECT learner FROM workshop_sessions WHERE session = ?`).get(session) as { learner: string } | undefined)?.learner;
  }

  session(session: string): WorkshopSessionRow | undefined {
    return this.db.prepare(`SELECT ws.session, ws.learner, ws.lab, ws.started_at, s.state, s.seed FROM workshop_sessions ws LEFT JOIN sessions s ON s.id = ws.session WHERE ws.session = ?`).get(session) as WorkshopSessionRow | undefined;
  }

  /** A learner's sessions, oldest first (all labs, or one). */
  sessionsOfLearner(learner: string, lab?: string): WorkshopSessionRow[] {
    const base = `SELECT ws.session, ws.learner, ws.lab, ws.started_at, s.state, s.seed FROM workshop_sessions ws LEFT JOIN sessions s ON s.id = ws.session WHERE ws.learner = ?`;
    return (lab === undefined ? this.db.prepare(`${base} ORDER BY ws.started_at`).all(learner) : this.db.prepare(`${base} AND ws.lab = ? ORDER BY ws.started_at`).all(learner, lab)) as WorkshopSessionRow[];
  }

  /** Every session of a workshop's learners, oldest first. */
  sessionsOf(workshop: string): WorkshopSessionRow[] {
    return this.db
      .prepare(
        `SELECT ws.session, ws.learner, ws.lab, ws.started_at, s.state, s.seed
         FROM workshop_sessions ws JOIN workshop_learners wl ON wl.id = ws.learner LEFT JOIN sessions s ON s.id = ws.session
         WHERE wl.workshop = ? ORDER BY ws.started_at`,
      )
      .all(workshop) as WorkshopSessionRow[];
  }
}
