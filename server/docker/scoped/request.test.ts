import { describe, expect, it } from 'vitest';
import { Refusal } from './refusal.ts';
import { API_VERSION, readTarget } from './request.ts';
import { readQuery } from './query.ts';

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(Refusal);
    return e as Refusal;
  }
  throw new Error('allowed');
};

describe('a console request line, read once', () => {
  it('drops the version the console speaks; no prefix means the same', () => {
    expect(readTarget('GET', `/v${API_VERSION}/containers/web/json?size=1`)).toEqual({ method: 'GET', segments: ['containers', 'web', 'json'], query: new Map([['size', '1']]) });
    expect(readTarget('GET', '/containers/json').segments).toEqual(['containers', 'json']);
  });

  it('refuses older versions with the reason, and newer ones with what to set', () => {
    expect(refusal(() => readTarget('POST', '/v1.23/containers/x/start')).message).toMatch(/speaks Docker API 1\.41; \/v1\.23 is older \(below 1\.24/);
    expect(refusal(() => readTarget('GET', '/v1.40/info')).status).toBe(400);
    expect(refusal(() => readTarget('GET', '/v1.43/info')).message).toMatch(/DOCKER_API_VERSION=1\.41/);
  });

  it('refuses paths that decode into separators, dots or escapes, and empty segments', () => {
    for (const t of ['/containers/..%2F..%2Finfo/json', '/containers/%2e%2e/json', '/containers/./json', '/containers//json', '/containers/a%252Fb/json', '/containers/a%00/json', '/containers/a\\b/json', '/containers/%zz/json']) {
      expect(refusal(() => readTarget('GET', t)).status, t).toBeGreaterThanOrEqual(400);
    }
    expect(refusal(() => readTarget('PATCH', '/containers/json')).status).toBe(405);
  });

  it('refuses a query parameter given twice, and one the route does not take', () => {
    expect(refusal(() => readTarget('DELETE', '/containers/x?force=1&force=0')).message).toMatch(/gives force twice/);
    const q = readTarget('POST', '/containers/x/stop?t=1').query;
    expect(readQuery(q, { t: 'int' }, 'docker stop')).toEqual({ t: '1' });
    expect(refusal(() => readQuery(new Map([['checkpoint', 'x']]), { detachKeys: 'text' }, 'docker start')).message).toMatch(/docker start takes detachKeys, not checkpoint/);
    expect(refusal(() => readQuery(new Map([['t', '1; rm']]), { t: 'int' }, 'docker stop')).message).toMatch(/t must be a whole number/);
    expect(readQuery(new Map([['filters', '{"label":{"a=b":true},"name":["web"]}']]), { filters: 'filters' }, 'ps')).toEqual({ filters: '{"label":{"a=b":true},"name":{"web":true}}' });
  });
});
