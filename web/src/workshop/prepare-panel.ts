// Getting the room ready before it arrives: the trainer's Prepare for N learners (a capacity plan
// first — containers, networks, memory, the time it takes from each engine's measured start cost,
// whether it fits and what to add — then a progress bar while labs are warmed), and the standing
// warm pools of the workshop's labs (how many each keeps, what waits where). A learner's Start
// claims a warm lab, broken then as their own seed says.
import type { LabSummary, PreparePlan, TrainerView, WarmStatus } from '../protocol.ts';
import { api } from '../api.ts';
import { button, el, fill } from '../dom.ts';

const REFRESH_TICKS = 5;
const mib = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${Math.round(bytes / 2 ** 20)} MiB`);
const duration = (s: number) => (s < 90 ? `${s} s` : `${Math.round(s / 60)} min`);

export interface PreparePanel {
  root: HTMLElement;
  update(v: TrainerView): void;
  /** Called every second: the pools are asked again every REFRESH_TICKS seconds. */
  tick(): void;
}

function planView(plan: PreparePlan): HTMLElement {
  const row = (cells: string[], attrs: Record<string, string> = {}) => el('tr', attrs, ...cells.map((c, i) => (i === 0 ? el('th', { scope: 'row' }, c) : el('td', {}, c))));
  return el(
    'div',
    { class: 'plan', 'data-plan': plan.fits ? 'fits' : 'short' },
    el(
      'table',
      { class: 'plan-table' },
      el('thead', {}, el('tr', {}, ...['Lab', 'Labs', 'Containers', 'Networks', 'Memory limits'].map((h) => el('th', { scope: 'col' }, h)))),
      el(
        'tbody',
        {},
        ...plan.labs.map((l) => row([l.lab, l.refused ? `not kept warm: ${l.refused}` : String(l.sessions), String(l.containers), String(l.networks), mib(l.memory_bytes)], { 'data-plan-lab': l.lab })),
        row(['All', String(plan.total.sessions), String(plan.total.containers), String(plan.total.networks), mib(plan.total.memory_bytes)], { class: 'total' }),
      ),
    ),
    el('p', { 'data-plan-estimate': String(plan.estimate_s) }, `About ${duration(plan.estimate_s)} to prepare, from ${plan.engines.map((e) => `${e.name}: ${e.start_ms} ms a container start${e.measured ? '' : ' (not measured yet)'}`).join('; ') || 'no engine'}.`),
    el(
      'p',
      { class: plan.fits ? 'notice' : 'notice error', role: plan.fits ? 'status' : 'alert', 'data-plan-fits': String(plan.fits) },
      plan.fits ? `It fits: ${plan.total.sessions} labs within the room for ${plan.capacity.max_labs - plan.capacity.in_use}.` : `It does not fit: ${plan.advice.join('; ')}.`,
    ),
  );
}

export function preparePanel(ctx: { say(text: string, error?: boolean): void; refresh(): Promise<void> }): PreparePanel {
  let view: TrainerView | undefined;
  const learners = el('input', { type: 'number', name: 'learners', min: '1', max: '500', value: '20', required: true, 'aria-label': 'Learners to prepare for', 'data-prepare-learners': '' });
  const planBox = el('div', { 'data-plan-box': '' });
  const progress = el('div', { class: 'prepare-progress', 'aria-live': 'polite' });
  const pools = el('tbody');
  const count = () => Math.max(1, Math.min(500, Number(learners.value) || 1));

  const plan = async () => {
    try {
      const r = await api<{ plan: PreparePlan }>('POST', '/api/workshop/prepare', { learners: count(), plan_only: true });
      fill(planBox, planView(r.plan));
    } catch (e) {
      ctx.say(`The plan could not be made: ${(e as Error).message}`, true);
    }
  };
  const prepare = async () => {
    try {
      const r = await api<{ plan: PreparePlan }>('POST', '/api/workshop/prepare', { learners: count() });
      fill(planBox, planView(r.plan));
      ctx.say(`Preparing the room for ${count()} learners.`);
      await ctx.refresh();
    } catch (e) {
      ctx.say(`The room was not prepared: ${(e as Error).message}`, true);
    }
  };
  const stop = async () => {
    try {
      await api('DELETE', '/api/workshop/prepare');
      ctx.say('Stopped preparing: the warm labs nobody claimed are removed.');
      await ctx.refresh();
    } catch (e) {
      ctx.say(`Preparing was not stopped: ${(e as Error).message}`, true);
    }
  };
  const form = el('form', { class: 'prepare-form', 'aria-label': 'Prepare the room' }, el('label', {}, 'Prepare for ', learners, ' learners'), el('button', { type: 'submit', 'data-plan-button': '' }, 'Plan'), button('Prepare', prepare, { 'data-prepare': '' }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void plan();
  });

  const setPool = (lab: LabSummary, input: HTMLInputElement) => async () => {
    try {
      const size = Math.max(0, Math.min(100, Number(input.value) || 0));
      await api('PUT', `/api/warm/${encodeURIComponent(lab.id)}`, { size });
      ctx.say(size === 0 ? `No warm pool for “${lab.title}” any more.` : `“${lab.title}”: ${size} kept warm.`);
      ticks = REFRESH_TICKS;
    } catch (e) {
      ctx.say(`The warm pool was not set: ${(e as Error).message}`, true);
    }
  };
  const drawPools = (status: WarmStatus) => {
    const labs = view?.workshop.labs ?? [];
    fill(
      pools,
      ...labs.map((lab) => {
        const p = status.pools.find((x) => x.lab === lab.id);
        const input = el('input', { type: 'number', min: '0', max: '100', value: String(p?.size ?? 0), 'aria-label': `Warm sessions of ${lab.title} to keep`, 'data-pool-size': lab.id });
        const where = p ? Object.entries(p.engines).map(([e, n]) => `${e}: ${n}`).join(', ') : '';
        return el(
          'tr',
          { 'data-pool': lab.id },
          el('th', { scope: 'row' }, lab.title),
          el('td', { 'data-pool-warm': String(p?.warm ?? 0) }, `${p?.warm ?? 0} warm of ${p?.wanted ?? 0} wanted${p?.starting ? `, ${p.starting} on the way` : ''}${p?.lost ? `, ${p.lost} on a lost engine` : ''}${where ? ` (${where})` : ''}`),
          el('td', {}, p?.refused ? `never kept warm: ${p.refused}` : p?.last_error ? `last refill failed: ${p.last_error.message}` : ''),
          el('td', {}, input, button('Keep warm', setPool(lab, input), { class: 'small', 'data-pool-set': lab.id })),
        );
      }),
    );
  };
  let ticks = REFRESH_TICKS;
  let asking = false;
  const refreshPools = async () => {
    asking = true;
    try {
      drawPools(await api<WarmStatus>('GET', '/api/warm'));
    } catch {
      // The dashboard's own notice says when the server cannot be reached.
    } finally {
      asking = false;
    }
  };

  const root = el(
    'section',
    { class: 'prepare-box', 'aria-label': 'Prepare the room' },
    el('h3', {}, 'Prepare the room'),
    el('p', { class: 'legend-line' }, 'Labs are brought up healthy ahead of the learners; each is broken as its learner’s own seed says when they press Start, so it is ready in a blink.'),
    form,
    planBox,
    progress,
    el('table', { class: 'pools', 'data-pools': '' }, el('caption', {}, 'Kept warm, whatever the room (until a warm lab is claimed or its time runs out)'), pools),
  );

  return {
    root,
    update(v) {
      view = v;
      const open = v.workshop.state === 'open';
      form.hidden = !open;
      const p = v.prepare;
      if (!p) return void fill(progress);
      const g = p.progress;
      const per = Object.entries(g.engines).map(([e, n]) => `${e}: ${n.warm} warm${n.starting ? `, ${n.starting} on the way` : ''}`).join(' · ');
      fill(
        progress,
        el('progress', { max: String(Math.max(1, g.wanted)), value: String(Math.min(g.warm, g.wanted)), 'data-prepare-progress': `${g.warm}/${g.wanted}`, 'aria-label': 'Labs warm of those wanted' }),
        el('span', { 'data-prepare-done': String(g.done) }, g.done ? ` Ready: ${g.warm} lab${g.warm === 1 ? '' : 's'} warm for ${g.learners} learners` : ` ${g.warm} of ${g.wanted} labs warm`, g.claimed ? ` · ${g.claimed} claimed` : '', per ? ` · ${per}` : ''),
        open ? button('Stop preparing', stop, { class: 'small', 'data-prepare-stop': '' }) : null,
      );
    },
    tick() {
      if (asking || ++ticks < REFRESH_TICKS) return;
      ticks = 0;
      void refreshPools();
    },
  };
}
