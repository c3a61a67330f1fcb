// What a working lab shows, against what the captures see: each call of the lab's `traffic:` (and
// each probe a learner ran) has an `expect` (default ok); a flow whose newest events say
// otherwise differs, since the first of them — and a traffic call never seen at all is missing.
// What the graph draws as ghost edges, and what the flow log's "only what differs" keeps. Pure.
import { servicesOf } from '../lab/model.ts';
import { durationMs, type Lab } from '../lab/schema.ts';
import { parseProbeTarget } from '../lab/targets.ts';
import type { Difference, ExpectedFlow, FlowEvent } from '../protocol/flow.ts';

export type { Difference, ExpectedFlow };

/** The service a target's host names (a service, or one of its aliases); undefined for an address or another name. */
function serviceNamed(lab: Lab, host: string): string | undefined {
  for (const m of servicesOf(lab)) {
    if (m.name === host) return m.name;
    if (m.attachment.kind === 'networks' && m.attachment.networks.some((n) => n.aliases.includes(host))) return m.name;
  }
  return undefined;
}

function expectation(lab: Lab, from: string, target: string, expect: string | string[] | undefined, source: 'traffic' | 'probe', everyMs?: number): ExpectedFlow | undefined {
  const t = parseProbeTarget(target);
  if (!t) return undefined;
  const wanted = expect === undefined ? ['ok'] : ([] as string[]).concat(expect);
  const base = { from, expect: wanted, source, ...(everyMs !== undefined ? { everyMs } : {}) };
  if (t.kind === 'dns') return { ...base, edge: `dns|${from}|${t.name}`, to: t.name, what: `dns ${t.name}`, kind: 'dns', name: t.name };
  if (t.kind === 'icmp' || t.kind === 'mtu') return undefined; // no flow event says a ping went through
  const to = serviceNamed(lab, t.host);
  if (!to) return undefined;
  const kind = t.kind === 'udp' ? 'udp' : t.kind === 'tcp' ? 'tcp' : 'http';
  const edge = `${kind === 'udp' ? 'udp' : 'tcp'}|${from}|${to}|${t.port}`;
  const what = kind === 'http' ? `http GET ${'path' in t ? t.path : '/'}` : `${kind}/${t.port}`;
  return { ...base, edge, to, what, kind, port: t.port, ...('path' in t ? { path: t.path } : {}) };
}

/** Every flow the lab says a working lab shows: its traffic's, then its probes'. */
export function expectedFlows(lab: Lab): ExpectedFlow[] {
  const out: ExpectedFlow[] = [];
  for (const t of lab.traffic) {
    const e = expectation(lab, t.from, t.to, t.expect, 'traffic', durationMs(t.every));
    if (e) out.push(e);
  }
  for (const p of lab.probes) {
    if (p.from === 'host') continue;
    const e = expectation(lab, p.from, p.to, p.expect, 'probe');
    if (e && !out.some((x) => x.edge === e.edge && x.what === e.what)) out.push(e);
  }
  return out;
}

/** An event's outcome in a probe's words, when it is about `x`; undefined when it is not. */
function outcomeFor(x: ExpectedFlow, e: FlowEvent): string | undefined {
  if (x.source === 'traffic' && e.origin !== 'traffic') return undefined;
  switch (e.type) {
    case 'dns.answer':
      if (x.kind !== 'dns' || e.client !== x.from || e.name.replace(/\.$/, '') !== x.name) return undefined;
      return e.rcode === 'NOERROR' ? (e.answers.length ? 'ok' : 'nxdomain') : e.rcode === 'TIMEOUT' ? 'timeout' : e.rcode.toLowerCase();
    case 'tcp.connect':
      if ((x.kind !== 'tcp' && x.kind !== 'http') || e.src !== x.from || e.dst !== x.to || e.dst_port !== x.port) return undefined;
      // An HTTP call's connection made is not its answer yet: its exchange says.
      if (e.outcome === 'established') return x.kind === 'http' ? undefined : 'ok';
      return e.outcome === 'reset-later' ? 'reset' : e.outcome;
    case 'http.exchange':
      if (x.kind !== 'http' || e.src !== x.from || e.dst !== x.to || e.dst_port !== x.port || (x.path !== undefined && e.path !== x.path)) return undefined;
      return e.status === null ? (e.outcome === 'reset' ? 'reset' : 'timeout') : e.status < 400 ? 'ok' : `http-${e.status}`;
    case 'udp.exchange':
      if (x.kind !== 'udp' || e.src !== x.from || e.dst !== x.to || e.dst_port !== x.port) return undefined;
      return e.outcome === 'answered' ? 'ok' : e.outcome === 'unanswered' ? 'timeout' : 'refused';
    default:
      return undefined;
  }
}

/**
 * The expected flows the events (in time order) contradict, as of `now`: the newest outcome is
 * not one expected (since the first of the run of such outcomes), or — for the lab's traffic —
 * nothing at all has been seen of it for three of its intervals after `since` (when the flows
 * began to be watched).
 */
export function differences(expected: ExpectedFlow[], events: FlowEvent[], now: number, since: number): Difference[] {
  const out: Difference[] = [];
  for (const x of expected) {
    const seen: { time: string; outcome: string }[] = [];
    for (const e of events) {
      const outcome = outcomeFor(x, e);
      if (outcome !== undefined) seen.push({ time: e.time, outcome });
    }
    if (seen.length === 0) {
      if (x.source === 'traffic' && now - since > 3 * (x.everyMs ?? 2000)) out.push({ ...x, observed: 'missing', since: null });
      continue;
    }
    const last = seen[seen.length - 1]!;
    if (x.expect.includes(last.outcome)) continue;
    let first = seen.length - 1;
    while (first > 0 && !x.expect.includes(seen[first - 1]!.outcome)) first--;
    out.push({ ...x, observed: last.outcome, since: seen[first]!.time });
  }
  return out;
}
