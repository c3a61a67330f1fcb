import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../config.ts';
import type { FlowEvent } from '../protocol/flow.ts';
import { AddressBook } from './addresses.ts';
import { decodePacket, LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2 } from './packet.ts';
import { PcapStream, type PcapPacket } from './pcap.ts';
import { ipv4, sll2, tcp, udp } from './test-packets.ts';
import { FlowTracker } from './tracker.ts';

const book = new AddressBook({
  names: { '10.88.0.3': 'client', '10.88.0.2': 'web', '10.88.0.4': 'api', '10.88.0.254': 'lab-dns' },
  gateways: ['10.88.0.1'],
  embeddedDns: ['client', 'web', 'api'],
  captured: ['client', 'web', 'api'],
  published: ['web/80/tcp'],
});

/** A DNS question, as a resolver library would send it. */
function dnsQuery(id: number, name: string): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
}

let clock = 1_700_000_000_000_000;
const pkt = (data: Buffer, advanceUs = 1000): PcapPacket => ({ tsUs: (clock += advanceUs), linktype: LINKTYPE_LINUX_SLL2, data, origLen: data.length });

function run(local: string, packets: PcapPacket[], thenUs?: number): FlowEvent[] {
  const t = new FlowTracker(book, { session: 's', local, timeoutMs: 3000 });
  const out = packets.flatMap((p) => t.feed(p));
  if (thenUs !== undefined) out.push(...t.tick(thenUs));
  return out;
}

describe('pcap stream', () => {
  it('reads a real capture fed in small pieces, and leaves a cut-off record waiting', () => {
    const file = readFileSync(join(PROJECT_ROOT, 'test', 'fixtures', 'client-capture.pcap'));
    const whole = new PcapStream().push(file);
    expect(whole.length).toBe(30);
    const s = new PcapStream();
    const pieces: PcapPacket[] = [];
    for (let i = 0; i < file.length; i += 7) pieces.push(...s.push(file.subarray(i, i + 7)));
    expect(pieces.map((p) => p.tsUs)).toEqual(whole.map((p) => p.tsUs));
    expect(new PcapStream().push(file.subarray(0, file.length - 3)).length).toBe(29);
  });

  it('reads big-endian and nanosecond files, and refuses what is not pcap', () => {
    const be = Buffer.alloc(24 + 16 + 4);
    be.writeUInt32BE(0xa1b23c4d, 0);
    be.writeUInt32BE(LINKTYPE_ETHERNET, 20);
    be.writeUInt32BE(10, 24);
    be.writeUInt32BE(5000, 28);
    be.writeUInt32BE(4, 32);
    be.writeUInt32BE(4, 36);
    const [p] = new PcapStream().push(be);
    expect(p).toMatchObject({ tsUs: 10_000_005, linktype: LINKTYPE_ETHERNET });
    expect(() => new PcapStream().push(Buffer.from('this is not a pcap file at all'))).toThrow(/expected a pcap stream/);
  });
});

describe('packet decoding', () => {
  it('decodes IPv4 TCP over Ethernet and SLL2, and an ICMP frag-needed with the packet it quotes', () => {
    const eth = Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x00]), ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1234, 80, { syn: true }))]);
    expect(decodePacket(LINKTYPE_ETHERNET, eth)).toMatchObject({ src: '10.0.0.1', dst: '10.0.0.2', tcp: { sport: 1234, dport: 80, syn: true, ack: false } });
    const quoted = ipv4('10.88.0.3', '10.88.0.2', 17, udp(5555, 9999, Buffer.alloc(4)));
    const icmp = Buffer.concat([Buffer.from([3, 4, 0, 0, 0, 0, 0x05, 0xdc]), quoted]);
    const p = decodePacket(LINKTYPE_LINUX_SLL2, sll2(ipv4('10.88.0.2', '10.88.0.3', 1, icmp)));
    expect(p?.icmp).toMatchObject({ type: 3, code: 4, mtu: 1500, inner: { proto: 17, src: '10.88.0.3', dst: '10.88.0.2', sport: 5555, dport: 9999 } });
    expect(decodePacket(LINKTYPE_LINUX_SLL2, Buffer.from([1, 2, 3]))).toBeUndefined();
  });
});

