// The Docker engines added to the pool, as the registry keeps them ("local" is never stored: it
// is wherever DOCKER_HOST points), and how many sessions each holds.
import type { Db } from './db.ts';

export interface EngineRow {
  name: string;
  url: string;
  tls_dir: string | null;
  added_at: number;
  drained_at: number | null;
}

export class EngineStore {
  constructor(private readonly db: Db) {}

  list(): EngineRow[] {
    return this.db.prepare('SELECT * FROM engines ORDER BY added_at, name').all() as EngineRow[];
  }

  get(name: string): EngineRow | undefined {
    return this.db.prepare('SELECT * FROM engines WHERE name = ?').get(name) as EngineRow | undefined;
  }

  add(row: Omit<EngineRow, 'drained_at'>): void {
    this.db.prepare('INSERT INTO engines (name, url, tls_dir, added_at) VALUES (?, ?, ?, ?)').run(row.name, row.url, row.tls_dir, row.added_at);
  }

  remove(name: string): void {
    this.db.prepare('DELETE FROM engines WHERE name = ?').run(name);
  }

  setDrained(name: string, drained: boolean): void {
    this.db.prepare('UPDATE engines SET drained_at = ? WHERE name = ?').run(drained ? Date.now() : null, name);
  }

  /** When the local engine was drained (null: it takes labs). */
  localDrainedAt(): number | null {
    return (this.db.prepare('SELECT drained_at FROM local_engine WHERE id = 1').get() as { drained_at: number | null } | undefined)?.drained_at ?? null;
  }

  setLocalDrained(drained: boolean): void {
    this.db.prepare('UPDATE local_engine SET drained_at = ? WHERE id = 1').run(drained ? Date.now() : null);
  }

  /** Sessions not ended, per engine. */
  liveSessions(): Record<string, number> {
    const rows = this.db.prepare("SELECT engine, COUNT(*) AS n FROM sessions WHERE state IN ('starting', 'ready') GROUP BY engine").all() as { engine: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.engine, r.n]));
  }

  /** The sessions not ended on an engine. */
  sessionsOn(name: string): string[] {
    return (this.db.prepare("SELECT id FROM sessions WHERE engine = ? AND state IN ('starting', 'ready')").all(name) as { id: string }[]).map((r) => r.id);
  }
}
