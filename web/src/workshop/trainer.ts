// The trainer's page: create a workshop from the catalogue (labs grouped by topic, filtered),
// then its live dashboard (dashboard.ts); once it has ended, its results stay exportable.
import type { CreateWorkshop, LabSummary, TrainerView, WorkshopInfo } from '../protocol.ts';
import { api, ApiError } from '../api.ts';
import { button, el, fill } from '../dom.ts';
import { labList } from '../lab-list.ts';
import { dashboard } from './dashboard.ts';
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
  const boxes = new Map<string, HTMLInputElement>();
  const why = (l: LabSummary) => (l.isolation.host_network ? 'it uses the host’s network' : 'it uses Docker’s default bridge');
  const picker = labList({
    labs: scenarios,
    control: (l) => {
      const shared = isShared(l);
      const box = boxes.get(l.id) ?? el('input', { type: 'checkbox', name: 'lab', value: l.id, 'data-lab-choice': l.id, disabled: shared && !allowShared.checked, 'aria-label': `Include ${l.title}` });
      boxes.set(l.id, box);
      return el('label', { class: shared ? 'lab-choice shared' : 'lab-choice' }, box, ' include', shared ? el('small', { class: 'shared-note', 'data-shared': l.id }, ` — shared: cannot be isolated between learners (${why(l)})`) : null);
    },
  });
  const chosen = el('span', { class: 'chosen', 'aria-live': 'polite' });
  const countChosen = () => (chosen.textContent = `${[...boxes.values()].filter((b) => b.checked).length} chosen`);
  const all = button('Include every lab shown', () => {
    for (const l of picker.shown()) {
      const b = boxes.get(l.id)!;
      if (!b.disabled) b.checked = true;
    }
    countChosen();
  });
  picker.root.addEventListener('change', countChosen);
  countChosen();
  const choices = scenarios.map((l) => ({ lab: l, shared: isShared(l), box: () => boxes.get(l.id)! }));
  allowShared.addEventListener('change', () => {
    for (const c of choices) {
      if (!c.shared) continue;
      c.box().disabled = !allowShared.checked;
      if (!allowShared.checked) c.box().checked = false;
    }
    countChosen();
  });
  const submit = el('button', { type: 'submit' }, 'Create workshop');
  const form = el(
    'form',
    { class: 'create-workshop', 'aria-label': 'Create a workshop' },
    on.ended ? el('p', { class: 'notice ended', 'data-ended': '' }, `“${on.ended}” has ended. `, el('a', { href: '/api/workshop/export.csv', download: '', 'data-export': '' }, 'Export its results (CSV)')) : null,
    el('h2', {}, 'Create a workshop'),
    el('label', {}, 'Name', name),
    el('fieldset', { class: 'lab-choices' }, el('legend', {}, 'Labs'), picker.filters, el('div', { class: 'toolbar' }, all, chosen), picker.root),
    el('label', { class: 'inline' }, allowShared, ' Allow labs that cannot be isolated between learners (they share Docker’s default bridge or the host’s network, so learners can see and break each other’s labs)'),
    el('label', {}, 'Join code (optional)', code),
    el('label', {}, 'Time limit in minutes (optional)', minutes),
    el('div', { class: 'toolbar' }, submit, on.cancel ? button('Cancel', on.cancel) : null),
    status,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const labs = choices.filter((c) => c.box().checked).map((c) => c.lab.id);
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
