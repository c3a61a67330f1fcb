// The engines labs run on, for the trainer: each with its state (up, drained, or down and why),
// Docker version, CPUs, memory, sessions and Flowlab containers. Asked again every few seconds.
import type { EngineStatus } from '../protocol.ts';
import { api } from '../api.ts';
import { el, fill } from '../dom.ts';

const REFRESH_TICKS = 5;
const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

export interface EnginesPanel {
  root: HTMLElement;
  /** Called every second: asks again every REFRESH_TICKS seconds, one request at a time. */
  tick(): void;
}

export function enginesPanel(): EnginesPanel {
  const body = el('tbody');
  const note = el('p', { class: 'notice error', role: 'alert', hidden: true });
  const root = el(
    'section',
    { class: 'engines-box', 'aria-label': 'Docker engines' },
    el('h3', {}, 'Docker engines'),
    note,
    el('table', { class: 'engines', 'data-engines': '' }, el('thead', {}, el('tr', {}, ...['Engine', 'Address', 'State', 'Docker', 'CPUs', 'Memory', 'Sessions', 'Containers'].map((h) => el('th', { scope: 'col' }, h)))), body),
  );
  let ticks = REFRESH_TICKS;
  let asking = false;
  const refresh = async () => {
    asking = true;
    try {
      const { engines } = await api<{ engines: EngineStatus[] }>('GET', '/api/engines');
      note.hidden = true;
      fill(
        body,
        ...engines.map((e) => {
          const state = e.state === 'down' ? 'down' : e.drained ? 'drained' : 'up';
          return el(
            'tr',
            { 'data-engine': e.name, 'data-engine-state': state, class: `engine ${state}` },
            el('th', { scope: 'row' }, e.name),
            el('td', {}, el('code', {}, e.url)),
            el('td', { class: 'state' }, state === 'down' ? `down: ${e.error ?? 'no answer'}` : state),
            el('td', {}, e.facts?.version ?? '—'),
            el('td', {}, e.facts ? String(e.facts.cpus) : '—'),
            el('td', {}, e.facts ? gib(e.facts.memoryBytes) : '—'),
            el('td', {}, String(e.sessions)),
            el('td', {}, e.facts ? String(e.facts.managed) : '—'),
          );
        }),
      );
    } catch (err) {
      note.hidden = false;
      note.textContent = `The engines could not be listed: ${(err as Error).message}`;
    } finally {
      asking = false;
    }
  };
  return {
    root,
    tick() {
      if (asking || ++ticks < REFRESH_TICKS) return;
      ticks = 0;
      void refresh();
    },
  };
}
