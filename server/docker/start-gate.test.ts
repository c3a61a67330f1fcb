import { describe, expect, it } from 'vitest';
import { StartGate, type StartPriority } from './start-gate.ts';

/** A start that finishes when the test says so. */
function held() {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return { done, release };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('StartGate', () => {
  it('runs at most `atOnce` starts together, then the waiting ones by priority, oldest first', async () => {
    const gate = new StartGate(2);
    const order: string[] = [];
    const holds = new Map<string, ReturnType<typeof held>>();
    let running = 0;
    let most = 0;
    const start = (name: string, priority: StartPriority) => {
      const h = held();
      holds.set(name, h);
      return gate.run(priority, async () => {
        order.push(name);
        most = Math.max(most, ++running);
        await h.done;
        running--;
      });
    };
    const all = [
      start('lab-1', 'lab'),
      start('lab-2', 'lab'),
      start('capture-1', 'background'),
      start('lab-3', 'lab'),
      start('console', 'interactive'),
      start('lab-4', 'lab'),
    ];
    await tick();
    expect(order).toEqual(['lab-1', 'lab-2']);
    expect(gate.queued).toBe(4);
    for (const name of ['lab-1', 'lab-2', 'console', 'lab-3', 'lab-4', 'capture-1']) {
      holds.get(name)!.release();
      await tick();
    }
    await Promise.all(all);
    expect(order).toEqual(['lab-1', 'lab-2', 'console', 'lab-3', 'lab-4', 'capture-1']);
    expect(most).toBe(2);
    expect(gate.queued).toBe(0);
  });

  it('lets refills of warm pools take every place but one, and go after every other start', async () => {
    const gate = new StartGate(3);
    const order: string[] = [];
    const holds = new Map<string, ReturnType<typeof held>>();
    const start = (name: string, priority: StartPriority) => {
      const h = held();
      holds.set(name, h);
      return gate.run(priority, async () => {
        order.push(name);
        await h.done;
      });
    };
    const all = [start('warm-1', 'warm'), start('warm-2', 'warm'), start('warm-3', 'warm'), start('warm-4', 'warm')];
    await tick();
    // One place of three stays free for whatever a learner asks for next.
    expect(order).toEqual(['warm-1', 'warm-2']);
    all.push(start('console', 'interactive'));
    await tick();
    expect(order).toEqual(['warm-1', 'warm-2', 'console']);
    all.push(start('capture', 'background'), start('lab-1', 'lab'));
    holds.get('warm-1')!.release();
    await tick();
    // The freed place goes to the lab, not to the refill that waited longer.
    expect(order.at(-1)).toBe('lab-1');
    for (const name of ['console', 'lab-1']) {
      holds.get(name)!.release();
      await tick();
    }
    expect(order.slice(4)).toEqual(['capture']);
    for (const name of ['warm-2', 'capture']) {
      holds.get(name)!.release();
      await tick();
    }
    expect(order.slice(5)).toEqual(['warm-3', 'warm-4']);
    for (const name of ['warm-3', 'warm-4']) holds.get(name)!.release();
    await Promise.all(all);
    // A gate of one place is not kept idle: a refill takes it when nothing else waits.
    const one = new StartGate(1);
    await expect(one.run('warm', async () => 'warmed')).resolves.toBe('warmed');
  });

  it('passes a failed start\'s place on, and the failure to its caller', async () => {
    const gate = new StartGate(1);
    const failing = gate.run('lab', async () => {
      throw new Error('port is already allocated');
    });
    const next = gate.run('lab', async () => 'started');
    await expect(failing).rejects.toThrow(/already allocated/);
    await expect(next).resolves.toBe('started');
  });

  it('with 0, never holds a start back', async () => {
    const gate = new StartGate(0);
    const h = held();
    let started = 0;
    const all = Array.from({ length: 10 }, () => gate.run('background', async () => {
      started++;
      await h.done;
    }));
    await tick();
    expect(started).toBe(10);
    h.release();
    await Promise.all(all);
  });

  it('refuses a limit that is not a whole number, saying what it expected', () => {
    expect(() => new StartGate(-1)).toThrow(/whole number >= 0.*found -1/);
    expect(() => new StartGate(1.5)).toThrow(/found 1.5/);
  });
});

describe('StartGate, sized again', () => {
  const many = (gate: StartGate, n: number) => {
    const holds = Array.from({ length: n }, held);
    let running = 0;
    let most = 0;
    const all = holds.map((h) =>
      gate.run('lab', async () => {
        most = Math.max(most, ++running);
        await h.done;
        running--;
      }),
    );
    return { holds, all, running: () => running, most: () => most };
  };

  it('lets waiters in at once when it grows (an engine with more CPUs)', async () => {
    const gate = new StartGate(2);
    const m = many(gate, 6);
    await tick();
    expect(m.running()).toBe(2);
    gate.resize(4);
    await tick();
    expect(m.running()).toBe(4);
    expect(gate.queued).toBe(2);
    for (const h of m.holds) h.release();
    await Promise.all(m.all);
    expect(m.most()).toBe(4);
  });

  it('lets running starts finish when it shrinks, and gives no place on until it is under the new size', async () => {
    const gate = new StartGate(4);
    const m = many(gate, 6);
    await tick();
    expect(m.running()).toBe(4);
    gate.resize(2);
    m.holds[0]!.release();
    await tick();
    expect(m.running()).toBe(3);
    m.holds[1]!.release();
    await tick();
    expect(m.running()).toBe(2);
    expect(gate.queued).toBe(2);
    m.holds[2]!.release();
    await tick();
    expect(m.running()).toBe(2);
    for (const h of m.holds) h.release();
    await Promise.all(m.all);
    expect(gate.queued).toBe(0);
    expect(gate.busy).toBe(0);
  });
});

describe('StartGate, when things go wrong', () => {
  it('gives a freed place to the next in line, never to a newcomer that arrives meanwhile', async () => {
    const gate = new StartGate(1);
    const order: string[] = [];
    const first = held();
    const a = gate.run('lab', async () => {
      order.push('first');
      await first.done;
    });
    const b = gate.run('background', async () => {
      order.push('waiting');
    });
    await tick();
    first.release();
    await a;
    // The first start is over and its place was handed to the waiter; a newcomer with a higher
    // priority arriving now must not take it.
    const c = gate.run('interactive', async () => {
      order.push('newcomer');
    });
    await Promise.all([b, c]);
    expect(order).toEqual(['first', 'waiting', 'newcomer']);
  });

  it('calls off a waiting start when its signal aborts, and the others go on', async () => {
    const gate = new StartGate(1);
    const h = held();
    const running = gate.run('lab', () => h.done);
    const stop = new AbortController();
    let ran = false;
    const called = gate.run('background', async () => {
      ran = true;
    }, stop.signal);
    const after = gate.run('lab', async () => 'next');
    await tick();
    stop.abort();
    await expect(called).rejects.toThrow(/called off while it waited/);
    expect(gate.queued).toBe(1);
    h.release();
    await expect(after).resolves.toBe('next');
    await running;
    expect(ran).toBe(false);
    await expect(gate.run('lab', async () => 1, stop.signal)).rejects.toThrow(/called off before it began/);
  });

  it('lets a start that hangs give its place up after a while, without cutting it short', async () => {
    const gate = new StartGate(1, 30);
    const stuck = held();
    let stuckDone = false;
    const hanging = gate.run('lab', async () => {
      await stuck.done;
      stuckDone = true;
    });
    await expect(gate.run('interactive', async () => 'console')).resolves.toBe('console');
    expect(stuckDone).toBe(false);
    stuck.release();
    await hanging;
    expect(stuckDone).toBe(true);
    // The place is not handed back twice: one start at a time still.
    let together = 0;
    let most = 0;
    await Promise.all(Array.from({ length: 4 }, () => gate.run('lab', async () => {
      most = Math.max(most, ++together);
      await tick();
      together--;
    })));
    expect(most).toBe(1);
  });
});
