// The trainer's live dashboard: the join code and the addresses learners use (with a QR code and a
// projector view), capacity and the queue, every learner's state in every lab — the cause they
// chose, hints, attempts, time worked, last activity, idle and stuck flags — resets (one learner's,
// or a lab for everyone), what each typed in their docker console, the room's event feed,
// broadcasts, preparing the room ahead of it (warm labs), the export, and ending the workshop.
import type { LabSummary, LearnerAction, TrainerLearner, TrainerSlot, TrainerView } from '../protocol.ts';
import { api } from '../api.ts';
import { button, el, fill, keepFocus } from '../dom.ts';
import { minutesSeconds } from '../time.ts';
import { clockTime, slotScore, slotState, timeLeft } from './format.ts';
import { joinPanel } from './join-panel.ts';
import { enginesPanel } from './engines-panel.ts';
import { preparePanel } from './prepare-panel.ts';

const say = (node: HTMLElement, text: string, error = false) => fill(node, el('p', { class: error ? 'notice error' : 'notice', role: error ? 'alert' : 'status' }, text));
const ago = (at: string | null) => {
  if (!at) return '—';
  const min = Math.round((Date.now() - Date.parse(at)) / 60_000);
  return min < 1 ? 'just now' : `${min} min ago`;
};

export interface Dashboard {
  root: HTMLElement;
  update(v: TrainerView): void;
  tick(): void;
}

