// Rate limits for workshop mode: a token bucket per caller and kind of request, so one learner
// (or a script with their token) cannot starve the Docker host or the others.

export type LimitKind = 'session' | 'probe' | 'console' | 'terminal' | 'join' | 'login' | 'grade';

/** [burst, refill per second]. */
export const LIMITS: Record<LimitKind, [number, number]> = {
  // starting, resetting or restarting a lab
  session: [6, 6 / 60],
  probe: [30, 2],
  // opening a docker console or a terminal
  console: [10, 0.5],
  // keystrokes and pastes: generous, a fast typist sends ~15 events a second
  terminal: [400, 100],
  // join attempts and trainer logins, per address (a classroom behind one NAT joins at once):
  // guessing a 6-character code at this rate takes decades
  join: [60, 30 / 60],
  login: [5, 5 / 60],
  grade: [10, 10 / 60],
};

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limits: Record<LimitKind, [number, number]> = LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token; returns how many seconds to wait when there is none. */
  take(kind: LimitKind, who: string): { ok: true } | { ok: false; retryAfterS: number } {
    const [burst, perSecond] = this.limits[kind];
    const key = `${kind}:${who}`;
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: burst, at: t };
    b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * perSecond);
    b.at = t;
    this.buckets.set(key, b);
    if (this.buckets.size > 50_000) this.prune();
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterS: Math.ceil((1 - b.tokens) / perSecond) };
  }

  private prune(): void {
    const t = this.now();
    for (const [k, b] of this.buckets) if (t - b.at > 10 * 60_000) this.buckets.delete(k);
  }
}

export const LIMIT_WORDS: Record<LimitKind, string> = {
  session: 'lab starts',
  probe: 'probes',
  console: 'consoles and terminals opened',
  terminal: 'terminal input',
  join: 'join attempts',
  login: 'trainer logins',
  grade: 'diagnoses submitted',
};
