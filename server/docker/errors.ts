// Docker failures: what was being done, the engine's reason and status, and — read once, here,
// from the engine's message, since it gives no code — what the failure was about.

/** What a Docker failure was about, read once here from the engine's message (it gives no code). */
export type DockerReason = 'subnet-overlap' | 'name-taken' | 'in-use' | 'exists' | 'not-attachable' | 'port-taken' | 'removal-in-progress' | 'node-unreachable';

const REASONS: [DockerReason, RegExp][] = [
  ['subnet-overlap', /overlap/i],
  ['removal-in-progress', /removal of container .* is already in progress/i],
  ['port-taken', /port is already allocated|address already in use/i],
  ['name-taken', /name .* is already in use/i],
  ['in-use', /active endpoints|in use/i],
  ['exists', /already exists/i],
  ['not-attachable', /not manually attachable/i],
  // Said by nested.ts when a lab node's engine cannot be dialled (its container stopped).
  ['node-unreachable', /the node's engine cannot be reached/],
];

export class DockerError extends Error {
  readonly reason: DockerReason | undefined;
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DockerError';
    this.reason = REASONS.find(([, re]) => re.test(message))?.[0];
  }
}

/** Whether `e` is a Docker failure about `reason`. */
export function dockerFailed(e: unknown, reason: DockerReason): boolean {
  return e instanceof DockerError && e.reason === reason;
}

/** The HTTP status of a failed Docker call, when it has one. */
export function statusOf(e: unknown): number | undefined {
  return typeof e === 'object' && e !== null && 'statusCode' in e ? Number((e as { statusCode: unknown }).statusCode) : undefined;
}

/** The engine's own words for a failure (or what kept us from reaching it). */
export function reasonOf(e: unknown): string {
  if (typeof e === 'object' && e !== null) {
    const json = (e as { json?: { message?: string } }).json;
    if (json?.message) return json.message;
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED') return `Docker is not reachable (${code}); is dockerd running? (try: flowlab doctor --fix)`;
  }
  return e instanceof Error ? e.message.replace(/^\(HTTP code \d+\) [a-z ]+ - /, '') : String(e);
}
