// Decoding one captured packet: Linux cooked capture (SLL, SLL2) or Ethernet, then IPv4/IPv6,
// then TCP, UDP or ICMP; a VXLAN datagram (an overlay's packet between nodes) is opened and its
// inner packet decoded, the tunnel kept beside it. Anything else is skipped, never thrown on.

export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_LINUX_SLL2 = 276;

/** Linux packet types, as cooked captures record them. */
export const PACKET_OUTGOING = 4;

/** The UDP port VXLAN is sent to (IANA's, and Docker's overlay driver's default). */
export const VXLAN_PORT = 4789;

export interface TcpInfo {
  sport: number;
  dport: number;
  syn: boolean;
  ack: boolean;
  rst: boolean;
  fin: boolean;
  seq: number;
  payloadLen: number;
  /** The segment's data as captured (a capture may keep less than was sent). */
  payload: Buffer;
}

export interface UdpInfo {
  sport: number;
  dport: number;
  payload: Buffer;
}

export interface IcmpInfo {
  type: number;
  code: number;
  /** For "destination unreachable" and "too big": the next-hop MTU (v4) or MTU (v6). */
  mtu: number;
  /** The packet the error is about, when quoted. */
  inner?: { proto: number; src: string; dst: string; sport: number; dport: number };
  v6: boolean;
}

/** The outer packet of a tunnelled one: between two nodes' underlay addresses, with the overlay's VXLAN id. */
export interface TunnelInfo {
  vni: number;
  src: string;
  dst: string;
}

export interface Packet {
  /** Interface index for SLL2 (1 is loopback); -1 when unknown. */
  ifindex: number;
  /** Linux packet type (0 to us, 4 outgoing), -1 when unknown. */
  pktType: number;
  loopback: boolean;
  src: string;
  dst: string;
  proto: number;
  tcp?: TcpInfo;
  udp?: UdpInfo;
  icmp?: IcmpInfo;
  /** Set when this is the inner packet of a VXLAN datagram (src, dst and the rest are the inner packet's). */
  tunnel?: TunnelInfo;
}

/** Dotted addresses by their 32-bit value: a lab has few, and its packets name them again and again. */
const dotted = new Map<number, string>();

