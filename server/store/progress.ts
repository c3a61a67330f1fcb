// Learners and what they did: attempts and their grades, hints taken, evidence pinned. Kept in
// the registry's database, so results survive restarts and any process can export them.
import type { Diagnosis, GradeResult } from '../protocol/diagnosis.ts';
import type { FlowEvent } from '../protocol/flow.ts';
import type { Db } from './db.ts';

export interface AttemptRecord {
  id: string;
  session: string;
  number: number;
  at: number;
  diagnosis: Diagnosis;
  score: number;
  passed: boolean;
  result: GradeResult;
}

export interface ResultRow {
  learner: string;
  session: string;
  lab: string;
  variant: string | null;
  seed: number;
  attempt: number;
  score: number;
  passed: boolean;
  hints: number;
  started_at: string;
  graded_at: string;
  seconds: number;
}

export class ProgressStore {
  constructor(private readonly db: Db) {}

  /** The learner's id, creating the profile on first use. */
  learner(name: string): number {
    this.db.prepare(`INSERT OR IGNORE INTO learners (name, created_at) VALUES (?, ?)`).run(name, Date.now());
    return (this.db.prepare(`SELECT id FROM learners WHERE name = ?`).get(name) as { id: number }).id;
  }

  setSessionLearner(session: string, name: string): void {
    this.db.prepare(`UPDATE sessions SET learner = ? WHERE id = ?`).run(this.learner(name), session);
  }

  sessionLearner(session: string): string | undefined {
    const row = this.db.prepare(`SELECT l.name FROM sessions s JOIN learners l ON l.id = s.learner WHERE s.id = ?`).get(session) as { name: string } | undefined;
    return row?.name;
  }

  attempts(session: string): AttemptRecord[] {
    const rows = this.db.prepare(`SELECT * FROM attempts WHERE session = ? ORDER BY number`).all(session) as {
      id: string;
      session: string;
      number: number;
      at: number;
      diagnosis: string;
      score: number;
      passed: number;
      result: string;
    }[];
    return rows.map((r) => ({ ...r, diagnosis: JSON.parse(r.diagnosis) as Diagnosis, passed: r.passed === 1, result: JSON.parse(r.result) as GradeResult }));
  }

  saveAttempt(a: AttemptRecord): void {
    this.db
      .prepare(`INSERT INTO attempts (id, session, number, at, diagnosis, score, passed, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(a.id, a.session, a.number, a.at, JSON.stringify(a.diagnosis), a.score, a.passed ? 1 : 0, JSON.stringify(a.result));
  }

  hintsTaken(session: string): { idx: number; cost: number; at: number }[] {
    return this.db.prepare(`SELECT idx, cost, at FROM hints_taken WHERE session = ? ORDER BY idx`).all(session) as { idx: number; cost: number; at: number }[];
  }

  takeHint(session: string, idx: number, cost: number): void {
    this.db.prepare(`INSERT OR IGNORE INTO hints_taken (session, idx, cost, at) VALUES (?, ?, ?, ?)`).run(session, idx, cost, Date.now());
  }

  pin(session: string, event: FlowEvent): void {
    this.db.prepare(`INSERT OR REPLACE INTO pins (session, id, event, at) VALUES (?, ?, ?, ?)`).run(session, event.id, JSON.stringify(event), Date.now());
  }

  pinned(session: string, id: string): FlowEvent | undefined {
    const row = this.db.prepare(`SELECT event FROM pins WHERE session = ? AND id = ?`).get(session, id) as { event: string } | undefined;
    return row && (JSON.parse(row.event) as FlowEvent);
  }

  /**
   * Over several sessions (one learner's tries at a lab): best score, passed, attempts (and how
   * many failed), when first passed, hints, and the cause their latest diagnosis chose.
   */
  summaryOf(sessions: string[]): { best: number | null; passed: boolean; attempts: number; failed: number; passedAt: number | null; hints: number; lastCause: string | null } {
    if (sessions.length === 0) return { best: null, passed: false, attempts: 0, failed: 0, passedAt: null, hints: 0, lastCause: null };
    const marks = sessions.map(() => '?').join(',');
    const g = this.db
      .prepare(`SELECT max(score) AS best, max(passed) AS passed, count(*) AS n, sum(CASE WHEN passed = 0 THEN 1 ELSE 0 END) AS failed, min(CASE WHEN passed = 1 THEN at END) AS passed_at FROM attempts WHERE session IN (${marks})`)
      .get(...sessions) as { best: number | null; passed: number | null; n: number; failed: number | null; passed_at: number | null };
    const h = this.db.prepare(`SELECT count(*) AS n FROM hints_taken WHERE session IN (${marks})`).get(...sessions) as { n: number };
    const last = this.db.prepare(`SELECT diagnosis FROM attempts WHERE session IN (${marks}) ORDER BY at DESC LIMIT 1`).get(...sessions) as { diagnosis: string } | undefined;
    const lastCause = last ? ((JSON.parse(last.diagnosis) as { cause?: string }).cause ?? null) : null;
    return { best: g.best, passed: g.passed === 1, attempts: g.n, failed: g.failed ?? 0, passedAt: g.passed_at, hints: h.n, lastCause };
  }

  /** A learner's best score per lab (what the catalogue shows them). */
  bestScores(learner: string): { lab: string; best: number; passed: boolean; attempts: number }[] {
    const rows = this.db
      .prepare(
        `SELECT s.scenario AS lab, max(a.score) AS best, max(a.passed) AS passed, count(*) AS attempts
         FROM attempts a JOIN sessions s ON s.id = a.session JOIN learners l ON l.id = s.learner
         WHERE l.name = ? GROUP BY s.scenario ORDER BY s.scenario`,
      )
      .all(learner) as { lab: string; best: number; passed: number; attempts: number }[];
    return rows.map((r) => ({ lab: r.lab, best: r.best, passed: r.passed === 1, attempts: r.attempts }));
  }

  /** Every graded attempt, for a trainer's export. */
  results(): ResultRow[] {
    const rows = this.db
      .prepare(
        `SELECT coalesce(l.name, 'local') AS learner, s.id AS session, s.scenario AS lab, s.variant, s.seed, a.number AS attempt,
                a.score, a.passed, s.created_at, a.at,
                (SELECT count(*) FROM hints_taken h WHERE h.session = s.id AND h.at <= a.at) AS hints
         FROM attempts a JOIN sessions s ON s.id = a.session LEFT JOIN learners l ON l.id = s.learner
         ORDER BY a.at`,
      )
      .all() as { learner: string; session: string; lab: string; variant: string | null; seed: number; attempt: number; score: number; passed: number; created_at: number; at: number; hints: number }[];
    return rows.map((r) => ({
      learner: r.learner,
      session: r.session,
      lab: r.lab,
      variant: r.variant,
      seed: r.seed,
      attempt: r.attempt,
      score: r.score,
      passed: r.passed === 1,
      hints: r.hints,
      started_at: new Date(r.created_at).toISOString(),
      graded_at: new Date(r.at).toISOString(),
      seconds: Math.round((r.at - r.created_at) / 1000),
    }));
  }
}