describe('flow tracking', () => {
  it('decodes a real capture: lookups through docker-dns, a forward to lab-dns, connections', () => {
    const file = readFileSync(join(PROJECT_ROOT, 'test', 'fixtures', 'client-capture.pcap'));
    const events = new PcapStream().push(file).flatMap((p) => new FlowTracker(book, { session: 's', local: 'client', timeoutMs: 3000 }).feed(p));
    // A fresh tracker per packet loses the pairing; decode the stream with one tracker instead.
    const t = new FlowTracker(book, { session: 's', local: 'client', timeoutMs: 3000 });
    const ev = new PcapStream().push(file).flatMap((p) => t.feed(p));
    expect(events.length).toBeLessThan(ev.length);
    const a = ev.find((e) => e.type === 'dns.answer' && e.name === 'web' && e.qtype === 'A');
    expect(a).toMatchObject({ client: 'client', server: 'docker-dns', rcode: 'NOERROR', answers: ['10.88.0.2'] });
    expect(ev.find((e) => e.type === 'dns.forward')).toMatchObject({ src: 'client', dst: 'lab-dns', name: 'db' });
    expect(ev.find((e) => e.type === 'dns.answer' && e.server === 'lab-dns')).toMatchObject({ rcode: 'NXDOMAIN', name: 'db' });
    expect(ev.filter((e) => e.type === 'tcp.connect').map((e) => [e.dst, e.dst_port, (e as { outcome: string }).outcome])).toEqual([['web', 80, 'established'], ['api', 8080, 'established']]);
  });

  it('tells established, refused, timed out and reset-later connections apart', () => {
    const syn = pkt(sll2(ipv4('10.88.0.3', '10.88.0.2', 6, tcp(40000, 80, { syn: true }))));
    const synack = pkt(sll2(ipv4('10.88.0.2', '10.88.0.3', 6, tcp(80, 40000, { syn: true, ack: true }))));
    expect(run('client', [syn, synack]).map((e) => (e as { outcome: string }).outcome)).toEqual(['established']);
    const syn2 = pkt(sll2(ipv4('10.88.0.3', '10.88.0.2', 6, tcp(40001, 81, { syn: true }))));
    const rst = pkt(sll2(ipv4('10.88.0.2', '10.88.0.3', 6, tcp(81, 40001, { rst: true, ack: true }))));
    expect(run('client', [syn2, rst])).toMatchObject([{ type: 'tcp.connect', outcome: 'refused', src: 'client', dst: 'web', dst_port: 81 }]);
    const syn3 = pkt(sll2(ipv4('10.88.0.3', '10.88.0.2', 6, tcp(40002, 82, { syn: true }))));
    const retransmit = pkt(sll2(ipv4('10.88.0.3', '10.88.0.2', 6, tcp(40002, 82, { syn: true }))), 1_000_000);
    expect(run('client', [syn3, retransmit], syn3.tsUs + 3_500_000)).toMatchObject([{ type: 'tcp.connect', outcome: 'timeout', latency_ms: null }]);
    const syn4 = pkt(sll2(ipv4('10.88.0.3', '10.88.0.2', 6, tcp(40003, 80, { syn: true }))));
    const synack4 = pkt(sll2(ipv4('10.88.0.2', '10.88.0.3', 6, tcp(80, 40003, { syn: true, ack: true }))));
    const rst4 = pkt(sll2(ipv4('10.88.0.2', '10.88.0.3', 6, tcp(80, 40003, { rst: true }))), 500_000);
    expect(run('client', [syn4, synack4, rst4]).map((e) => (e as { outcome: string }).outcome)).toEqual(['established', 'reset-later']);
  });

  it('reports a connect refused by a REJECT --reject-with tcp-reset in the namespace’s own OUTPUT chain', () => {
    // As captured on a real engine: no SYN ever shows; the kernel hands the reset back on lo,
    // from the address the connection was for.
    const rst = pkt(sll2(ipv4('10.88.0.2', '10.88.0.3', 6, tcp(80, 44946, { rst: true, ack: true })), 1));
    expect(run('client', [rst])).toMatchObject([{ type: 'tcp.connect', outcome: 'refused', src: 'client', dst: 'web', src_port: 44946, dst_port: 80, latency_ms: 0 }]);
    // The same reset arriving from the network (not on lo) with no SYN before it is a stray: not a connect.
    const stray = pkt(sll2(ipv4('10.88.0.2', '10.88.0.3', 6, tcp(80, 44947, { rst: true, ack: true }))));
    expect(run('client', [stray])).toEqual([]);
  });

  it('reports a lookup that timed out from the server to the client, like every answer', () => {
    const q = dnsQuery(0x1234, 'db');
    const query = pkt(sll2(ipv4('10.88.0.3', '127.0.0.11', 17, udp(40500, 53, q))));
    const [ask, timedOut] = run('client', [query], query.tsUs + 4_000_000);
    expect(ask).toMatchObject({ type: 'dns.query', src: 'client', dst: 'docker-dns', src_port: 40500, dst_port: 53 });
    expect(timedOut).toMatchObject({ type: 'dns.answer', rcode: 'TIMEOUT', src: 'docker-dns', dst: 'client', src_port: 53, dst_port: 40500, src_addr: '127.0.0.11', dst_addr: '10.88.0.3' });
  });

  it('reports a flow between captured services once, from the side that started it', () => {
    const syn = pkt(sll2(ipv4('10.88.0.3', '10.88.0.2', 6, tcp(40010, 80, { syn: true }))));
    const synack = pkt(sll2(ipv4('10.88.0.2', '10.88.0.3', 6, tcp(80, 40010, { syn: true, ack: true }))));
    expect(run('client', [syn, synack]).length).toBe(1);
    expect(run('web', [syn, synack]).length).toBe(0);
  });

  it('names published-port traffic from the gateway as the host', () => {
    const syn = pkt(sll2(ipv4('10.88.0.1', '10.88.0.2', 6, tcp(50000, 80, { syn: true }))));
    const synack = pkt(sll2(ipv4('10.88.0.2', '10.88.0.1', 6, tcp(80, 50000, { syn: true, ack: true }))));
    expect(run('web', [syn, synack])).toMatchObject([{ type: 'tcp.connect', src: 'host', dst: 'web', outcome: 'established' }]);
    const other = pkt(sll2(ipv4('10.88.0.1', '10.88.0.2', 6, tcp(50001, 9000, { syn: true }))));
    expect(run('web', [other], other.tsUs + 4_000_000)).toMatchObject([{ src: 'gateway', outcome: 'timeout' }]);
  });

  it('pairs UDP exchanges, and turns an ICMP port unreachable into a refusal', () => {
    const req = pkt(sll2(ipv4('10.88.0.3', '10.88.0.2', 17, udp(5000, 9999, Buffer.from('x')))));
    const rep = pkt(sll2(ipv4('10.88.0.2', '10.88.0.3', 17, udp(9999, 5000, Buffer.from('x')))));
    expect(run('client', [req, rep])).toMatchObject([{ type: 'udp.exchange', outcome: 'answered' }]);
    const req2 = pkt(sll2(ipv4('10.88.0.3', '10.88.0.2', 17, udp(5001, 9998, Buffer.from('x')))));
    const icmp = Buffer.concat([Buffer.from([3, 3, 0, 0, 0, 0, 0, 0]), ipv4('10.88.0.3', '10.88.0.2', 17, udp(5001, 9998, Buffer.from('x')))]);
    const unreach = pkt(sll2(ipv4('10.88.0.2', '10.88.0.3', 1, icmp)));
    expect(run('client', [req2, unreach])).toMatchObject([{ type: 'udp.exchange', outcome: 'refused', dst_port: 9998 }]);
    const req3 = pkt(sll2(ipv4('10.88.0.3', '10.88.0.2', 17, udp(5002, 9997, Buffer.from('x')))));
    expect(run('client', [req3], req3.tsUs + 4_000_000)).toMatchObject([{ type: 'udp.exchange', outcome: 'unanswered' }]);
  });

  it('gives every event an id that depends only on the packet and who saw it', () => {
    const syn = pkt(sll2(ipv4('10.88.0.3', '10.88.0.2', 6, tcp(40020, 80, { syn: true }))));
    const synack = pkt(sll2(ipv4('10.88.0.2', '10.88.0.3', 6, tcp(80, 40020, { syn: true, ack: true }))));
    const [a] = run('client', [syn, synack]);
    const [b] = run('client', [syn, synack]);
    expect(a!.id).toBe(b!.id);
    expect(a!.id).toMatch(/^e[0-9a-f]{16}$/);
  });
});

