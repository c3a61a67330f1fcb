// What happens in the room, for the trainer: starts that failed or were slow, labs removed for
// idling, a queue forming, the engine slow or not answering, resets, passes. Kept in the registry
// (a restarted server shows the day so far), newest first.
import type { FeedEvent } from '../protocol/workshop.ts';
import type { WorkshopStore } from '../store/workshops.ts';

export const FEED_SHOWN = 50;
/** An engine ping slower than this is reported. */
export const ENGINE_SLOW_MS = 2000;

export class Feed {
  constructor(private readonly store: () => WorkshopStore) {}

  add(workshop: string, kind: FeedEvent['kind'], text: string, at: { learner?: string; lab?: string } = {}): void {
    this.store().addEvent(workshop, { kind, text, learner: at.learner ?? null, lab: at.lab ?? null });
  }

  list(workshop: string, limit = FEED_SHOWN): FeedEvent[] {
    return this.store()
      .events(workshop, limit)
      .map((e) => ({ at: new Date(e.at).toISOString(), kind: e.kind as FeedEvent['kind'], text: e.text, learner: e.learner, lab: e.lab }));
  }
}

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
