// Each engine of the pool as the room feels it, from a ping: `ok`, `slow` or `down`, and each
// change said once (a feed says "slow" once, not every time it is looked at). One engine's
// trouble is its own: the others are checked all the same.
import type { EngineRegistry } from './registry.ts';

/** An engine ping slower than this is reported. */
export const ENGINE_SLOW_MS = 2000;

export type EngineHealth = 'ok' | 'slow' | 'down';

/**
 * The engine as the room feels it, from a ping: `ok`, `slow` (over ENGINE_SLOW_MS) or `down`.
 * `report` hears each change of state, so a feed says "slow" once, not every time it is looked at.
 */
export class EngineWatch {
  state: EngineHealth = 'ok';

  constructor(
    private readonly ping: () => Promise<void>,
    private readonly report: (state: EngineHealth, text: string) => void,
    private readonly slowMs = ENGINE_SLOW_MS,
    private readonly clock: () => number = Date.now,
  ) {}

  async check(): Promise<EngineHealth> {
    const t0 = this.clock();
    let next: EngineHealth;
    let why: string;
    try {
      await this.ping();
      const ms = this.clock() - t0;
      next = ms > this.slowMs ? 'slow' : 'ok';
      why = `${ms} ms`;
    } catch (e) {
      next = 'down';
      why = (e as Error).message;
    }
    if (next !== this.state) {
      const was = this.state;
      this.state = next;
      this.report(
        next,
        next === 'down' ? `the Docker engine does not answer (${why}): labs cannot start or change`
        : next === 'slow' ? `the Docker engine answers slowly (a ping took ${why}): starts and probes will be slow`
        : `the Docker engine answers again${was === 'down' ? '' : ' quickly'} (${why})`,
      );
    }
    return next;
  }
}

/** Every engine of the pool, each with its own watch; engines added later are watched from their first check. */
export class PoolWatch {
  private readonly watches = new Map<string, EngineWatch>();

  constructor(
    private readonly registry: EngineRegistry,
    private readonly report: (engine: string, state: EngineHealth, text: string) => void,
    /** A ping slower than this is `slow` (for engines watched from their next first check). */
    public slowMs = ENGINE_SLOW_MS,
    private readonly pingLocal?: () => Promise<void>,
  ) {}

  async check(): Promise<void> {
    const names = this.registry.names();
    for (const gone of [...this.watches.keys()].filter((n) => !names.includes(n))) this.watches.delete(gone);
    await Promise.all(
      names.map((name) => {
        let w = this.watches.get(name);
        if (!w) {
          const ping = name === 'local' && this.pingLocal ? this.pingLocal : () => this.registry.ping(name);
          w = new EngineWatch(ping, (state, text) => this.report(name, state, text), this.slowMs);
          this.watches.set(name, w);
        }
        return w.check();
      }),
    );
  }

  state(name: string): EngineHealth | undefined {
    return this.watches.get(name)?.state;
  }
}
