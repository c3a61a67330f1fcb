// The room, inside a learner's lab: the trainer's messages, the time left, and what happened to
// this lab — reset by the trainer (with a button to the fresh one once it is ready), restarted,
// removed for idling, or the workshop ending. A lab that is gone is never acted on silently: the
// page says so and its controls stop.
import type { EndedBy, LabSlot, LearnerView } from '../protocol.ts';
import { button, el, fill } from '../dom.ts';
import { clockTime, slotState, timeLeft } from '../workshop/format.ts';
import { followWorkshop } from '../workshop/live.ts';

const WHY: Record<EndedBy, string> = {
  reset: 'Your trainer reset this lab',
  restart: 'You restarted this lab',
  idle: 'This lab was removed after a long time without activity',
  workshop: 'The workshop has ended; this lab was removed',
  learner: 'You ended this lab',
};

export interface RoomBanner {
  root: HTMLElement;
  stop(): void;
}

export function roomBanner(session: string, lab: string, go: (hash: string) => void, gone: (why: string) => void): RoomBanner {
  const message = el('p', { class: 'room-message', 'data-room-message': '', hidden: true });
  const clock = el('span', { class: 'timer room-timer', 'aria-label': 'Time left in the workshop' });
  const notice = el('div', { 'aria-live': 'assertive', 'data-room-notice': '' });
  const root = el('section', { class: 'room-banner', 'aria-label': 'The workshop' }, message, clock, notice);
  let endsAt: string | null = null;
  let over = false;
  let told = '';

  const tick = () => {
    const left = endsAt && !over ? timeLeft(endsAt) : null;
    clock.textContent = over ? '' : endsAt ? (left ? `workshop: ${left} left` : 'workshop: time is up') : '';
  };
  const timer = setInterval(tick, 1000);

  const say = (key: string, text: string, action?: HTMLElement) => {
    if (told === key) return;
    told = key;
    fill(notice, el('p', { class: 'notice ended', role: 'alert', 'data-lab-gone': key }, text, ' ', action ?? null));
  };

  const show = (v: LearnerView) => {
    const w = v.workshop;
    endsAt = w.ends_at;
    over = w.state !== 'open';
    if (w.message) {
      message.hidden = false;
      fill(message, el('strong', {}, `Message from the trainer (${clockTime(w.message.at)}): `), el('span', { 'data-message': '' }, w.message.text));
    }
    tick();
    const slot: LabSlot | undefined = v.labs.find((s) => s.lab === lab);
    if (w.state === 'ending') {
      say('ending', 'The workshop is ending: this lab is being removed.');
      return gone('the workshop is ending');
    }
    if (w.state === 'ended') {
      say('ended', 'The workshop has ended; this lab was removed. Thank you for taking part!');
      return gone('the workshop has ended');
    }
    if (!slot || slot.session === session) return;
    // This session is no longer the learner's lab: say why, and offer the fresh one when there is one.
    const by = slot.previous?.session === session ? slot.previous.by : undefined;
    const why = by ? WHY[by] : 'This lab is no longer running';
    gone(why.toLowerCase());
    if (slot.state === 'ready' && slot.session) say(`ready:${slot.session}`, `${why}. A fresh one is ready.`, button('Open the new lab', () => go(`#/session/${slot.session}`), { 'data-open-new': slot.session }));
    else if (slot.state === 'queued' || slot.state === 'starting') say(`coming:${slot.state}:${slot.progress?.services_ready ?? 0}`, `${why}. A fresh one is coming up (${slotState(slot)}).`);
    else say(`gone:${slot.state}`, `${why}.`, button('Back to the workshop', () => go('#/'), { 'data-back': '' }));
  };

  const live = followWorkshop<LearnerView>('learner', {
    view: (v) => v && show(v),
    message: (m) => {
      message.hidden = false;
      fill(message, el('strong', {}, `Message from the trainer (${clockTime(m.at)}): `), el('span', { 'data-message': '' }, m.text));
    },
  });
  return {
    root,
    stop() {
      live.stop();
      clearInterval(timer);
    },
  };
}
