// A lab's own traffic (its `traffic:`) as lab-traffic runs it from one service: each call's
// interval, jitter and command — a probe's command for the same target, its references resolved
// as a probe's are, sent from the ports that mark it as the apps' own in the captures.
import { durationMs } from '../lab/schema.ts';
import { parseProbeTarget } from '../lab/targets.ts';
import type { TrafficCalls } from '../session/host.ts';
import type { LiveSession } from '../session/live.ts';
import { trafficTimeoutMs } from '../session/plan.ts';
import { probeCommand } from './commands.ts';

export function trafficCalls(live: LiveSession, source: string): TrafficCalls {
  const calls: string[] = [];
  let pings = false;
  for (const t of live.lab.traffic.filter((x) => x.from === source)) {
    const parsed = parseProbeTarget(live.resolveRefs(t.to));
    if (!parsed) continue; // a lab is validated when it loads: a target that reads wrong is not run
    const every = durationMs(t.every);
    calls.push(String(every), String(durationMs(t.jitter) ?? 0), probeCommand(parsed, trafficTimeoutMs(every), { traffic: true }));
    if (parsed.kind === 'icmp' || parsed.kind === 'mtu') pings = true;
  }
  return { calls, pings };
}
