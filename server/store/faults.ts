// Faults applied to sessions: the ground truth the grader checks, and what revert needs.
import type { Db } from './db.ts';

export type FaultState = 'applying' | 'applied' | 'reverting' | 'reverted' | 'failed';
export type FaultOrigin = 'lab' | 'variant' | 'manual';

export interface FaultRecord {
  id: string;
  session: string;
  type: string;
  params: Record<string, unknown>;
  origin: FaultOrigin;
  state: FaultState;
  owner: string;
  undo: unknown;
  describe: unknown;
  error: string | null;
  appliedAt: number | null;
  revertedAt: number | null;
  createdAt: number;
}

interface Row {
  id: string;
  session: string;
  type: string;
  params: string;
  origin: FaultOrigin;
  state: FaultState;
  owner: string;
  undo: string | null;
  describe: string | null;
  error: string | null;
  applied_at: number | null;
  reverted_at: number | null;
  created_at: number;
}

const fromRow = (r: Row): FaultRecord => ({
  id: r.id,
  session: r.session,
  type: r.type,
  params: JSON.parse(r.params) as Record<string, unknown>,
  origin: r.origin,
  state: r.state,
  owner: r.owner,
  undo: r.undo === null ? null : JSON.parse(r.undo),
  describe: r.describe === null ? null : JSON.parse(r.describe),
  error: r.error,
  appliedAt: r.applied_at,
  revertedAt: r.reverted_at,
  createdAt: r.created_at,
});

export class FaultStore {
  constructor(private readonly db: Db) {}

  create(f: Pick<FaultRecord, 'id' | 'session' | 'type' | 'params' | 'origin' | 'owner' | 'describe'>): void {
    this.db
      .prepare(`INSERT INTO faults (id, session, type, params, origin, state, owner, describe, created_at) VALUES (?, ?, ?, ?, ?, 'applying', ?, ?, ?)`)
      .run(f.id, f.session, f.type, JSON.stringify(f.params), f.origin, f.owner, JSON.stringify(f.describe), Date.now());
  }

  applied(id: string, undo: unknown): void {
    this.db.prepare(`UPDATE faults SET state = 'applied', undo = ?, applied_at = ? WHERE id = ?`).run(JSON.stringify(undo ?? null), Date.now(), id);
  }

  setState(id: string, state: FaultState, error?: string): void {
    this.db
      .prepare(`UPDATE faults SET state = ?, error = coalesce(?, error), reverted_at = CASE WHEN ? = 'reverted' THEN ? ELSE reverted_at END WHERE id = ?`)
      .run(state, error ?? null, state, Date.now(), id);
  }

  get(id: string): FaultRecord | undefined {
    const row = this.db.prepare(`SELECT * FROM faults WHERE id = ?`).get(id) as Row | undefined;
    return row && fromRow(row);
  }

  list(session: string): FaultRecord[] {
    return (this.db.prepare(`SELECT * FROM faults WHERE session = ? ORDER BY created_at`).all(session) as Row[]).map(fromRow);
  }

  /** Faults a process was applying or reverting when it stopped, in any session. */
  unfinished(): FaultRecord[] {
    return (this.db.prepare(`SELECT * FROM faults WHERE state IN ('applying', 'reverting')`).all() as Row[]).map(fromRow);
  }
}
