// HTTP/1.x on one TCP connection, as a capture sees both directions of it: each request's method,
// Host and path, matched in order with its response's status (and lab-serve's X-Served-By) — the
// way HTTP/1.1 answers the requests of a connection. Headers only: a body is skipped by its
// Content-Length (an exchange is complete once its body is all there: a response whose body stops
// short, the connection ended or quiet, is `complete: false`), a retransmitted segment is read
// once, and a connection that does not start as HTTP is left alone. Pure.

/** How much of a header block is kept while it arrives in pieces. */
const MAX_HEAD = 16 * 1024;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE'];

export interface HttpRequest {
  method: string;
  host: string;
  path: string;
  /** When its first byte was seen (capture clock, µs). */
  tsUs: number;
  /** Whatever the caller keeps to name the request later (its first packet's event id). */
  tag: string;
}

export interface HttpExchange extends HttpRequest {
  status: number | null;
  served_by?: string;
  /** When the response's status line was seen (µs); null when none came. */
  answeredUs: number | null;
  /** false: the status line came, the body of its Content-Length did not all come. */
  complete?: boolean;
}

interface Side {
  head: string;
  /** Body bytes still to skip before the next message starts. */
  skip: number;
  /** The next sequence number expected: bytes before it were read already. */
  next?: number;
  /** This side does not speak HTTP: nothing more is read from it. */
  off: boolean;
}

function headerOf(head: string, name: string): string | undefined {
  const m = new RegExp(`\\r\\n${name}:[ \\t]*([^\\r\\n]*)`, 'i').exec(head);
  return m?.[1]?.trim();
}

/** Whether `data` may start a request (a method and a space, or the start of one). */
function startsRequest(data: Buffer): boolean {
  const t = data.subarray(0, 8).toString('latin1');
  return METHODS.some((m) => t.startsWith(`${m} `) || (t.length <= m.length && m.startsWith(t)));
}

/** Whether `data` may start a response (its status line, or the start of one). */
function startsResponse(data: Buffer): boolean {
  const t = data.subarray(0, 7).toString('latin1');
  return 'HTTP/1.'.startsWith(t);
}

/** The part of a segment not read before (a retransmission repeats bytes already seen). */
function unseen(side: Side, payload: Buffer, seq: number): Buffer {
  let data = payload;
  if (side.next !== undefined) {
    const behind = (side.next - seq) >>> 0;
    if (behind < 2 ** 31) data = behind >= payload.length ? payload.subarray(payload.length) : payload.subarray(behind);
  }
  const end = (seq + payload.length) >>> 0;
  if (side.next === undefined || ((end - side.next) >>> 0) < 2 ** 31) side.next = end;
  return data;
}

export class HttpConversation {
  private readonly client: Side = { head: '', skip: 0, off: false };
  private readonly server: Side = { head: '', skip: 0, off: false };
  /** Requests sent and not answered yet, oldest first. */
  readonly waiting: HttpRequest[] = [];
  private started?: { tsUs: number; tag: string };
  /** A response whose status line came and whose body is still coming, with when its last byte was seen (µs). */
  private receiving?: { x: HttpExchange; lastUs: number };

  /** Whether anything on this connection was HTTP. */
  seen = false;

  /** A segment from the client: requests whose head is complete wait for their response. `tag` names the packet, asked only when a request starts in it. */
  fromClient(payload: Buffer, seq: number, tsUs: number, tag: string | (() => string)): void {
    const c = this.client;
    let data = this.skipBody(c, unseen(c, payload, seq));
    while (data.length > 0 && !c.off) {
      if (c.head === '') {
        if (!startsRequest(data)) {
          // Not HTTP from the start; after HTTP, a body of unknown length: skipped.
          if (!this.seen) c.off = true;
          return;
        }
        this.started = { tsUs, tag: typeof tag === 'string' ? tag : tag() };
      }
      const rest = this.takeHead(c, data);
      if (rest === undefined) return;
      const head = c.head;
      c.head = '';
      const line = /^([A-Z]+) (\S+) HTTP\/1\.[01]\r\n/.exec(head);
      if (!line) {
        c.off = !this.seen;
        return;
      }
      this.seen = true;
      const started = this.started ?? { tsUs, tag: typeof tag === 'string' ? tag : tag() };
      this.waiting.push({ method: line[1]!, path: line[2]!, host: headerOf(head, 'host') ?? '', tsUs: started.tsUs, tag: started.tag });
      c.skip = Number(headerOf(head, 'content-length') ?? 0) || 0;
      data = this.skipBody(c, rest);
    }
  }

