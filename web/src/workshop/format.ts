// How workshop mode says things: a lab slot's state, durations, the time left.
import type { LabSlot, WorkshopInfo } from '../protocol.ts';

import { minutesSeconds } from '../time.ts';

/** What is left until `endsAt`, as h:mm:ss or m:ss; null once it is reached. */
export function timeLeft(endsAt: string, now = Date.now()): string | null {
  const s = Math.floor((Date.parse(endsAt) - now) / 1000);
  if (s <= 0) return null;
  const h = Math.floor(s / 3600);
  return h > 0 ? `${h}:${minutesSeconds(s % 3600).padStart(5, '0')}` : minutesSeconds(s);
}

export function slotState(slot: LabSlot): string {
  switch (slot.state) {
    case 'not-started':
      return 'not started';
    case 'queued':
      return slot.position === null ? 'queued' : `queued: position ${slot.position} in the queue`;
    case 'starting':
      return 'starting…';
    case 'ready':
      return 'ready';
    case 'failed':
      return slot.error ? `failed: ${slot.error}` : 'failed';
    case 'expired':
      return 'expired: idle for too long, the lab was removed';
    case 'ended':
      return 'ended';
  }
}

export function slotScore(slot: LabSlot): string {
  return slot.score === null ? '—' : `${slot.score}${slot.passed ? ' ✓ passed' : ''}`;
}

/** Learners may start labs until the trainer ends the workshop or its time limit is reached. */
export function workshopOpen(w: WorkshopInfo, now = Date.now()): boolean {
  return w.ended_at === null && (w.ends_at === null || Date.parse(w.ends_at) > now);
}

export function clockTime(iso: string, seconds = false): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}), hour12: false });
}
