// A lab's own traffic (its `traffic:`) as lab-traffic runs it from one service: each call's
// interval, jitter and command — a probe's command for the same target, its references resolved
// as a probe's are, sent from the ports that mark it as the apps' own in the captures.
import { objectName } from '../docker/labels.ts';
import { durationMs, type Traffic } from '../lab/schema.ts';
import { parseProbeTarget, type ProbeTarget } from '../lab/targets.ts';
import type { TrafficCalls } from '../session/host.ts';
import type { LiveSession } from '../session/live.ts';
import { trafficName, trafficSources, trafficTimeoutMs } from '../session/plan.ts';
import { classify } from './classify.ts';
import { probeCommand } from './commands.ts';

/** The calls one source runs, in lab-traffic's order (a target that reads wrong is not run). */
function callsOf(live: LiveSession, source: string): { traffic: Traffic; target: ProbeTarget }[] {
  return live.lab.traffic.filter((x) => x.from === source).flatMap((traffic) => {
    const target = parseProbeTarget(live.resolveRefs(traffic.to));
    return target ? [{ traffic, target }] : [];
  });
}

export function trafficCalls(live: LiveSession, source: string): TrafficCalls {
  const calls: string[] = [];
  let pings = false;
  for (const { traffic: t, target: parsed } of callsOf(live, source)) {
    const every = durationMs(t.every);
    calls.push(String(every), String(durationMs(t.jitter) ?? 0), probeCommand(parsed, trafficTimeoutMs(every), { traffic: true }));
    if (parsed.kind === 'icmp' || parsed.kind === 'mtu') pings = true;
  }
  return { calls, pings };
}

export interface TrafficResult {
  from: string;
  /** The call's target, as the lab writes it. */
  to: string;
  /** When the call started (ms since the epoch). */
  at: number;
  /** What it got, in a probe's words (ok, timeout, http-404, …). */
  status: string;
}

/**
 * What the lab's own traffic got, call by call, as its runner saw it (its log, the newest calls):
 * the apps' side of it, whatever the captures could see (two swarm tasks on one node talk where
 * no capture is).
 */
export async function trafficResults(live: LiveSession, since = 0): Promise<TrafficResult[]> {
  const out: TrafficResult[] = [];
  for (const source of trafficSources(live.lab)) {
    const calls = callsOf(live, source);
    const log = await live.runtime().logs(objectName(live.id, trafficName(source)), 500);
    for (const line of log.split('\n')) {
      const m = /^(\d+) (\d+) (\d+) (\d+) ?(.*)$/.exec(line.trim());
      const call = m ? calls[Number(m[2])] : undefined;
      if (!m || !call || Number(m[1]) < since) continue;
      const output = m[5]!.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
      out.push({ from: source, to: call.traffic.to, at: Number(m[1]), status: classify(call.target, Number(m[3]), output, Number(m[4])).status });
    }
  }
  return out.sort((a, b) => a.at - b.at);
}
