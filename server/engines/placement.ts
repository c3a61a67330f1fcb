// Which engine of the pool a lab goes on. First what the lab cannot run without (an overlay needs
// swarm, a latency fault netem, a VIP service IPVS); then the most free room by one score, the
// same everywhere a lab starts (CLI, HTTP, workshop):
//
//   memory = (the engine's memory − the memory limits of its running labs − this lab's) / its memory
//   slots  = (its cap of Flowlab containers − the ones there − this lab's) / its cap
//   queue  = starts waiting at its gate / (those + the starts it takes at once)
//   score  = the smaller of memory and slots (the tighter resource) − queue / 2
//
// An engine past its memory or its cap scores below zero: it is chosen only when every engine is
// past it (the workshop's capacity, the sum over its engines, keeps a room from getting there;
// one engine alone runs what it is asked to, as Docker would). Ties go to the engine with fewer
// labs, then to the first name in order, so the same pool always chooses alike. Pure: what each
// engine holds is measured by the caller.
import { REQUIREMENT_WHY, unmet, type EngineFeatures, type Requirement } from '../lab/requirements.ts';

/** Flowlab containers an engine takes per CPU, unless FLOWLAB_ENGINE_CONTAINERS says otherwise. */
export const CONTAINERS_PER_CPU = 40;

/** What an engine is and holds now, as placement weighs it. */
export interface EngineLoad {
  name: string;
  /** Answering; when not, `error` says why. */
  up: boolean;
  error?: string;
  drained: boolean;
  cpus: number;
  memoryBytes: number;
  swarm: boolean;
  /** true: has it; false: known missing; undefined: cannot tell (not held against it). */
  features: EngineFeatures;
  /** Labs not ended there. */
  labs: number;
  /** The memory limits of those labs' containers, summed. */
  reservedBytes: number;
  /** Flowlab containers there now. */
  containers: number;
  /** The most Flowlab containers it takes. */
  containerCap: number;
  /** Starts waiting at its gate, and how many it runs at once (0: no limit). */
  waiting: number;
  startsAtOnce: number;
}

/** What a lab asks of the engine it goes on. */
export interface LabNeeds {
  lab: string;
  overlay: boolean;
  /** Swarm may be initialised where it is not active (--init-swarm). */
  initSwarm: boolean;
  requirements: Requirement[];
  containers: number;
  memoryBytes: number;
}

export interface EngineScore {
  engine: string;
  /** Why the lab cannot go there; otherwise its score. */
  refused?: string;
  score?: number;
}

export interface Placement {
  engine: string;
  /** Every engine weighed, best first, the refused ones last with why. */
  scores: EngineScore[];
}

export class PlacementError extends Error {
  override name = 'PlacementError';
  constructor(
    message: string,
    readonly scores: EngineScore[],
  ) {
    super(message);
  }
}

/** Why `needs` cannot go on `e`, or undefined when it can. */
export function refusal(e: EngineLoad, needs: LabNeeds): string | undefined {
  if (!e.up) return `it does not answer${e.error ? ` (${e.error})` : ''}`;
  if (e.drained) return 'it is drained';
  if (needs.overlay && !e.swarm && !needs.initSwarm) return 'the lab uses overlay networks and swarm mode is not active there';
  const missing = unmet(needs.requirements, e.features);
  if (missing.length > 0) return missing.map((m) => `${REQUIREMENT_WHY[m]}, and its kernel does not have it`).join('; ');
  return undefined;
}

export function score(e: EngineLoad, needs: LabNeeds): number {
  const memory = (e.memoryBytes - e.reservedBytes - needs.memoryBytes) / Math.max(1, e.memoryBytes);
  const slots = (e.containerCap - e.containers - needs.containers) / Math.max(1, e.containerCap);
  const queue = e.waiting === 0 ? 0 : e.waiting / (e.waiting + Math.max(1, e.startsAtOnce));
  return Math.min(memory, slots) - queue / 2;
}

/** Scores closer than this are a tie. */
const TIE = 1e-6;

/** Chooses the engine for a lab, or throws with each engine's reason. */
export function place(engines: readonly EngineLoad[], needs: LabNeeds): Placement {
  const weighed = engines.map((e) => {
    const refused = refusal(e, needs);
    return { load: e, refused, score: refused === undefined ? score(e, needs) : Number.NEGATIVE_INFINITY };
  });
  const open = weighed
    .filter((w) => w.refused === undefined)
    .sort((a, b) => (Math.abs(a.score - b.score) > TIE ? b.score - a.score : a.load.labs - b.load.labs || (a.load.name < b.load.name ? -1 : a.load.name > b.load.name ? 1 : 0)));
  const scores: EngineScore[] = [
    ...open.map((w) => ({ engine: w.load.name, score: Math.round(w.score * 1000) / 1000 })),
    ...weighed.filter((w) => w.refused !== undefined).map((w) => ({ engine: w.load.name, refused: w.refused! })),
  ];
  const best = open[0];
  if (!best) {
    throw new PlacementError(`no engine can run lab "${needs.lab}": ${scores.map((s) => `${s.engine}: ${s.refused}`).join('; ')}`, scores);
  }
  return { engine: best.load.name, scores };
}
