// Packet-level counts of a pcap, as tshark would count them: for cross-checking the decoder.
import dnsPacket from 'dns-packet';
import { decodePacket, PACKET_OUTGOING } from './packet.ts';
import { PcapStream } from './pcap.ts';

export interface PcapStats {
  packets: number;
  dnsQueries: number;
  dnsAnswersByRcode: Record<string, number>;
  tcpSyns: number;
  tcpRsts: number;
}

export function pcapStats(pcap: Buffer): PcapStats {
  const s: PcapStats = { packets: 0, dnsQueries: 0, dnsAnswersByRcode: {}, tcpSyns: 0, tcpRsts: 0 };
  for (const raw of new PcapStream().push(pcap)) {
    s.packets++;
    const p = decodePacket(raw.linktype, raw.data);
    if (!p || (p.loopback && p.pktType === PACKET_OUTGOING)) continue;
    if (p.tcp) {
      if (p.tcp.syn && !p.tcp.ack) s.tcpSyns++;
      if (p.tcp.rst) s.tcpRsts++;
    }
    if (p.udp && (p.udp.sport === 53 || p.udp.dport === 53 || p.src === '127.0.0.11' || p.dst === '127.0.0.11')) {
      try {
        const m = dnsPacket.decode(p.udp.payload);
        if (m.type === 'query') s.dnsQueries++;
        else {
          const rcode = String((m as { rcode?: string }).rcode ?? 'NOERROR');
          s.dnsAnswersByRcode[rcode] = (s.dnsAnswersByRcode[rcode] ?? 0) + 1;
        }
      } catch {
        // not DNS after all
      }
    }
  }
  return s;
}