describe("the lab's own traffic", () => {
  it('is marked by the ports it is sent from, its lookups’ answers too; a probe’s is not', () => {
    const syn = pkt(sll2(ipv4('10.88.0.3', '10.88.0.2', 6, tcp(24567, 80, { syn: true }))));
    const synack = pkt(sll2(ipv4('10.88.0.2', '10.88.0.3', 6, tcp(80, 24567, { syn: true, ack: true }))));
    expect(run('client', [syn, synack])).toMatchObject([{ type: 'tcp.connect', origin: 'traffic' }]);
    const probe = [pkt(sll2(ipv4('10.88.0.3', '10.88.0.2', 6, tcp(45000, 80, { syn: true })))), pkt(sll2(ipv4('10.88.0.2', '10.88.0.3', 6, tcp(80, 45000, { syn: true, ack: true }))))];
    expect(run('client', probe)[0]!.origin).toBeUndefined();
    const q = dnsQuery(0x4321, 'web');
    const a = dnsPacket.encode({ type: 'response', id: 0x4321, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'web' }], answers: [{ type: 'A', name: 'web', data: '10.88.0.2' }] });
    const events = run('client', [pkt(sll2(ipv4('10.88.0.3', '127.0.0.11', 17, udp(21000, 53, q)))), pkt(sll2(ipv4('127.0.0.11', '10.88.0.3', 17, udp(53, 21000, a))))]);
    expect(events.map((e) => `${e.type} ${e.origin}`)).toEqual(['dns.query traffic', 'dns.answer traffic']);
    // A server listening in that range is called from an ephemeral port: not the lab's own traffic.
    const toHigh = [pkt(sll2(ipv4('10.88.0.3', '10.88.0.2', 6, tcp(45001, 25000, { syn: true })))), pkt(sll2(ipv4('10.88.0.2', '10.88.0.3', 6, tcp(25000, 45001, { syn: true, ack: true }))))];
    expect(run('client', toHigh)[0]!.origin).toBeUndefined();
  });
});

