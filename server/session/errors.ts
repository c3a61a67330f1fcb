// What goes wrong with a session as a whole: it cannot start, it is unknown, it is in the wrong state.
import { FlowlabError, type ErrorKind } from '../util/errors.ts';

export class SessionError extends FlowlabError {
  override name = 'SessionError';
  constructor(message: string, kind: ErrorKind = 'conflict') {
    super(message, kind);
  }
}

/** A start that was to claim a warm session found none left, and may not start one on demand (no room). */
export class NoWarmLeft extends SessionError {
  override name = 'NoWarmLeft';
}