export function dashboard(ctx: { status: HTMLElement; refresh(): Promise<void>; newWorkshop(): void }): Dashboard {
  let view: TrainerView | undefined;
  const title = el('h2', { 'data-workshop-name': '' });
  const state = el('span', { class: 'workshop-state', 'data-workshop-state': '' });
  const info = el('p', { class: 'workshop-info' });
  const join = joinPanel();
  const engines = enginesPanel();
  const prepare = preparePanel({ say: (text, error) => say(ctx.status, text, error), refresh: () => ctx.refresh() });
  const clock = el('span', { class: 'timer', 'aria-label': 'Time left in the workshop' });
  const capacity = el('p', { class: 'capacity', 'data-capacity': '' });
  const spread = el('p', { class: 'spread', 'data-variants': '' });
  const lastMessage = el('p', { class: 'last-message' });
  const head = el('tr');
  const rows = el('tbody');
  const actionsPanel = el('section', { class: 'console-actions', 'aria-label': 'Console actions', 'aria-live': 'polite', hidden: true });
  const feed = el('ol', { class: 'feed', 'aria-label': 'What happens in the room', 'data-feed': '' });
  const tools = el('div', { class: 'toolbar' });

  const message = el('input', { name: 'message', required: true, maxlength: '500', 'aria-label': 'Message to all learners', placeholder: 'e.g. 10 minutes left — submit your diagnosis' });
  const send = el('button', { type: 'submit' }, 'Send to everyone');
  const broadcast = el('form', { class: 'broadcast-form', 'aria-label': 'Broadcast a message' }, message, send);
  broadcast.addEventListener('submit', (e) => {
    e.preventDefault();
    send.disabled = true;
    api('POST', '/api/workshop/broadcast', { message: message.value.trim() })
      .then(() => {
        message.value = '';
        say(ctx.status, 'Message sent to every learner.');
        return ctx.refresh();
      })
      .catch((err: Error) => say(ctx.status, `The message was not sent: ${err.message}`, true))
      .finally(() => (send.disabled = false));
  });

  const endWorkshop = async () => {
    if (!confirm('End the workshop for everyone? Every learner’s lab is removed and nobody can start one again.')) return;
    say(ctx.status, '');
    try {
      const { removed } = await api<{ removed: number }>('POST', '/api/workshop/end');
      say(ctx.status, `The workshop has ended; ${removed} lab${removed === 1 ? ' was' : 's were'} removed. Its results can still be exported.`);
      await ctx.refresh();
    } catch (e) {
      say(ctx.status, `The workshop was not ended: ${(e as Error).message}`, true);
    }
  };
  const exportLink = el('a', { href: '/api/workshop/export.csv', download: '', class: 'button-link', 'data-export': '' }, 'Export CSV');
  const endButton = button('End workshop', endWorkshop, { class: 'danger', 'data-end-workshop': '' });
  const newButton = button('New workshop', () => ctx.newWorkshop(), { 'data-new-workshop': '' });

  const showActions = async (learner: TrainerLearner) => {
    actionsPanel.hidden = false;
    fill(actionsPanel, el('h3', {}, `Console actions of ${learner.name}`), el('p', {}, 'Loading…'));
    try {
      const { actions } = await api<{ actions: LearnerAction[] }>('GET', `/api/workshop/learners/${encodeURIComponent(learner.id)}/actions`);
      const titleOf = (lab: string) => view?.workshop.labs.find((l) => l.id === lab)?.title ?? lab;
      const what = (a: LearnerAction) =>
        a.kind === 'command' ? (a.changed ? 'change' : 'read')
        : a.kind === 'change' ? 'sent'
        : a.kind === 'shell' ? 'shell'
        : 'looked';
      const typed = actions.filter((a) => a.kind === 'command').length;
      fill(
        actionsPanel,
        el('div', { class: 'toolbar' }, el('h3', {}, `Console actions of ${learner.name} (${typed} command${typed === 1 ? '' : 's'} typed)`), button('Close', () => void (actionsPanel.hidden = true))),
        el('p', { class: 'legend-line' }, el('span', { class: 'kind read' }, 'read'), ' looked without changing · ', el('span', { class: 'kind change' }, 'change'), ' changed the lab · ', el('span', { class: 'kind sent' }, 'sent'), ' what Flowlab sent for it · ', el('span', { class: 'kind shell' }, 'shell'), ' a terminal opened · ', el('span', { class: 'kind looked' }, 'looked'), ' the inspector'),
        actions.length === 0
          ? el('p', {}, 'Nothing run in a docker console or terminal yet.')
          : el(
              'table',
              { 'data-actions-for': learner.id },
              el('thead', {}, el('tr', {}, ...['Lab', 'Time', '', 'Command'].map((h) => el('th', { scope: 'col' }, h)))),
              el('tbody', {}, ...actions.map((a) => el('tr', { class: `action ${what(a)}`, 'data-kind': what(a) }, el('td', {}, titleOf(a.lab)), el('td', {}, clockTime(a.at, true)), el('td', {}, el('span', { class: `kind ${what(a)}` }, what(a))), el('td', {}, el('code', {}, a.command))))),
            ),
      );
    } catch (e) {
      fill(actionsPanel, el('h3', {}, `Console actions of ${learner.name}`), el('p', { class: 'notice error', role: 'alert' }, (e as Error).message));
    }
  };

  const reset = (learner: TrainerLearner, slot: TrainerSlot, labTitle: string) => async () => {
    if (!confirm(`Reset ${learner.name}’s lab “${labTitle}”? Their running lab is removed and a fresh one starts; its clock and counters start again.`)) return;
    try {
      await api('POST', `/api/workshop/learners/${encodeURIComponent(learner.id)}/labs/${encodeURIComponent(slot.lab)}/reset`);
      say(ctx.status, `${learner.name}’s lab “${labTitle}” was reset.`);
      await ctx.refresh();
    } catch (e) {
      say(ctx.status, `The lab was not reset: ${(e as Error).message}`, true);
    }
  };
  const resetForAll = (lab: LabSummary) => async () => {
    if (!confirm(`Reset “${lab.title}” for everyone on it now? Their labs are removed and fresh ones start (the same problem for each); who ended theirs is left alone.`)) return;
    try {
      const { reset: n } = await api<{ reset: number }>('POST', `/api/workshop/labs/${encodeURIComponent(lab.id)}/reset`);
      say(ctx.status, `“${lab.title}” was reset for ${n} learner${n === 1 ? '' : 's'}.`);
      await ctx.refresh();
    } catch (e) {
      say(ctx.status, `The lab was not reset: ${(e as Error).message}`, true);
    }
  };

  const cell = (learner: TrainerLearner, lab: LabSummary, open: boolean) => {
    const slot = learner.labs.find((s) => s.lab === lab.id);
    if (!slot) return el('td', { class: 'cell not-started' }, '—');
    const flags = [slot.trouble ? el('span', { class: 'flag trouble', 'data-flag': slot.trouble.kind, title: `${slot.trouble.reason}; ${slot.trouble.todo}` }, slot.trouble.kind === 'engine-lost' ? `engine ${slot.trouble.engine} lost` : 'broken') : null, slot.idle ? el('span', { class: 'flag idle', 'data-flag': 'idle', title: 'no activity for 5 minutes while the lab runs' }, 'idle') : null, slot.stuck ? el('span', { class: 'flag stuck', 'data-flag': 'stuck', title: 'two failed attempts, or longer than the lab takes, without passing' }, 'stuck') : null];
    return el(
      'td',
      { class: `cell ${slot.state}`, 'data-learner': learner.id, 'data-lab': lab.id, 'data-state': slot.state },
      el('span', { class: 'state' }, slotState(slot), ...flags),
      el('small', { class: 'figures', 'data-figures': '' }, `score ${slotScore(slot)} · hints ${slot.hints} · attempts ${slot.attempts} · worked ${slot.seconds === null ? '—' : minutesSeconds(slot.seconds)}`),
      slot.engine ? el('small', { class: 'figures', 'data-slot-engine': slot.engine }, `on engine ${slot.engine}`) : null,
      el('small', { class: 'figures', 'data-cause': slot.cause?.id ?? '' }, slot.cause ? `cause chosen: ${slot.cause.text}` : 'no diagnosis yet'),
      el('small', { class: 'figures' }, `last active ${ago(slot.last_activity)}${slot.variant ? ` · variant ${slot.variant} (seed ${slot.seed})` : ''}${slot.resets ? ` · reset ${slot.resets}×` : ''}`),
      open && slot.state !== 'not-started' ? button('Reset', reset(learner, slot, lab.title), { 'data-reset': `${learner.id}:${lab.id}`, 'data-focus': `reset:${learner.id}:${lab.id}`, 'aria-label': `Reset ${learner.name}’s ${lab.title}` }) : null,
    );
  };

  const tick = () => {
    engines.tick();
    prepare.tick();
    const w = view?.workshop;
    if (!w?.ends_at || w.state !== 'open') return void (clock.textContent = '');
    const left = timeLeft(w.ends_at);
    clock.textContent = left ? `${left} left` : 'time is up';
  };

  const update = (v: TrainerView) => {
    view = v;
    const w = v.workshop;
    const open = w.state === 'open';
    title.textContent = w.name;
    state.textContent = w.state === 'ending' ? 'ending: removing every learner’s lab…' : w.state === 'ended' ? 'ended' : '';
    state.dataset.workshopState = w.state;
    fill(info, `Started ${clockTime(w.started_at)}`, w.minutes ? ` · ${w.minutes} min limit` : '', w.allow_shared ? ' · labs that cannot be isolated allowed' : '');
    join.update(open ? (w.code ?? null) : null, v.join, !open);
    prepare.update(v);
    const c = v.capacity;
    capacity.textContent = `Labs running: ${c.running} of ${c.max_labs} · queued: ${c.queued} · a lab idle for ${c.idle_minutes} min is removed`;
    const spreads = Object.entries(v.variants).map(([lab, counts]) => `${w.labs.find((l) => l.id === lab)?.title ?? lab}: ${Object.entries(counts).map(([variant, n]) => `${variant} ×${n}`).join(', ') || 'none drawn yet'}`);
    fill(spread, spreads.length ? `Variants are spread over the learners, so neighbours get different problems — ${spreads.join('; ')}` : '');
    fill(lastMessage, w.message ? `Last message (${clockTime(w.message.at)}): ` : null, w.message ? el('q', {}, w.message.text) : null);
    broadcast.hidden = !open;
    fill(tools, exportLink, open ? endButton : w.state === 'ended' ? newButton : null);
    fill(feed, ...(v.events.length === 0 ? [el('li', { class: 'empty' }, 'Nothing to report yet.')] : v.events.map((e) => el('li', { class: `event ${e.kind}`, 'data-event-kind': e.kind }, el('time', { datetime: e.at }, clockTime(e.at, true)), ' ', e.text))));
    tick();

    fill(
      head,
      el('th', { scope: 'col' }, 'Learner'),
      ...w.labs.map((l) => el('th', { scope: 'col', 'data-lab-column': l.id }, l.title, open ? el('br') : null, open ? button('Reset for everyone', resetForAll(l), { class: 'small', 'data-reset-all': l.id, 'aria-label': `Reset ${l.title} for everyone` }) : null)),
    );
    const firstUrl = v.join.find((a) => !a.local)?.url ?? v.join[0]?.url ?? `${location.origin}/`;
    keepFocus(rows, () =>
      fill(
        rows,
        ...(v.learners.length === 0
          ? [el('tr', {}, el('td', { colspan: String(w.labs.length + 1) }, open ? `Nobody has joined yet: learners open ${firstUrl} and enter the join code.` : 'Nobody joined.'))]
          : v.learners.map((l) =>
              el(
                'tr',
                { 'data-learner-row': l.id },
                el(
                  'th',
                  { scope: 'row' },
                  el('span', { 'data-learner-name': '' }, l.name),
                  el('small', {}, ` joined ${clockTime(l.joined_at)}`),
                  el('br'),
                  button(`Console actions (${l.console_actions})`, () => showActions(l), { 'data-console-actions': l.id, 'data-focus': `actions:${l.id}`, 'aria-label': `Console actions of ${l.name} (${l.console_actions})` }),
                ),
                ...w.labs.map((lab) => cell(l, lab, open)),
              ),
            )),
      ),
    );
  };

  const root = el(
    'div',
    { class: 'dashboard' },
    el('div', { class: 'workshop-header' }, title, state, clock),
    info,
    join.root,
    capacity,
    prepare.root,
    spread,
    el('div', { class: 'table-scroll' }, el('table', { class: 'learners' }, el('caption', { class: 'sr-only' }, 'Learners and their labs'), el('thead', {}, head), rows)),
    actionsPanel,
    engines.root,
    el('div', { class: 'columns' }, el('section', { class: 'feed-box', 'aria-label': 'Event feed' }, el('h3', {}, 'What happens in the room'), feed), el('section', { 'aria-label': 'Broadcast' }, el('h3', {}, 'Broadcast'), lastMessage, broadcast)),
    tools,
  );
  return { root, update, tick };
}
