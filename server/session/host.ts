// The one door through which a live session, and every feature acting on one (probes, faults,
// flows, the console, grading), reaches what it runs on: the Docker engine, the store, the
// settings, the action log. The session engine is one host; a feature never sees the engine (the
// entry points and their use cases in server/app/, and check, do).
import type { Settings } from '../config.ts';
import type { LiveSession } from './live.ts';
import type { ActionSink, DockerApi } from '../docker/types.ts';
import type { EngineFeatures } from '../lab/requirements.ts';
import type { Db } from '../store/db.ts';
import type { SessionRecord, SessionStore } from '../store/sessions.ts';

/** What lab-traffic runs from one service (its arguments), and whether a call pings (NET_RAW). */
export interface TrafficCalls {
  calls: string[];
  pings: boolean;
}

export interface SessionHost {
  /** The local Docker engine (records nothing). */
  readonly docker: DockerApi;
  /** The engine of the pool a session lives on, by name ("local" is `docker`). */
  runtimeOf(engine: string): DockerApi;
  /** What a session's lab objects live on: its engine, or the swarm of the lab's own nodes. */
  labRuntime(rec: Pick<SessionRecord, 'id' | 'engine' | 'lab'>): DockerApi;
  /** What an engine's kernel offers (netem, IPVS): undefined where it cannot be told. */
  featuresOf(engine: string): Promise<EngineFeatures>;
  /** The registry's database: stores of probes, faults and progress open on it. */
  readonly db: Db;
  readonly store: SessionStore;
  readonly settings: Settings;
  /** This process's instance: the owner of what it makes. */
  readonly instanceId: string;
  /** The registry as labels name it. */
  readonly registryPath: string;
  /** Records this process in the registry before it makes Docker objects (sweep asks after it). */
  claimInstance(): void;
  /** Where a session's Docker actions are recorded (its action log). */
  recorder(session: string): ActionSink;
  /** The lab's own traffic from one of its services, as the layer that knows probes builds it (none without it). */
  trafficCalls?(live: LiveSession, source: string): TrafficCalls;
  /** Work a session does in the background: `down` calls it off and waits for it. */
  background(session: string, work: (signal: AbortSignal) => Promise<unknown>, onError?: (e: Error) => void): void;
}
