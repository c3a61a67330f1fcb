// The labels every Docker object Flowlab creates carries, and how names are made from them.
// Nothing here may say which fault or variant a session got.

export const LABEL = {
  managed: 'flowlab.managed',
  session: 'flowlab.session',
  scenario: 'flowlab.scenario',
  owner: 'flowlab.owner',
  /** The data directory whose registry knows the session (sweep asks that registry first). */
  registry: 'flowlab.registry',
  /** The lab's own name for the object (service or network name, or a Flowlab role). */
  name: 'flowlab.name',
  role: 'flowlab.role',
  /** In a lab with nodes: the node a container runs on (a node container: the node it is). */
  node: 'flowlab.node',
} as const;

/** `helper`: passing (removed when its creator is gone); `fault`: part of an applied fault. */
export type Role = 'service' | 'network' | 'resolver' | 'helper' | 'fault' | 'capture' | 'console' | 'learner' | 'node' | 'traffic';

export interface SessionRef {
  session: string;
  scenario: string;
  owner: string;
  registry: string;
}

export function sessionLabels(ref: SessionRef, name: string, role: Role): Record<string, string> {
  return {
    [LABEL.managed]: 'true',
    [LABEL.session]: ref.session,
    [LABEL.scenario]: ref.scenario,
    [LABEL.owner]: ref.owner,
    [LABEL.registry]: ref.registry,
    [LABEL.name]: name,
    [LABEL.role]: role,
  };
}

/** What every Docker object name Flowlab makes starts with, whichever session it belongs to. */
export const NAME_PREFIX = 'fl-';

/** What every Docker object name of a session starts with. */
export function objectPrefix(session: string): string {
  return `${NAME_PREFIX}${session}-`;
}

export function objectName(session: string, name: string): string {
  return `${objectPrefix(session)}${name}`;
}

/** The lab's own name of one of a session's objects (`web` for fl-<s>-web), or undefined when it is not the session's. */
export function shortName(session: string, dockerName: string): string | undefined {
  const prefix = objectPrefix(session);
  return dockerName.startsWith(prefix) ? dockerName.slice(prefix.length) : undefined;
}

