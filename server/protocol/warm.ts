// Warm pools over HTTP and in `flowlab status`: labs brought up healthy ahead of their learners,
// each broken as its claim's seed says when a learner starts it.
import { z } from 'zod';

/** The most warm sessions one lab's pool keeps. */
export const MAX_POOL = 100;

export const setPoolSchema = z.strictObject({ size: z.number().int().min(0).max(MAX_POOL) });

export const prepareSchema = z.strictObject({
  learners: z.number().int().min(1).max(500),
  /** Only the capacity plan: nothing is started. */
  plan_only: z.boolean().optional(),
});

/** One lab's pool: how many are wanted, how many wait, how many are on their way. */
export interface WarmPoolStatus {
  lab: string;
  /** Kept by the standing pool (serve --warm, settings, the API). */
  size: number;
  /** Wanted now: the standing size plus what a workshop's Prepare still needs. */
  wanted: number;
  /** Ready to be claimed. */
  warm: number;
  /** Being brought up for the pool. */
  starting: number;
  /** Waiting on an engine that does not answer (not claimed; refilled elsewhere). */
  lost: number;
  /** Per engine: warm ones there. */
  engines: Record<string, number>;
  /** Why this lab is never kept warm. */
  refused: string | null;
  /** Why the last refill did not come up. */
  last_error: { at: string; message: string } | null;
}

export interface WarmSessionSummary {
  session: string;
  lab: string;
  engine: string;
  state: 'starting' | 'warm' | 'engine-lost' | 'broken';
  /** When it became warm (or began to be made). */
  since: string;
  /** When it expires unclaimed. */
  expires_at: string;
}

export interface WarmStatus {
  ttl_minutes: number;
  pools: WarmPoolStatus[];
  sessions: WarmSessionSummary[];
}

/** A workshop's Prepare: what N learners × its labs need, against what the pool of engines holds. */
export interface PreparePlan {
  learners: number;
  labs: { lab: string; sessions: number; containers: number; networks: number; memory_bytes: number; refused: string | null }[];
  total: { sessions: number; containers: number; networks: number; memory_bytes: number };
  /** Learner labs the workshop runs at once (its capacity), and those running or warm now. */
  capacity: { max_labs: number; in_use: number };
  engines: { name: string; takes: number; memory_free_bytes: number; start_ms: number; measured: boolean }[];
  /** Seconds to prepare, from each engine's measured start cost and the starts it runs at once. */
  estimate_s: number;
  fits: boolean;
  /** What to add (or to ask for less) when it does not fit. */
  advice: string[];
}

/** How far a workshop's Prepare has come. */
export interface PrepareProgress {
  learners: number;
  wanted: number;
  warm: number;
  claimed: number;
  engines: Record<string, { warm: number; starting: number }>;
  started_at: string;
  done: boolean;
}
