// Flow events: what the capture decoder emits, the browser animates and a learner pins as
// evidence. One schema, shared by the server, the CLI (`flowlab flows --json`) and the web app.
import { z } from 'zod';
import { SESSION_ID_RE } from './session-id.ts';

/**
 * The source ports a lab's own traffic (its `traffic:`) sends from: below the kernel's ephemeral
 * range (32768 and up), where a learner's probes and terminals send from. A flow started from one
 * of these is the apps' own.
 */
export const TRAFFIC_PORTS = { low: 20000, high: 29999 } as const;

export const crossedSchema = z.object({ from: z.string(), to: z.string(), vni: z.number().int().optional() });
export type Crossed = z.infer<typeof crossedSchema>;

const base = {
  /** Stable for a given packet, whichever process decodes it: evidence refers to it. */
  id: z.string(),
  session: z.string(),
  time: z.string(),
  /** A service name, or host, docker-dns, lab-dns, gateway, or "unknown <ip>". */
  src: z.string(),
  dst: z.string(),
  src_addr: z.string(),
  dst_addr: z.string(),
  src_port: z.number().int().optional(),
  dst_port: z.number().int().optional(),
  /** The service whose capture saw it, or the node whose underlay capture saw it (a lab with nodes). */
  seen_by: z.string(),
  /** A flow between two of a lab's nodes: the node it left and the node it reached; the VXLAN id when seen on the underlay. */
  crossed: crossedSchema.optional(),
  /** `traffic`: the lab's apps sent it by themselves (its `traffic:`), not the learner. */
  origin: z.literal('traffic').optional(),
};

const dnsFields = {
  client: z.string(),
  server: z.string(),
  name: z.string(),
  qtype: z.string(),
  txid: z.number().int(),
};

export const flowEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('dns.query'), ...base, ...dnsFields }),
  z.object({ type: z.literal('dns.forward'), ...base, ...dnsFields }),
  z.object({
    type: z.literal('dns.answer'),
    ...base,
    ...dnsFields,
    rcode: z.string(),
    answers: z.array(z.string()),
    latency_ms: z.number().nullable(),
  }),
  z.object({
    type: z.literal('tcp.connect'),
    ...base,
    outcome: z.enum(['established', 'refused', 'timeout', 'reset-later']),
    latency_ms: z.number().nullable(),
  }),
  z.object({
    /** One HTTP/1.x request on a TCP connection and what answered it (src is the client). */
    type: z.literal('http.exchange'),
    ...base,
    /** The id of the tcp.connect event of its connection. */
    conn: z.string(),
    method: z.string(),
    host: z.string(),
    path: z.string(),
    /** The response's status; null when none came. */
    status: z.number().int().nullable(),
    outcome: z.enum(['answered', 'incomplete', 'no-response', 'reset']),
    latency_ms: z.number().nullable(),
    /** Who answered, as the server says (lab-serve's X-Served-By: its container's hostname). */
    served_by: z.string().optional(),
  }),
  z.object({
    type: z.literal('udp.exchange'),
    ...base,
    outcome: z.enum(['answered', 'unanswered', 'refused']),
    latency_ms: z.number().nullable(),
  }),
  z.object({
    type: z.literal('icmp.unreachable'),
    ...base,
    code: z.number().int(),
    about: z.string(),
  }),
  z.object({
    type: z.literal('icmp.frag-needed'),
    ...base,
    mtu: z.number().int(),
    about: z.string(),
  }),
]);

export type FlowEvent = z.infer<typeof flowEventSchema>;
export type FlowEventType = FlowEvent['type'];

