// From packets to flow events, for the packets one capture point (a service's network namespace,
// or a node's underlay in a lab with nodes) sees: DNS questions and answers, TCP connection
// outcomes, UDP exchanges, ICMP errors. A flow is reported once: by the capture of the service
// that started it, or — when that service has none (a swarm task) — by the underlay capture of
// the node its packets left, which reads the inner packet out of each VXLAN datagram.
import { createHash } from 'node:crypto';
import dnsPacket from 'dns-packet';
import { TRAFFIC_PORTS, type Crossed, type FlowEvent } from '../protocol/flow.ts';
import type { AddressBook} from './addresses.ts';
import { DOCKER_DNS } from './addresses.ts';
import { HttpConversation, type HttpExchange } from './http.ts';
import { decodePacket, PACKET_OUTGOING, type Packet } from './packet.ts';
import type { PcapPacket } from './pcap.ts';

export interface TrackerOptions {
  session: string;
  /** The service whose namespace the packets come from, or the node whose underlay they cross. */
  local: string;
  /** The capture point is a node's underlay: only tunnelled packets are flows, read from inside. */
  underlay?: boolean;
  /** No answer within this long: a timeout (connections, lookups, UDP exchanges). */
  timeoutMs: number;
  /** An HTTP request with no response within this long is reported unanswered (default 10 s). */
  httpTimeoutMs?: number;
}

interface Pending {
  id: string;
  tsUs: number;
  base: Omit<FlowEvent, 'type' | 'id' | 'time'>;
  extra: Record<string, unknown>;
  /** An established connection's HTTP, once its client sent something. */
  http?: HttpConversation;
}

const DEFAULT_HTTP_TIMEOUT_MS = 10_000;

const DNS_PORT = 53;
const RCODE_TIMEOUT = 'TIMEOUT';

export function eventId(seenBy: string, p: PcapPacket): string {
  return `e${createHash('sha1').update(seenBy).update(String(p.tsUs)).update(p.data.subarray(0, 256)).digest('hex').slice(0, 16)}`;
}

const iso = (tsUs: number) => new Date(tsUs / 1000).toISOString();
const ms = (fromUs: number, toUs: number) => Math.round((toUs - fromUs) / 100) / 10;

export class FlowTracker {
  private readonly syns = new Map<string, Pending>();
  private readonly established = new Map<string, Pending>();
  private readonly udps = new Map<string, Pending>();
  private readonly queries = new Map<string, Pending & { name: string; qtype: string; kind: 'dns.query' | 'dns.forward'; client: string; server: string; txid: number }>();
  /** The newest packet time: timeouts are measured against the capture's own clock. */
  private nowUs = 0;

  constructor(
    private book: AddressBook,
    private readonly opts: TrackerOptions,
  ) {}

  setAddressBook(book: AddressBook): void {
    this.book = book;
  }

  private name(ip: string): string {
    return this.book.name(ip, this.opts.local);
  }

  /**
   * Whether this capture point reports a flow whose first packet `p` is, started by `initiator`:
   * a service's capture, what it starts or what no other capture will; a node's underlay, what
   * no service's capture will and leaves from this node.
   */
  private reports(initiator: string, p: Packet): boolean {
    if (this.opts.underlay) return !this.book.captured.has(initiator) && p.tunnel !== undefined && this.book.nodeAt(p.tunnel.src) === this.opts.local;
    if (initiator === this.opts.local) return true;
    // Started by a service without a capture on another node: that node's underlay saw it leave.
    const from = this.crossed(p)?.from;
    return !this.book.captured.has(initiator) && !(from !== undefined && this.book.captured.has(from));
  }

  /** The nodes a packet goes between: as the underlay saw it, or where Docker runs its two ends. */
  private crossed(p: Packet): Crossed | undefined {
    if (p.tunnel) return { from: this.book.nodeAt(p.tunnel.src) ?? `unknown ${p.tunnel.src}`, to: this.book.nodeAt(p.tunnel.dst) ?? `unknown ${p.tunnel.dst}`, vni: p.tunnel.vni };
    const from = this.book.nodeOf(p.src);
    const to = this.book.nodeOf(p.dst);
    return from && to && from !== to ? { from, to } : undefined;
  }

