import { describe, expect, it } from 'vitest';
import { EngineWatch, type EngineHealth } from '../engines/watch.ts';

describe('the engine watch', () => {
  it('reports each change of state once: slow, down, back', async () => {
    let now = 0;
    let answer: 'fast' | 'slow' | 'fail' = 'fast';
    const heard: [EngineHealth, string][] = [];
    const watch = new EngineWatch(
      async () => {
        if (answer === 'fail') throw new Error('connect ENOENT /var/run/docker.sock');
        now += answer === 'slow' ? 3000 : 5;
      },
      (state, text) => heard.push([state, text]),
      2000,
      () => now,
    );
    for (const a of ['fast', 'slow', 'slow', 'fail', 'fail', 'fast', 'fast'] as const) {
      answer = a;
      await watch.check();
    }
    expect(heard.map(([s]) => s)).toEqual(['slow', 'down', 'ok']);
    expect(heard[0]![1]).toMatch(/answers slowly \(a ping took 3000 ms\)/);
    expect(heard[1]![1]).toMatch(/does not answer \(connect ENOENT/);
    expect(heard[2]![1]).toMatch(/answers again \(5 ms\)/);
  });
});
