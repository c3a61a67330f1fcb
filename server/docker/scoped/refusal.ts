// Why the console's API said no. Every refusal carries the HTTP status the docker CLI shows and a
// message that says what was expected and what was found.
import { bounded } from '../../util/lookup.ts';

export class Refusal extends Error {
  override name = 'Refusal';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const SCOPE_MESSAGE = "this lab's console can only touch this lab's containers and networks";

/** Outside what the console offers (403). */
export const refuse = (what: string) => new Refusal(403, `${SCOPE_MESSAGE}: ${what}`);

/** A request the console cannot read (400). */
export const unreadable = (what: string) => new Refusal(400, `the console could not read that request: ${what}`);

/** Another session's objects are answered as if they did not exist (404). */
export function notFound(kind: 'container' | 'network' | 'exec instance' | 'service' | 'task' | 'node' | 'image', ref: string): Refusal {
  return new Refusal(404, kind === 'network' ? `network ${bounded(ref)} not found` : `No such ${kind}: ${bounded(ref)}`);
}