describe('HTTP on a connection', () => {
  const conn = (port: number) => [
    pkt(sll2(ipv4('10.88.0.3', '10.88.0.2', 6, tcp(port, 80, { syn: true }, undefined, 100)))),
    pkt(sll2(ipv4('10.88.0.2', '10.88.0.3', 6, tcp(80, port, { syn: true, ack: true }, undefined, 900)))),
  ];
  const request = (port: number, path: string, seq = 101) => pkt(sll2(ipv4('10.88.0.3', '10.88.0.2', 6, tcp(port, 80, { ack: true }, Buffer.from(`GET ${path} HTTP/1.1\r\nHost: web\r\n\r\n`), seq))));
  const response = (port: number, status: number, by: string, seq = 901) => pkt(sll2(ipv4('10.88.0.2', '10.88.0.3', 6, tcp(80, port, { ack: true }, Buffer.from(`HTTP/1.1 ${status} X\r\nContent-Length: 3\r\nX-Served-By: ${by}\r\n\r\nhi\n`), seq))), 2000);

  it('reports each request with its status, who served it and its latency, tied to its connection', () => {
    const events = run('client', [...conn(41000), request(41000, '/api/v2/orders'), response(41000, 404, 'web-2')]);
    const [connect, http] = events;
    expect(connect).toMatchObject({ type: 'tcp.connect', outcome: 'established' });
    expect(http).toMatchObject({ type: 'http.exchange', src: 'client', dst: 'web', dst_port: 80, conn: connect!.id, method: 'GET', host: 'web', path: '/api/v2/orders', status: 404, outcome: 'answered', served_by: 'web-2', latency_ms: 2 });
    // The server's own capture does not report it again: the connection is the client's.
    expect(run('web', [...conn(41000), request(41000, '/api/v2/orders'), response(41000, 404, 'web-2')])).toEqual([]);
  });

  it('says a request went unanswered: the connection reset, or nothing within the HTTP timeout', () => {
    const rst = pkt(sll2(ipv4('10.88.0.2', '10.88.0.3', 6, tcp(80, 41001, { rst: true, ack: true }))));
    const reset = run('client', [...conn(41001), request(41001, '/slow'), rst]).filter((e) => e.type === 'http.exchange');
    expect(reset).toMatchObject([{ path: '/slow', status: null, outcome: 'reset', latency_ms: null }]);
    const hung = run('client', [...conn(41002), request(41002, '/hang')], clock + 11_000_000).filter((e) => e.type === 'http.exchange');
    expect(hung).toMatchObject([{ path: '/hang', status: null, outcome: 'no-response' }]);
  });
});

