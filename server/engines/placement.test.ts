import { describe, expect, it } from 'vitest';
import { place, PlacementError, score, type EngineLoad, type LabNeeds } from './placement.ts';

const GiB = 2 ** 30;
const engine = (name: string, over: Partial<EngineLoad> = {}): EngineLoad => ({
  name, up: true, drained: false, cpus: 2, memoryBytes: 8 * GiB, swarm: true, features: {},
  labs: 0, reservedBytes: 0, containers: 0, containerCap: 80, waiting: 0, startsAtOnce: 2, ...over,
});
const lab: LabNeeds = { lab: 'bridge-basics', overlay: false, initSwarm: false, requirements: [], containers: 5, memoryBytes: 5 * 128 * 2 ** 20 };

describe('placement', () => {
  it('chooses the engine with the most free room', () => {
    const p = place([engine('local', { labs: 3, containers: 15, reservedBytes: 15 * 128 * 2 ** 20 }), engine('node-1'), engine('node-2', { labs: 1, containers: 5, reservedBytes: 5 * 128 * 2 ** 20 })], lab);
    expect(p.engine).toBe('node-1');
    expect(p.scores.map((s) => s.engine)).toEqual(['node-1', 'node-2', 'local']);
  });

  it('breaks ties the same way every time: fewer labs, then the name', () => {
    const same = [engine('node-2'), engine('node-1'), engine('local')];
    expect(place(same, lab).engine).toBe('local');
    expect(place([...same].reverse(), lab).engine).toBe('local');
    // A lab with no memory limit worth speaking of on engines that differ only in labs held.
    expect(place([engine('a', { labs: 2 }), engine('b', { labs: 1 })], lab).engine).toBe('b');
  });

  it('spreads twelve labs over three equal engines four and four and four', () => {
    const pool = ['local', 'node-1', 'node-2'].map((n) => engine(n));
    const counts: Record<string, number> = {};
    for (let i = 0; i < 12; i++) {
      const { engine: chosen } = place(pool, lab);
      counts[chosen] = (counts[chosen] ?? 0) + 1;
      const e = pool.find((x) => x.name === chosen)!;
      e.labs++;
      e.containers += lab.containers;
      e.reservedBytes += lab.memoryBytes;
    }
    expect(counts).toEqual({ local: 4, 'node-1': 4, 'node-2': 4 });
  });

  it('weighs the starts waiting at an engine’s gate', () => {
    const busy = engine('local', { waiting: 6 });
    expect(score(busy, lab)).toBeLessThan(score(engine('x'), lab));
    expect(place([busy, engine('node-1')], lab).engine).toBe('node-1');
  });

  it('goes by requirements first: swarm for overlays, netem, IPVS', () => {
    const overlay = { ...lab, overlay: true };
    expect(place([engine('local', { swarm: false }), engine('node-1', { labs: 5, containers: 25 })], overlay).engine).toBe('node-1');
    // With --init-swarm any engine will do.
    expect(place([engine('local', { swarm: false }), engine('node-1', { labs: 5, containers: 25 })], { ...overlay, initSwarm: true }).engine).toBe('local');
    const latency = { ...lab, requirements: ['netem' as const] };
    expect(place([engine('local', { features: { netem: false } }), engine('node-1', { labs: 9, containers: 45, features: { netem: true } })], latency).engine).toBe('node-1');
    // A feature that cannot be told is not held against an engine.
    expect(place([engine('local', { features: { netem: undefined } })], latency).engine).toBe('local');
  });

  it('leaves out drained and down engines; a full one only when every one is full', () => {
    const p = place([engine('local', { drained: true }), engine('node-1', { up: false, error: 'connect ECONNREFUSED' }), engine('node-2', { containers: 78 }), engine('node-3', { memoryBytes: GiB / 4 }), engine('node-4', { labs: 7, containers: 35 })], lab);
    expect(p.engine).toBe('node-4');
    expect(p.scores.map((s) => s.engine)).toEqual(['node-4', 'node-2', 'node-3', 'local', 'node-1']);
    expect(p.scores.slice(3)).toEqual([
      { engine: 'local', refused: 'it is drained' },
      { engine: 'node-1', refused: 'it does not answer (connect ECONNREFUSED)' },
    ]);
    // Past its cap an engine scores below zero, and still runs a lab when it is all there is.
    const full = engine('local', { containers: 120 });
    expect(score(full, lab)).toBeLessThan(0);
    expect(place([full], lab).engine).toBe('local');
    expect(place([full, engine('node-1', { containers: 100 })], lab).engine).toBe('node-1');
  });

  it('refuses a lab no engine can run, with each engine’s reason', () => {
    const needs = { ...lab, lab: 'latency-lab', requirements: ['netem' as const] };
    let err: unknown;
    try {
      place([engine('local', { features: { netem: false } }), engine('node-1', { drained: true })], needs);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlacementError);
    expect((err as Error).message).toBe(
      'no engine can run lab "latency-lab": local: latency faults need the kernel\'s netem queueing discipline (sch_netem), and its kernel does not have it; node-1: it is drained',
    );
  });
});
