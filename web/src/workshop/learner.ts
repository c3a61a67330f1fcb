// A learner's workshop page: the trainer's latest message, the time left, and their labs — start
// one, see their place in the queue and the lab coming up (networks, services, ready), and be
// taken into it when it is ready.
import type { LabSlot, LearnerView } from '../protocol.ts';
import { api, ApiError } from '../api.ts';
import { button, el, fill, keepFocus } from '../dom.ts';
import { clockTime, progressShare, slotScore, slotState, timeLeft, workshopOpen } from './format.ts';
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
  /** The lab the learner just started: they are taken into it once it is ready. */
  let awaiting: string | undefined;

  const showMessage = (m: { text: string; at: string } | null) => {
    message.hidden = m === null;
    if (m) fill(message, el('strong', {}, `Message from the trainer (${clockTime(m.at)})`), el('p', { 'data-message': '' }, m.text));
  };
  const showEnded = (ending = false) => {
    over = true;
    awaiting = undefined;
    fill(ended, el('p', { class: 'notice ended', role: 'status', 'data-ended': ending ? 'ending' : '' }, ending ? 'The workshop is ending: your labs are being removed.' : 'The workshop has ended. Thank you for taking part!'));
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
      awaiting = slot.lab;
      await api<{ slot: LabSlot }>('POST', `/api/workshop/labs/${encodeURIComponent(slot.lab)}/start`);
      status.replaceChildren();
      await live.refresh();
    } catch (e) {
      awaiting = undefined;
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
    if (w.state !== 'open') showEnded(w.state === 'ending');
    tick();
    const ready = awaiting ? view.labs.find((s) => s.lab === awaiting && s.state === 'ready' && s.session) : undefined;
    if (ready) {
      awaiting = undefined;
      return go(`#/session/${ready.session}`);
    }
    if (awaiting && view.labs.some((s) => s.lab === awaiting && s.state === 'failed')) awaiting = undefined;
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
            el(
              'td',
              { 'data-state': slot.state, class: `state ${slot.state}` },
              el('span', { 'data-slot-text': slot.lab }, slotState(slot)),
              slot.trouble ? el('small', { class: 'trouble', 'data-trouble': slot.trouble.kind }, ` ${slot.trouble.kind === 'engine-lost' ? `engine ${slot.trouble.engine} does not answer` : 'broken'}: ${slot.trouble.todo}`) : null,
              slot.state === 'queued' || slot.state === 'starting' ? el('progress', { max: '100', value: String(Math.round(progressShare(slot.progress) * 100)), 'aria-label': `${labTitle} coming up`, 'data-progress': slot.lab }) : null,
              slot.state === 'starting' || slot.state === 'queued' ? el('small', { class: 'hint' }, awaiting === slot.lab ? ' you will be taken into the lab when it is ready' : '') : null,
            ),
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
