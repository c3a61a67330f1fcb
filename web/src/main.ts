// The first web page: the lab catalogue and the running sessions. The full lab view (topology,
// flows, terminals, diagnosis) grows from here.
import type { LabSummary, SessionSummary } from '../../server/protocol/session.ts';
import './style.css';

type Reply<T> = ({ ok: true } & T) | { ok: false; error: string };

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const data = (await res.json()) as Reply<T>;
  if (!data.ok) throw new Error(data.error);
  return data;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

const root = document.getElementById('app')!;
const status = el('p', { class: 'status', role: 'status' });
const labsSection = el('section', { 'aria-label': 'Labs' });
const sessionsSection = el('section', { 'aria-label': 'Sessions' });
root.append(el('h1', {}, 'Flowlab'), status, el('h2', {}, 'Labs'), labsSection, el('h2', {}, 'Running sessions'), sessionsSection);

function say(text: string, error = false): void {
  status.textContent = text;
  status.classList.toggle('error', error);
}

function renderLabs(labs: LabSummary[]): void {
  const rows = labs.map((l) => {
    const start = el('button', { type: 'button', 'data-lab': l.id }, 'Start');
    start.addEventListener('click', async () => {
      start.setAttribute('disabled', '');
      say(`Starting ${l.title}…`);
      try {
        const { session } = await api<{ session: { session: string } }>('POST', '/api/sessions', { scenario: l.id });
        say(`Session ${session.session} is up.`);
        await refreshSessions();
      } catch (e) {
        say((e as Error).message, true);
      } finally {
        start.removeAttribute('disabled');
      }
    });
    return el('tr', {}, el('td', {}, el('strong', {}, l.title), el('br'), el('small', {}, l.summary)), el('td', {}, l.network), el('td', {}, l.level), el('td', {}, `${l.minutes} min`), el('td', {}, start));
  });
  labsSection.replaceChildren(
    el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'Lab'), el('th', {}, 'Network'), el('th', {}, 'Level'), el('th', {}, 'Time'), el('th', {}, ''))), el('tbody', {}, ...rows)),
  );
}

function renderSessions(sessions: SessionSummary[]): void {
  if (sessions.length === 0) {
    sessionsSection.replaceChildren(el('p', {}, 'No session is running.'));
    return;
  }
  sessionsSection.replaceChildren(
    ...sessions.map((s) => {
      const down = el('button', { type: 'button', 'data-session': s.session }, 'Tear down');
      down.addEventListener('click', async () => {
        down.setAttribute('disabled', '');
        try {
          await api('DELETE', `/api/sessions/${s.session}`);
          say(`Session ${s.session} removed.`);
          await refreshSessions();
        } catch (e) {
          say((e as Error).message, true);
        }
      });
      const services = (s.topology?.services ?? []).map((svc) => {
        const nets = Object.entries(svc.networks).map(([n, e]) => `${n} ${e.ip}${e.aliases.length ? ` (${e.aliases.join(', ')})` : ''}`);
        const ports = svc.ports.map((p) => `${p.host_ip}:${p.host_port} → ${p.container_port}/${p.proto}`);
        return el('li', {}, el('code', {}, svc.name), ` ${[...nets, ...ports].join(' · ') || svc.network_mode}`);
      });
      return el('article', { class: 'session' }, el('h3', {}, `${s.title} `, el('small', {}, `${s.session} · ${s.state}`)), el('ul', {}, ...services), down);
    }),
  );
}

async function refreshSessions(): Promise<void> {
  const { sessions } = await api<{ sessions: SessionSummary[] }>('GET', '/api/sessions');
  renderSessions(sessions);
}

async function boot(): Promise<void> {
  try {
    const [{ scenarios }, health] = await Promise.all([
      api<{ scenarios: LabSummary[] }>('GET', '/api/scenarios'),
      api<{ images: { state: string; detail: string } }>('GET', '/api/health'),
    ]);
    renderLabs(scenarios);
    if (health.images.state !== 'ready') say(`Lab images: ${health.images.detail}`);
    await refreshSessions();
  } catch (e) {
    say((e as Error).message, true);
  }
}

void boot();