  private baseOf(p: Packet, sport?: number, dport?: number): Pending['base'] {
    const src = this.name(p.src);
    let dst = this.name(p.dst);
    let from = src;
    // Published-port traffic reaches the service from its network's gateway (Docker's proxy or NAT): it is the host's.
    if (this.book.isGateway(p.src) && dport !== undefined && this.book.isPublished(dst, dport, p.tcp ? 'tcp' : 'udp')) from = 'host';
    if (dst === this.opts.local && p.dst.startsWith('127.') && src === this.opts.local) dst = this.opts.local;
    const crossed = this.crossed(p);
    // Sent from the ports the lab's own traffic uses, by one of its services: the apps' own.
    const ambient = sport !== undefined && sport >= TRAFFIC_PORTS.low && sport <= TRAFFIC_PORTS.high && this.book.knows(p.src) && !this.book.isGateway(p.src);
    return {
      session: this.opts.session,
      src: from,
      dst,
      src_addr: p.src,
      dst_addr: p.dst,
      ...(sport !== undefined ? { src_port: sport } : {}),
      ...(dport !== undefined ? { dst_port: dport } : {}),
      seen_by: this.opts.local,
      ...(crossed ? { crossed } : {}),
      ...(ambient ? { origin: 'traffic' } : {}),
    } as Pending['base'];
  }

  private emit(out: FlowEvent[], type: FlowEvent['type'], id: string, tsUs: number, base: Pending['base'], extra: Record<string, unknown>): void {
    out.push({ type, id, time: iso(tsUs), ...base, ...extra } as FlowEvent);
  }

  /** Decodes one packet; returns the events it completes. */
  feed(raw: PcapPacket): FlowEvent[] {
    const out: FlowEvent[] = [];
    if (raw.tsUs > this.nowUs) this.nowUs = raw.tsUs;
    const p = decodePacket(raw.linktype, raw.data);
    if (!p) return out;
    // A node's underlay carries its engine's own traffic too (gossip, control): its flows are the tunnelled ones.
    if (this.opts.underlay && !p.tunnel) return out;
    if (p.loopback && p.pktType === PACKET_OUTGOING) return out; // loopback packets show twice on "any"
    if (p.udp) this.udp(p, raw, out);
    else if (p.tcp) this.tcp(p, raw, out);
    else if (p.icmp) this.icmp(p, raw, out);
    this.expire(out);
    return out;
  }

  /** Reports what has timed out by wall-clock time `nowUs` (the capture may be idle). */
  tick(nowUs: number): FlowEvent[] {
    if (nowUs > this.nowUs) this.nowUs = nowUs;
    const out: FlowEvent[] = [];
    this.expire(out);
    return out;
  }

  private expire(out: FlowEvent[]): void {
    const limit = this.nowUs - this.opts.timeoutMs * 1000;
    for (const [k, s] of this.syns) {
      if (s.tsUs > limit) continue;
      this.syns.delete(k);
      this.emit(out, 'tcp.connect', s.id, s.tsUs, s.base, { outcome: 'timeout', latency_ms: null });
    }
    for (const [k, u] of this.udps) {
      if (u.tsUs > limit) continue;
      this.udps.delete(k);
      this.emit(out, 'udp.exchange', u.id, u.tsUs, u.base, { outcome: 'unanswered', latency_ms: null });
    }
    const httpLimit = this.nowUs - (this.opts.httpTimeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS) * 1000;
    for (const conn of this.established.values()) if (conn.http?.pending) this.http(out, conn, conn.http.expire(httpLimit), 'no-response');
    for (const [k, q] of this.queries) {
      if (q.tsUs > limit) continue;
      this.queries.delete(k);
      // An answer goes from the server to the client: so does the one that never came.
      this.emit(out, 'dns.answer', `${q.id}t`, q.tsUs + this.opts.timeoutMs * 1000, reversed(q.base), { client: q.client, server: q.server, name: q.name, qtype: q.qtype, txid: q.txid, rcode: RCODE_TIMEOUT, answers: [], latency_ms: null });
    }
  }

