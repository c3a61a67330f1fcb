import { describe, expect, it } from 'vitest';
import { ASSUMED_START_MS, labsOn, preparePlan } from './prepare.ts';

const MB = 2 ** 20;
const lab = { lab: 'split-networks', containers: 5, networks: 2, memoryBytes: 5 * 128 * MB };
const engine = { name: 'local', memoryBytes: 8 * 1024 * MB, reservedBytes: 0, startMs: 800, startsAtOnce: 2 };

describe('preparePlan', () => {
  it('sums what N learners need and says it fits within the room', () => {
    const plan = preparePlan(10, [lab, { lab: 'icc-disabled', containers: 3, networks: 1, memoryBytes: 3 * 128 * MB }], [engine], { maxLabs: 25, inUse: 2, fixed: false });
    expect(plan.total).toEqual({ sessions: 20, containers: 80, networks: 30, memory_bytes: 80 * 128 * MB });
    expect(plan.fits).toBe(true);
    expect(plan.advice).toEqual([]);
    // 80 starts, one at a time (a place kept free of two), 0.8 s each.
    expect(plan.estimate_s).toBe(64);
    expect(plan.engines).toEqual([{ name: 'local', takes: labsOn(engine.memoryBytes), memory_free_bytes: engine.memoryBytes, start_ms: 800, measured: true }]);
  });

  it('says what to add when it does not fit, with the numbers', () => {
    const plan = preparePlan(20, [lab], [engine], { maxLabs: 14, inUse: 4, fixed: false });
    expect(plan.fits).toBe(false);
    expect(plan.advice[0]).toBe('room for 10 of the 20 labs (4 already running or warm, at most 14 at once)');
    expect(plan.advice[1]).toBe('add engines with about 5.6 GB of memory in all (a lab takes ~384 MB, a third of each engine kept free)');
    expect(plan.advice[2]).toBe('or prepare for 10 learners; the others start on demand');
    const fixed = preparePlan(20, [lab], [engine], { maxLabs: 14, inUse: 4, fixed: true });
    expect(fixed.advice[1]).toBe('raise --max-labs to 24, if the engines hold them');
  });

  it('leaves out labs never kept warm, and assumes a start cost until one is measured', () => {
    const plan = preparePlan(3, [lab, { lab: 'host-port-clash', containers: 3, networks: 1, memoryBytes: 0, refused: 'agent uses the host network' }], [{ ...engine, startMs: undefined, startsAtOnce: 4 }], { maxLabs: 10, inUse: 0, fixed: false });
    expect(plan.labs[1]).toMatchObject({ lab: 'host-port-clash', sessions: 0, refused: 'agent uses the host network' });
    expect(plan.engines[0]).toMatchObject({ start_ms: ASSUMED_START_MS, measured: false });
    // 15 starts, three at a time, 1.5 s each.
    expect(plan.estimate_s).toBe(8);
  });

  it('warms nothing for the learners who have started a lab already', () => {
    const plan = preparePlan(4, [{ ...lab, started: 1 }], [engine], { maxLabs: 4, inUse: 1, fixed: true });
    expect(plan.labs[0]).toMatchObject({ sessions: 3, containers: 15 });
    expect(plan.fits).toBe(true);
  });

  it('refuses to plan with no engine taking labs', () => {
    const plan = preparePlan(3, [lab], [], { maxLabs: 10, inUse: 0, fixed: false });
    expect(plan.fits).toBe(false);
    expect(plan.advice).toEqual(['no engine takes labs now: add one (flowlab engines add) or undrain one']);
  });
});
