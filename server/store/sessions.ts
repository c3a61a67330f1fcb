// The session registry: every session any process started from this data directory, so any
// process can find, probe or tear down a session, and sweep can tell the dead from the live.
import type { Lab } from '../lab/schema.ts';
import type { ActionEntry, ActionKind, SessionState, SessionTrouble, Topology } from '../protocol/session.ts';
import type { Db } from './db.ts';

export interface SessionRecord {
  id: string;
  scenario: string;
  labFile: string;
  seed: number;
  variant: string | null;
  state: SessionState;
  owner: string;
  ownerPid: number;
  ownerHost: string;
  ownerStart: string | null;
  createdAt: number;
  readyAt: number | null;
  endedAt: number | null;
  error: string | null;
  lab: Lab;
  topology: Topology | null;
  allocation: Allocation | null;
  /** Started by `flowlab up`: lives until `flowlab down`, whatever becomes of the process that started it. */
  detached: boolean;
  /** The Docker engine its objects live on ("local", or an engine of the pool). */
  engine: string;
  /** A ready session its engine let down: lost with it, or not brought back after a restart. */
  trouble: { kind: SessionTrouble; reason: string; since: number } | null;
  /**
   * Set while it is made for, or waits (healthy, unbroken, no learner) in, its lab's warm pool:
   * when it was started, then when it became ready. Cleared when it is claimed.
   */
  warmAt: number | null;
  /** When it was claimed from a warm pool (null: started on demand). */
  claimedAt: number | null;
}

/** Subnet per lab network; host port per `service/containerPort/proto`. */
export interface Allocation {
  subnets: Record<string, string>;
  hostPorts: Record<string, number>;
}

interface Row {
  id: string;
  scenario: string;
  lab_file: string;
  seed: number;
  variant: string | null;
  state: SessionState;
  owner: string;
  owner_pid: number;
  owner_host: string;
  owner_start: string | null;
  created_at: number;
  ready_at: number | null;
  ended_at: number | null;
  error: string | null;
  lab: string;
  topology: string | null;
  allocation: string | null;
  detached: number;
  engine: string;
  trouble: SessionTrouble | null;
  trouble_reason: string | null;
  trouble_at: number | null;
  warm_at: number | null;
  claimed_at: number | null;
}

const fromRow = (r: Row): SessionRecord => ({
  id: r.id,
  scenario: r.scenario,
  labFile: r.lab_file,
  seed: r.seed,
  variant: r.variant,
  state: r.state,
  owner: r.owner,
  ownerPid: r.owner_pid,
  ownerHost: r.owner_host,
  ownerStart: r.owner_start,
  createdAt: r.created_at,
  readyAt: r.ready_at,
  endedAt: r.ended_at,
  error: r.error,
  lab: JSON.parse(r.lab) as Lab,
  topology: r.topology ? (JSON.parse(r.topology) as Topology) : null,
  allocation: r.allocation ? (JSON.parse(r.allocation) as Allocation) : null,
  detached: r.detached === 1,
  engine: r.engine,
  trouble: r.trouble ? { kind: r.trouble, reason: r.trouble_reason ?? '', since: r.trouble_at ?? 0 } : null,
  warmAt: r.warm_at,
  claimedAt: r.claimed_at,
});

export type NewSession = Pick<SessionRecord, 'id' | 'scenario' | 'labFile' | 'seed' | 'variant' | 'owner' | 'ownerPid' | 'ownerHost' | 'ownerStart' | 'lab' | 'detached'> & { engine?: string; warm?: boolean };

export class SessionStore {
  constructor(private readonly db: Db) {}

