import { describe, expect, it } from 'vitest';
import { AddressBook } from './addresses.ts';
import { conversationsCsv, conversationsOf, toldBy } from './conversations.ts';
import { LINKTYPE_LINUX_SLL2 } from './packet.ts';
import type { PcapPacket } from './pcap.ts';
import { ipv4, pcapFile, sll2, tcp, udp } from './test-packets.ts';

const book = new AddressBook({
  names: { '10.88.0.3': 'client', '10.88.0.2': 'web', '10.88.0.4': 'db' },
  gateways: ['10.88.0.1'],
  embeddedDns: ['client', 'web', 'db'],
  captured: ['client', 'web'],
  published: [],
});

let clock = 1_764_669_600_000_000; // 2025-12-02T10:00:00Z
const at = (src: string, dst: string, l4: Buffer, proto = 6): PcapPacket => {
  const data = sll2(ipv4(src, dst, proto, l4));
  return { tsUs: (clock += 1000), linktype: LINKTYPE_LINUX_SLL2, data, origLen: data.length };
};

describe('the conversations table', () => {
  const packets = [
    // client → web:80, an HTTP request and its answer, closed by both
    at('10.88.0.3', '10.88.0.2', tcp(21000, 80, { syn: true })),
    at('10.88.0.2', '10.88.0.3', tcp(80, 21000, { syn: true, ack: true })),
    at('10.88.0.3', '10.88.0.2', tcp(21000, 80, { ack: true }, Buffer.from('GET / HTTP/1.1\r\n\r\n'))),
    at('10.88.0.2', '10.88.0.3', tcp(80, 21000, { ack: true }, Buffer.alloc(300))),
    at('10.88.0.3', '10.88.0.2', tcp(21000, 80, { fin: true, ack: true })),
    at('10.88.0.2', '10.88.0.3', tcp(80, 21000, { fin: true, ack: true })),
    // client → db:5432, refused; client → db:6379, two SYNs never answered
    at('10.88.0.3', '10.88.0.4', tcp(40001, 5432, { syn: true })),
    at('10.88.0.4', '10.88.0.3', tcp(5432, 40001, { rst: true, ack: true })),
    at('10.88.0.3', '10.88.0.4', tcp(40002, 6379, { syn: true })),
    at('10.88.0.3', '10.88.0.4', tcp(40002, 6379, { syn: true }), ),
    // client → web:80 again from the same port, refused this time: another conversation
    at('10.88.0.3', '10.88.0.2', tcp(21000, 80, { syn: true })),
    at('10.88.0.2', '10.88.0.3', tcp(80, 21000, { rst: true, ack: true })),
    // web → client:53/udp, one way
    at('10.88.0.2', '10.88.0.3', udp(33333, 53, Buffer.alloc(30)), 17),
  ];
  const rows = conversationsOf(pcapFile(packets), book, 'client');

  it('has one row per connection, with packets and bytes each way as on the wire, and how it ended', () => {
    expect(rows.map((c) => `${c.proto} ${c.from.name}:${c.from.port} -> ${c.to.name}:${c.to.port} ${c.packets_out}/${c.bytes_out} ${c.packets_back}/${c.bytes_back} ${c.outcome}${c.origin ? ` ${c.origin}` : ''}`)).toEqual([
      `tcp client:21000 -> web:80 3/${3 * 60 + 18} 3/${3 * 60 + 300} closed traffic`,
      'tcp client:40001 -> db:5432 1/60 1/60 refused',
      'tcp client:40002 -> db:6379 2/120 0/0 no-answer',
      'tcp client:21000 -> web:80 1/60 1/60 refused traffic',
      'udp web:33333 -> client:53 1/78 0/0 unanswered',
    ]);
    expect(rows[0]).toMatchObject({ from: { address: '10.88.0.3' }, to: { address: '10.88.0.2' }, start: '2025-12-02T10:00:00.001Z', duration_ms: 5, seen_by: 'client' });
  });

  it('is told once across the captures: by the initiator’s, or by whoever saw it when the initiator has none', () => {
    expect(rows.map((c) => toldBy(c, 'client', false, book))).toEqual([true, true, true, true, false]);
    const db = { ...rows[1]!, from: { ...rows[1]!.from, name: 'db' } };
    expect(toldBy(db, 'client', false, book)).toBe(true);
    expect(toldBy(rows[0]!, 'worker-1', true, book)).toBe(false);
  });

  it('exports as CSV, a header and a line each, quoting what needs it', () => {
    const csv = conversationsCsv([rows[1]!, { ...rows[1]!, from: { ...rows[1]!.from, name: 'unknown "x", y' } }]);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('proto,from,from_address,from_port,to,to_address,to_port,packets_out,bytes_out,packets_back,bytes_back,start,duration_ms,outcome,origin,seen_by');
    expect(lines[1]).toBe('tcp,client,10.88.0.3,40001,db,10.88.0.4,5432,1,60,1,60,2025-12-02T10:00:00.007Z,1,refused,,client');
    expect(lines[2]).toContain('tcp,"unknown ""x"", y",10.88.0.3');
    expect(lines).toHaveLength(4);
  });
});
