// Subnets and host ports for a session: taken in one registry transaction, so concurrent
// sessions (in any process using this data directory) never overlap each other or Docker's
// existing networks.
import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { formatCidr, overlaps, parseCidr, subnetsOf, type Cidr } from '../lab/ipv4.ts';
import { servicesOf } from '../lab/model.ts';
import type { Lab } from '../lab/schema.ts';
import type { Settings } from '../config.ts';
import type { SessionStore } from '../store/sessions.ts';
import { portKey, type SessionAllocation } from './plan.ts';
import { UNDERLAY_KEY } from './node-plan.ts';
import { hasNodes } from '../lab/nodes.ts';
import { FlowlabError, type ErrorKind } from '../util/errors.ts';

export class AllocationError extends FlowlabError {
  override name = 'AllocationError';
  constructor(message: string, kind: ErrorKind = 'unavailable') {
    super(message, kind);
  }
}

/** How many times a session picks subnets again when another Flowlab took them meanwhile. */
export const SUBNET_ATTEMPTS = 6;

/** Docker's IPv4 subnets (IPv6 ones never clash with the IPv4 pool). */
function ipv4Subnets(dockerSubnets: string[]): Cidr[] {
  return dockerSubnets.flatMap((s) => {
    try {
      return [parseCidr(s)];
    } catch {
      return [];
    }
  });
}

/**
 * The pool's subnets in order — or, after a collision with another Flowlab (which walks the pool
 * in the same order), from a random place in it, so the two stop racing for the same ones.
 */
function* poolCandidates(settings: Settings, randomStart: boolean): Generator<string> {
  const all = [...subnetsOf(parseCidr(settings.subnetPool), settings.subnetPrefix)];
  const start = randomStart && all.length > 0 ? randomInt(all.length) : 0;
  for (let i = 0; i < all.length; i++) yield formatCidr(all[(start + i) % all.length]!);
}

function allocateSubnets(lab: Lab, session: string, store: SessionStore, settings: Settings, dockerSubnets: string[], randomStart = false): Record<string, string> {
  const existing = ipv4Subnets(dockerSubnets);
  const clashes = (c: Cidr, held: ReadonlySet<string>) =>
    existing.some((e) => overlaps(e, c)) || [...held].some((h) => overlaps(parseCidr(h), c));
  const out: Record<string, string> = {};
  // A lab with nodes has one more network, on the session's engine: its nodes' underlay.
  const wanted = [...Object.entries(lab.networks), ...(hasNodes(lab) ? [[UNDERLAY_KEY, null] as const] : [])];
  for (const [name, def] of wanted) {
    const fixed = def?.ipam?.config[0]?.subnet;
    if (!fixed) continue;
    const cidr = formatCidr(parseCidr(fixed));
    const [got] = store.lease(session, 'subnet', 1, [cidr], (v, held) => !clashes(parseCidr(v), held));
    if (!got) throw new AllocationError(`network "${name}" asks for subnet ${fixed}, which overlaps an existing Docker network or another running session; expected a free subnet (or none, to have one allocated)`);
    out[name] = got;
  }
  const auto = wanted.filter(([name]) => !(name in out)).map(([name]) => name);
  if (auto.length > 0) {
    const got = store.lease(session, 'subnet', auto.length, poolCandidates(settings, randomStart), (v, held) => !clashes(parseCidr(v), held));
    if (got.length < auto.length) {
      throw new AllocationError(`the subnet pool ${settings.subnetPool} has no free /${settings.subnetPrefix} left for ${auto.length} network(s); end some sessions (flowlab down --all) or set FLOWLAB_SUBNET_POOL`);
    }
    auto.forEach((name, i) => (out[name] = got[i]!));
  }
  return out;
}

/** Whether a host port is free where the lab's engine publishes it. */
export type PortCheck = (port: number, proto: 'tcp' | 'udp', hostIp: string) => Promise<boolean>;

/** This machine's ports: free when they can be bound here (the local engine's host). */
export async function portFreeHere(port: number, proto: 'tcp' | 'udp', hostIp: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (proto === 'udp') {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, hostIp, () => s.close(() => resolve(true)));
      return;
    }
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, hostIp, () => srv.close(() => resolve(true)));
  });
}

/** Host ports for every `auto` published port of the lab, kept for the whole session. */
async function allocatePorts(lab: Lab, session: string, store: SessionStore, settings: Settings, portFree: PortCheck): Promise<Record<string, number>> {
  const wanted = servicesOf(lab).flatMap((m) => (m.attachment.kind === 'host' ? [] : m.ports.filter((p) => p.hostPort === 'auto').map((p) => ({ m, p }))));
  const out: Record<string, number> = {};
  if (wanted.length === 0) return out;
  const [lo, hi] = settings.portRange;
  const span = hi - lo + 1;
  const start = Math.floor(Math.random() * span);
  let offset = 0;
  for (const { m, p } of wanted) {
    let got: string | undefined;
    while (!got && offset < span) {
      const port = lo + ((start + offset++) % span);
      if (!(await portFree(port, p.proto, p.hostIp === '0.0.0.0' ? '0.0.0.0' : '127.0.0.1'))) continue;
      [got] = store.lease(session, 'port', 1, [String(port)], () => true);
    }
    if (!got) throw new AllocationError(`no free host port left in ${lo}-${hi} for ${m.name}'s port ${p.containerPort}/${p.proto}; set FLOWLAB_PORT_RANGE or end some sessions`);
    out[portKey(m.name, p.containerPort, p.proto)] = Number(got);
  }
  return out;
}

/**
 * `portFree` says whether a port is free on the engine's host: this machine's bind test for the
 * local engine; for another, the ports its containers publish (the registry's leases hold every
 * engine's ports, so two labs never get the same one whichever engine they are on).
 */
export async function allocate(lab: Lab, session: string, store: SessionStore, settings: Settings, dockerSubnets: string[], randomStart = false, portFree: PortCheck = portFreeHere): Promise<SessionAllocation> {
  const subnets = allocateSubnets(lab, session, store, settings, dockerSubnets, randomStart);
  const hostPorts = await allocatePorts(lab, session, store, settings, portFree);
  return { subnets, hostPorts };
}

/** One more subnet from the pool for a session (its console network). */
export function leaseSubnet(session: string, store: SessionStore, settings: Settings, dockerSubnets: string[], randomStart = false): string {
  const existing = ipv4Subnets(dockerSubnets);
  const [got] = store.lease(session, 'subnet', 1, poolCandidates(settings, randomStart), (v, held) => !existing.some((e) => overlaps(e, parseCidr(v))) && ![...held].some((h) => overlaps(parseCidr(h), parseCidr(v))));
  if (!got) throw new AllocationError(`the subnet pool ${settings.subnetPool} has no free /${settings.subnetPrefix} left; end some sessions or set FLOWLAB_SUBNET_POOL`);
  return got;
}
