// A streaming pcap reader: feed it bytes as they arrive, get whole packets back. Handles both
// byte orders and microsecond or nanosecond timestamps; a truncated last record is left waiting.

export interface PcapPacket {
  /** Capture time in microseconds since the epoch. */
  tsUs: number;
  linktype: number;
  data: Buffer;
  /** Length on the wire (data may be shorter when the snapshot length cut it). */
  origLen: number;
}

export class PcapError extends Error {
  override name = 'PcapError';
}

/** What a pcap file's global header (its first 24 bytes) says: byte order, timestamp unit, link type. */
export function pcapFormat(head: Buffer): { le: boolean; nanos: boolean; linktype: number } {
  const magic = head.readUInt32LE(0);
  let le: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false;
  else throw new PcapError(`expected a pcap stream (magic a1b2c3d4), found ${head.subarray(0, 4).toString('hex')}`);
  const m = le ? magic : head.readUInt32BE(0);
  return { le, nanos: m === 0xa1b23c4d, linktype: le ? head.readUInt32LE(20) : head.readUInt32BE(20) };
}

/**
 * A whole pcap file with only the records captured at or after `sinceUs` (microseconds since the
 * epoch): the header and those records, byte for byte.
 */
export function pcapSince(file: Buffer, sinceUs: number): Buffer {
  if (file.length < 24) return file;
  const { le, nanos } = pcapFormat(file);
  const u32 = (at: number) => (le ? file.readUInt32LE(at) : file.readUInt32BE(at));
  let off = 24;
  while (file.length - off >= 16) {
    const ts = u32(off) * 1e6 + (nanos ? Math.floor(u32(off + 4) / 1000) : u32(off + 4));
    if (ts >= sinceUs) break;
    off += 16 + u32(off + 8);
  }
  return off === 24 ? file : Buffer.concat([file.subarray(0, 24), file.subarray(Math.min(off, file.length))]);
}

export class PcapStream {
  private buf: Buffer = Buffer.alloc(0);
  private le = true;
  private nanos = false;
  private linktype = -1;
  /** Raw bytes seen so far, including the global header. */
  bytes = 0;

  get header(): { linktype: number } | undefined {
    return this.linktype < 0 ? undefined : { linktype: this.linktype };
  }

  push(chunk: Buffer): PcapPacket[] {
    this.bytes += chunk.length;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: PcapPacket[] = [];
    let off = 0;
    if (this.linktype < 0) {
      if (this.buf.length < 24) return out;
      ({ le: this.le, nanos: this.nanos, linktype: this.linktype } = pcapFormat(this.buf));
      off = 24;
    }
    const u32 = (at: number) => (this.le ? this.buf.readUInt32LE(at) : this.buf.readUInt32BE(at));
    while (this.buf.length - off >= 16) {
      const incl = u32(off + 8);
      if (incl > 262144 + 64) throw new PcapError(`a pcap record claims ${incl} bytes; the stream is corrupt`);
      if (this.buf.length - off < 16 + incl) break;
      const sec = u32(off);
      const frac = u32(off + 4);
      out.push({
        tsUs: sec * 1e6 + (this.nanos ? Math.floor(frac / 1000) : frac),
        linktype: this.linktype,
        data: this.buf.subarray(off + 16, off + 16 + incl),
        origLen: u32(off + 12),
      });
      off += 16 + incl;
    }
    // Keep only the unread tail (copied, so the packets above can be released independently).
    this.buf = off === 0 ? this.buf : Buffer.from(this.buf.subarray(off));
    return out;
  }
}
