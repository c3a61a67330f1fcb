// What every fault type provides: apply, revert (idempotent: it restores what the lab planned,
// so it also cleans up after a half-applied fault) and describe (the ground truth, and the docker
// CLI that causes, undoes and reveals it — shown to learners only after grading).
import type { DockerApi } from '../docker/types.ts';
import type { Fault } from '../lab/schema.ts';
import type { LiveSession } from '../session/live.ts';
import { FlowlabError, type ErrorKind } from '../util/errors.ts';

export interface FaultDescription {
  /** One sentence a learner reads after grading: what was broken, where. */
  summary: string;
  service?: string;
  network?: string;
  /** In a lab with nodes: the node it is on. */
  node?: string;
  params: Record<string, unknown>;
  /** docker CLI commands that cause it. */
  cause: string[];
  /** docker CLI commands that undo it. */
  undo: string[];
  /** Commands that would have shown it. */
  reveal: string[];
}

export interface FaultContext {
  live: LiveSession;
  /** Records into the session's action log, marked as revealing the fault. */
  rt: DockerApi;
  id: string;
  /** The iptables comment on every rule this fault adds: `flowlab:<session>:<fault id>`. */
  tag: string;
}

export type FaultOf<T extends Fault['type']> = Extract<Fault, { type: T }>;

export interface FaultImpl<T extends Fault['type'] = Fault['type']> {
  describe(f: FaultOf<T>, live: LiveSession, tag: string): FaultDescription;
  /** Breaks the lab; returns what revert needs to know. */
  apply(f: FaultOf<T>, ctx: FaultContext): Promise<unknown>;
  revert(f: FaultOf<T>, ctx: FaultContext, undo: unknown): Promise<void>;
  /** Whether the fault is still in place on the live lab: the ground truth a live fix must undo. */
  holds(f: FaultOf<T>, ctx: FaultContext, undo: unknown): Promise<boolean>;
}

export class FaultError extends FlowlabError {
  override name = 'FaultError';
  constructor(message: string, kind: ErrorKind = 'invalid') {
    super(message, kind);
  }
}