/** The state of one edge of the graph: a (src, dst, proto, port) flow, or a (client, name) lookup. */
export const flowEdgeSchema = z.object({
  key: z.string(),
  kind: z.enum(['tcp', 'udp', 'icmp', 'dns']),
  src: z.string(),
  dst: z.string(),
  /** The port for tcp/udp, the name for dns. */
  what: z.string(),
  count: z.number().int(),
  last_outcome: z.string(),
  first_seen: z.string(),
  last_seen: z.string(),
  /** The nodes its last flow crossed (a lab with nodes), when it went from one node to another. */
  crossed: crossedSchema.optional(),
  /** A TCP edge that carried HTTP: each request line and how it was answered (`404`, `no-response`), with counts. */
  http: z.array(z.object({ request: z.string(), outcomes: z.record(z.string(), z.number().int()), served_by: z.record(z.string(), z.number().int()) })).optional(),
  /** A lookup's edge: the answers its last lookup got. */
  answers: z.array(z.string()).optional(),
});
export type FlowEdge = z.infer<typeof flowEdgeSchema>;

/** A flow a working lab shows (from its traffic, or a probe), and how the captures see it now when they differ. */
export interface ExpectedFlow {
  /** The graph's edge this flow is drawn as (the edges' keys). */
  edge: string;
  from: string;
  to: string;
  /** `tcp/5432`, `udp/53`, `dns web`, `http GET /api/v2/orders` */
  what: string;
  /** `spread`: HTTP calls that a working lab answers from more than one backend. */
  kind: 'tcp' | 'udp' | 'dns' | 'http' | 'spread';
  port?: number;
  /** The name a `dns` flow looks up. */
  name?: string;
  /** The name a connection's target is called by (not an address): its lookup failing is its outcome. */
  host?: string;
  path?: string;
  expect: string[];
  /** From the lab's own traffic (runs by itself, so its absence says something), or a probe. */
  source: 'traffic' | 'probe';
  /** How often the traffic calls (ms); probes have none. */
  everyMs?: number;
  /** The call's target as the lab writes it (`http://orders:8080/api`, `dns:db`). */
  target: string;
}

export interface Difference extends ExpectedFlow {
  /** What the newest events show (ok, refused, timeout, http-404, nxdomain, one-backend, …); `missing` when never seen, `unseen` when not seen lately. */
  observed: string;
  /** When it started to differ (the first of the differing events in a row); null when missing. */
  since: string | null;
  /** The ids of the events that differ (the newest 50): the flow log's "only what differs". */
  events?: string[];
  /** When the captures last saw anything of it. */
  last?: string;
}

/** One end of a conversation: the name the lab knows it by, its address and port. */
export interface ConversationEnd {
  name: string;
  address: string;
  port: number;
}

/**
 * One TCP connection or UDP exchange between two endpoints, from the packets a capture kept:
 * `from` started it (the SYN's sender; for UDP, the first packet's). Packets and bytes (on the
 * wire, as tshark counts them) each way.
 */
export interface Conversation {
  proto: 'tcp' | 'udp';
  from: ConversationEnd;
  to: ConversationEnd;
  packets_out: number;
  bytes_out: number;
  packets_back: number;
  bytes_back: number;
  /** Its first packet, and how long until its last. */
  start: string;
  duration_ms: number;
  /** TCP: `closed`, `open`, `reset`, `refused` or `no-answer` (SYNs never answered); UDP: `answered` or `unanswered`. */
  outcome: string;
  /** Sent by the lab's apps by themselves (its `traffic:`). */
  origin?: 'traffic';
  /** The capture it was read from: a service, or a node (its underlay). */
  seen_by: string;
}

/** Socket events: client → server `flows:join` { session } → ack { ok, snapshot }; server → client `flows:delta`. */
export const flowsJoinSchema = z.strictObject({ session: z.string().regex(SESSION_ID_RE) });

export interface FlowSnapshot {
  session: string;
  events: FlowEvent[];
  edges: FlowEdge[];
  /** What differs from a working lab now (ghost edges). */
  differences: Difference[];
}

export interface FlowDelta {
  session: string;
  events: FlowEvent[];
  edges: FlowEdge[];
  /** Events left out of this delta because too many arrived at once. */
  dropped: number;
  /** What differs from a working lab, when that changed since the last delta. */
  differences?: Difference[];
}
