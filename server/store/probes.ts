// Probe results a session produced: kept so a learner can pin one as evidence.
import type { ProbeResult } from '../protocol/probe.ts';
import type { Db } from './db.ts';

interface Row {
  id: string;
  at: number;
  source: string;
  target: string;
  status: string;
  answers: string;
  latency_ms: number;
  command: string;
  raw: string;
}

export class ProbeStore {
  constructor(private readonly db: Db) {}

  save(session: string, results: ProbeResult[]): void {
    const insert = this.db.prepare(
      `INSERT INTO probe_results (id, session, at, source, target, status, answers, latency_ms, command, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      for (const r of results) insert.run(r.id, session, Date.parse(r.at), r.from, r.target, r.status, JSON.stringify(r.answers), r.latency_ms, r.command, r.raw);
    })();
  }

  get(session: string, id: string): ProbeResult | undefined {
    const row = this.db.prepare(`SELECT * FROM probe_results WHERE session = ? AND id = ?`).get(session, id) as Row | undefined;
    return row && fromRow(row);
  }

  list(session: string, limit = 500): ProbeResult[] {
    const rows = this.db.prepare(`SELECT * FROM probe_results WHERE session = ? ORDER BY at DESC LIMIT ?`).all(session, limit) as Row[];
    return rows.map(fromRow).reverse();
  }
}

const fromRow = (r: Row): ProbeResult => ({
  id: r.id,
  from: r.source,
  target: r.target,
  status: r.status,
  answers: JSON.parse(r.answers) as string[],
  latency_ms: r.latency_ms,
  command: r.command,
  raw: r.raw,
  at: new Date(r.at).toISOString(),
});
