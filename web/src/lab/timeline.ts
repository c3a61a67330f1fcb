// The timeline under the graph: scrub back over the session's flows, play them back at speed,
// jump to when something first failed, and back to live. It says which moment is shown; the lab
// view draws the graph and the flow log as they were then.
import type { FlowEvent } from '../protocol.ts';
import { button, el, formatTime } from '../dom.ts';
import { outcomeOf } from './flowlog.ts';
import { stateOf } from './graph.ts';

const TICK_MS = 250;
const SPEEDS = [1, 4, 16, 60];

/** The first event whose outcome is a failure (a refused, timed-out or reset connection, a failed lookup, an HTTP error). */
export function firstFailure(events: FlowEvent[]): FlowEvent | undefined {
  return events.find((e) => e.type !== 'dns.query' && e.type !== 'dns.forward' && stateOf(outcomeOf(e)) !== 'ok' && stateOf(outcomeOf(e)) !== 'other');
}

export class Timeline {
  readonly root: HTMLElement;
  private readonly range: HTMLInputElement;
  private readonly label: HTMLElement;
  private readonly playButton: HTMLButtonElement;
  private readonly liveButton: HTMLButtonElement;
  private readonly speed: HTMLSelectElement;
  /** The moment shown (ms since the epoch), or null for live. */
  private at: number | null = null;
  private player?: ReturnType<typeof setInterval>;
  private readonly clock: ReturnType<typeof setInterval>;

  constructor(
    private readonly events: () => FlowEvent[],
    private readonly startedAt: number,
    private readonly show: (at: number | null) => void,
  ) {
    this.range = el('input', { type: 'range', min: '0', max: '0', step: '1000', value: '0', 'aria-label': 'Moment of the session shown on the graph and in the flow log' });
    this.label = el('span', { class: 'timeline-at', 'aria-live': 'polite' });
    this.playButton = button('▶ Play', () => (this.player ? this.pause() : this.play()), { 'aria-label': 'Play the flows back from here', 'data-timeline-play': '' });
    this.liveButton = button('Live', () => this.goLive(), { 'aria-label': 'Back to live', 'data-timeline-live': '' });
    this.speed = el('select', { 'aria-label': 'Playback speed' }, ...SPEEDS.map((s) => el('option', { value: String(s), ...(s === 16 ? { selected: '' } : {}) }, `${s}×`)));
    this.range.addEventListener('input', () => {
      this.pause();
      this.moveTo(Number(this.range.value));
    });
    this.root = el(
      'div',
      { class: 'timeline', role: 'group', 'aria-label': 'Timeline', 'data-timeline': 'live' },
      button('First failure', () => this.jumpToFailure(), { 'aria-label': 'Jump to when something first failed', 'data-timeline-failure': '' }),
      this.playButton,
      this.speed,
      this.range,
      this.label,
      this.liveButton,
    );
    this.clock = setInterval(() => this.refresh(), 1000);
    this.refresh();
  }

  /** The moment shown, or null when live. */
  get moment(): number | null {
    return this.at;
  }

  /** The span the range covers: from the oldest event kept (or the session's start) to now. */
  private bounds(): [number, number] {
    const first = this.events()[0];
    const min = Math.min(first ? Date.parse(first.time) : this.startedAt, this.startedAt);
    return [Math.floor(min / 1000) * 1000, Math.ceil(Date.now() / 1000) * 1000];
  }

  refresh(): void {
    const [min, max] = this.bounds();
    this.range.min = String(min);
    this.range.max = String(max);
    this.range.value = String(this.at ?? max);
    this.label.textContent = this.at === null ? `live · ${formatTime(new Date(max).toISOString())}` : `${formatTime(new Date(this.at).toISOString())} · ${Math.round((max - this.at) / 1000)} s ago`;
    this.root.dataset.timeline = this.at === null ? 'live' : new Date(this.at).toISOString();
    this.liveButton.disabled = this.at === null;
  }

  moveTo(t: number): void {
    const [min, max] = this.bounds();
    const at = Math.max(min, Math.min(t, max));
    this.at = at >= max - 500 ? null : at;
    this.refresh();
    this.show(this.at);
  }

  goLive(): void {
    this.pause();
    this.moveTo(Number.MAX_SAFE_INTEGER);
  }

  jumpToFailure(): void {
    this.pause();
    const e = firstFailure(this.events());
    this.moveTo(e ? Date.parse(e.time) : Number.MAX_SAFE_INTEGER);
  }

  play(): void {
    if (this.at === null) this.moveTo(this.bounds()[0]);
    this.playButton.textContent = '⏸ Pause';
    this.root.dataset.playing = 'true';
    this.player = setInterval(() => {
      if (this.at === null) return this.pause();
      this.moveTo(this.at + TICK_MS * Number(this.speed.value));
    }, TICK_MS);
  }

  pause(): void {
    if (this.player) clearInterval(this.player);
    this.player = undefined;
    this.playButton.textContent = '▶ Play';
    delete this.root.dataset.playing;
  }

  destroy(): void {
    this.pause();
    clearInterval(this.clock);
  }
}