  private tcp(p: Packet, raw: PcapPacket, out: FlowEvent[]): void {
    const t = p.tcp!;
    const fwd = `${p.src}:${t.sport}>${p.dst}:${t.dport}`;
    const rev = `${p.dst}:${t.dport}>${p.src}:${t.sport}`;
    if (t.syn && !t.ack) {
      if (this.syns.has(fwd) || this.established.has(fwd)) return; // a retransmission
      if (!this.reports(this.name(p.src), p)) return;
      this.syns.set(fwd, { id: eventId(this.opts.local, raw), tsUs: raw.tsUs, base: this.baseOf(p, t.sport, t.dport), extra: {} });
      return;
    }
    const pending = this.syns.get(rev);
    if (pending && t.syn && t.ack) {
      this.syns.delete(rev);
      this.established.set(rev, pending);
      this.emit(out, 'tcp.connect', pending.id, pending.tsUs, pending.base, { outcome: 'established', latency_ms: ms(pending.tsUs, raw.tsUs) });
      return;
    }
    if (pending && t.rst) {
      this.syns.delete(rev);
      this.emit(out, 'tcp.connect', pending.id, pending.tsUs, pending.base, { outcome: 'refused', latency_ms: ms(pending.tsUs, raw.tsUs) });
      return;
    }
    const conn = this.established.get(fwd) ?? this.established.get(rev);
    if (!conn && t.rst && t.ack && p.loopback && this.name(p.dst) === this.opts.local && !p.src.startsWith('127.')) {
      // A firewall rule in this namespace's OUTPUT chain (REJECT --reject-with tcp-reset) answers
      // the SYN before it leaves: the SYN is never seen, only the reset the kernel hands back on
      // lo, from the address the connection was for. That is a refused connect.
      const syn = reversed(this.baseOf(p, t.sport, t.dport));
      if (this.reports(syn.src, p)) this.emit(out, 'tcp.connect', eventId(this.opts.local, raw), raw.tsUs, syn, { outcome: 'refused', latency_ms: 0 });
      return;
    }
    if (!conn) return;
    const key = this.established.has(fwd) ? fwd : rev;
    if (t.payload.length > 0) {
      // The connection's key is its client's side: a segment that way is the client's.
      if (key === fwd) (conn.http ??= new HttpConversation()).fromClient(t.payload, t.seq, raw.tsUs, () => eventId(this.opts.local, raw));
      else if (conn.http) this.http(out, conn, conn.http.fromServer(t.payload, t.seq, raw.tsUs), 'answered');
    }
    if (t.fin) {
      conn.extra.closing = true;
    } else if (t.rst) {
      this.established.delete(key);
      if (conn.http) this.http(out, conn, conn.http.end(), 'reset');
      if (!conn.extra.closing) this.emit(out, 'tcp.connect', eventId(this.opts.local, raw), raw.tsUs, conn.base, { outcome: 'reset-later', latency_ms: null });
    }
    if (conn.extra.closing && t.ack && !t.fin && t.payloadLen === 0) {
      this.established.delete(key);
      if (conn.http) this.http(out, conn, conn.http.end(), 'no-response');
    }
  }

  /** HTTP exchanges of a connection, as events from its client to its server. */
  private http(out: FlowEvent[], conn: Pending, exchanges: HttpExchange[], unanswered: 'no-response' | 'reset' | 'answered'): void {
    for (const x of exchanges) {
      const outcome = x.status !== null ? (x.complete === false ? 'incomplete' : 'answered') : unanswered === 'answered' ? 'no-response' : unanswered;
      this.emit(out, 'http.exchange', `${x.tag}h`, x.tsUs, conn.base, {
        conn: conn.id,
        method: x.method,
        host: x.host,
        path: x.path,
        status: x.status,
        outcome,
        latency_ms: x.answeredUs !== null ? ms(x.tsUs, x.answeredUs) : null,
        ...(x.served_by ? { served_by: x.served_by } : {}),
      });
    }
  }

  private isDns(p: Packet): boolean {
    const u = p.udp!;
    return u.sport === DNS_PORT || u.dport === DNS_PORT || p.src === DOCKER_DNS || p.dst === DOCKER_DNS;
  }

  private udp(p: Packet, raw: PcapPacket, out: FlowEvent[]): void {
    const u = p.udp!;
    if (this.isDns(p) && this.dns(p, raw, out)) return;
    const fwd = `${p.src}:${u.sport}>${p.dst}:${u.dport}`;
    const rev = `${p.dst}:${u.dport}>${p.src}:${u.sport}`;
    const pending = this.udps.get(rev);
    if (pending) {
      this.udps.delete(rev);
      this.emit(out, 'udp.exchange', pending.id, pending.tsUs, pending.base, { outcome: 'answered', latency_ms: ms(pending.tsUs, raw.tsUs) });
      return;
    }
    if (this.udps.has(fwd)) return;
    if (!this.reports(this.name(p.src), p)) return;
    this.udps.set(fwd, { id: eventId(this.opts.local, raw), tsUs: raw.tsUs, base: this.baseOf(p, u.sport, u.dport), extra: {} });
  }

