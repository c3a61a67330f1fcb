// From what a probe's tool printed to a precise status: the facts the flow view shows and the
// grader checks. Pure, so every branch is tested against real tool output.
import type { ProbeTarget } from '../lab/targets.ts';
import { UDP_PAYLOAD } from './commands.ts';

export type ProbeStatus =
  | 'ok' | 'refused' | 'timeout' | 'reset' | 'empty-reply' | 'nxdomain' | 'servfail' | 'no-route' | 'too-big' | `http-${number}`
  /** A spread probe's requests all answered, every one by the same backend. */
  | 'one-backend'
  /** Something answered on the port, but not in HTTP (another protocol's banner, raw bytes). */
  | 'not-http'
  /** The probe could not run at all (its source is stopped, paused or gone). */
  | 'error';

export interface Classified {
  status: ProbeStatus;
  answers: string[];
  latencyMs: number;
}

/** Name-resolution and socket errors as the C library and the tools word them. */
function socketError(out: string): ProbeStatus | undefined {
  if (/Connection refused/i.test(out)) return 'refused';
  if (/Connection reset by peer/i.test(out)) return 'reset';
  if (/No route to host|Network is unreachable|Host is unreachable|Destination (Host|Net) Unreachable/i.test(out)) return 'no-route';
  if (/Name or service not known|No address associated|Could not resolve host|unknown host|nodename nor servname/i.test(out)) return 'nxdomain';
  if (/Temporary failure in name resolution|Resolving timed out/i.test(out)) return 'servfail';
  if (/timed out|Timeout|Operation now in progress/i.test(out)) return 'timeout';
  return undefined;
}

function dns(rc: number, out: string, elapsed: number): Classified {
  const time = /;; Query time: (\d+) msec/.exec(out);
  const latencyMs = time ? Number(time[1]) : elapsed;
  const status = /status: (\w+)/.exec(out)?.[1];
  if (status === 'NOERROR') {
    const answers = out
      .split('\n')
      .filter((l) => l && !l.startsWith(';'))
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 5)
      .map((f) => f.slice(4).join(' '));
    return { status: 'ok', answers, latencyMs };
  }
  if (status === 'NXDOMAIN') return { status: 'nxdomain', answers: [], latencyMs };
  if (status === 'SERVFAIL' || status === 'REFUSED' || status === 'FORMERR' || status === 'NOTIMP') return { status: 'servfail', answers: [], latencyMs };
  if (/connection refused/i.test(out)) return { status: 'refused', answers: [], latencyMs: elapsed };
  if (rc === 9 || /timed out|no servers could be reached/i.test(out)) return { status: 'timeout', answers: [], latencyMs: elapsed };
  return { status: 'error', answers: [], latencyMs: elapsed };
}

function http(rc: number, out: string, elapsed: number): Classified {
  const w = /(\d{3}) (\d+(?:\.\d+)?)\s*$/.exec(out.trim());
  const latencyMs = w ? Math.round(Number(w[2]) * 1000) : elapsed;
  if (rc === 0 && w) {
    const code = Number(w[1]);
    return { status: code >= 200 && code < 400 ? 'ok' : `http-${code}`, answers: [String(code)], latencyMs };
  }
  // 1 "Received HTTP/0.9 when not allowed", 8 "Weird server reply": the port answered in another protocol.
  if ((rc === 1 && /HTTP\/0\.9|Unsupported HTTP/i.test(out)) || rc === 8) return { status: 'not-http', answers: [], latencyMs };
  const byExit: Record<number, ProbeStatus> = { 6: 'nxdomain', 7: 'refused', 28: 'timeout', 52: 'empty-reply', 56: 'reset', 35: 'reset' };
  // curl's own message tells "no route" from "refused" (both exit 7), and a resolving timeout from a slow server.
  const status = (rc === 7 || rc === 28 ? socketError(out) : undefined) ?? byExit[rc] ?? socketError(out) ?? 'error';
  return { status, answers: [], latencyMs };
}

/**
 * A spread probe: one `<code> <address> <served-by>` line per request. `ok` when two or more
 * backends answered, `one-backend` when every answer came from the same one; the first failure
 * (curl stops there) decides otherwise. The answers count the requests each backend took.
 */
function spread(rc: number, out: string, elapsed: number): Classified {
  const replies = out
    .split('\n')
    .map((l) => /^(\d{3}) (\S+)(?: (\S+))?$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => !!m && m[1] !== '000')
    .map((m) => ({ code: Number(m[1]), backend: m[3] ?? m[2]! }));
  const latencyMs = Math.round(elapsed / Math.max(1, replies.length + (rc === 0 ? 0 : 1)));
  const counts = new Map<string, number>();
  for (const r of replies) counts.set(r.backend, (counts.get(r.backend) ?? 0) + 1);
  const answers = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([b, n]) => `${b} ×${n}`);
  if (rc !== 0) return { ...http(rc, out, elapsed), answers, latencyMs };
  const bad = replies.find((r) => r.code < 200 || r.code >= 400);
  if (bad) return { status: `http-${bad.code}`, answers, latencyMs };
  if (replies.length === 0) return { status: 'error', answers, latencyMs };
  return { status: counts.size >= 2 ? 'ok' : 'one-backend', answers, latencyMs };
}

function ping(rc: number, out: string, elapsed: number, mtu: boolean): Classified {
  const rtt = /time=([\d.]+) ms/.exec(out);
  const latencyMs = rtt ? Math.round(Number(rtt[1])) : elapsed;
  if (rc === 0) return { status: 'ok', answers: [], latencyMs };
  if (mtu && /message too long|Frag needed|fragmentation needed/i.test(out)) {
    const m = /mtu[= ](\d+)/i.exec(out);
    return { status: 'too-big', answers: m ? [`mtu ${m[1]}`] : [], latencyMs };
  }
  return { status: socketError(out) ?? (/100% packet loss/.test(out) ? 'timeout' : 'error'), answers: [], latencyMs };
}

export function classify(target: ProbeTarget, rc: number, out: string, elapsedMs: number): Classified {
  switch (target.kind) {
    case 'dns':
      return dns(rc, out, elapsedMs);
    case 'http':
      return http(rc, out, elapsedMs);
    case 'spread':
      return spread(rc, out, elapsedMs);
    case 'icmp':
      return ping(rc, out, elapsedMs, false);
    case 'mtu':
      return ping(rc, out, elapsedMs, true);
    case 'tcp':
      if (rc === 0) return { status: 'ok', answers: [], latencyMs: elapsedMs };
      return { status: socketError(out) ?? 'error', answers: [], latencyMs: elapsedMs };
    case 'udp':
      if (out.includes(UDP_PAYLOAD)) return { status: 'ok', answers: [UDP_PAYLOAD], latencyMs: elapsedMs };
      return { status: socketError(out) ?? (rc === 0 ? 'timeout' : 'error'), answers: [], latencyMs: elapsedMs };
  }
}
