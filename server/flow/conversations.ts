// The conversations table: one row per TCP connection or UDP exchange a capture kept, with
// packets and bytes each way, when it started, how long it lasted and how it ended — what
// tshark's `-z conv,tcp` / `-z conv,udp` count, with the lab's names on both ends. Across the
// captures of a session each conversation is told once, by the capture the flow log takes it
// from (its initiator's, or the one that saw it for an initiator without a capture). Pure.
import { TRAFFIC_PORTS, type Conversation } from '../protocol/flow.ts';
import type { AddressBook } from './addresses.ts';
import { decodePacket, PACKET_OUTGOING } from './packet.ts';
import { PcapStream } from './pcap.ts';

interface Building extends Omit<Conversation, 'start' | 'duration_ms' | 'outcome'> {
  firstUs: number;
  lastUs: number;
  syn: boolean;
  synAck: boolean;
  rst: boolean;
  finOut: boolean;
  finBack: boolean;
}

function outcomeOf(c: Building): string {
  if (c.proto === 'udp') return c.packets_back > 0 ? 'answered' : 'unanswered';
  if (c.syn && !c.synAck) return c.rst ? 'refused' : 'no-answer';
  if (c.rst) return 'reset';
  return c.finOut && c.finBack ? 'closed' : 'open';
}

/** The conversations in one capture point's pcap (`point`: a service, or a node whose underlay it is). */
export function conversationsOf(pcap: Buffer, book: AddressBook, point: string): Conversation[] {
  const local = point;
  const all = new Map<string, Building>();
  const done: Building[] = [];
  for (const raw of new PcapStream().push(pcap)) {
    const p = decodePacket(raw.linktype, raw.data);
    if (!p || (!p.tcp && !p.udp)) continue;
    if (p.loopback && p.pktType === PACKET_OUTGOING) continue; // loopback packets show twice on "any"
    const sport = (p.tcp ?? p.udp)!.sport;
    const dport = (p.tcp ?? p.udp)!.dport;
    const proto = p.tcp ? 'tcp' : 'udp';
    const out = `${proto}|${p.src}|${sport}|${p.dst}|${dport}`;
    const back = `${proto}|${p.dst}|${dport}|${p.src}|${sport}`;
    let c = all.get(out);
    let forward = true;
    if (!c && (c = all.get(back))) forward = false;
    // A new SYN on the ports of a connection that ended (a client reusing its port): a new conversation.
    if (c && forward && p.tcp?.syn && !p.tcp.ack && c.syn && (c.synAck || c.rst || c.finOut || c.finBack)) {
      done.push(c);
      all.delete(out);
      c = undefined;
    }
    if (!c) {
      // A SYN-ACK seen first (its SYN before the ring's start) still names the client right.
      const reversed = p.tcp?.syn === true && p.tcp.ack;
      const [fa, fp, ta, tp] = reversed ? [p.dst, dport, p.src, sport] : [p.src, sport, p.dst, dport];
      c = {
        proto,
        from: { name: book.name(fa, local), address: fa, port: fp },
        to: { name: book.name(ta, local), address: ta, port: tp },
        packets_out: 0, bytes_out: 0, packets_back: 0, bytes_back: 0,
        seen_by: point,
        firstUs: raw.tsUs, lastUs: raw.tsUs,
        syn: false, synAck: false, rst: false, finOut: false, finBack: false,
        ...(fp >= TRAFFIC_PORTS.low && fp <= TRAFFIC_PORTS.high && book.knows(fa) && !book.isGateway(fa) ? { origin: 'traffic' as const } : {}),
      };
      all.set(reversed ? back : out, c);
      forward = !reversed;
    }
    if (forward) {
      c.packets_out++;
      c.bytes_out += raw.origLen;
    } else {
      c.packets_back++;
      c.bytes_back += raw.origLen;
    }
    c.lastUs = Math.max(c.lastUs, raw.tsUs);
    if (p.tcp) {
      if (p.tcp.syn && !p.tcp.ack && forward) c.syn = true;
      if (p.tcp.syn && p.tcp.ack && !forward) c.synAck = true;
      if (p.tcp.rst) c.rst = true;
      if (p.tcp.fin) {
        if (forward) c.finOut = true;
        else c.finBack = true;
      }
    }
  }
  return [...done, ...all.values()].sort((a, b) => a.firstUs - b.firstUs).map((c) => ({
    proto: c.proto,
    from: c.from,
    to: c.to,
    packets_out: c.packets_out,
    bytes_out: c.bytes_out,
    packets_back: c.packets_back,
    bytes_back: c.bytes_back,
    start: new Date(Math.floor(c.firstUs / 1000)).toISOString(),
    duration_ms: Math.round((c.lastUs - c.firstUs) / 1000),
    outcome: outcomeOf(c),
    ...(c.origin ? { origin: c.origin } : {}),
    seen_by: c.seen_by,
  }));
}

/** Whether the conversations of `point` include `c` when the session's are told once (see the top). */
export function toldBy(c: Conversation, point: string, underlay: boolean, book: AddressBook): boolean {
  if (underlay) return !book.captured.has(c.from.name) && !book.captured.has(c.to.name);
  return c.from.name === point || !book.captured.has(c.from.name);
}

const CSV_COLUMNS = ['proto', 'from', 'from_address', 'from_port', 'to', 'to_address', 'to_port', 'packets_out', 'bytes_out', 'packets_back', 'bytes_back', 'start', 'duration_ms', 'outcome', 'origin', 'seen_by'] as const;

const csvCell = (v: string | number): string => (typeof v === 'number' || !/[",\n\r]/.test(v) ? String(v) : `"${v.replace(/"/g, '""')}"`);

/** The table as CSV (RFC 4180): a header line, then one line per conversation. */
export function conversationsCsv(rows: Conversation[]): string {
  const line = (c: Conversation) => [c.proto, c.from.name, c.from.address, c.from.port, c.to.name, c.to.address, c.to.port, c.packets_out, c.bytes_out, c.packets_back, c.bytes_back, c.start, c.duration_ms, c.outcome, c.origin ?? '', c.seen_by].map(csvCell).join(',');
  return [CSV_COLUMNS.join(','), ...rows.map(line)].join('\r\n') + '\r\n';
}