function ipv4(b: Buffer, at: number): string {
  const n = b.readUInt32BE(at);
  let s = dotted.get(n);
  if (s === undefined) {
    s = `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
    if (dotted.size > 65_536) dotted.clear();
    dotted.set(n, s);
  }
  return s;
}

const EMPTY = Buffer.alloc(0);

function ipv6(b: Buffer, at: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(at + i).toString(16));
  // Shorten the longest run of zeros, as everyone writes IPv6 addresses.
  const s = parts.join(':');
  const runs = s.match(/(^|:)0(:0)+(:|$)/g);
  if (!runs) return s;
  const longest = runs.reduce((a, c) => (c.length > a.length ? c : a));
  return s.replace(longest, '::');
}

interface L3 {
  src: string;
  dst: string;
  proto: number;
  at: number;
  end: number;
  v6: boolean;
}

function l3(b: Buffer, at: number, ethertype: number): L3 | undefined {
  if (ethertype === 0x0800 && b.length >= at + 20) {
    const ihl = (b[at]! & 0x0f) * 4;
    const total = b.readUInt16BE(at + 2);
    const frag = b.readUInt16BE(at + 6) & 0x1fff;
    if (frag !== 0) return undefined; // a later fragment: no L4 header in it
    return { src: ipv4(b, at + 12), dst: ipv4(b, at + 16), proto: b[at + 9]!, at: at + ihl, end: Math.min(b.length, at + (total || b.length - at)), v6: false };
  }
  if (ethertype === 0x86dd && b.length >= at + 40) {
    let next = b[at + 6]!;
    let off = at + 40;
    // Walk the common extension headers.
    while ([0, 43, 60].includes(next) && b.length >= off + 8) {
      next = b[off]!;
      off += (b[off + 1]! + 1) * 8;
    }
    return { src: ipv6(b, at + 8), dst: ipv6(b, at + 24), proto: next, at: off, end: b.length, v6: true };
  }
  return undefined;
}

function icmpInner(b: Buffer, at: number, v6: boolean): IcmpInfo['inner'] {
  const ip = l3(b, at, v6 ? 0x86dd : 0x0800);
  if (!ip || b.length < ip.at + 4) return undefined;
  return { proto: ip.proto, src: ip.src, dst: ip.dst, sport: b.readUInt16BE(ip.at), dport: b.readUInt16BE(ip.at + 2) };
}

export function decodePacket(linktype: number, b: Buffer): Packet | undefined {
  let at: number;
  let ethertype: number;
  let ifindex = -1;
  let pktType = -1;
  let loopback = false;
  if (linktype === LINKTYPE_LINUX_SLL2) {
    if (b.length < 20) return undefined;
    ethertype = b.readUInt16BE(0);
    ifindex = b.readUInt32BE(4);
    loopback = b.readUInt16BE(8) === 772;
    pktType = b[10]!;
    at = 20;
  } else if (linktype === LINKTYPE_LINUX_SLL) {
    if (b.length < 16) return undefined;
    pktType = b.readUInt16BE(0);
    loopback = b.readUInt16BE(2) === 772;
    ethertype = b.readUInt16BE(14);
    at = 16;
  } else if (linktype === LINKTYPE_ETHERNET) {
    if (b.length < 14) return undefined;
    ethertype = b.readUInt16BE(12);
    at = 14;
    if (ethertype === 0x8100 && b.length >= 18) {
      ethertype = b.readUInt16BE(16);
      at = 18;
    }
  } else if (linktype === LINKTYPE_RAW) {
    ethertype = b.length > 0 && b[0]! >> 4 === 6 ? 0x86dd : 0x0800;
    at = 0;
  } else {
    return undefined;
  }
  const p = decodeL3(b, at, ethertype, { ifindex, pktType, loopback });
  if (p?.udp && p.udp.dport === VXLAN_PORT) {
    // VXLAN (RFC 7348): 8 bytes (flags with the I bit, 24-bit VNI), then the inner Ethernet frame.
    const v = p.udp.payload;
    if (v.length >= 8 + 14 && (v[0]! & 0x08) !== 0) {
      const frame = v.subarray(8);
      const inner = decodeL3(frame, 14, frame.readUInt16BE(12), { ifindex, pktType, loopback: false });
      if (inner) return { ...inner, tunnel: { vni: v.readUIntBE(4, 3), src: p.src, dst: p.dst } };
    }
  }
  return p;
}

function decodeL3(b: Buffer, at: number, ethertype: number, link: Pick<Packet, 'ifindex' | 'pktType' | 'loopback'>): Packet | undefined {
  const ip = l3(b, at, ethertype);
  if (!ip) return undefined;
  const p: Packet = { ifindex: link.ifindex, pktType: link.pktType, loopback: link.loopback, src: ip.src, dst: ip.dst, proto: ip.proto };
  const o = ip.at;
  if (ip.proto === 6 && b.length >= o + 20) {
    const flags = b[o + 13]!;
    const dataOff = (b[o + 12]! >> 4) * 4;
    const from = Math.min(b.length, o + dataOff);
    const to = Math.min(b.length, ip.end);
    p.tcp = {
      sport: b.readUInt16BE(o),
      dport: b.readUInt16BE(o + 2),
      fin: (flags & 0x01) !== 0,
      syn: (flags & 0x02) !== 0,
      rst: (flags & 0x04) !== 0,
      ack: (flags & 0x10) !== 0,
      seq: b.readUInt32BE(o + 4),
      payloadLen: Math.max(0, ip.end - o - dataOff),
      payload: to > from ? b.subarray(from, to) : EMPTY,
    };
  } else if (ip.proto === 17 && b.length >= o + 8) {
    p.udp = { sport: b.readUInt16BE(o), dport: b.readUInt16BE(o + 2), payload: b.subarray(o + 8, Math.min(b.length, ip.end)) };
  } else if ((ip.proto === 1 || ip.proto === 58) && b.length >= o + 8) {
    const v6 = ip.proto === 58;
    const type = b[o]!;
    const code = b[o + 1]!;
    const mtu = v6 ? b.readUInt32BE(o + 4) : b.readUInt16BE(o + 6);
    const quotes = v6 ? type === 1 || type === 2 : type === 3;
    p.icmp = { type, code, mtu, v6, ...(quotes ? { inner: icmpInner(b, o + 8, v6) } : {}) };
  }
  return p;
}
