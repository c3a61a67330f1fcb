// Packets built by hand for the decoder's tests: IPv4, TCP and UDP headers in Linux "any" (SLL2)
// frames, and a pcap file of them. For tests only.
import type { PcapPacket } from './pcap.ts';

export const ip4 = (s: string) => Buffer.from(s.split('.').map(Number));

export function ipv4(src: string, dst: string, proto: number, l4: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + l4.length, 2);
  h[8] = 64;
  h[9] = proto;
  ip4(src).copy(h, 12);
  ip4(dst).copy(h, 16);
  return Buffer.concat([h, l4]);
}

export function tcp(sport: number, dport: number, flags: { syn?: boolean; ack?: boolean; rst?: boolean; fin?: boolean }, payload = Buffer.alloc(0), seq = 0): Buffer {
  const t = Buffer.alloc(20);
  t.writeUInt16BE(sport, 0);
  t.writeUInt16BE(dport, 2);
  t.writeUInt32BE(seq >>> 0, 4);
  t[12] = 5 << 4;
  t[13] = (flags.fin ? 1 : 0) | (flags.syn ? 2 : 0) | (flags.rst ? 4 : 0) | (flags.ack ? 0x10 : 0);
  return Buffer.concat([t, payload]);
}

export function udp(sport: number, dport: number, payload: Buffer): Buffer {
  const u = Buffer.alloc(8);
  u.writeUInt16BE(sport, 0);
  u.writeUInt16BE(dport, 2);
  u.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([u, payload]);
}

export function sll2(ip: Buffer, ifindex = 2): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(0x0800, 0);
  h.writeUInt32BE(ifindex, 4);
  h.writeUInt16BE(ifindex === 1 ? 772 : 1, 8);
  return Buffer.concat([h, ip]);
}

/** A little-endian microsecond pcap file of `packets` (linktype of the first). */
export function pcapFile(packets: PcapPacket[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(packets[0]?.linktype ?? 276, 20);
  const recs = packets.map((p) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(Math.floor(p.tsUs / 1e6), 0);
    r.writeUInt32LE(p.tsUs % 1e6, 4);
    r.writeUInt32LE(p.data.length, 8);
    r.writeUInt32LE(p.origLen, 12);
    return Buffer.concat([r, p.data]);
  });
  return Buffer.concat([head, ...recs]);
}