  private dns(p: Packet, raw: PcapPacket, out: FlowEvent[]): boolean {
    let msg: dnsPacket.Packet;
    try {
      msg = dnsPacket.decode(p.udp!.payload);
    } catch {
      return false;
    }
    const q = msg.questions?.[0];
    if (!q) return false;
    const u = p.udp!;
    const txid = msg.id ?? 0;
    if (msg.type === 'query') {
      const client = this.name(p.src);
      if (!this.reports(client, p)) return true;
      const server = this.name(p.dst);
      const kind = server === 'lab-dns' && this.book.embeddedDns.has(client) ? 'dns.forward' : 'dns.query';
      const key = `${p.src}:${u.sport}:${txid}:${q.name}:${q.type}`;
      if (this.queries.has(key)) return true; // a retry of the same question
      const base = this.baseOf(p, u.sport, u.dport);
      const id = eventId(this.opts.local, raw);
      this.queries.set(key, { id, tsUs: raw.tsUs, base, extra: {}, name: q.name, qtype: String(q.type), kind, client, server, txid });
      this.emit(out, kind, id, raw.tsUs, base, { client, server, name: q.name, qtype: String(q.type), txid });
      return true;
    }
    const key = `${p.dst}:${u.dport}:${txid}:${q.name}:${q.type}`;
    const pending = this.queries.get(key);
    if (!pending) return true;
    this.queries.delete(key);
    const answers = (msg.answers ?? []).map((a) => answerText(a)).filter((a): a is string => a !== undefined);
    const rcode = String((msg as { rcode?: string }).rcode ?? 'NOERROR');
    const answerBase = this.baseOf(p, u.sport, u.dport);
    if (pending.base.origin) answerBase.origin = pending.base.origin;
    this.emit(out, 'dns.answer', eventId(this.opts.local, raw), raw.tsUs, answerBase, {
      client: pending.client,
      server: pending.server,
      name: pending.name,
      qtype: pending.qtype,
      txid,
      rcode,
      answers,
      latency_ms: ms(pending.tsUs, raw.tsUs),
    });
    return true;
  }

  private icmp(p: Packet, raw: PcapPacket, out: FlowEvent[]): void {
    const i = p.icmp!;
    if (!i.inner) return;
    // The error reaches the service that sent the packet it is about: that capture reports it, or
    // the underlay of the node it arrives at when that service has none.
    const to = this.name(p.dst);
    const mine = this.opts.underlay ? !this.book.captured.has(to) && p.tunnel !== undefined && this.book.nodeAt(p.tunnel.dst) === this.opts.local : to === this.opts.local;
    if (!mine) return;
    const inner = i.inner;
    const about = `${inner.proto === 6 ? 'tcp' : inner.proto === 17 ? 'udp' : `proto ${inner.proto}`} ${this.name(inner.src)}:${inner.sport} -> ${this.name(inner.dst)}:${inner.dport}`;
    const fragNeeded = i.v6 ? i.type === 2 : i.type === 3 && i.code === 4;
    const portUnreachable = i.v6 ? i.type === 1 && i.code === 4 : i.type === 3 && i.code === 3;
    if (portUnreachable && inner.proto === 17) {
      const key = `${inner.src}:${inner.sport}>${inner.dst}:${inner.dport}`;
      const pending = this.udps.get(key);
      if (pending) {
        this.udps.delete(key);
        this.emit(out, 'udp.exchange', pending.id, pending.tsUs, pending.base, { outcome: 'refused', latency_ms: ms(pending.tsUs, raw.tsUs) });
        return;
      }
    }
    const base = this.baseOf(p);
    if (fragNeeded) this.emit(out, 'icmp.frag-needed', eventId(this.opts.local, raw), raw.tsUs, base, { mtu: i.mtu, about });
    else this.emit(out, 'icmp.unreachable', eventId(this.opts.local, raw), raw.tsUs, base, { code: i.code, about });
  }
}

/** The same flow seen the other way round (source and destination swapped). */
function reversed(b: Pending['base']): Pending['base'] {
  const { src, dst, src_addr, dst_addr, src_port, dst_port, ...rest } = b as Pending['base'] & { src_port?: number; dst_port?: number };
  return { ...rest, src: dst, dst: src, src_addr: dst_addr, dst_addr: src_addr, ...(dst_port !== undefined ? { src_port: dst_port } : {}), ...(src_port !== undefined ? { dst_port: src_port } : {}) } as Pending['base'];
}

function answerText(a: dnsPacket.Answer): string | undefined {
  switch (a.type) {
    case 'A':
    case 'AAAA':
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return String(a.data);
    case 'SRV': {
      const d = a.data as { priority: number; weight: number; port: number; target: string };
      return `${d.priority} ${d.weight} ${d.port} ${d.target}`;
    }
    case 'TXT':
      return ([] as unknown[]).concat(a.data as unknown[]).map(String).join(' ');
    default:
      return undefined;
  }
}
