// How many containers the engine is asked to start at once.
//
// Starting a container is the engine's most expensive call: with Debian's dockerd 20.10 every
// container that gets a network namespace of its own re-executes dockerd as a hook, and that
// costs most of a CPU-second on a small VM. Asked for twenty starts at once, the engine
// thrashes: measured on a 2-core machine, 20 networked containers took 17.5 s started all at
// once and 15.6 s two at a time. So starts go through this gate, a few at a time, and the ones
// waiting go in priority order: what a learner is waiting for (a console, a probe helper) first,
// then the containers of labs coming up, then the background work (capture sidecars), so under
// load a lab is ready before the neighbours' captures start, not after.

export type StartPriority = 'interactive' | 'lab' | 'background';
const RANK: Record<StartPriority, number> = { interactive: 0, lab: 1, background: 2 };

interface Waiter {
  rank: number;
  seq: number;
  go: () => void;
}

export class StartGate {
  private running = 0;
  private seq = 0;
  private readonly waiting: Waiter[] = [];

  /** `atOnce` starts run together; 0 means no limit. */
  constructor(readonly atOnce: number) {
    if (!Number.isInteger(atOnce) || atOnce < 0) throw new Error(`container starts at once must be a whole number >= 0 (0 = no limit), found ${atOnce}`);
  }

  /** How many starts wait for a place, by priority (for diagnostics and tests). */
  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(priority: StartPriority, work: () => Promise<T>): Promise<T> {
    if (this.atOnce === 0) return work();
    if (this.running >= this.atOnce) {
      await new Promise<void>((go) => {
        this.waiting.push({ rank: RANK[priority], seq: this.seq++, go });
        this.waiting.sort((a, b) => a.rank - b.rank || a.seq - b.seq);
      });
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      // The place passes straight to the next in line, so a newcomer cannot take it meanwhile.
      if (next) next.go();
      else this.running--;
    }
  }
}