  create(s: NewSession): void {
    this.db
      .prepare(
        `INSERT INTO sessions (id, scenario, lab_file, seed, variant, state, owner, owner_pid, owner_host, owner_start, created_at, lab, detached, engine, warm_at)
         VALUES (?, ?, ?, ?, ?, 'starting', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(s.id, s.scenario, s.labFile, s.seed, s.variant, s.owner, s.ownerPid, s.ownerHost, s.ownerStart, Date.now(), JSON.stringify(s.lab), s.detached ? 1 : 0, s.engine ?? 'local', s.warm ? Date.now() : null);
  }

  get(id: string): SessionRecord | undefined {
    const row = this.db.prepare(`SELECT * FROM sessions WHERE id = ?`).get(id) as Row | undefined;
    return row && fromRow(row);
  }

  list(states?: readonly SessionState[]): SessionRecord[] {
    const rows = states
      ? (this.db.prepare(`SELECT * FROM sessions WHERE state IN (${states.map(() => '?').join(',')}) ORDER BY created_at`).all(...states) as Row[])
      : (this.db.prepare(`SELECT * FROM sessions ORDER BY created_at`).all() as Row[]);
    return rows.map(fromRow);
  }

  setAllocation(id: string, allocation: Allocation): void {
    this.db.prepare(`UPDATE sessions SET allocation = ? WHERE id = ?`).run(JSON.stringify(allocation), id);
  }

  setTopology(id: string, topology: Topology): void {
    this.db.prepare(`UPDATE sessions SET topology = ? WHERE id = ?`).run(JSON.stringify(topology), id);
  }

  /** Ready for its learner; a warm session (made for a pool) starts waiting in its pool. */
  markReady(id: string, topology: Topology, warm = false): void {
    const now = Date.now();
    this.db.prepare(`UPDATE sessions SET state = 'ready', ready_at = ?, topology = ?, warm_at = ? WHERE id = ?`).run(now, JSON.stringify(topology), warm ? now : null, id);
  }

  /** The warm sessions, being made or waiting in their pools, oldest first: troubled ones too. */
  warm(): SessionRecord[] {
    const rows = this.db.prepare(`SELECT * FROM sessions WHERE state IN ('starting', 'ready') AND warm_at IS NOT NULL ORDER BY warm_at`).all() as Row[];
    return rows.map(fromRow);
  }

  /**
   * Ends a warm session that is still waiting (expired, surplus, stale), in one statement, so one
   * a claim took a moment ago is never ended under its learner. Its objects go afterwards; its
   * leases when they have (markEnded).
   */
  retireWarm(id: string, why: string): boolean {
    const now = Date.now();
    return this.db.prepare(`UPDATE sessions SET state = 'ended', ended_at = ?, error = ? WHERE id = ? AND state = 'ready' AND warm_at IS NOT NULL`).run(now, why, id).changes > 0;
  }

  /** The standing pools: how many warm sessions of each lab are kept. */
  poolSizes(): Record<string, number> {
    const rows = this.db.prepare(`SELECT lab, size FROM warm_pools WHERE size > 0 ORDER BY lab`).all() as { lab: string; size: number }[];
    return Object.fromEntries(rows.map((r) => [r.lab, r.size]));
  }

  setPoolSize(lab: string, size: number): void {
    if (size === 0) this.db.prepare(`DELETE FROM warm_pools WHERE lab = ?`).run(lab);
    else this.db.prepare(`INSERT INTO warm_pools (lab, size, set_at) VALUES (?, ?, ?) ON CONFLICT (lab) DO UPDATE SET size = excluded.size, set_at = excluded.set_at`).run(lab, size, Date.now());
  }

  /**
   * Takes one warm session of the lab for a claimer, in one statement, so two claims never get
   * the same one: the oldest that is well, made from this very lab definition, on one of
   * `engines`. It becomes `starting`, with the claim's seed and variant and its new owner, until
   * the claimer has broken it as its variant says and marks it ready.
   */
  claimWarm(c: { scenario: string; lab: Lab; engines: string[]; seed: number; variant: string | null; owner: { id: string; pid: number; host: string; start: string | null }; detached: boolean }): string | undefined {
    if (c.engines.length === 0) return undefined;
    const now = Date.now();
    const row = this.db
      .prepare(
        `UPDATE sessions SET warm_at = NULL, claimed_at = ?, created_at = ?, state = 'starting', seed = ?, variant = ?,
           owner = ?, owner_pid = ?, owner_host = ?, owner_start = ?, detached = ?
         WHERE id = (SELECT id FROM sessions WHERE state = 'ready' AND warm_at IS NOT NULL AND trouble IS NULL AND scenario = ? AND lab = ?
                     AND engine IN (${c.engines.map(() => '?').join(',')}) ORDER BY warm_at LIMIT 1)
         RETURNING id`,
      )
      .get(now, now, c.seed, c.variant, c.owner.id, c.owner.pid, c.owner.host, c.owner.start, c.detached ? 1 : 0, c.scenario, JSON.stringify(c.lab), ...c.engines) as { id: string } | undefined;
    return row?.id;
  }

  /** Marks a ready session in trouble (kept as it is when it already is, the first reason kept). */
  setTrouble(id: string, kind: SessionTrouble, reason: string): void {
    this.db
      .prepare(`UPDATE sessions SET trouble = ?, trouble_reason = ?, trouble_at = ? WHERE id = ? AND state = 'ready' AND (trouble IS NULL OR trouble <> ?)`)
      .run(kind, reason, Date.now(), id, kind);
  }

  clearTrouble(id: string): void {
    this.db.prepare(`UPDATE sessions SET trouble = NULL, trouble_reason = NULL, trouble_at = NULL WHERE id = ?`).run(id);
  }

  /** Ends a session and gives back its subnets and ports. */
  markEnded(id: string, state: 'ended' | 'failed', error?: string): void {
    this.db.transaction(() => {
      this.db
        .prepare(`UPDATE sessions SET state = ?, ended_at = coalesce(ended_at, ?), error = coalesce(?, error) WHERE id = ?`)
        .run(state, Date.now(), error ?? null, id);
      this.db.prepare(`DELETE FROM leases WHERE session = ?`).run(id);
    })();
  }

  /** Gives back one leased value (a subnet another process took on the daemon meanwhile). */
  releaseLease(id: string, kind: 'subnet' | 'port', value: string): void {
    this.db.prepare(`DELETE FROM leases WHERE session = ? AND kind = ? AND value = ?`).run(id, kind, value);
  }

  /** Gives back a session's subnets and ports (to allocate them again). */
  releaseLeases(id: string): void {
    this.db.prepare(`DELETE FROM leases WHERE session = ?`).run(id);
  }

  /** The secret of a session's console, made on first use. */
  consoleSecret(session: string, make: () => string): string {
    this.db.prepare(`INSERT OR IGNORE INTO consoles (session, secret, created_at) VALUES (?, ?, ?)`).run(session, make(), Date.now());
    return (this.db.prepare(`SELECT secret FROM consoles WHERE session = ?`).get(session) as { secret: string }).secret;
  }

  /** Records a process that creates Docker objects, once. */
  registerInstance(i: { id: string; pid: number; host: string; start: string | null }): void {
    this.db.prepare(`INSERT OR IGNORE INTO instances (id, pid, host, start, started_at) VALUES (?, ?, ?, ?, ?)`).run(i.id, i.pid, i.host, i.start, Date.now());
  }

  instance(id: string): { id: string; pid: number; host: string; start: string | null } | undefined {
    return this.db.prepare(`SELECT id, pid, host, start FROM instances WHERE id = ?`).get(id) as { id: string; pid: number; host: string; start: string | null } | undefined;
  }

  /**
   * Records an action; its sequence number comes back. `source` is who caused it: Flowlab itself,
   * or the learner (their console and terminals); `kind` what it is (see ActionKind).
   */
  appendAction(id: string, command: string, revealsFault: boolean, source: 'flowlab' | 'learner' = 'flowlab', kind: ActionKind = 'change'): number {
    return this.db.transaction(() => {
      const seq = (this.db.prepare(`SELECT coalesce(max(seq), 0) + 1 AS seq FROM actions WHERE session = ?`).get(id) as { seq: number }).seq;
      this.db.prepare(`INSERT INTO actions (session, seq, at, command, reveals_fault, source, kind) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(id, seq, Date.now(), command, revealsFault ? 1 : 0, source, kind);
      return seq;
    })();
  }

  /** A command the learner typed changed the lab (one of its requests did). */
  markChanged(id: string, seq: number): void {
    this.db.prepare(`UPDATE actions SET changed = 1 WHERE session = ? AND seq = ?`).run(id, seq);
  }

  /** What a learner did in a session through their console and terminals: what they typed, what it changed, the shells they opened. */
  learnerActions(id: string): { at: string; command: string; kind: ActionKind; changed: boolean }[] {
    const rows = this.db.prepare(`SELECT at, command, kind, changed FROM actions WHERE session = ? AND source = 'learner' ORDER BY seq`).all(id) as { at: number; command: string; kind: ActionKind; changed: number }[];
    return rows.map((r) => ({ at: new Date(r.at).toISOString(), command: r.command, kind: r.kind, changed: r.changed === 1 }));
  }

  /** The session's action log as the learner sees it ("what Docker did"): what was sent, not what was typed. */
  actions(id: string, opts: { includeRevealing: boolean }): ActionEntry[] {
    const rows = this.db
      .prepare(`SELECT seq, at, command, reveals_fault FROM actions WHERE session = ? AND kind IN ('change', 'shell') ${opts.includeRevealing ? '' : 'AND reveals_fault = 0'} ORDER BY seq`)
      .all(id) as { seq: number; at: number; command: string; reveals_fault: number }[];
    return rows.map((r) => ({ seq: r.seq, at: new Date(r.at).toISOString(), command: r.command, reveals_fault: r.reveals_fault === 1 }));
  }

  /**
   * Takes the first `count` values from `candidates` that no session holds and `isFree` accepts,
   * in one write transaction, so two processes never take the same one.
   */
  lease(session: string, kind: 'subnet' | 'port', count: number, candidates: Iterable<string>, isFree: (value: string, held: ReadonlySet<string>) => boolean): string[] {
    return this.db
      .transaction(() => {
        const held = new Set((this.db.prepare(`SELECT value FROM leases WHERE kind = ?`).all(kind) as { value: string }[]).map((r) => r.value));
        const taken: string[] = [];
        for (const c of candidates) {
          if (taken.length === count) break;
          if (held.has(c) || !isFree(c, held)) continue;
          this.db.prepare(`INSERT INTO leases (kind, value, session) VALUES (?, ?, ?)`).run(kind, c, session);
          held.add(c);
          taken.push(c);
        }
        return taken;
      })
      .immediate();
  }

  leases(kind: 'subnet' | 'port'): { value: string; session: string }[] {
    return this.db.prepare(`SELECT value, session FROM leases WHERE kind = ?`).all(kind) as { value: string; session: string }[];
  }
}
