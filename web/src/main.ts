// The web app: the catalogue (#/) and a lab view per session (#/session/<id>), with banners for
// what is wrong on the server (engine down, images building) that clear by themselves. In
// workshop mode #/ is the join page, a learner's workshop page or the trainer's dashboard.
import type { LabSummary, SessionSummary, Topology } from '../../server/protocol/session.ts';
import { SESSION_ID } from '../../server/protocol/session-id.ts';
import { api, ApiError, learnerName } from './api.ts';
import { button, el } from './dom.ts';
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
  const search = el('input', { type: 'search', placeholder: 'search labs', 'aria-label': 'Search labs' });
  const network = el('select', { 'aria-label': 'Network kind' }, el('option', { value: '' }, 'any network'), ...['bridge', 'host', 'overlay'].map((n) => el('option', { value: n }, n)));
  const level = el('select', { 'aria-label': 'Level' }, el('option', { value: '' }, 'any level'), ...['beginner', 'intermediate', 'advanced'].map((n) => el('option', { value: n }, n)));
  const list = el('tbody');
  const sessionsBox = el('div', { class: 'sessions' });
  page.replaceChildren(
    el('header', { class: 'top' }, el('h1', {}, 'Flowlab'), el('p', {}, 'Container networking labs on this machine’s Docker: real faults, live flows, graded diagnoses.')),
    el('div', { class: 'filters' }, el('label', {}, 'Name ', learner), search, network, level),
    status,
    el('table', { class: 'catalogue' }, el('caption', { class: 'sr-only' }, 'Labs'), el('thead', {}, el('tr', {}, ...['Lab', 'Network', 'Level', 'Time', 'Tags', 'Your best', ''].map((h) => el('th', { scope: 'col' }, h)))), list),
    el('h2', {}, 'Running sessions'),
    sessionsBox,
  );

  const [{ scenarios }, scores] = await Promise.all([
    api<{ scenarios: LabSummary[] }>('GET', '/api/scenarios'),
    learnerName.get() ? api<{ scores: { lab: string; best: number; passed: boolean }[] }>('GET', `/api/learners/${encodeURIComponent(learnerName.get())}/scores`).catch(() => ({ scores: [] })) : Promise.resolve({ scores: [] }),
  ]);
  const best = new Map(scores.scores.map((s) => [s.lab, s]));

  const render = () => {
    const q = search.value.trim().toLowerCase();
    const shown = scenarios.filter((l) => (!network.value || l.network === network.value) && (!level.value || l.level === level.value) && (!q || [l.title, l.summary, l.id, ...l.tags].join(' ').toLowerCase().includes(q)));
    list.replaceChildren(
      ...shown.map((l) => {
        const b = best.get(l.id);
        const start = button('Start', async () => {
          status.replaceChildren(say(`Starting ${l.title}… (the first lab after a rebuild takes a little longer)`));
          try {
            const name = learner.value.trim();
            const { session } = await api<{ session: Topology }>('POST', '/api/sessions', { scenario: l.id, ...(name ? { learner: name } : {}) });
            location.hash = `#/session/${session.session}`;
          } catch (e) {
            status.replaceChildren(say((e as Error).message, true));
          }
        }, { 'data-lab': l.id, 'aria-label': `Start ${l.title}` });
        return el('tr', { 'data-lab-row': l.id }, el('td', {}, el('strong', {}, l.title), el('br'), el('small', {}, l.summary)), el('td', {}, l.network), el('td', {}, l.level), el('td', {}, `${l.minutes} min`), el('td', {}, l.tags.join(', ')), el('td', { 'data-best': l.id }, b ? `${b.best}${b.passed ? ' ✓' : ''}` : '—'), el('td', {}, start));
      }),
    );
    if (shown.length === 0) list.replaceChildren(el('tr', {}, el('td', { colspan: '7' }, 'No lab matches.')));
  };
  for (const c of [search, network, level]) c.addEventListener('input', render);
  learner.addEventListener('change', () => {
    learnerName.set(learner.value.trim());
    void route();
  });
  render();

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
      const done = await labPage(page, m[1]!, go);
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
