// The traffic rule, checked on what the captures kept: every packet a lab's services sent or
// received stays between the lab's own addresses and loopback (a service's own address on a network
// Docker gave it besides the lab's — an overlay container's docker_gwbridge — is its own).
import { contains, parseCidr } from '../lab/ipv4.ts';
import type { LiveSession } from '../session/live.ts';
import { capturedServices } from '../session/plan.ts';
import { buildAddressBook } from './book.ts';
import { capturedPcap } from './collector.ts';
import { decodePacket, PACKET_OUTGOING } from './packet.ts';
import { PcapStream } from './pcap.ts';

export async function trafficOutsideLab(live: LiveSession): Promise<{ packets: number; outside: string[] }> {
  const subnets = live.topology.networks.map((n) => parseCidr(n.subnet));
  // The lab's own containers wherever they are (Docker's default bridge too), and its gateways;
  // link-local multicast (224.0.0.0/24: IGMP reports when a container joins) never leaves the link.
  const own = (await buildAddressBook(live)).labAddresses();
  const inLab = (ip: string) => own.has(ip) || ip.startsWith('127.') || ip.startsWith('224.0.0.') || ip === '::1' || ip === '::' || ip.startsWith('fe80:') || ip.startsWith('ff02:') || (/^\d+\./.test(ip) && subnets.some((s) => contains(s, ip)));
  let packets = 0;
  const outside = new Set<string>();
  for (const service of capturedServices(live.lab)) {
    const pcap = await capturedPcap(live, service).catch(() => undefined);
    if (!pcap) continue;
    const decoded = [...new PcapStream().push(pcap)].flatMap((raw) => decodePacket(raw.linktype, raw.data) ?? []);
    // The service's own addresses, whatever network gave them (an overlay container's
    // docker_gwbridge one too): the sources of what it sent. Between one of them and the lab is inside.
    const mine = new Set(decoded.filter((p) => p.pktType === PACKET_OUTGOING && !p.loopback).map((p) => p.src));
    for (const p of decoded) {
      packets++;
      const inside = (inLab(p.src) || mine.has(p.src)) && (inLab(p.dst) || mine.has(p.dst)) && (inLab(p.src) || inLab(p.dst));
      if (!inside) outside.add(`${service} saw ${p.src} -> ${p.dst}`);
    }
  }
  return { packets, outside: [...outside] };
}