  /** A segment from the server: the exchanges its responses complete. */
  fromServer(payload: Buffer, seq: number, tsUs: number): HttpExchange[] {
    const s = this.server;
    const out: HttpExchange[] = [];
    let data = this.skipBody(s, unseen(s, payload, seq));
    if (this.receiving) {
      this.receiving.lastUs = tsUs;
      if (s.skip === 0) {
        out.push(this.receiving.x);
        this.receiving = undefined;
      }
    }
    while (data.length > 0 && !s.off) {
      // Where a status line should start and none does: a body of unknown length (chunked), skipped.
      if (s.head === '' && !startsResponse(data)) return out;
      const rest = this.takeHead(s, data);
      if (rest === undefined) return out;
      const head = s.head;
      s.head = '';
      const line = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (!line) {
        s.off = true;
        return out;
      }
      const status = Number(line[1]);
      // An interim response (100 Continue) answers nothing yet.
      const req = status >= 200 ? this.waiting.shift() : this.waiting[0];
      // A response to HEAD, a 1xx, 204 and 304 carry no body whatever Content-Length says.
      const bodiless = req?.method === 'HEAD' || status < 200 || status === 204 || status === 304;
      s.skip = bodiless ? 0 : Number(headerOf(head, 'content-length') ?? 0) || 0;
      data = this.skipBody(s, rest);
      if (req && status >= 200) {
        const servedBy = headerOf(head, 'x-served-by');
        const x: HttpExchange = { ...req, status, answeredUs: tsUs, ...(servedBy ? { served_by: servedBy } : {}) };
        // Its body still to come: it is answered once the body is all there.
        if (s.skip > 0) this.receiving = { x, lastUs: tsUs };
        else out.push(x);
      }
    }
    return out;
  }

  /** Whether a request waits for its answer, or a response for the rest of its body. */
  get pending(): boolean {
    return this.waiting.length > 0 || this.receiving !== undefined;
  }

  /** The connection ended: a body still coming stopped short, every request still waiting went unanswered. */
  end(): HttpExchange[] {
    return [...this.cutShort(), ...this.waiting.splice(0).map((r) => ({ ...r, status: null, answeredUs: null }))];
  }

  /** Requests waiting since `limitUs` or before, and a body nothing of which came since then: given up on. */
  expire(limitUs: number): HttpExchange[] {
    const out: HttpExchange[] = this.receiving && this.receiving.lastUs <= limitUs ? this.cutShort() : [];
    while (this.waiting.length > 0 && this.waiting[0]!.tsUs <= limitUs) out.push({ ...this.waiting.shift()!, status: null, answeredUs: null });
    return out;
  }

  private cutShort(): HttpExchange[] {
    const r = this.receiving;
    this.receiving = undefined;
    return r ? [{ ...r.x, complete: false }] : [];
  }

  private skipBody(side: Side, data: Buffer): Buffer {
    if (side.skip === 0) return data;
    const n = Math.min(side.skip, data.length);
    side.skip -= n;
    return data.subarray(n);
  }

  /** Adds to the header block; returns what follows it once complete (undefined while it is not). */
  private takeHead(side: Side, data: Buffer): Buffer | undefined {
    const before = side.head.length;
    side.head += data.subarray(0, MAX_HEAD).toString('latin1');
    const end = side.head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (side.head.length >= MAX_HEAD) side.off = true;
      return undefined;
    }
    side.head = side.head.slice(0, end + 2);
    return data.subarray(end + 4 - before);
  }
}

/** An HTTP exchange's outcome in a probe's words. */
export function httpOutcome(status: number | null, outcome: 'answered' | 'incomplete' | 'no-response' | 'reset'): string {
  if (status === null) return outcome === 'reset' ? 'reset' : 'timeout';
  if (outcome === 'incomplete') return 'timeout'; // the body stopped short: curl times out as well
  return status >= 200 && status < 400 ? 'ok' : `http-${status}`;
}
