// A learner's workshop page: the trainer's latest message, the time left, and their labs — start
// one, wait in the queue if the server is full, open it when it is ready.
import type { LabSlot, LearnerView } from '../protocol.ts';
import { api, ApiError } from '../api.ts';
import { button, el, fill, keepFocus } from '../dom.ts';
import { clockTime, slotScore, slotState, timeLeft, workshopOpen } from './format.ts';
import { followWorkshop } from './live.ts';

export function learnerPage(root: HTMLElement, go: (hash: string) => void, signedOut: () => void): () => void {
  const title = el('h1', {}, 'Workshop');
  const who = el('span', { class: 'badge' });
  const clock = el('span', { class: 'timer', 'aria-label': 'Time left in the workshop' });
  const ended = el('div', { 'aria-live': 'assertive' });
  const message = el('section', { class: 'broadcast', 'aria-label': 'Message from the trainer', 'aria-live': 'polite', hidden: true });
  const status = el('div', { class: 'status-line', 'aria-live': 'polite' });
  const trouble = el('div');
  const rows = el('tbody');
  root.replaceChildren(
    el('header', { class: 'workshop-header' }, title, who, clock),
    ended,
    trouble,
    message,
    status,
    el('table', { class: 'workshop-labs' }, el('caption', { class: 'sr-only' }, 'Your labs'), el('thead', {}, el('tr', {}, ...['Lab', 'Level', 'State', 'Score', ''].map((h) => el('th', { scope: 'col' }, h)))), rows),
  );

  let view: LearnerView | null = null;
  let over = false;

  const showMessage = (m: { text: string; at: string } | null) => {
    message.hidden = m === null;
    if (m) fill(message, el('strong', {}, `Message from the trainer (${clockTime(m.at)})`), el('p', { 'data-message': '' }, m.text));
  };
  const showEnded = () => {
    over = true;
    fill(ended, el('p', { class: 'notice ended', role: 'status', 'data-ended': '' }, 'The workshop has ended. Thank you for taking part!'));
  };
  const tick = () => {
    const endsAt = view?.workshop.ends_at;
    if (!endsAt || over) return void (clock.textContent = '');
    const left = timeLeft(endsAt);
    clock.textContent = left ? `${left} left` : 'time is up';
  };
  const ticker = setInterval(tick, 1000);

  const start = (slot: LabSlot, labTitle: string) => async () => {
    status.replaceChildren(el('p', { class: 'notice', role: 'status' }, `Starting ${labTitle}…`));
    try {
      await api<{ slot: LabSlot }>('POST', `/api/workshop/labs/${encodeURIComponent(slot.lab)}/start`);
      status.replaceChildren();
      await live.refresh();
    } catch (e) {
      status.replaceChildren(el('p', { class: 'notice error', role: 'alert' }, (e as Error).message));
    }
  };

  const render = () => {
    if (!view) return;
    const w = view.workshop;
    title.textContent = w.name;
    who.textContent = `you are ${view.me.name}`;
    document.title = `${w.name} · Flowlab`;
    showMessage(w.message);
    if (w.ended_at !== null) showEnded();
    tick();
    const canStart = !over && workshopOpen(w);
    keepFocus(rows, () =>
      rows.replaceChildren(
        ...view!.labs.map((slot) => {
          const lab = w.labs.find((l) => l.id === slot.lab);
          const labTitle = lab?.title ?? slot.lab;
          const again = slot.state === 'expired' || slot.state === 'failed';
          const actions = [
            slot.state === 'ready' && slot.session ? button('Open', () => go(`#/session/${slot.session}`), { 'data-open': slot.lab, 'data-focus': `open:${slot.lab}`, 'aria-label': `Open ${labTitle}` }) : null,
            canStart && (slot.state === 'not-started' || again) ? button(again ? 'Start again' : 'Start', start(slot, labTitle), { 'data-start': slot.lab, 'data-focus': `start:${slot.lab}`, 'aria-label': `${again ? 'Start again' : 'Start'} ${labTitle}` }) : null,
          ];
          return el(
            'tr',
            { 'data-lab-row': slot.lab },
            el('td', {}, el('strong', {}, labTitle), lab ? el('br') : null, lab ? el('small', {}, lab.summary) : null),
            el('td', {}, lab?.level ?? ''),
            el('td', { 'data-state': slot.state, class: `state ${slot.state}` }, slotState(slot)),
            el('td', { 'data-score': slot.lab }, slotScore(slot)),
            el('td', { class: 'row-actions' }, ...actions),
          );
        }),
      ),
    );
  };

  const live = followWorkshop<LearnerView>('learner', {
    view(v) {
      if (v === null) {
        showEnded();
        rows.replaceChildren();
        return;
      }
      view = v;
      render();
    },
    message(m) {
      if (view) view.workshop.message = m;
      showMessage(m);
    },
    ended() {
      showEnded();
      render();
    },
    problem(e) {
      if (e instanceof ApiError && e.status === 401) return signedOut();
      const text = e ? `The workshop could not be updated: ${e.message}` : '';
      if (trouble.textContent !== text) fill(trouble, e && el('p', { class: 'notice error', role: 'alert' }, text));
    },
  });

  return () => {
    live.stop();
    clearInterval(ticker);
    document.title = 'Flowlab';
  };
}
