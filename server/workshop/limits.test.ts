import { describe, expect, it } from 'vitest';
import { RateLimiter } from './limits.ts';

describe('rate limits', () => {
  it('allows a burst, then refills at the set rate, per caller', () => {
    let t = 0;
    const r = new RateLimiter({ session: [2, 1], probe: [1, 1], console: [1, 1], terminal: [1, 1], join: [1, 1], login: [1, 1], grade: [1, 1] }, () => t);
    expect(r.take('session', 'a').ok).toBe(true);
    expect(r.take('session', 'a').ok).toBe(true);
    expect(r.take('session', 'a')).toEqual({ ok: false, retryAfterS: 1 });
    expect(r.take('session', 'b').ok).toBe(true);
    t = 1000;
    expect(r.take('session', 'a').ok).toBe(true);
    expect(r.take('session', 'a').ok).toBe(false);
  });
});
