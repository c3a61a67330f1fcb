// Building blocks the fault types share: restoring a service to what the lab planned, running a
// script in a service's network namespace, and the docker commands that describe it all.
import { commandLine } from '../docker/cli.ts';
import type { DockerApi } from '../docker/types.ts';
import type { EndpointSpec } from '../docker/specs.ts';
import type { LiveSession } from '../session/live.ts';
import { RESOLVER_NAME } from '../session/plan.ts';
import { waitContainerReady } from '../session/readiness.ts';
import { FaultError } from './types.ts';
import { shortName } from '../docker/labels.ts';

export const cmd = (...args: string[]) => commandLine(args);

/** The service's planned endpoints (network, aliases, fixed address), as Docker names them. */
function plannedEndpoints(live: LiveSession, service: string): EndpointSpec[] {
  const c = live.planned(service).container;
  return c?.network.kind === 'networks' ? c.network.endpoints : [];
}

export function plannedEndpoint(live: LiveSession, service: string, network: string): EndpointSpec {
  const e = plannedEndpoints(live, service).find((x) => x.network === live.networkName(network));
  if (!e) throw new FaultError(`service "${service}" is not on network "${network}" in this lab`);
  return e;
}

/** Re-joins `network` with exactly `aliases`, keeping the address it had (or was planned). */
export async function rejoin(live: LiveSession, rt: DockerApi, service: string, network: string, aliases: string[], ip?: string): Promise<void> {
  const container = live.containerName(service);
  const docker = live.networkName(network);
  const st = await rt.inspectContainer(container);
  const address = ip ?? st?.networks[docker]?.ip ?? plannedEndpoint(live, service, network).ipv4Address;
  if (st?.networks[docker]) await rt.disconnect(docker, container);
  await rt.connect(docker, container, { aliases, ...(address ? { ipv4Address: address } : {}) });
}

/**
 * Puts a service back on exactly the networks the lab planned, with the planned aliases, and
 * off any other lab network: the revert of every membership fault.
 */
export async function restoreMembership(live: LiveSession, rt: DockerApi, service: string, addresses: Record<string, string> = {}): Promise<void> {
  const container = live.containerName(service);
  const st = await rt.inspectContainer(container);
  if (!st) throw new FaultError(`service "${service}" has no container to restore`);
  const planned = plannedEndpoints(live, service);
  for (const net of Object.keys(st.networks)) {
    if (shortName(live.id, net) !== undefined && !planned.some((e) => e.network === net)) await rt.disconnect(net, container);
  }
  for (const e of planned) {
    const now = st.networks[e.network];
    const same = now && [...e.aliases].sort().join() === now.aliases.filter((a) => e.aliases.includes(a)).sort().join() && now.aliases.filter((a) => !/^[0-9a-f]{12}$/.test(a) && a !== container).every((a) => e.aliases.includes(a));
    if (same) continue;
    const ip = addresses[e.network] ?? now?.ip ?? e.ipv4Address;
    if (now) await rt.disconnect(e.network, container);
    await rt.connect(e.network, container, { aliases: e.aliases, ...(ip ? { ipv4Address: ip } : {}) });
  }
}

/** Each address a service has now, by Docker network name. */
export async function addressesOf(live: LiveSession, rt: DockerApi, service: string): Promise<Record<string, string>> {
  const st = await rt.inspectContainer(live.containerName(service));
  return Object.fromEntries(Object.entries(st?.networks ?? {}).map(([n, e]) => [n, e.ip]));
}

/** Runs a script in the service's netns with NET_ADMIN; fails with its output when it fails. */
export async function netnsScript(live: LiveSession, service: string, script: string, what: string): Promise<string> {
  const res = await live.inNamespace(service, script, { revealsFault: true });
  if (res.exitCode !== 0) throw new FaultError(`${what} failed in "${service}"'s network namespace: ${(res.stdout + res.stderr).trim() || `exit ${res.exitCode}`}`);
  return res.stdout;
}

/** Waits until a service answers again after a start or re-creation. */
export async function startAndWait(live: LiveSession, rt: DockerApi, service: string): Promise<void> {
  const planned = live.planned(service);
  if (!planned.container) return;
  await rt.startContainer(planned.container.name);
  await waitContainerReady(rt, planned, planned.container.name, live.settings.readyTimeoutMs);
}

/**
 * Waits (up to 20 s) until a name answers with addresses `done` accepts, asked from the lab
 * resolver, which sits on the lab's networks: swarm applies a change a moment after the update.
 */
export async function waitForAddresses(ctx: { live: LiveSession; rt: DockerApi }, name: string, done: (addresses: Set<string>) => boolean): Promise<void> {
  const resolver = ctx.live.containerName(RESOLVER_NAME);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const r = await ctx.rt.exec(resolver, ['getent', 'ahostsv4', name], { timeoutMs: 5000 }).catch(() => undefined);
    if (done(new Set((r?.stdout ?? '').split('\n').map((l) => l.split(/\s+/)[0]).filter((a): a is string => !!a)))) return;
    await new Promise((res) => setTimeout(res, 300));
  }
}
