// Real output of the toolbox's tools (captured in a lab), classified.
import { describe, expect, it } from 'vitest';
import { parseProbeTarget } from '../lab/targets.ts';
import { classify } from './classify.ts';

const t = (s: string) => parseProbeTarget(s)!;

describe('classify', () => {
  it('dns: answers, NXDOMAIN, timeouts', () => {
    const ok = `;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 16650
;; flags: qr rd ra; QUERY: 1, ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 0

;; ANSWER SECTION:
web.			600	IN	A	10.88.0.3
web.			600	IN	A	10.88.0.4

;; Query time: 4 msec
;; SERVER: 127.0.0.11#53(127.0.0.11) (UDP)`;
    expect(classify(t('dns:web'), 0, ok, 900)).toEqual({ status: 'ok', answers: ['10.88.0.3', '10.88.0.4'], latencyMs: 4 });
    const nx = `;; Got answer:\n;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 38562\n;; flags: qr rd ra; QUERY: 1, ANSWER: 0`;
    expect(classify(t('dns:nosuch.example'), 0, nx, 12).status).toBe('nxdomain');
    expect(classify(t('dns:x'), 0, ';; ->>HEADER<<- opcode: QUERY, status: SERVFAIL, id: 1', 12).status).toBe('servfail');
    const to = ';; communications error to 127.0.0.11#53: timed out\n;; no servers could be reached';
    expect(classify(t('dns:web'), 9, to, 2426)).toEqual({ status: 'timeout', answers: [], latencyMs: 2426 });
    const ptr = `;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 52014\n\n3.0.88.10.in-addr.arpa.\t600\tIN\tPTR\tfl-df8eda8c-web.fl-df8eda8c-frontend.\n;; Query time: 0 msec`;
    expect(classify(t('dns:10.88.0.3/PTR'), 0, ptr, 5).answers).toEqual(['fl-df8eda8c-web.fl-df8eda8c-frontend.']);
  });

  it('tcp: connected, refused, timed out, name not found, name server unreachable', () => {
    expect(classify(t('tcp:web:80'), 0, '', 10).status).toBe('ok');
    expect(classify(t('tcp:web:81'), 1, '2026/11/27 06:55:09 socat[60] E connect(6, AF=2 10.88.0.3:81, 16): Connection refused', 10).status).toBe('refused');
    expect(classify(t('tcp:x:80'), 1, '2026/11/27 06:55:11 socat[62] E connecting to AF=2 10.88.0.77:80: Connection timed out', 1500).status).toBe('timeout');
    expect(classify(t('tcp:nosuch:80'), 1, 'socat[68] E getaddrinfo("nosuch", "NULL", {1,0,1,6}, {}): Name or service not known', 10).status).toBe('nxdomain');
    expect(classify(t('tcp:nosuch:80'), 1, 'socat[170] E getaddrinfo("nosuch.example", "NULL", {1,0,1,6}, {}): Temporary failure in name resolution', 10).status).toBe('servfail');
    expect(classify(t('tcp:x:80'), 1, 'E connect(5, AF=2 10.1.1.1:80, 16): No route to host', 10).status).toBe('no-route');
  });

  it('udp: echoed, refused by ICMP, or no answer', () => {
    expect(classify(t('udp:web:9999'), 0, 'flowlab-probe', 10).status).toBe('ok');
    expect(classify(t('udp:web:9998'), 1, 'socat[61] E read(5, 0x5622ed908000, 8192): Connection refused', 10).status).toBe('refused');
    expect(classify(t('udp:web:9998'), 0, '', 1500).status).toBe('timeout');
  });

  it('http: codes, refused, empty reply, reset, timeout', () => {
    expect(classify(t('http://web/'), 0, '200 0.100140', 900)).toEqual({ status: 'ok', answers: ['200'], latencyMs: 100 });
    expect(classify(t('http://web/x'), 0, '404 0.010', 20).status).toBe('http-404');
    expect(classify(t('http://web:81/'), 7, "curl: (7) Failed to connect to web port 81 after 92 ms: Couldn't connect to server\n000 0.091578", 100).status).toBe('refused');
    expect(classify(t('http://localhost:2/'), 52, 'curl: (52) Empty reply from server\n000 0.01', 10).status).toBe('empty-reply');
    expect(classify(t('http://localhost:2/'), 56, 'curl: (56) Recv failure: Connection reset by peer\n000 0.01', 10).status).toBe('reset');
    expect(classify(t('http://web/'), 28, 'curl: (28) Connection timed out after 1501 milliseconds\n000 1.5', 1500).status).toBe('timeout');
    expect(classify(t('http://nosuch.example/'), 28, 'curl: (28) Resolving timed out after 3000 milliseconds', 3000).status).toBe('servfail');
    expect(classify(t('http://nosuch/'), 6, 'curl: (6) Could not resolve host: nosuch', 10).status).toBe('nxdomain');
    // What curl says when an SSH banner answers on the port: not an error of the probe, an answer that is not HTTP.
    expect(classify(t('http://localhost:2222/'), 1, 'curl: (1) Received HTTP/0.9 when not allowed\n000 0.000498', 1).status).toBe('not-http');
    expect(classify(t('http://localhost:2222/'), 8, 'curl: (8) Weird server reply\n000 0.01', 10).status).toBe('not-http');
  });

  it('icmp and mtu: replies, loss, too big', () => {
    const ok = 'PING web (10.88.0.3) 56(84) bytes of data.\n64 bytes from 10.88.0.3: icmp_seq=1 ttl=64 time=0.236 ms\n\n1 packets transmitted, 1 received, 0% packet loss, time 0ms';
    expect(classify(t('icmp:web'), 0, ok, 700)).toEqual({ status: 'ok', answers: [], latencyMs: 0 });
    const loss = 'PING 10.88.0.77 (10.88.0.77) 56(84) bytes of data.\n\n--- 10.88.0.77 ping statistics ---\n1 packets transmitted, 0 received, 100% packet loss, time 0ms';
    expect(classify(t('icmp:10.88.0.77'), 1, loss, 1500).status).toBe('timeout');
    const big = 'PING web (10.88.0.3) 1600(1628) bytes of data.\nping: local error: message too long, mtu=1500\n\n1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms';
    expect(classify(t('mtu:web:1628'), 1, big, 10)).toEqual({ status: 'too-big', answers: ['mtu 1500'], latencyMs: 10 });
    expect(classify(t('icmp:nosuch'), 2, 'ping: nosuch: Name or service not known', 10).status).toBe('nxdomain');
  });

  it('spread: requests over several backends, all on one, and the first failure', () => {
    const many = '200 10.0.2.10 91560a12bf83\n200 10.0.2.9 7ceabf20ce0b\n200 10.0.2.10 91560a12bf83\n200 10.0.2.9 7ceabf20ce0b\n200 10.0.2.10 91560a12bf83\n200 10.0.2.10 91560a12bf83\n200 10.0.2.10 91560a12bf83\n200 10.0.2.9 7ceabf20ce0b\n200 10.0.2.8 bc05fbd541f2\n200 10.0.2.8 bc05fbd541f2\n200 10.0.2.9 7ceabf20ce0b\n200 10.0.2.8 bc05fbd541f2';
    expect(classify(t('spread:http://web:8080/'), 0, many, 538)).toEqual({ status: 'ok', answers: ['91560a12bf83 ×5', '7ceabf20ce0b ×4', 'bc05fbd541f2 ×3'], latencyMs: 45 });
    const one = Array.from({ length: 12 }, () => '200 10.0.2.13 fcc3fbb35cb2').join('\n');
    expect(classify(t('spread:http://one:8080/'), 0, one, 513)).toEqual({ status: 'one-backend', answers: ['fcc3fbb35cb2 ×12'], latencyMs: 43 });
    // A server that does not name itself: the answering address counts.
    expect(classify(t('spread:http://one:8080/'), 0, '200 10.0.2.13\n200 10.0.2.14 \n', 20).status).toBe('ok');
    const refused = "curl: (7) Failed to connect to one port 9999 after 3 ms: Couldn't connect to server\n000  ";
    expect(classify(t('spread:http://one:9999/'), 7, refused, 56)).toMatchObject({ status: 'refused', answers: [] });
    expect(classify(t('spread:http://nosuch/'), 6, 'curl: (6) Could not resolve host: nosuch\n000  ', 46).status).toBe('nxdomain');
    // Answers, then a timeout: the failure decides; the answers still show who answered.
    const flaky = '200 10.0.2.9 7ceabf20ce0b\ncurl: (28) Connection timed out after 1501 milliseconds\n000 10.0.2.8 ';
    expect(classify(t('spread:http://web:8080/'), 28, flaky, 1600)).toMatchObject({ status: 'timeout', answers: ['7ceabf20ce0b ×1'] });
    expect(classify(t('spread:http://web:8080/'), 0, '503 10.0.2.9 a\n200 10.0.2.8 b', 30).status).toBe('http-503');
  });
});
