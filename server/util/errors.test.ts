import { describe, expect, it } from 'vitest';
import { FlowlabError, HTTP_STATUS, kindOfStatus } from './errors.ts';

describe('error kinds', () => {
  it('map to one HTTP status each, and back', () => {
    for (const [kind, status] of Object.entries(HTTP_STATUS)) expect(kindOfStatus(status)).toBe(kind);
    expect(new FlowlabError('unknown session "x"', 'not-found').status).toBe(404);
    expect(new FlowlabError('session x is starting, not ready', 'conflict').status).toBe(409);
    expect(kindOfStatus(418)).toBe('invalid');
    expect(kindOfStatus(502)).toBe('internal');
  });
});
