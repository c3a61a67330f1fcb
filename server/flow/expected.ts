// What a working lab shows, against what the captures see: each call of the lab's `traffic:` (and
// each probe a learner ran) has an `expect` (default ok); a flow whose newest events say
// otherwise differs, since the first of them — and a traffic call never seen at all is missing.
// What the graph draws as ghost edges, and what the flow log's "only what differs" keeps. Pure.
import { servicesOf } from '../lab/model.ts';
import { durationMs, type Lab } from '../lab/schema.ts';
import { parseProbeTarget, SPREAD_REQUESTS } from '../lab/targets.ts';
import type { Difference, ExpectedFlow, FlowEvent } from '../protocol/flow.ts';
import { httpOutcome } from './http.ts';

export type { Difference, ExpectedFlow };

/** The service a target's host names (a service, or one of its aliases); undefined for an address or another name. */
function serviceNamed(lab: Lab, host: string): string | undefined {
  for (const m of servicesOf(lab)) {
    if (m.name === host) return m.name;
    if (m.attachment.kind === 'networks' && m.attachment.networks.some((n) => n.aliases.includes(host))) return m.name;
  }
  return undefined;
}

const ADDRESS_RE = /^(\d{1,3}(\.\d{1,3}){3}|\[?[0-9a-f]*:[0-9a-f:]*\]?)$/i;

