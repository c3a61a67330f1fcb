// The trainer's dashboard: create a workshop from the catalogue, then watch it live — the join
// code, capacity, every learner's state in every lab, their console commands — broadcast to
// everyone, reset a learner's lab, export the results, end it.
import type { CreateWorkshop, LabSlot, LabSummary, LearnerAction, TrainerLearner, TrainerView, WorkshopInfo } from '../protocol.ts';
import { api, ApiError } from '../api.ts';
import { button, el, fill, keepFocus } from '../dom.ts';
import { minutesSeconds } from '../time.ts';
import { clockTime, slotScore, slotState, timeLeft } from './format.ts';
import { followWorkshop } from './live.ts';

const isShared = (l: LabSummary) => l.isolation.default_bridge || l.isolation.host_network;
const say = (node: HTMLElement, text: string, error = false) => fill(node, el('p', { class: error ? 'notice error' : 'notice', role: error ? 'alert' : 'status' }, text));

export function trainerPage(root: HTMLElement, signedOut: () => void): () => void {
  const status = el('div', { class: 'status-line', 'aria-live': 'polite' });
  const trouble = el('div');
  const body = el('div', { class: 'trainer' });
  root.replaceChildren(el('header', { class: 'top' }, el('h1', {}, 'Flowlab workshop'), el('p', {}, 'Trainer dashboard')), trouble, status, body);

  /** undefined until the first answer; null when there is no workshop. */
  let view: TrainerView | null | undefined;
  let creating = false;
  /** The workshop that ended while this page was open: its results can still be exported. */
  let ended: string | undefined;
  let shown: 'create' | 'dashboard' | undefined;
  const dash = dashboard({
    status,
    refresh: () => live.refresh(),
    newWorkshop: () => {
      creating = true;
      show();
    },
  });

  const show = () => {
    if (view === undefined) return;
    if (view === null || creating) {
      if (shown === 'create') return;
      shown = 'create';
      body.replaceChildren(el('p', {}, 'Loading the labs…'));
      void createForm({
        ended,
        created: async (w) => {
          ended = undefined;
          say(status, `Workshop “${w.name}” created: learners join with the code ${w.code ?? ''}.`);
          await live.refresh();
          creating = false;
          show();
        },
        cancel: view === null ? undefined : () => {
          creating = false;
          show();
        },
      }).then(
        (form) => shown === 'create' && body.replaceChildren(form),
        (e: Error) => say(body, `The labs could not be loaded: ${e.message}`, true),
      );
      return;
    }
    if (shown !== 'dashboard') {
      shown = 'dashboard';
      body.replaceChildren(dash.root);
    }
    dash.update(view);
  };

  const live = followWorkshop<TrainerView>('trainer', {
    view(v) {
      if (v === null && view) ended = view.workshop.name;
      view = v;
      show();
    },
    ended() {
      // Ended from here the status already says how many labs went; from elsewhere, say it here.
      if (!status.textContent?.includes('has ended')) say(status, 'The workshop has ended.');
    },
    problem(e) {
      if (e instanceof ApiError && e.status === 401) return signedOut();
      const text = e ? `The workshop could not be updated: ${e.message}` : '';
      if (trouble.textContent !== text) fill(trouble, e && el('p', { class: 'notice error', role: 'alert' }, text));
    },
  });
  const ticker = setInterval(() => dash.tick(), 1000);

  return () => {
    live.stop();
    clearInterval(ticker);
  };
}

