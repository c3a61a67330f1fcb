// A workshop's Prepare, before the room arrives: what N learners × its labs need (containers,
// networks, memory), whether the room the engines give holds it, what to add when it does not, and
// how long preparing takes from each engine's measured start cost. Pure: the caller measures.
import type { PreparePlan } from '../protocol/warm.ts';

/** What a lab needs, roughly, with its capture sidecars and resolver: keeps a third of the memory free. */
export const MB_PER_LAB = 384;

/** The labs an engine of this much memory holds, keeping a third of it free. */
export function labsOn(memoryBytes: number): number {
  return Math.max(2, Math.floor(((memoryBytes / 2 ** 20) * 2) / 3 / MB_PER_LAB));
}

/** What one start costs an engine when it has not been measured yet (a 2-core machine's, rounded up). */
export const ASSUMED_START_MS = 1500;

export interface PlanLab {
  lab: string;
  containers: number;
  networks: number;
  memoryBytes: number;
  /** Learners who have started it already: nothing to warm for them. */
  started?: number;
  /** Why it is never kept warm (its learners start it on demand). */
  refused?: string;
}

export interface PlanEngine {
  name: string;
  memoryBytes: number;
  /** Memory limits of the labs there now. */
  reservedBytes: number;
  /** What a container start has cost it, on average; undefined until it started one. */
  startMs?: number;
  /** Starts it runs at once (0: no limit). */
  startsAtOnce: number;
}

const gb = (bytes: number) => Math.round((bytes / 2 ** 30) * 10) / 10;

export function preparePlan(learners: number, labs: PlanLab[], engines: PlanEngine[], capacity: { maxLabs: number; inUse: number; fixed: boolean }): PreparePlan {
  const rows = labs.map((l) => {
    const sessions = l.refused ? 0 : Math.max(0, learners - (l.started ?? 0));
    return { lab: l.lab, sessions, containers: sessions * l.containers, networks: sessions * l.networks, memory_bytes: sessions * l.memoryBytes, refused: l.refused ?? null };
  });
  const total = {
    sessions: rows.reduce((n, r) => n + r.sessions, 0),
    containers: rows.reduce((n, r) => n + r.containers, 0),
    networks: rows.reduce((n, r) => n + r.networks, 0),
    memory_bytes: rows.reduce((n, r) => n + r.memory_bytes, 0),
  };
  const room = Math.max(0, capacity.maxLabs - capacity.inUse);
  // A refill leaves one start place free at each engine (see StartGate): that is its pace.
  const perMs = engines.reduce((n, e) => n + Math.max(1, e.startsAtOnce - 1) / (e.startMs ?? ASSUMED_START_MS), 0);
  const estimate = perMs > 0 ? Math.ceil(Math.min(total.sessions, room) * (total.sessions > 0 ? total.containers / total.sessions : 0) / perMs / 1000) : 0;
  const memoryFree = engines.reduce((n, e) => n + Math.max(0, e.memoryBytes - e.reservedBytes), 0);
  const advice: string[] = [];
  const fits = total.sessions <= room && engines.length > 0;
  if (engines.length === 0) advice.push('no engine takes labs now: add one (flowlab engines add) or undrain one');
  else if (!fits) {
    const short = total.sessions - room;
    const perLearner = rows.filter((r) => r.sessions > 0).length || 1;
    advice.push(`room for ${room} of the ${total.sessions} labs (${capacity.inUse} already running or warm, at most ${capacity.maxLabs} at once)`);
    if (capacity.fixed) advice.push(`raise --max-labs to ${capacity.inUse + total.sessions}, if the engines hold them`);
    else advice.push(`add engines with about ${gb(short * MB_PER_LAB * 1.5 * 2 ** 20)} GB of memory in all (a lab takes ~${MB_PER_LAB} MB, a third of each engine kept free)`);
    advice.push(`or prepare for ${Math.floor(room / perLearner)} learners; the others start on demand`);
  }
  return {
    learners,
    labs: rows,
    total,
    capacity: { max_labs: capacity.maxLabs, in_use: capacity.inUse },
    engines: engines.map((e) => ({ name: e.name, takes: labsOn(e.memoryBytes), memory_free_bytes: Math.max(0, e.memoryBytes - e.reservedBytes), start_ms: Math.round(e.startMs ?? ASSUMED_START_MS), measured: e.startMs !== undefined })),
    estimate_s: estimate,
    fits,
    advice: memoryFree > 0 || engines.length === 0 ? advice : [...advice, 'the engines report no free memory'],
  };
}
