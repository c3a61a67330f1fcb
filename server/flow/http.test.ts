import { describe, expect, it } from 'vitest';
import { HttpConversation } from './http.ts';

const b = (s: string) => Buffer.from(s, 'latin1');
const GET = (path: string, host = 'orders:8080') => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n`;
const OK = (status: number, body: string, by = 'orders-1') => `HTTP/1.1 ${status} X\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nX-Served-By: ${by}\r\n\r\n${body}`;

describe('HTTP/1.x on one connection', () => {
  it('pairs a request with its response: method, host, path, status, who served it', () => {
    const c = new HttpConversation();
    c.fromClient(b(GET('/api/v2/orders')), 1000, 10, 'r1');
    expect(c.waiting).toHaveLength(1);
    expect(c.fromServer(b(OK(404, 'not here\n', 'web-2')), 5000, 25)).toEqual([
      { method: 'GET', host: 'orders:8080', path: '/api/v2/orders', tsUs: 10, tag: 'r1', status: 404, served_by: 'web-2', answeredUs: 25 },
    ]);
    expect(c.waiting).toEqual([]);
  });

  it('reads heads that arrive in pieces, and skips bodies by their length, on a kept-alive connection', () => {
    const c = new HttpConversation();
    const req1 = GET('/a');
    c.fromClient(b(req1.slice(0, 9)), 1, 10, 'r1');
    c.fromClient(b(req1.slice(9)), 1 + 9, 11, 'r1b');
    const post = 'POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nGET /c HTTP';
    c.fromClient(b(post), 1 + req1.length, 12, 'r2');
    c.fromClient(b(GET('/d')), 1 + req1.length + post.length, 13, 'r3');
    expect(c.waiting.map((r) => `${r.method} ${r.path} ${r.tag}`)).toEqual(['GET /a r1', 'POST /b r2', 'GET /d r3']);
    const resp = OK(200, 'HTTP/1.1 500 body that looks like a status line') + OK(201, '') + OK(503, 'x');
    // The responses cut at an awkward place: inside the second head.
    const cut = OK(200, 'HTTP/1.1 500 body that looks like a status line').length + 10;
    const first = c.fromServer(b(resp.slice(0, cut)), 100, 20);
    const rest = c.fromServer(b(resp.slice(cut)), 100 + cut, 21);
    expect([...first, ...rest].map((x) => `${x.path} ${x.status}`)).toEqual(['/a 200', '/b 201', '/d 503']);
  });

  it('answers an exchange once its body is all there, and says so when the body stopped short', () => {
    const c = new HttpConversation();
    c.fromClient(b(GET('/bytes/2000')), 1, 10, 'r1');
    const resp = OK(200, 'x'.repeat(2000));
    const head = resp.length - 2000;
    expect(c.fromServer(b(resp.slice(0, head + 500)), 100, 20)).toEqual([]);
    expect(c.pending).toBe(true);
    expect(c.fromServer(b(resp.slice(head + 500)), 100 + head + 500, 30).map((x) => `${x.status} ${x.answeredUs} ${x.complete ?? true}`)).toEqual(['200 20 true']);
    expect(c.pending).toBe(false);
    // The rest of the next body never comes (a path MTU black hole): cut short when the connection ends…
    c.fromClient(b(GET('/bytes/2000')), 1 + GET('/bytes/2000').length, 40, 'r2');
    c.fromServer(b(resp.slice(0, head)), 100 + resp.length, 50);
    expect(c.end().map((x) => `${x.tag} ${x.status} ${x.complete}`)).toEqual(['r2 200 false']);
    // …or when nothing more of it came for as long as a request waits for its answer.
    const d = new HttpConversation();
    d.fromClient(b(GET('/big')), 1, 10, 'r3');
    d.fromServer(b(resp.slice(0, head + 10)), 100, 20);
    expect(d.expire(15)).toEqual([]);
    expect(d.expire(20).map((x) => `${x.tag} ${x.complete}`)).toEqual(['r3 false']);
  });

  it('reads a retransmitted segment once', () => {
    const c = new HttpConversation();
    const req = b(GET('/x'));
    c.fromClient(req, 4_294_967_000, 10, 'r1');
    c.fromClient(req, 4_294_967_000, 200_000, 'r1-again');
    expect(c.waiting).toHaveLength(1);
    const resp = b(OK(200, 'ok'));
    expect(c.fromServer(resp, 7, 300)).toHaveLength(1);
    expect(c.fromServer(resp, 7, 400)).toEqual([]);
    // Sequence numbers wrap: the next request right after 2^32 is new.
    c.fromClient(b(GET('/y')), (4_294_967_000 + req.length) >>> 0, 500, 'r2');
    expect(c.waiting.map((r) => r.path)).toEqual(['/y']);
  });

  it('leaves requests without a response to end() and expire(), and a 100 Continue answers nothing', () => {
    const c = new HttpConversation();
    c.fromClient(b(GET('/slow')), 1, 10, 'r1');
    c.fromClient(b(GET('/slower')), 1 + GET('/slow').length, 20, 'r2');
    expect(c.fromServer(b('HTTP/1.1 100 Continue\r\n\r\n'), 1, 15)).toEqual([]);
    expect(c.expire(10).map((r) => [r.path, r.status])).toEqual([['/slow', null]]);
    expect(c.end().map((r) => [r.path, r.status, r.answeredUs])).toEqual([['/slower', null, null]]);
  });

  it('leaves a connection alone that does not start as HTTP', () => {
    const c = new HttpConversation();
    c.fromClient(b('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'), 1, 10, 'tls');
    c.fromClient(b(GET('/later')), 12, 20, 'r');
    expect(c.waiting).toEqual([]);
    expect(c.seen).toBe(false);
    const redis = new HttpConversation();
    redis.fromClient(b('*1\r\n$4\r\nPING\r\n'), 1, 10, 'p');
    expect(redis.fromServer(b('+PONG\r\n'), 1, 11)).toEqual([]);
  });
});