// ---- creating a workshop ----
async function createForm(on: { ended?: string | undefined; created(w: WorkshopInfo): Promise<void>; cancel?: () => void }): Promise<HTMLElement> {
  const { scenarios } = await api<{ scenarios: LabSummary[] }>('GET', '/api/scenarios');
  const name = el('input', { name: 'name', required: true, maxlength: '80', placeholder: 'e.g. Docker networking, Tuesday' });
  const allowShared = el('input', { type: 'checkbox', name: 'allow_shared', 'data-allow-shared': '' });
  const code = el('input', { name: 'code', maxlength: '12', pattern: '[A-Za-z0-9]{4,12}', autocomplete: 'off', placeholder: 'blank: one is made up', title: '4-12 letters and digits' });
  const minutes = el('input', { name: 'minutes', type: 'number', min: '5', max: '1440', step: '1', placeholder: 'no limit' });
  const status = el('div', { class: 'status-line' });
  const choices = scenarios.map((l) => {
    const shared = isShared(l);
    const box = el('input', { type: 'checkbox', name: 'lab', value: l.id, 'data-lab-choice': l.id, disabled: shared });
    const why = l.isolation.host_network ? 'it uses the host’s network' : 'it uses Docker’s default bridge';
    const label = el(
      'label',
      { class: shared ? 'lab-choice shared' : 'lab-choice' },
      box,
      ' ',
      el('strong', {}, l.title),
      ' ',
      el('small', {}, `${l.id} · ${l.network} · ${l.level} · ${l.minutes} min`),
      shared ? el('small', { class: 'shared-note', 'data-shared': l.id }, ` — shared: cannot be isolated between learners (${why})`) : null,
    );
    return { lab: l, box, label, shared };
  });
  allowShared.addEventListener('change', () => {
    for (const c of choices) {
      if (!c.shared) continue;
      c.box.disabled = !allowShared.checked;
      if (!allowShared.checked) c.box.checked = false;
    }
  });
  const submit = el('button', { type: 'submit' }, 'Create workshop');
  const form = el(
    'form',
    { class: 'create-workshop', 'aria-label': 'Create a workshop' },
    on.ended ? el('p', { class: 'notice ended', 'data-ended': '' }, `“${on.ended}” has ended. `, el('a', { href: '/api/workshop/export.csv', download: 'workshop-results.csv' }, 'Export its results (CSV)')) : null,
    el('h2', {}, 'Create a workshop'),
    el('label', {}, 'Name', name),
    el('fieldset', { class: 'lab-choices' }, el('legend', {}, 'Labs'), ...choices.map((c) => c.label)),
    el('label', { class: 'inline' }, allowShared, ' Allow labs that cannot be isolated between learners (they share Docker’s default bridge or the host’s network, so learners can see and break each other’s labs)'),
    el('label', {}, 'Join code (optional)', code),
    el('label', {}, 'Time limit in minutes (optional)', minutes),
    el('div', { class: 'toolbar' }, submit, on.cancel ? button('Cancel', on.cancel) : null),
    status,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const labs = choices.filter((c) => c.box.checked).map((c) => c.lab.id);
    if (labs.length === 0) return say(status, 'Choose at least one lab.', true);
    const body: CreateWorkshop = {
      name: name.value.trim(),
      labs,
      ...(code.value.trim() ? { code: code.value.trim() } : {}),
      ...(minutes.value ? { minutes: Number(minutes.value) } : {}),
      allow_shared: allowShared.checked,
    };
    submit.disabled = true;
    say(status, 'Creating the workshop…');
    api<{ workshop: WorkshopInfo }>('POST', '/api/workshops', body)
      .then((r) => on.created(r.workshop))
      .catch((err: Error) => say(status, err.message, true))
      .finally(() => (submit.disabled = false));
  });
  return form;
}

