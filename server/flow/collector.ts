// A session's flows: the packets its capture sidecars keep (any process can read them back) and
// the ones they see from now on, decoded into events and graph edges.
import type { Conversation, FlowEdge, FlowEvent } from '../protocol/flow.ts';
import type { LiveSession } from '../session/live.ts';
import { capturePoints } from '../session/plan.ts';
import type { AddressBook } from './addresses.ts';
import { buildAddressBook } from './book.ts';
import { conversationsOf, toldBy } from './conversations.ts';
import { EdgeTable } from '../protocol/edges.ts';
import { PcapStream, pcapSince } from './pcap.ts';
import { FlowTracker } from './tracker.ts';
import { FlowlabError } from '../util/errors.ts';

export const DEFAULT_FLOW_TIMEOUT_MS = 3000;
/** Events kept in memory for a late joiner: a living lab's 30 minutes and more (the timeline's). */
export const DEFAULT_RETAINED_EVENTS = 25_000;

export interface CollectorOptions {
  /** No answer within this long counts as a timeout. */
  timeoutMs?: number;
  /** How many events are kept in memory for a late joiner's snapshot. */
  retain?: number;
  /** How long a follower waits before it looks for its sidecar again (default 1 s). */
  retryMs?: number;
}

type Listener = (events: FlowEvent[], edges: FlowEdge[]) => void;

function decodeAll(live: LiveSession, book: AddressBook, point: string, pcap: Buffer, timeoutMs: number): FlowEvent[] {
  const tracker = trackerOf(live, book, point, timeoutMs);
  const stream = new PcapStream();
  const out: FlowEvent[] = [];
  for (const p of stream.push(pcap)) out.push(...tracker.feed(p));
  out.push(...tracker.tick(Date.now() * 1000));
  return out;
}

function trackerOf(live: LiveSession, book: AddressBook, point: string, timeoutMs: number): FlowTracker {
  return new FlowTracker(book, { session: live.id, local: point, timeoutMs, ...(live.isNode(point) ? { underlay: true } : {}) });
}

/**
 * The retained packets of one capture point — a service, or a node's underlay in a lab with
 * nodes (VXLAN as it crossed, which Wireshark opens) — as a pcap file (what `GET .../pcap` serves).
 */
export async function capturedPcap(live: LiveSession, point: string): Promise<Buffer> {
  const sidecar = await live.captureOf(point);
  if (!sidecar) throw new FlowlabError(`"${point}" has no running capture (capture points: ${capturePoints(live.lab).join(', ') || 'none'})`, 'not-found');
  const { stdout } = await sidecar.on.execStream(sidecar.container, ['lab-capture', 'dump']);
  const chunks: Buffer[] = [];
  const ended = new Promise((r) => stdout.once('end', r));
  stdout.on('data', (c: Buffer) => chunks.push(c));
  await ended;
  // A claimed warm session's captures ran while it waited and while it was broken: what a
  // learner reads starts where a cold start's captures would, once it was ready.
  const { claimedAt, readyAt } = live.rec;
  return claimedAt !== null && readyAt !== null ? pcapSince(Buffer.concat(chunks), readyAt * 1000) : Buffer.concat(chunks);
}

/** Every retained event of the session, in time order. */
export async function retainedEvents(live: LiveSession, opts: CollectorOptions = {}, book?: AddressBook): Promise<FlowEvent[]> {
  const b = book ?? (await buildAddressBook(live));
  const all = await Promise.all(
    capturePoints(live.lab).map(async (point) => {
      try {
        return decodeAll(live, b, point, await capturedPcap(live, point), opts.timeoutMs ?? DEFAULT_FLOW_TIMEOUT_MS);
      } catch {
        return [];
      }
    }),
  );
  return all.flat().sort((a, b2) => (a.time < b2.time ? -1 : a.time > b2.time ? 1 : 0));
}

/**
 * The session's conversations, each told once (see conversations.ts), oldest first; or, with
 * `point`, exactly those in that capture's pcap (a service, or a node's underlay).
 */
export async function sessionConversations(live: LiveSession, point?: string): Promise<Conversation[]> {
  const book = await buildAddressBook(live);
  const all = await Promise.all(
    (point ? [point] : capturePoints(live.lab)).map(async (at) => {
      const pcap = await capturedPcap(live, at).catch((e: unknown) => {
        if (point) throw e;
        return undefined;
      });
      if (!pcap) return [];
      const rows = conversationsOf(pcap, book, at);
      return point ? rows : rows.filter((c) => toldBy(c, at, live.isNode(at), book));
    }),
  );
  return all.flat().sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}