describe('a lab with nodes: VXLAN on the underlay', () => {
  // inventory (a swarm task, no capture) on worker-2, stock (a task) on worker-1, shop (captured) on manager-1;
  // every node's underlay captured.
  const nodes = new AddressBook({
    names: { '10.0.9.5': 'inventory', '10.0.9.6': 'stock', '10.0.9.7': 'shop' },
    gateways: [],
    embeddedDns: ['inventory', 'stock', 'shop'],
    captured: ['shop', 'manager-1', 'worker-1', 'worker-2'],
    published: [],
    underlay: { '10.99.0.10': 'manager-1', '10.99.0.11': 'worker-1', '10.99.0.12': 'worker-2' },
    placed: { '10.0.9.5': 'worker-2', '10.0.9.6': 'worker-1', '10.0.9.7': 'manager-1' },
  });
  const addr = { 'manager-1': '10.99.0.10', 'worker-1': '10.99.0.11', 'worker-2': '10.99.0.12' } as const;

  /** An inner IPv4 packet as one node's engine sends it to another: in VXLAN, in UDP to 4789. */
  function vxlan(from: keyof typeof addr, to: keyof typeof addr, inner: Buffer, vni = 4097): Buffer {
    const header = Buffer.from([0x08, 0, 0, 0, (vni >> 16) & 0xff, (vni >> 8) & 0xff, vni & 0xff, 0]);
    const frame = Buffer.concat([Buffer.alloc(12, 0x02), Buffer.from([0x08, 0x00]), inner]);
    return sll2(ipv4(addr[from], addr[to], 17, udp(51234, 4789, Buffer.concat([header, frame]))));
  }

  const seenOn = (node: string, packets: PcapPacket[], thenUs?: number) => {
    const t = new FlowTracker(nodes, { session: 's', local: node, timeoutMs: 3000, underlay: true });
    const out = packets.flatMap((p) => t.feed(p));
    if (thenUs !== undefined) out.push(...t.tick(thenUs));
    return out;
  };

  it('opens a VXLAN datagram: the inner packet, with the VNI and the two nodes’ addresses', () => {
    const p = decodePacket(LINKTYPE_LINUX_SLL2, vxlan('worker-1', 'worker-2', ipv4('10.0.9.6', '10.0.9.5', 6, tcp(40100, 8080, { syn: true })), 0x1001ab));
    expect(p).toMatchObject({ src: '10.0.9.6', dst: '10.0.9.5', proto: 6, tcp: { sport: 40100, dport: 8080, syn: true }, tunnel: { vni: 0x1001ab, src: '10.99.0.11', dst: '10.99.0.12' } });
    // The I flag unset: not VXLAN, left as the UDP datagram it is.
    const bare = sll2(ipv4(addr['worker-1'], addr['worker-2'], 17, udp(51234, 4789, Buffer.alloc(30))));
    expect(decodePacket(LINKTYPE_LINUX_SLL2, bare)).toMatchObject({ src: '10.99.0.11', udp: { dport: 4789 } });
    expect(decodePacket(LINKTYPE_LINUX_SLL2, bare)?.tunnel).toBeUndefined();
  });

  it('reports a flow between two tasks once, on the node it left, with the nodes it crossed', () => {
    const syn = pkt(vxlan('worker-1', 'worker-2', ipv4('10.0.9.6', '10.0.9.5', 6, tcp(40101, 8080, { syn: true }))));
    const synack = pkt(vxlan('worker-2', 'worker-1', ipv4('10.0.9.5', '10.0.9.6', 6, tcp(8080, 40101, { syn: true, ack: true }))));
    expect(seenOn('worker-1', [syn, synack])).toMatchObject([
      { type: 'tcp.connect', src: 'stock', dst: 'inventory', dst_port: 8080, outcome: 'established', seen_by: 'worker-1', crossed: { from: 'worker-1', to: 'worker-2', vni: 4097 } },
    ]);
    expect(seenOn('worker-2', [syn, synack])).toEqual([]);
    // No answer: a timeout, still between the two services, across the same nodes.
    const lost = pkt(vxlan('worker-1', 'worker-2', ipv4('10.0.9.6', '10.0.9.5', 6, tcp(40102, 8080, { syn: true }))));
    expect(seenOn('worker-1', [lost], lost.tsUs + 4_000_000)).toMatchObject([{ type: 'tcp.connect', outcome: 'timeout', crossed: { from: 'worker-1', to: 'worker-2' } }]);
  });

  it('leaves a captured service’s flows to its own capture, which names the nodes from where Docker runs each end', () => {
    const inner = ipv4('10.0.9.7', '10.0.9.5', 6, tcp(40103, 8080, { syn: true }));
    const back = ipv4('10.0.9.5', '10.0.9.7', 6, tcp(8080, 40103, { syn: true, ack: true }));
    expect(seenOn('manager-1', [pkt(vxlan('manager-1', 'worker-2', inner)), pkt(vxlan('worker-2', 'manager-1', back))])).toEqual([]);
    const t = new FlowTracker(nodes, { session: 's', local: 'shop', timeoutMs: 3000 });
    const events = [pkt(sll2(inner)), pkt(sll2(back))].flatMap((p) => t.feed(p));
    expect(events).toMatchObject([{ src: 'shop', dst: 'inventory', outcome: 'established', seen_by: 'shop', crossed: { from: 'manager-1', to: 'worker-2' } }]);
    expect(events[0]!.crossed?.vni).toBeUndefined();
    // A task on another node calling shop: its node's underlay reports it, shop's capture does not.
    const call = ipv4('10.0.9.6', '10.0.9.7', 6, tcp(40105, 8080, { syn: true }));
    const answer = ipv4('10.0.9.7', '10.0.9.6', 6, tcp(8080, 40105, { syn: true, ack: true }));
    expect([pkt(sll2(call)), pkt(sll2(answer))].flatMap((p) => t.feed(p))).toEqual([]);
    expect(seenOn('worker-1', [pkt(vxlan('worker-1', 'manager-1', call)), pkt(vxlan('manager-1', 'worker-1', answer))])).toMatchObject([{ src: 'stock', dst: 'shop', seen_by: 'worker-1' }]);
  });

  it('takes no flow from the underlay’s own traffic (gossip, control), and none between tasks of one node', () => {
    const gossip = pkt(sll2(ipv4(addr['worker-1'], addr['worker-2'], 17, udp(7946, 7946, Buffer.from('ping')))));
    expect(seenOn('worker-1', [gossip], gossip.tsUs + 4_000_000)).toEqual([]);
    const t = new FlowTracker(nodes, { session: 's', local: 'shop', timeoutMs: 3000 });
    const local = new AddressBook({ names: { '10.0.9.7': 'shop', '10.0.9.8': 'cache' }, gateways: [], embeddedDns: [], captured: ['shop'], published: [], placed: { '10.0.9.7': 'manager-1', '10.0.9.8': 'manager-1' } });
    t.setAddressBook(local);
    const [e] = [pkt(sll2(ipv4('10.0.9.7', '10.0.9.8', 6, tcp(40104, 6379, { syn: true })))), pkt(sll2(ipv4('10.0.9.8', '10.0.9.7', 6, tcp(6379, 40104, { syn: true, ack: true }))))].flatMap((p) => t.feed(p));
    expect(e).toMatchObject({ dst: 'cache', outcome: 'established' });
    expect(e!.crossed).toBeUndefined();
  });
});
