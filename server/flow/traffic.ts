// The traffic rule, checked on what the captures kept: every packet a lab's services sent or
// received stays between the lab's own addresses and loopback.
import { contains, parseCidr } from '../lab/ipv4.ts';
import type { LiveSession } from '../session/live.ts';
import { capturedServices } from '../session/plan.ts';
import { buildAddressBook } from './book.ts';
import { capturedPcap } from './collector.ts';
import { decodePacket } from './packet.ts';
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
    for (const raw of new PcapStream().push(pcap)) {
      const p = decodePacket(raw.linktype, raw.data);
      if (!p) continue;
      packets++;
      if (!inLab(p.src) || !inLab(p.dst)) outside.add(`${service} saw ${p.src} -> ${p.dst}`);
    }
  }
  return { packets, outside: [...outside] };
}
