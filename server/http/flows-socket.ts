// Live flows over socket.io: a room per session. A client sends `flows:join` { session } and its
// acknowledgement carries a snapshot (recent events and every edge); then `flows:delta` arrives
// at most every 100 ms, capped, with a count of what a flood made it leave out.
import type { Server, Socket } from 'socket.io';
import type { App } from '../app/app.ts';
import type { SocketAccess } from './auth.ts';
import { FlowCollector } from '../flow/collector.ts';
import { differences, expectedFlows } from '../flow/expected.ts';
import { flowsJoinSchema, type Difference, type ExpectedFlow, type FlowDelta, type FlowEdge, type FlowEvent, type FlowSnapshot } from '../protocol/flow.ts';
import { failed, ok, type Reply } from '../protocol/reply.ts';

export const DELTA_INTERVAL_MS = 100;
export const MAX_EVENTS_PER_DELTA = 500;
const SNAPSHOT_EVENTS = 1000;
const IDLE_STOP_MS = 30_000;

type Ack = (reply: Reply<{ snapshot?: FlowSnapshot }>) => void;

class SessionHub {
  private events: FlowEvent[] = [];
  private edges = new Map<string, FlowEdge>();
  private dropped = 0;
  private timer?: NodeJS.Timeout;
  private idle?: NodeJS.Timeout;
  readonly ready: Promise<void>;

  /** What a working lab shows, and what differs from it as last sent. */
  private readonly expected: ExpectedFlow[];
  private readonly watchedSince = Date.now();
  private differences: Difference[] = [];
  private readonly differ: NodeJS.Timeout;

  constructor(
    private readonly io: Server,
    readonly session: string,
    readonly collector: FlowCollector,
  ) {
    collector.subscribe((events, edges) => this.queue(events, edges));
    this.ready = collector.start({ history: true });
    this.expected = expectedFlows(collector.live.lab);
    // Missing traffic shows without any event: looked at every second, sent when it changes.
    this.differ = setInterval(() => this.compare(), 1000);
  }

  private compare(): void {
    if (this.expected.length === 0) return;
    const now = differences(this.expected, this.collector.events, Date.now(), this.watchedSince);
    if (JSON.stringify(now) === JSON.stringify(this.differences)) return;
    this.differences = now;
    this.changed = true;
    this.timer ??= setTimeout(() => this.flush(), DELTA_INTERVAL_MS);
  }

  private changed = false;

  get room(): string {
    return `flows:${this.session}`;
  }

  private queue(events: FlowEvent[], edges: FlowEdge[]): void {
    this.events.push(...events);
    if (this.events.length > MAX_EVENTS_PER_DELTA) {
      // A flood: keep the newest, count the rest, never let the backlog grow.
      this.dropped += this.events.length - MAX_EVENTS_PER_DELTA;
      this.events = this.events.slice(-MAX_EVENTS_PER_DELTA);
    }
    for (const e of edges) this.edges.set(e.key, e);
    this.timer ??= setTimeout(() => this.flush(), DELTA_INTERVAL_MS);
  }

  private flush(): void {
    this.timer = undefined;
    const delta: FlowDelta = { session: this.session, events: this.events, edges: [...this.edges.values()], dropped: this.dropped, ...(this.changed ? { differences: this.differences } : {}) };
    this.changed = false;
    this.events = [];
    this.edges.clear();
    this.dropped = 0;
    this.io.to(this.room).emit('flows:delta', delta);
  }

  snapshot(): FlowSnapshot {
    return { session: this.session, events: this.collector.events.slice(-SNAPSHOT_EVENTS), edges: this.collector.edges.all(), differences: this.differences };
  }

  /** Stops following the captures once nobody has watched for a while. */
  watch(watchers: number, onIdle: () => void): void {
    clearTimeout(this.idle);
    if (watchers === 0) this.idle = setTimeout(onIdle, IDLE_STOP_MS);
  }

  stop(): void {
    clearInterval(this.differ);
    clearTimeout(this.timer);
    clearTimeout(this.idle);
    this.collector.stop();
  }
}

export function attachFlowSockets(io: Server, app: App, access?: SocketAccess): { close(): void; event(session: string, id: string): FlowEvent | undefined } {
  const hubs = new Map<string, SessionHub>();
  const watchers = (hub: SessionHub) => io.sockets.adapter.rooms.get(hub.room)?.size ?? 0;
  const release = (hub: SessionHub) =>
    hub.watch(watchers(hub), () => {
      if (watchers(hub) === 0) {
        hub.stop();
        hubs.delete(hub.session);
      }
    });

  io.on('connection', (socket: Socket) => {
    socket.on('flows:join', async (payload: unknown, ack?: unknown) => {
      const reply: Ack = typeof ack === 'function' ? (ack as Ack) : () => {};
      const parsed = flowsJoinSchema.safeParse(payload);
      if (!parsed.success) return reply(failed('expected { "session": "<8-32 hex characters>" }'));
      const refused = access?.refuse(socket, parsed.data.session);
      if (refused) return reply(failed(refused));
      try {
        let hub = hubs.get(parsed.data.session);
        if (!hub) {
          hub = new SessionHub(io, parsed.data.session, new FlowCollector(app.engine.live(parsed.data.session)));
          hubs.set(hub.session, hub);
          hub.ready.catch(() => {
            hub!.stop();
            hubs.delete(parsed.data.session);
          });
        }
        await hub.ready;
        await socket.join(hub.room);
        hub.watch(watchers(hub), () => {});
        reply(ok({ snapshot: hub.snapshot() }));
      } catch (e) {
        reply(failed((e as Error).message));
      }
    });
    socket.on('flows:leave', async (payload: unknown, ack?: unknown) => {
      const reply: Ack = typeof ack === 'function' ? (ack as Ack) : () => {};
      const parsed = flowsJoinSchema.safeParse(payload);
      if (!parsed.success) return reply(failed('expected { "session": "<8-32 hex characters>" }'));
      const hub = hubs.get(parsed.data.session);
      if (hub) {
        await socket.leave(hub.room);
        release(hub);
      }
      reply(ok());
    });
    socket.on('disconnecting', () => {
      for (const room of socket.rooms) {
        const hub = hubs.get(room.replace(/^flows:/, ''));
        if (hub) setImmediate(() => release(hub));
      }
    });
  });

  return {
    /** An event this server has seen (what a pin refers to). */
    event(session: string, id: string) {
      return hubs.get(session)?.collector.events.find((e) => e.id === id);
    },
    close() {
      for (const hub of hubs.values()) hub.stop();
      hubs.clear();
    },
  };
}
