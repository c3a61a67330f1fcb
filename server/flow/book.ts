// The address book of a live session, read from Docker: every lab network's members (services,
// swarm tasks, the lab resolver) and gateways.
import { hostAt, parseCidr } from '../lab/ipv4.ts';
import { servicesOf } from '../lab/model.ts';
import type { LiveSession } from '../session/live.ts';
import { capturePoints, RESOLVER_NAME } from '../session/plan.ts';
import { AddressBook } from './addresses.ts';
import { shortName } from '../docker/labels.ts';

/** `fl-<session>-web`, `fl-<session>-web.1.<task id>` → `web`; anything else → undefined. */
function serviceOfContainer(session: string, name: string): string | undefined {
  const rest = shortName(session, name);
  if (rest === undefined) return undefined;
  const task = /^([a-z][a-z0-9-]*)\.\d+\.[a-z0-9]+$/.exec(rest);
  return task ? task[1] : rest;
}

export async function buildAddressBook(live: LiveSession): Promise<AddressBook> {
  const rt = live.docker;
  const models = servicesOf(live.lab);
  const networks = [...live.plan().networks.map((n) => n.spec.name), ...(models.some((m) => m.attachment.kind === 'default-bridge') ? ['bridge'] : [])];
  const names: Record<string, string> = {};
  const placed: Record<string, string> = {};
  const gateways: string[] = [];
  const known = new Set([...models.map((m) => m.name), RESOLVER_NAME]);
  for (const net of networks) {
    const details = await rt.inspectNetwork(net);
    if (!details) continue;
    // Docker picks the first address of a subnet as the gateway unless told otherwise.
    gateways.push(...(details.gateways.length > 0 ? details.gateways : details.subnets.filter((sn) => /^\d/.test(sn)).map((sn) => hostAt(parseCidr(sn), 1))));
    for (const c of details.containers) {
      const svc = serviceOfContainer(live.id, c.name);
      if (svc && known.has(svc) && c.ipv4) names[c.ipv4] = svc;
      if (c.node && c.ipv4) placed[c.ipv4] = c.node;
    }
  }
  const published = live
    .plan()
    .services.flatMap((s) => (s.container?.ports ?? []).map((p) => `${s.name}/${p.containerPort}/${p.proto}`));
  return new AddressBook({
    names,
    gateways,
    embeddedDns: models.filter((m) => m.attachment.kind === 'networks').map((m) => m.name),
    captured: capturePoints(live.lab),
    published,
    underlay: Object.fromEntries((live.topology.nodes ?? []).filter((n) => n.address).map((n) => [n.address, n.name])),
    placed,
  });
}