function expectation(lab: Lab, from: string, target: string, expect: string | string[] | undefined, source: 'traffic' | 'probe', everyMs?: number): ExpectedFlow | undefined {
  const t = parseProbeTarget(target);
  if (!t) return undefined;
  const wanted = expect === undefined ? ['ok'] : ([] as string[]).concat(expect);
  const base = { from, target, expect: wanted, source, ...(everyMs !== undefined ? { everyMs } : {}) };
  if (t.kind === 'dns') return { ...base, edge: `dns|${from}|${t.name}`, to: t.name, what: `dns ${t.name}`, kind: 'dns', name: t.name };
  if (t.kind === 'icmp' || t.kind === 'mtu') return undefined; // no flow event says a ping went through
  const to = serviceNamed(lab, t.host);
  if (!to) return undefined;
  const kind = t.kind;
  const edge = `${kind === 'udp' ? 'udp' : 'tcp'}|${from}|${to}|${t.port}`;
  const path = 'path' in t ? t.path : '/';
  const what = kind === 'http' ? `http GET ${path}` : kind === 'spread' ? `http GET ${path}, spread over the backends` : `${kind}/${t.port}`;
  return { ...base, edge, to, what, kind, port: t.port, ...('path' in t ? { path: t.path } : {}), ...(ADDRESS_RE.test(t.host) ? {} : { host: t.host }) };
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

const lookupOutcome = (e: Extract<FlowEvent, { type: 'dns.answer' }>): string =>
  e.rcode === 'NOERROR' ? (e.answers.length ? 'ok' : 'nxdomain') : e.rcode === 'TIMEOUT' ? 'timeout' : e.rcode.toLowerCase();

/** An outcome of one event about `x` (a spread call's answered exchange: who served it); undefined when it is not about `x`. */
function outcomeFor(x: ExpectedFlow, e: FlowEvent): string | undefined {
  if (e.type === 'dns.answer' && x.host !== undefined) {
    // The name a connection is made to does not resolve: nothing else of it will be seen. Anyone's
    // lookup from the same namespace says so (curl's lookups go out from ephemeral ports).
    if (e.client !== x.from || e.qtype !== 'A' || e.name.replace(/\.$/, '') !== x.host) return undefined;
    const outcome = lookupOutcome(e);
    return outcome === 'ok' ? undefined : `dns-${outcome}`;
  }
  if (x.source === 'traffic' && e.origin !== 'traffic') return undefined;
  switch (e.type) {
    case 'dns.answer':
      if (x.kind !== 'dns' || e.client !== x.from || e.name.replace(/\.$/, '') !== x.name) return undefined;
      return lookupOutcome(e);
    case 'tcp.connect':
      if (x.kind === 'dns' || x.kind === 'udp' || e.src !== x.from || e.dst !== x.to || e.dst_port !== x.port) return undefined;
      // An HTTP call's connection made is not its answer yet: its exchange says.
      if (e.outcome === 'established') return x.kind === 'tcp' ? 'ok' : undefined;
      return e.outcome === 'reset-later' ? 'reset' : e.outcome;
    case 'http.exchange': {
      if ((x.kind !== 'http' && x.kind !== 'spread') || e.src !== x.from || e.dst_port !== x.port || (x.path !== undefined && e.path !== x.path)) return undefined;
      // Called by a name, any container answering to it is the call's (an alias another one took too).
      if (x.host !== undefined ? e.host.replace(/:\d+$/, '') !== x.host : e.dst !== x.to) return undefined;
      const outcome = httpOutcome(e.status, e.outcome);
      return x.kind === 'spread' && outcome === 'ok' ? `served-by:${e.served_by ?? e.dst}` : outcome;
    }
    case 'udp.exchange':
      if (x.kind !== 'udp' || e.src !== x.from || e.dst !== x.to || e.dst_port !== x.port) return undefined;
      return e.outcome === 'answered' ? 'ok' : e.outcome === 'unanswered' ? 'timeout' : 'refused';
    default:
      return undefined;
  }
}

interface Seen {
  time: string;
  outcome: string;
  /** The events it was read from. */
  ids: string[];
}

/** A spread call's answers as outcomes: each failure as it is, and `one-backend` for a run of SPREAD_REQUESTS answers all from the same backend. */
function spreadOutcomes(seen: Seen[]): Seen[] {
  const out: Seen[] = [];
  let run: Seen[] = [];
  for (const s of seen) {
    if (!s.outcome.startsWith('served-by:')) {
      out.push(s);
      run = [];
      continue;
    }
    if (run.length && run[0]!.outcome !== s.outcome) {
      out.push({ time: s.time, outcome: 'ok', ids: s.ids });
      run = [];
    }
    run.push(s);
    if (run.length >= SPREAD_REQUESTS) out.push({ time: run[run.length - SPREAD_REQUESTS]!.time, outcome: 'one-backend', ids: run.slice(-SPREAD_REQUESTS).flatMap((r) => r.ids) });
  }
  return out;
}

/** What the events (in time order) show of `x`, one outcome per call or connection, and when the newest of them was. */
function outcomesOf(x: ExpectedFlow, events: FlowEvent[]): { seen: Seen[]; newest?: string } {
  const seen: Seen[] = [];
  for (const e of events) {
    const outcome = outcomeFor(x, e);
    if (outcome !== undefined) seen.push({ time: e.time, outcome, ids: [e.id] });
  }
  const newest = seen.at(-1)?.time;
  return { seen: x.kind === 'spread' ? spreadOutcomes(seen) : seen, ...(newest ? { newest } : {}) };
}

/** The newest outcome the events show of `x`; undefined when nothing of it was seen. */
export function lastOutcome(x: ExpectedFlow, events: FlowEvent[]): string | undefined {
  return outcomesOf(x, events).seen.at(-1)?.outcome;
}

/** How long the lab's traffic may go unseen before what it showed last no longer stands. */
const staleAfter = (x: ExpectedFlow): number => Math.max(10_000, 4 * (x.everyMs ?? 2000));

/** At most this many of a difference's events are named (the newest). */
const MAX_DIFFERING_EVENTS = 50;

/** How many expected outcomes in a row it takes to say a flow is as expected again: one for a probe; for traffic, 4 s of it and at least two calls (an intermittent failure does not flicker). */
const settledAfter = (x: ExpectedFlow): number => (x.source === 'probe' ? 1 : Math.max(2, Math.ceil(4000 / (x.everyMs ?? 2000))));

/**
 * The expected flows the events (in time order) contradict, as of `now`: an outcome not expected
 * was seen and not followed yet by enough expected ones (settledAfter), since the first of that
 * run — or, for the lab's traffic, nothing at all has been seen of it for three of its intervals
 * after `since` (when the flows began to be watched): `missing`; nothing lately: `unseen`.
 */
export function differences(expected: ExpectedFlow[], events: FlowEvent[], now: number, since: number): Difference[] {
  const out: Difference[] = [];
  for (const x of expected) {
    const { seen, newest } = outcomesOf(x, events);
    if (seen.length === 0 || !newest) {
      if (x.source === 'traffic' && now - since > 3 * (x.everyMs ?? 2000)) out.push({ ...x, observed: 'missing', since: null });
      continue;
    }
    let first: Seen | undefined;
    let last: Seen | undefined;
    let ids: string[] = [];
    let fine = 0;
    for (const s of seen) {
      if (x.expect.includes(s.outcome)) {
        if (++fine >= settledAfter(x)) {
          first = last = undefined;
          ids = [];
        }
        continue;
      }
      fine = 0;
      first ??= s;
      last = s;
      ids.push(...s.ids);
    }
    if (!first || !last) continue;
    // The lab's traffic failing, then not seen lately (two swarm tasks now on one node talk where
    // no capture is): what it showed before no longer stands.
    if (x.source === 'traffic' && now - Date.parse(newest) > staleAfter(x)) out.push({ ...x, observed: 'unseen', since: newest, last: newest });
    else out.push({ ...x, observed: last.outcome, since: first.time, events: ids.slice(-MAX_DIFFERING_EVENTS), last: newest });
  }
  return out;
}
