// The conversations table: one row per connection or exchange the captures kept — both ends,
// packets and bytes each way, when it started, how long it lasted, how it ended — filterable,
// and downloadable as CSV (the same rows, from the server).
import type { Conversation } from '../protocol.ts';
import { api } from '../api.ts';
import { button, el, formatTime } from '../dom.ts';

const MAX_ROWS = 1000;

/** A conversation's text, for the filter: names, addresses, ports, protocol, outcome. */
const searchable = (c: Conversation) => [c.proto, c.from.name, c.from.address, c.from.port, c.to.name, c.to.address, c.to.port, c.outcome, c.origin ?? 'learner', c.seen_by].join(' ').toLowerCase();

export const bytes = (n: number) => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);

export class ConversationsPanel {
  readonly root: HTMLElement;
  private rows: Conversation[] = [];
  private readonly body: HTMLTableSectionElement;
  private readonly filter: HTMLInputElement;
  private readonly proto: HTMLSelectElement;
  private readonly info: HTMLElement;

  constructor(private readonly session: string) {
    this.filter = el('input', { type: 'search', placeholder: 'filter: name, address, port, outcome', 'aria-label': 'Filter the conversations' });
    this.proto = el('select', { 'aria-label': 'Protocol' }, el('option', { value: '' }, 'TCP and UDP'), el('option', { value: 'tcp' }, 'TCP'), el('option', { value: 'udp' }, 'UDP'));
    this.body = el('tbody');
    this.info = el('small', { 'aria-live': 'polite' });
    this.filter.addEventListener('input', () => this.render());
    this.proto.addEventListener('change', () => this.render());
    const csv = el('a', { href: `/api/sessions/${session}/conversations?format=csv`, download: `${session}-conversations.csv`, 'data-conversations-csv': '' }, 'Download CSV');
    this.root = el(
      'section',
      { class: 'conversations', 'aria-label': 'Conversations' },
      el('div', { class: 'toolbar' }, this.filter, this.proto, button('Refresh', async () => void (await this.load())), csv, this.info),
      el(
        'div',
        { class: 'scroll' },
        el(
          'table',
          {},
          el('caption', { class: 'sr-only' }, 'Conversations: one row per connection or exchange, oldest first'),
          el('thead', {}, el('tr', {}, ...['started', 'proto', 'from', 'to', 'out (packets / bytes)', 'back (packets / bytes)', 'duration', 'outcome', 'seen by'].map((h) => el('th', { scope: 'col' }, h)))),
          this.body,
        ),
      ),
    );
  }

  all(): Conversation[] {
    return this.rows;
  }

  async load(): Promise<Conversation[]> {
    try {
      const { conversations } = await api<{ conversations: Conversation[] }>('GET', `/api/sessions/${this.session}/conversations`);
      this.rows = conversations;
    } catch (e) {
      this.info.textContent = `conversations unavailable: ${(e as Error).message}`;
      return this.rows;
    }
    this.render();
    return this.rows;
  }

  private render(): void {
    const q = this.filter.value.trim().toLowerCase();
    const p = this.proto.value;
    const shown = this.rows.filter((c) => (!p || c.proto === p) && (!q || searchable(c).includes(q)));
    this.root.dataset.conversations = String(shown.length);
    this.info.textContent = `${shown.length} of ${this.rows.length} conversations`;
    this.body.replaceChildren(
      ...shown.slice(-MAX_ROWS).map((c) =>
        el(
          'tr',
          { 'data-conversation': `${c.proto}|${c.from.name}|${c.to.name}|${c.to.port}`, ...(c.origin ? { 'data-origin': c.origin } : {}) },
          el('td', {}, formatTime(c.start)),
          el('td', {}, c.proto),
          el('td', {}, `${c.from.name} ${c.from.address}:${c.from.port}`, ...(c.origin === 'traffic' ? [' ', el('span', { class: 'badge app', title: 'the lab’s own traffic' }, 'app')] : [])),
          el('td', {}, `${c.to.name} ${c.to.address}:${c.to.port}`),
          el('td', { 'data-out': `${c.packets_out}/${c.bytes_out}` }, `${c.packets_out} / ${bytes(c.bytes_out)}`),
          el('td', { 'data-back': `${c.packets_back}/${c.bytes_back}` }, `${c.packets_back} / ${bytes(c.bytes_back)}`),
          el('td', {}, `${c.duration_ms} ms`),
          el('td', {}, c.outcome),
          el('td', {}, c.seen_by),
        ),
      ),
    );
  }
}
