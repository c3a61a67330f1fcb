// The flow log: every DNS question and connection the captures saw, newest first, filterable —
// the graph's text alternative. Any row can be pinned as evidence.
import type { FlowEvent } from '../protocol.ts';
import { button, el, formatTime } from '../dom.ts';
import { STATES, stateOf } from './graph.ts';

const MAX_ROWS = 500;
/** Events kept for the timeline: at a living lab's rate, more than 30 minutes of them. */
export const MAX_EVENTS = 25_000;

export function outcomeOf(e: FlowEvent): string {
  switch (e.type) {
    case 'dns.answer':
      return e.rcode;
    case 'tcp.connect':
    case 'udp.exchange':
      return e.outcome;
    case 'http.exchange':
      return e.status !== null ? `http-${e.status}` : e.outcome;
    case 'dns.query':
    case 'dns.forward':
      return 'asked';
    default:
      return e.type.replace('icmp.', '');
  }
}

export function describe(e: FlowEvent): string {
  switch (e.type) {
    case 'dns.query':
    case 'dns.forward':
      return `${e.qtype} ${e.name}?`;
    case 'dns.answer':
      return `${e.qtype} ${e.name} → ${e.answers.join(', ') || e.rcode}${e.latency_ms !== null ? ` (${e.latency_ms} ms)` : ''}`;
    case 'tcp.connect':
    case 'udp.exchange':
      return `${e.type.split('.')[0]}/${e.dst_port ?? ''}${e.latency_ms !== null ? ` (${e.latency_ms} ms)` : ''}`;
    case 'http.exchange':
      return `${e.method} ${e.path}${e.latency_ms !== null ? ` (${e.latency_ms} ms)` : ''}${e.served_by ? ` by ${e.served_by}` : ''}`;
    default:
      return 'about' in e ? String(e.about) : '';
  }
}

/** Between which of a lab's nodes an event went: "worker-1 → worker-2 (VXLAN 4097)". */
export function crossing(e: FlowEvent): string {
  return e.crossed ? `${e.crossed.from} → ${e.crossed.to}${e.crossed.vni !== undefined ? ` (VXLAN ${e.crossed.vni})` : ''}` : '';
}

export class FlowLog {
  readonly root: HTMLElement;
  private readonly body: HTMLTableSectionElement;
  private readonly filter: HTMLInputElement;
  private readonly kind: HTMLSelectElement;
  private readonly origin: HTMLSelectElement;
  private readonly differs: HTMLInputElement;
  private events: FlowEvent[] = [];
  /** The events that differ from a working lab now (the differences' events). */
  private differing = new Set<string>();
  /** Shown as of this moment (the timeline's), or live when null. */
  private until: number | null = null;
  private readonly ids = new Set<string>();
  private readonly info: HTMLElement;
  dropped = 0;

  constructor(private readonly onPin: (e: FlowEvent) => Promise<void>) {
    this.filter = el('input', { type: 'search', placeholder: 'filter: name, service, port, outcome', 'aria-label': 'Filter the flow log' });
    this.kind = el('select', { 'aria-label': 'Event type' }, el('option', { value: '' }, 'all events'), el('option', { value: 'dns' }, 'DNS'), el('option', { value: 'tcp' }, 'TCP'), el('option', { value: 'http' }, 'HTTP'), el('option', { value: 'udp' }, 'UDP'), el('option', { value: 'icmp' }, 'ICMP'));
    // The lab's own traffic (its apps calling each other) apart from what the learner did.
    this.origin = el('select', { 'aria-label': 'Whose traffic' }, el('option', { value: '' }, 'everyone’s'), el('option', { value: 'learner' }, 'mine (probes, terminals)'), el('option', { value: 'traffic' }, 'the apps’ own'));
    this.differs = el('input', { type: 'checkbox', 'data-only-differs': '' });
    this.body = el('tbody');
    this.info = el('small', { 'aria-live': 'polite' });
    this.filter.addEventListener('input', () => this.render());
    this.kind.addEventListener('change', () => this.render());
    this.origin.addEventListener('change', () => this.render());
    this.differs.addEventListener('change', () => this.render());
    this.root = el(
      'section',
      { class: 'flowlog', 'aria-label': 'Flow log' },
      el('div', { class: 'toolbar' }, this.filter, this.kind, this.origin, el('label', { title: 'the events of the flows that are not what a working lab shows (the ghost edges)' }, this.differs, ' only what differs from a working lab'), this.info),
      el('div', { class: 'scroll' }, el('table', {}, el('caption', { class: 'sr-only' }, 'Flow events, newest first'), el('thead', {}, el('tr', {}, ...['time', 'from', 'to', 'what', 'outcome', 'seen by', ''].map((h) => el('th', { scope: 'col' }, h)))), this.body)),
    );
  }