// ---- the live dashboard ----
function dashboard(ctx: { status: HTMLElement; refresh(): Promise<void>; newWorkshop(): void }) {
  let view: TrainerView | undefined;
  const title = el('h2', { 'data-workshop-name': '' });
  const info = el('p', { class: 'workshop-info' });
  const joinBox = el('div', { class: 'join-box' });
  const clock = el('span', { class: 'timer', 'aria-label': 'Time left in the workshop' });
  const capacity = el('p', { class: 'capacity', 'data-capacity': '' });
  const lastMessage = el('p', { class: 'last-message' });
  const head = el('tr');
  const rows = el('tbody');
  const actionsPanel = el('section', { class: 'console-actions', 'aria-label': 'Console actions', 'aria-live': 'polite', hidden: true });
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
    say(ctx.status, 'Ending the workshop: removing every learner’s lab (a few seconds per lab)…');
    try {
      const { removed } = await api<{ removed: number }>('POST', '/api/workshop/end');
      say(ctx.status, `The workshop has ended; ${removed} lab${removed === 1 ? ' was' : 's were'} removed.`);
      await ctx.refresh();
    } catch (e) {
      say(ctx.status, `The workshop was not ended: ${(e as Error).message}`, true);
    }
  };
  const exportLink = el('a', { href: '/api/workshop/export.csv', download: 'workshop-results.csv', class: 'button-link' }, 'Export CSV');
  const endButton = button('End workshop', endWorkshop, { class: 'danger', 'data-end-workshop': '' });
  const newButton = button('New workshop', () => ctx.newWorkshop(), { 'data-new-workshop': '' });

  const showActions = async (learner: TrainerLearner) => {
    actionsPanel.hidden = false;
    fill(actionsPanel, el('h3', {}, `Console actions of ${learner.name}`), el('p', {}, 'Loading…'));
    try {
      const { actions } = await api<{ actions: LearnerAction[] }>('GET', `/api/workshop/learners/${encodeURIComponent(learner.id)}/actions`);
      const titleOf = (lab: string) => view?.workshop.labs.find((l) => l.id === lab)?.title ?? lab;
      fill(
        actionsPanel,
        el('div', { class: 'toolbar' }, el('h3', {}, `Console actions of ${learner.name} (${actions.length})`), button('Close', () => void (actionsPanel.hidden = true))),
        actions.length === 0
          ? el('p', {}, 'No command run in a docker console yet.')
          : el(
              'table',
              { 'data-actions-for': learner.id },
              el('thead', {}, el('tr', {}, ...['Lab', 'Time', 'Command'].map((h) => el('th', { scope: 'col' }, h)))),
              el('tbody', {}, ...actions.map((a) => el('tr', {}, el('td', {}, titleOf(a.lab)), el('td', {}, clockTime(a.at, true)), el('td', {}, el('code', {}, a.command))))),
            ),
      );
    } catch (e) {
      fill(actionsPanel, el('h3', {}, `Console actions of ${learner.name}`), el('p', { class: 'notice error', role: 'alert' }, (e as Error).message));
    }
  };

  const reset = (learner: TrainerLearner, slot: LabSlot, labTitle: string) => async () => {
    if (!confirm(`Reset ${learner.name}’s lab “${labTitle}”? Their running lab is removed.`)) return;
    try {
      await api('POST', `/api/workshop/learners/${encodeURIComponent(learner.id)}/labs/${encodeURIComponent(slot.lab)}/reset`);
      say(ctx.status, `${learner.name}’s lab “${labTitle}” was reset.`);
      await ctx.refresh();
    } catch (e) {
      say(ctx.status, `The lab was not reset: ${(e as Error).message}`, true);
    }
  };

  const cell = (learner: TrainerLearner, lab: LabSummary, ended: boolean) => {
    const slot: LabSlot = learner.labs.find((s) => s.lab === lab.id) ?? { lab: lab.id, state: 'not-started', session: null, position: null, score: null, passed: false, hints: 0, attempts: 0, seconds: null, error: null };
    return el(
      'td',
      { class: `cell ${slot.state}`, 'data-learner': learner.id, 'data-lab': lab.id, 'data-state': slot.state },
      el('span', { class: 'state' }, slotState(slot)),
      el(
        'small',
        { class: 'figures' },
        `score ${slotScore(slot)} · hints ${slot.hints} · attempts ${slot.attempts} · time ${slot.seconds === null ? '—' : minutesSeconds(slot.seconds)}`,
      ),
      slot.session && !ended ? button('Reset', reset(learner, slot, lab.title), { 'data-reset': `${learner.id}:${lab.id}`, 'data-focus': `reset:${learner.id}:${lab.id}`, 'aria-label': `Reset ${learner.name}’s ${lab.title}` }) : null,
    );
  };

  const tick = () => {
    const w = view?.workshop;
    if (!w?.ends_at || w.ended_at) return void (clock.textContent = '');
    const left = timeLeft(w.ends_at);
    clock.textContent = left ? `${left} left` : 'time is up';
  };

  const update = (v: TrainerView) => {
    view = v;
    const w = v.workshop;
    const ended = w.ended_at !== null;
    title.textContent = w.name;
    fill(
      info,
      `Started ${clockTime(w.started_at)}`,
      w.minutes ? ` · ${w.minutes} min limit` : '',
      w.allow_shared ? ' · labs that cannot be isolated allowed' : '',
      ended ? el('strong', { 'data-ended': '' }, ` · ended ${clockTime(w.ended_at!)}`) : null,
    );
    const joinUrl = `${location.origin}/`;
    fill(joinBox, ended ? null : el('span', {}, 'Join code '), ended ? null : el('strong', { class: 'join-code', 'data-join-code': w.code ?? '' }, w.code ?? '—'), ended ? null : el('span', {}, ' at '), ended ? null : el('a', { href: joinUrl, 'data-join-url': '' }, joinUrl));
    const c = v.capacity;
    capacity.textContent = `Labs running: ${c.running} of ${c.max_labs} · queued: ${c.queued} · a lab idle for ${c.idle_minutes} min is removed`;
    fill(lastMessage, w.message ? `Last message (${clockTime(w.message.at)}): ` : null, w.message ? el('q', {}, w.message.text) : null);
    broadcast.hidden = ended;
    fill(tools, exportLink, ended ? newButton : endButton);
    tick();

    fill(head, el('th', { scope: 'col' }, 'Learner'), ...w.labs.map((l) => el('th', { scope: 'col', 'data-lab-column': l.id }, l.title)));
    keepFocus(rows, () =>
      fill(
        rows,
        ...(v.learners.length === 0
          ? [el('tr', {}, el('td', { colspan: String(w.labs.length + 1) }, ended ? 'Nobody joined.' : `Nobody has joined yet: learners open ${joinUrl} and enter the join code.`))]
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
                ...w.labs.map((lab) => cell(l, lab, ended)),
              ),
            )),
      ),
    );
  };

  const root = el(
    'div',
    { class: 'dashboard' },
    el('div', { class: 'workshop-header' }, title, clock),
    info,
    joinBox,
    capacity,
    el('table', { class: 'learners' }, el('caption', { class: 'sr-only' }, 'Learners and their labs'), el('thead', {}, head), rows),
    actionsPanel,
    el('h3', {}, 'Broadcast'),
    lastMessage,
    broadcast,
    tools,
  );
  return { root, update, tick };
}
