// How workshop mode says things: a lab slot's state, durations, the time left.
import type { LabSlot, StartProgress, WorkshopInfo } from '../protocol.ts';

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
      return slot.position === null ? 'queued' : `queued: ${slot.position === 1 ? 'next in the queue' : `position ${slot.position} in the queue`} (the server runs as many labs as it can take)`;
    case 'starting':
      return slot.progress ? `starting: ${progressText(slot.progress)}` : 'starting…';
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

/** How far a starting lab has come, in words. */
export function progressText(p: StartProgress): string {
  switch (p.stage) {
    case 'preparing':
      return 'preparing';
    case 'networks':
      return `creating ${p.networks} network${p.networks === 1 ? '' : 's'}`;
    case 'services':
      return `${p.networks} network${p.networks === 1 ? '' : 's'} made · services ${p.services_ready} of ${p.services_total} ready`;
    case 'faults':
      return 'services ready · setting up the problem';
    case 'ready':
      return 'ready';
  }
}

/** The share of a start that is done (0-1), for a progress bar. */
export function progressShare(p: StartProgress | null): number {
  if (!p) return 0;
  const services = p.services_total ? p.services_ready / p.services_total : 0;
  return p.stage === 'preparing' ? 0.05 : p.stage === 'networks' ? 0.15 : p.stage === 'services' ? 0.2 + 0.7 * services : p.stage === 'faults' ? 0.95 : 1;
}

/** Learners may start labs until the trainer ends the workshop or its time limit is reached. */
export function workshopOpen(w: WorkshopInfo, now = Date.now()): boolean {
  return w.state === 'open' && (w.ends_at === null || Date.parse(w.ends_at) > now);
}

export function clockTime(iso: string, seconds = false): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}), hour12: false });
}
