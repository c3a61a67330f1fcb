// The edges of the flow graph: every (src, dst, proto, port) flow and every (client, name) lookup,
// with counts, the last outcome and when it was first and last seen; a TCP edge's HTTP mix (each
// request line and how it was answered), a lookup's last answers.
import type { FlowEdge, FlowEvent } from './flow.ts';

function edgeOf(e: FlowEvent): Omit<FlowEdge, 'count' | 'first_seen' | 'last_seen'> | undefined {
  switch (e.type) {
    case 'dns.answer':
      return { key: `dns|${e.client}|${e.name}`, kind: 'dns', src: e.client, dst: e.server, what: e.name, last_outcome: e.rcode };
    case 'tcp.connect':
      return { key: `tcp|${e.src}|${e.dst}|${e.dst_port}`, kind: 'tcp', src: e.src, dst: e.dst, what: String(e.dst_port), last_outcome: e.outcome };
    case 'udp.exchange':
      return { key: `udp|${e.src}|${e.dst}|${e.dst_port}`, kind: 'udp', src: e.src, dst: e.dst, what: String(e.dst_port), last_outcome: e.outcome };
    case 'icmp.unreachable':
    case 'icmp.frag-needed':
      return { key: `icmp|${e.src}|${e.dst}|${e.type}`, kind: 'icmp', src: e.src, dst: e.dst, what: e.type, last_outcome: e.type === 'icmp.frag-needed' ? `frag-needed mtu ${e.mtu}` : `unreachable code ${e.code}` };
    default:
      return undefined;
  }
}

/** At most this many request lines are kept per edge (the first ones seen). */
const MAX_REQUEST_LINES = 12;

export class EdgeTable {
  private readonly edges = new Map<string, FlowEdge>();

  /** An HTTP exchange adds to its connection's edge: which request, answered how, by whom. */
  private http(e: Extract<FlowEvent, { type: 'http.exchange' }>): FlowEdge {
    const key = `tcp|${e.src}|${e.dst}|${e.dst_port}`;
    const edge: FlowEdge = this.edges.get(key) ?? { key, kind: 'tcp', src: e.src, dst: e.dst, what: String(e.dst_port), count: 0, last_outcome: 'established', first_seen: e.time, last_seen: e.time };
    // A new edge object each time: one handed out before never changes under its holder.
    const http = (edge.http ?? []).map((h) => ({ request: h.request, outcomes: { ...h.outcomes }, served_by: { ...h.served_by } }));
    const request = `${e.method} ${e.path}`;
    let line = http.find((h) => h.request === request);
    if (!line && http.length < MAX_REQUEST_LINES) http.push((line = { request, outcomes: {}, served_by: {} }));
    if (line) {
      const outcome = e.status !== null ? (e.outcome === 'incomplete' ? `${e.status} incomplete` : String(e.status)) : e.outcome;
      line.outcomes[outcome] = (line.outcomes[outcome] ?? 0) + 1;
      if (e.served_by) line.served_by[e.served_by] = (line.served_by[e.served_by] ?? 0) + 1;
    }
    const next = { ...edge, http };
    this.edges.set(key, next);
    return next;
  }

  /** Adds an event; returns the edge it changed, if any. */
  add(e: FlowEvent): FlowEdge | undefined {
    if (e.type === 'http.exchange') return this.http(e);
    const shape = edgeOf(e);
    if (!shape) return undefined;
    const prev = this.edges.get(shape.key);
    const latest = !prev || e.time >= prev.last_seen;
    const edge: FlowEdge = prev
      ? { ...prev, count: prev.count + 1, last_outcome: latest ? shape.last_outcome : prev.last_outcome, last_seen: e.time > prev.last_seen ? e.time : prev.last_seen, first_seen: e.time < prev.first_seen ? e.time : prev.first_seen }
      : { ...shape, count: 1, first_seen: e.time, last_seen: e.time };
    // Where the newest flow went between nodes (a task may have moved since the first), and what the newest lookup got.
    if (latest) {
      if (e.crossed) edge.crossed = e.crossed;
      else delete edge.crossed;
      if (e.type === 'dns.answer') edge.answers = e.answers;
    }
    this.edges.set(shape.key, edge);
    return edge;
  }

  all(): FlowEdge[] {
    return [...this.edges.values()];
  }
}