export class FlowCollector {
  private book?: AddressBook;
  private readonly trackers = new Map<string, FlowTracker>();
  private readonly stops = new Map<string, () => void>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly listeners = new Set<Listener>();
  private readonly seen = new Set<string>();
  private stopped = false;
  private history = false;
  readonly events: FlowEvent[] = [];
  readonly edges = new EdgeTable();
  private readonly timeoutMs: number;
  private readonly retain: number;
  private readonly retryMs: number;

  constructor(
    readonly live: LiveSession,
    opts: CollectorOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_FLOW_TIMEOUT_MS;
    this.retain = opts.retain ?? DEFAULT_RETAINED_EVENTS;
    this.retryMs = opts.retryMs ?? 1000;
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Follows every capture from now on; with `history`, also what the captures kept — read again
   * each time a follower attaches, so what a sidecar saw before its follower was there (it had
   * only just started, or was re-created) is never lost. Events are the same ids either way.
   */
  async start(opts: { history?: boolean } = {}): Promise<void> {
    this.history = opts.history ?? false;
    this.book = await buildAddressBook(this.live);
    await Promise.all(capturePoints(this.live.lab).map((s) => this.follow(s)));
    this.timers.push(setInterval(() => this.tick(), 250));
    // Faults move services around: keep the address book current.
    this.timers.push(setInterval(() => void this.refreshBook(), 3000));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const stop of this.stops.values()) stop();
    this.stops.clear();
    this.listeners.clear();
  }

  private async refreshBook(): Promise<void> {
    try {
      this.book = await buildAddressBook(this.live);
      for (const t of this.trackers.values()) t.setAddressBook(this.book);
    } catch {
      // the session may be going away; the next refresh will tell
    }
  }

  private trackerFor(point: string): FlowTracker {
    let t = this.trackers.get(point);
    if (!t) {
      t = trackerOf(this.live, this.book!, point, this.timeoutMs);
      this.trackers.set(point, t);
    }
    return t;
  }

  private async follow(service: string): Promise<void> {
    if (this.stopped) return;
    const retry = () => {
      if (!this.stopped) this.timers.push(setTimeout(() => void this.follow(service), this.retryMs));
    };
    const sidecar = await this.live.captureOf(service).catch(() => undefined);
    if (!sidecar) return retry();
    try {
      const { stdout, exit, stop } = await sidecar.on.execStream(sidecar.container, ['lab-capture', 'follow']);
      this.stops.set(service, stop);
      const pcap = new PcapStream();
      const tracker = this.trackerFor(service);
      // lab-capture sends the pcap header as soon as this follower is registered.
      const registered = new Promise<void>((resolve) => {
        const check = () => {
          if (pcap.header) resolve();
        };
        stdout.on('data', () => setImmediate(check));
        setTimeout(resolve, 3000);
      });
      stdout.on('data', (chunk: Buffer) => {
        try {
          const events: FlowEvent[] = [];
          for (const p of pcap.push(chunk)) events.push(...tracker.feed(p));
          if (events.length > 0) this.accept(events);
        } catch {
          stop(); // a corrupt stream: start over
        }
      });
      // The sidecar restarts when its service is re-created: follow the new one.
      void exit.then(() => {
        this.stops.delete(service);
        retry();
      });
      await registered;
      if (this.history) await this.backfill(service);
    } catch {
      retry();
    }
  }

  private async backfill(service: string): Promise<void> {
    try {
      this.accept(decodeAll(this.live, this.book!, service, await capturedPcap(this.live, service), this.timeoutMs));
    } catch {
      // nothing kept yet, or the sidecar just went: its next follower reads again
    }
  }

  private tick(): void {
    const now = Date.now() * 1000;
    const events = [...this.trackers.values()].flatMap((t) => t.tick(now));
    if (events.length > 0) this.accept(events);
  }

  private accept(events: FlowEvent[]): void {
    const fresh = events.filter((e) => !this.seen.has(e.id));
    if (fresh.length === 0) return;
    const edges = new Map<string, FlowEdge>();
    for (const e of fresh) {
      this.seen.add(e.id);
      this.events.push(e);
      const edge = this.edges.add(e);
      if (edge) edges.set(edge.key, edge);
    }
    if (this.events.length > this.retain) {
      for (const old of this.events.splice(0, this.events.length - this.retain)) this.seen.delete(old.id);
    }
    for (const fn of this.listeners) fn(fresh, [...edges.values()]);
  }
}
