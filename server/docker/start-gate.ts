// How many containers the engine is asked to start at once.
//
// Starting a container is the engine's most expensive call: with Debian's dockerd 20.10 every
// container that gets a network namespace of its own re-executes dockerd as a hook, and that
// costs most of a CPU-second on a small VM. Asked for twenty starts at once, the engine
// thrashes: measured on a 2-core machine, 20 networked containers took 17.5 s started all at
// once and 15.6 s two at a time. So starts go through this gate, a few at a time, and the ones
// waiting go in priority order: what a learner is waiting for (a console, a probe helper) first,
// then the containers of labs coming up, then the background work (capture sidecars), and last
// the refills of warm pools. Under load, the captures of labs that are ready wait while other
// labs' containers are queued, instead of taking the engine from them. A refill never takes the
// last free place of a gate of two or more: what a learner asks for next finds one waiting.
//
// A start that takes longer than SLOW_START_MS gives its place up (it goes on): a daemon stuck
// on one container must not hold every other start back. A waiter can be called off with an
// AbortSignal (its lab is being torn down).

export type StartPriority = 'interactive' | 'lab' | 'background' | 'warm';
const RANK: Record<StartPriority, number> = { interactive: 0, lab: 1, background: 2, warm: 3 };

interface Waiter {
  rank: number;
  seq: number;
  go: () => void;
}

export const SLOW_START_MS = 60_000;

export class StartCancelled extends Error {
  override name = 'StartCancelled';
}

export class StartGate {
  private running = 0;
  private seq = 0;
  private readonly waiting: Waiter[] = [];

  /** `atOnce` starts run together; 0 means no limit. */
  constructor(
    private places: number,
    private readonly slowMs = SLOW_START_MS,
  ) {
    if (!Number.isInteger(places) || places < 0) throw new Error(`container starts at once must be a whole number >= 0 (0 = no limit), found ${places}`);
  }

  /** Starts that run together (0: no limit). */
  get atOnce(): number {
    return this.places;
  }

  /**
   * Sized again, once the engine's CPUs are known: more places let waiters in now; fewer take
   * effect as running starts finish. A gate without a limit keeps none.
   */
  resize(atOnce: number): void {
    if (this.places === 0 || !Number.isInteger(atOnce) || atOnce < 1 || atOnce === this.places) return;
    this.places = atOnce;
    while (this.waiting.length > 0 && this.running < this.limitFor(this.waiting[0]!.rank)) {
      this.running++;
      this.waiting.shift()!.go();
    }
  }

  /** How many starts run now. */
  get busy(): number {
    return this.running;
  }

  /** Starts that had to wait for a place, and their waits summed (for benches and diagnostics). */
  waited = { starts: 0, ms: 0 };

  /** Starts that finished, and the time they took summed (what a start costs this engine). */
  took = { starts: 0, ms: 0 };

  /** How many starts wait for a place (for diagnostics and tests). */
  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(priority: StartPriority, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw new StartCancelled('the start was called off before it began');
    if (this.places === 0) return work();
    if (this.running >= this.limitFor(RANK[priority])) {
      const t0 = Date.now();
      await this.wait(RANK[priority], signal);
      this.waited.starts++;
      this.waited.ms += Date.now() - t0;
    } else this.running++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The place passes straight to the next in line, so a newcomer cannot take it meanwhile.
      if (next && this.running <= this.limitFor(next.rank)) next.go();
      else {
        this.running--;
        if (next) this.waiting.unshift(next);
      }
    };
    const slow = setTimeout(release, this.slowMs);
    slow.unref();
    const began = Date.now();
    try {
      const out = await work();
      this.took.starts++;
      this.took.ms += Date.now() - began;
      return out;
    } finally {
      clearTimeout(slow);
      release();
    }
  }

  /** How many may run together when the next to go has this rank: a refill leaves one place free. */
  private limitFor(rank: number): number {
    return rank === RANK.warm && this.places >= 2 ? this.places - 1 : this.places;
  }

  private wait(rank: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        rank,
        seq: this.seq++,
        go: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i < 0) return; // already given a place
        this.waiting.splice(i, 1);
        reject(new StartCancelled('the start was called off while it waited for its turn'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      this.waiting.sort((a, b) => a.rank - b.rank || a.seq - b.seq);
    });
  }
}
