// What happens in the room, for the trainer: starts that failed or were slow, labs removed for
// idling, a queue forming, the engine slow or not answering, resets, passes. Kept in the registry
// (a restarted server shows the day so far), newest first. The engines' health comes from
// server/engines/watch.ts.
import type { FeedEvent } from '../protocol/workshop.ts';
import type { WorkshopStore } from '../store/workshops.ts';

export const FEED_SHOWN = 50;

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