  /**
   * Adds events not seen yet: a snapshot after a reconnect (or the first join racing the
   * socket's connect) repeats what the log has, and each event is shown once.
   */
  add(events: FlowEvent[]): void {
    const fresh = events.filter((e) => !this.ids.has(e.id));
    if (fresh.length === 0 && events.length > 0) return;
    for (const e of fresh) this.ids.add(e.id);
    this.events.push(...fresh);
    if (this.events.length > MAX_EVENTS) {
      for (const old of this.events.splice(0, this.events.length - MAX_EVENTS)) this.ids.delete(old.id);
    }
    this.render();
  }

  all(): FlowEvent[] {
    return this.events;
  }

  /** The events up to the moment shown (all of them when live). */
  shown(): FlowEvent[] {
    const until = this.until;
    return until === null ? this.events : this.events.filter((e) => Date.parse(e.time) <= until);
  }

  /** What differs from a working lab now: the ids of its events. */
  setDiffering(ids: Iterable<string>): void {
    this.differing = new Set(ids);
    if (this.differs.checked) this.render();
  }

  /** Shows the log as of `t` (the timeline's moment), or live. */
  setUntil(t: number | null): void {
    this.until = t;
    this.render();
  }

  private matches(e: FlowEvent): boolean {
    const k = this.kind.value;
    if (k && !e.type.startsWith(k)) return false;
    if (this.differs.checked && !this.differing.has(e.id)) return false;
    const o = this.origin.value;
    if (o === 'traffic' && e.origin !== 'traffic') return false;
    if (o === 'learner' && e.origin === 'traffic') return false;
    const q = this.filter.value.trim().toLowerCase();
    if (!q) return true;
    return [e.src, e.dst, e.type, describe(e), outcomeOf(e), e.seen_by, String(e.dst_port ?? ''), crossing(e)].join(' ').toLowerCase().includes(q);
  }

  private render(): void {
    const upTo = this.shown();
    const shown = upTo.filter((e) => this.matches(e)).slice(-MAX_ROWS).reverse();
    this.info.textContent = `${shown.length} of ${upTo.length} events${this.until !== null ? ` up to ${formatTime(new Date(this.until).toISOString())}` : ''}${this.dropped ? `, ${this.dropped} left out during floods` : ''}`;
    this.body.replaceChildren(
      ...shown.map((e) => {
        const outcome = outcomeOf(e);
        const state = STATES.find((s) => s.state === stateOf(outcome))!;
        const pin = button('Pin', async () => {
          await this.onPin(e);
          pin.textContent = 'Pinned';
        }, { 'data-pin': e.id, 'aria-label': `Pin ${e.type} ${e.src} to ${e.dst} as evidence` });
        return el(
          'tr',
          { 'data-event': e.id, 'data-type': e.type, ...(e.origin ? { 'data-origin': e.origin } : {}) },
          el('td', {}, formatTime(e.time)),
          el('td', {}, e.src, ...(e.origin === 'traffic' ? [' ', el('span', { class: 'badge app', title: 'the lab’s own traffic: its apps sent this by themselves' }, 'app')] : [])),
          el('td', {}, e.dst),
          el('td', {}, `${e.type} ${describe(e)}`, ...(e.crossed ? [el('br'), el('small', { class: 'crossed' }, `across ${crossing(e)}`)] : [])),
          el('td', { class: `outcome ${state.state}` }, el('span', { class: 'swatch', style: `border-top: 3px ${state.line} ${state.colour}` }), outcome),
          el('td', {}, e.seen_by),
          el('td', {}, pin),
        );
      }),
    );
  }
}
