// The engine pool over HTTP: what a trainer sends to add an engine or drain one, and what an
// engine says of itself.
import { z } from 'zod';

/** The engine Flowlab finds by itself: DOCKER_HOST, or the default socket. */
export const LOCAL_ENGINE = 'local';

export const addEngineSchema = z.strictObject({
  name: z.string().min(1).max(31),
  url: z.string().min(1).max(500),
  tls_dir: z.string().min(1).max(1000).optional(),
});

export const drainEngineSchema = z.strictObject({ drained: z.boolean() });

/** What Flowlab asks an engine before it takes labs: who it is and how big. */
export interface EngineFacts {
  version: string;
  api: string;
  os: string;
  cpus: number;
  memoryBytes: number;
  swarm: boolean;
  containers: number;
  /** Containers Flowlab made there (flowlab.managed=true). */
  managed: number;
}

export interface EngineStatus {
  name: string;
  url: string;
  state: 'up' | 'down';
  drained: boolean;
  /** Sessions not ended that live there. */
  sessions: number;
  facts: EngineFacts | null;
  /** What its kernel offers labs: null until a helper there could tell (its first lab). */
  features?: { netem: boolean | null; ipvs: boolean | null };
  /** Why it is down. */
  error: string | null;
}
