import { describe, expect, it } from 'vitest';
import { parseDuration, parseWarmSpec } from './config.ts';

describe('warm pool settings', () => {
  it('reads durations as trainers write them', () => {
    expect(parseDuration('90s', 'x')).toBe(90_000);
    expect(parseDuration('45m', 'x')).toBe(45 * 60_000);
    expect(parseDuration('2h', 'x')).toBe(7_200_000);
    expect(parseDuration('30', 'x')).toBe(30 * 60_000);
    expect(() => parseDuration('soon', '--warm-ttl')).toThrow('--warm-ttl must be a duration like 90s, 45m or 2h; found "soon"');
    expect(() => parseDuration('0m', '--warm-ttl')).toThrow(/found "0m"/);
  });

  it('reads lab=n lists, and says which part is wrong', () => {
    expect(parseWarmSpec('split-networks=10, icc-disabled=5', 'x')).toEqual({ 'split-networks': 10, 'icc-disabled': 5 });
    expect(() => parseWarmSpec('split-networks=10,icc-disabled', '--warm')).toThrow('--warm must list lab=n pairs separated by commas, like split-networks=10,icc-disabled=5; found "icc-disabled"');
  });
});
