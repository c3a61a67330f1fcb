import { describe, expect, it } from 'vitest';
import { PcapStream, pcapSince } from './pcap.ts';

/** A little-endian microsecond pcap file of records at these times (seconds), each its index as one byte. */
function file(times: number[], bigEndian = false): Buffer {
  const w = (b: Buffer, v: number, at: number) => (bigEndian ? b.writeUInt32BE(v, at) : b.writeUInt32LE(v, at));
  const head = Buffer.alloc(24);
  w(head, 0xa1b2c3d4, 0);
  w(head, 276, 20);
  const recs = times.map((t, i) => {
    const r = Buffer.alloc(17);
    w(r, Math.floor(t), 0);
    w(r, Math.round((t % 1) * 1e6), 4);
    w(r, 1, 8);
    w(r, 1, 12);
    r[16] = i;
    return r;
  });
  return Buffer.concat([head, ...recs]);
}
const indices = (pcap: Buffer) => new PcapStream().push(pcap).map((p) => p.data[0]);

describe('pcapSince', () => {
  it('keeps the header and the records from the time on, byte for byte', () => {
    const f = file([100, 100.5, 101, 102.25]);
    expect(indices(pcapSince(f, 101e6))).toEqual([2, 3]);
    expect(pcapSince(f, 101e6).subarray(24)).toEqual(f.subarray(24 + 2 * 17));
    expect(pcapSince(f, 0)).toBe(f);
    expect(indices(pcapSince(f, 200e6))).toEqual([]);
  });

  it('reads big-endian files too', () => {
    expect(indices(pcapSince(file([5, 6, 7], true), 6e6))).toEqual([1, 2]);
  });
});
