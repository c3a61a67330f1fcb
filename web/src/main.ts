// The web app: the catalogue (#/) and a lab view per session (#/session/<id>), with banners for
// what is wrong on the server (engine down, images building) that clear by themselves. In
// workshop mode #/ is the join page, a learner's workshop page or the trainer's dashboard.
import type { LabSummary, SessionSummary, Topology } from '../../server/protocol/session.ts';
import { SESSION_ID } from '../../server/protocol/session-id.ts';
import { api, ApiError, learnerName } from './api.ts';
import { button, el } from './dom.ts';
import { labList } from './lab-list.ts';
import { labPage } from './lab/view.ts';
import { signInTrainer, takeTrainerToken, whoAmI } from './workshop/auth.ts';
import { joinPage } from './workshop/join.ts';
import { learnerPage } from './workshop/learner.ts';
import { trainerPage } from './workshop/trainer.ts';
import './style.css';

const root = document.getElementById('app')!;
const banners = el('div', { class: 'banners', role: 'status', 'aria-live': 'polite' });
const page = el('div', { class: 'page' });
root.replaceChildren(banners, page);

// ---- banners: the server, the engine, the images ----
type Health = { images: { state: string; detail: string }; docker: { reachable: boolean; detail: string } };
let healthy = true;
async function checkHealth(): Promise<void> {
  const items: HTMLElement[] = [];
  try {
    const h = await api<Health>('GET', '/api/health');
    if (!h.docker.reachable) items.push(el('p', { class: 'banner error', 'data-banner': 'docker' }, h.docker.detail));
    if (h.images.state === 'setting-up') items.push(el('p', { class: 'banner', 'data-banner': 'images' }, `Setting up Docker on this machine (${h.images.detail}); labs can start when this is done.`));
    if (h.images.state === 'building' || h.images.state === 'checking') items.push(el('p', { class: 'banner', 'data-banner': 'images' }, `Lab images are being built (${h.images.detail}); labs can start when this is done.`));
    if (h.images.state === 'failed') items.push(el('p', { class: 'banner error', 'data-banner': 'images' }, `Labs cannot start yet: ${h.images.detail}`));
  } catch (e) {
    items.push(el('p', { class: 'banner error', 'data-banner': 'server' }, (e as Error).message));
  }
  const wasHealthy = healthy;
  healthy = items.length === 0;
  banners.replaceChildren(...items);
  // Back from an outage: show the page again as it is now.
  if (healthy && !wasHealthy) void route();
}
void checkHealth();
setInterval(() => void checkHealth(), 3000);

function say(text: string, error = false): HTMLElement {
  const p = el('p', { class: error ? 'notice error' : 'notice', role: error ? 'alert' : 'status' }, text);
  return p;
}

// ---- the catalogue ----
async function cataloguePage(): Promise<void> {
  const status = el('div', { class: 'status-line', 'aria-live': 'polite' });
  const learner = el('input', { value: learnerName.get(), placeholder: 'your name', 'aria-label': 'Your name (for your scores)', maxlength: '64' });
  const sessionsBox = el('div', { class: 'sessions' });
  const listBox = el('div', {}, el('p', {}, 'Loading the labs…'));
  page.replaceChildren(
    el('header', { class: 'top' }, el('h1', {}, 'Flowlab'), el('p', {}, 'Container networking labs on this machine’s Docker: real faults, live flows, graded diagnoses.')),
    el('div', { class: 'filters' }, el('label', {}, 'Name ', learner)),
    status,
    listBox,
    el('h2', {}, 'Running sessions'),
    sessionsBox,
  );

  const [{ scenarios }, scores] = await Promise.all([
    api<{ scenarios: LabSummary[] }>('GET', '/api/scenarios'),
    learnerName.get() ? api<{ scores: { lab: string; best: number; passed: boolean }[] }>('GET', `/api/learners/${encodeURIComponent(learnerName.get())}/scores`).catch(() => ({ scores: [] })) : Promise.resolve({ scores: [] }),
  ]);
  const best = new Map(scores.scores.map((s) => [s.lab, s]));
  const list = labList({
    labs: scenarios,
    control: (l) =>
      button('Start', async () => {
        status.replaceChildren(say(`Starting ${l.title}… (the first lab after a rebuild takes a little longer)`));
        try {
          const name = learner.value.trim();
          const { session } = await api<{ session: Topology }>('POST', '/api/sessions', { scenario: l.id, ...(name ? { learner: name } : {}) });
          location.hash = `#/session/${session.session}`;
        } catch (e) {
          status.replaceChildren(say((e as Error).message, true));
        }
      }, { 'data-lab': l.id, 'aria-label': `Start ${l.title}` }),
    extra: (l) => {
      const b = best.get(l.id);
      return el('span', { 'data-best': l.id }, b ? ` · your best ${b.best}${b.passed ? ' ✓' : ''}` : '');
    },
  });
  listBox.replaceChildren(list.filters, list.root);
  learner.addEventListener('change', () => {
    learnerName.set(learner.value.trim());
    void route();
  });

  const { sessions } = await api<{ sessions: SessionSummary[] }>('GET', '/api/sessions');
  sessionsBox.replaceChildren(
    sessions.length === 0
      ? el('p', {}, 'No session is running.')
      : el(
          'ul',
          {},
          ...sessions.map((s) =>
            el(
              'li',
              { 'data-session-row': s.session },
              el('a', { href: `#/session/${s.session}` }, `${s.title}`),
              ` · ${s.session} · ${s.state} `,
              button('End', async () => {
                await api('DELETE', `/api/sessions/${s.session}`);
                void route();
              }, { 'data-session': s.session, 'aria-label': `End session ${s.session}` }),
            ),
          ),
        ),
  );
}

// ---- routing ----
let leave: (() => void) | undefined;
/** Counts route() calls: one that a newer call overtook while it waited drops what it built. */
let turns = 0;
async function route(): Promise<void> {
  leave?.();
  leave = undefined;
  const turn = ++turns;
  const go = (hash: string) => (location.hash = hash);
  const signedOut = (notice?: string) => {
    leave?.();
    leave = undefined;
    joinPage(page, () => void route(), notice);
  };
  try {
    const token = takeTrainerToken();
    if (token) await signInTrainer(token);
    const me = await whoAmI();
    if (turn !== turns) return;
    const m = new RegExp(`^#/session/(${SESSION_ID})$`).exec(location.hash);
    if (!me) signedOut();
    else if (m) {
      page.replaceChildren(say('Loading the lab…'));
      const done = await labPage(page, m[1]!, go, { workshop: me.role === 'learner' });
      if (turn === turns) leave = done;
      else done();
    } else if (me.role === 'learner') leave = learnerPage(page, go, () => signedOut('You are no longer signed in to the workshop; join again.'));
    else if (me.role === 'trainer') leave = trainerPage(page, () => signedOut('The trainer sign-in is gone; open the trainer link again.'));
    else await cataloguePage();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return signedOut();
    page.replaceChildren(say((e as Error).message, true), el('p', {}, el('a', { href: '#/' }, 'Back to the labs')));
  }
}
window.addEventListener('hashchange', () => void route());
void route();
