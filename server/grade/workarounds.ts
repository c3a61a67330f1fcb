// Workarounds a lab forbids (`fix.forbid`), each checked on the live lab against what the lab
// planned: a "fix" that only hides the fault does not count, and the feedback names it.
import type { LiveSession } from '../session/live.ts';
import { shortName } from '../docker/labels.ts';

export const WORKAROUNDS = {
  'host-network': 'a service was moved to the host\'s network',
  'new-published-port': 'a port was published that the lab does not publish',
  'hosts-file': 'an /etc/hosts entry was added',
  'new-alias': 'a network alias was added',
  'extra-network': 'a service was connected to a network it is not meant to be on',
  privileged: 'a container got privileges or capabilities beyond the lab\'s',
} as const;
export type Workaround = keyof typeof WORKAROUNDS;

/** The forbidden workarounds in place now, each with what was found. */
export async function workaroundsInPlace(live: LiveSession, forbid: readonly Workaround[]): Promise<{ name: Workaround; detail: string }[]> {
  if (forbid.length === 0) return [];
  const rt = live.docker;
  const found: { name: Workaround; detail: string }[] = [];
  const add = (name: Workaround, detail: string) => {
    if (forbid.includes(name)) found.push({ name, detail });
  };
  for (const planned of live.plan().services) {
    const spec = planned.container;
    if (!spec) continue;
    const st = await rt.inspectContainer(spec.name);
    if (!st) continue;
    const svc = planned.name;
    if (st.networkMode === 'host' && spec.network.kind !== 'host') add('host-network', `${svc} runs with --network host`);
    for (const p of st.ports) {
      if (!spec.ports.some((x) => x.hostPort === p.hostPort && x.containerPort === p.containerPort && x.proto === p.proto)) {
        add('new-published-port', `${svc} publishes ${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}`);
      }
    }
    for (const h of st.host.extraHosts) if (!spec.extraHosts.includes(h.replace('=', ':'))) add('hosts-file', `${svc} has the extra host ${h}`);
    const endpoints = spec.network.kind === 'networks' ? spec.network.endpoints : [];
    for (const [net, e] of Object.entries(st.networks)) {
      const plannedEndpoint = endpoints.find((x) => x.network === net);
      if (!plannedEndpoint && !(net === 'bridge' && spec.network.kind === 'default-bridge') && net !== 'host') {
        add('extra-network', `${svc} is on ${shortName(live.id, net) ?? net}`);
        continue;
      }
      const extra = e.aliases.filter((a) => !/^[0-9a-f]{12}$/.test(a) && a !== spec.name && !(plannedEndpoint?.aliases ?? []).includes(a));
      for (const a of extra) add('new-alias', `${svc} answers to "${a}" on ${shortName(live.id, net) ?? net}`);
    }
    const extraCaps = st.host.capAdd.filter((c) => !spec.capAdd.includes(c.replace(/^CAP_/, '')));
    if (st.host.privileged) add('privileged', `${svc} runs privileged`);
    else if (extraCaps.length > 0) add('privileged', `${svc} has the extra capabilities ${extraCaps.join(', ')}`);
  }
  return found;
}
