// Faults on a network's own settings. Docker cannot change them on a live network, so the
// network is re-created with the same name and subnet, and every member re-joins it with its
// address and aliases — exactly what someone would have to do by hand.
import { networkCreate } from '../../docker/cli.ts';
import { dockerFailed } from '../../docker/errors.ts';
import type { DockerApi } from '../../docker/types.ts';
import type { NetworkDetails } from '../../docker/types.ts';
import type { NetworkSpec } from '../../docker/specs.ts';
import type { LiveSession } from '../../session/live.ts';
import { RESOLVER_NAME } from '../../session/plan.ts';
import { cmd, waitForAddresses } from '../common.ts';
import { FaultError, type FaultContext, type FaultImpl } from '../types.ts';
import { shortName } from '../../docker/labels.ts';

interface Member {
  container: string;
  ip: string;
  aliases: string[];
}

interface NetworkUndo {
  members: Member[];
  /** Swarm services that had to leave the network while it was re-created. */
  services: string[];
  /** Containers that could not re-join (part of the symptom for non-attachable). */
  refused: string[];
}

function plannedNetwork(live: LiveSession, network: string): NetworkSpec {
  const n = live.plan().networks.find((x) => x.name === network);
  if (!n) throw new FaultError(`unknown network "${network}"; expected one of: ${live.plan().networks.map((x) => x.name).join(', ')}`);
  return n.spec;
}

/** Who is on the network now (plain containers; swarm tasks follow their service). */
async function members(live: LiveSession, rt: DockerApi, docker: string): Promise<Member[]> {
  const details = await rt.inspectNetwork(docker);
  const out: Member[] = [];
  for (const c of details?.containers ?? []) {
    if (shortName(live.id, c.name) === undefined) continue;
    const st = await rt.inspectContainer(c.name);
    if (!st || st.labels['com.docker.swarm.task.id']) continue;
    out.push({ container: c.name, ip: c.ipv4, aliases: (st.networks[docker]?.aliases ?? []).filter((a) => !/^[0-9a-f]{12}$/.test(a)) });
  }
  return out;
}

/** Plain members the lab planned on this network, with their planned aliases. */
function plannedMembers(live: LiveSession, docker: string): { container: string; aliases: string[]; ip?: string }[] {
  const plan = live.plan();
  const out: { container: string; aliases: string[]; ip?: string }[] = [];
  for (const s of plan.services) {
    if (s.container?.network.kind !== 'networks') continue;
    const e = s.container.network.endpoints.find((x) => x.network === docker);
    if (e) out.push({ container: s.container.name, aliases: e.aliases, ...(e.ipv4Address ? { ip: e.ipv4Address } : {}) });
  }
  const r = plan.resolver?.network.kind === 'networks' ? plan.resolver.network.endpoints.find((x) => x.network === docker) : undefined;
  if (r) out.push({ container: live.containerName(RESOLVER_NAME), aliases: r.aliases, ...(r.ipv4Address ? { ip: r.ipv4Address } : {}) });
  return out;
}

function swarmServicesOn(live: LiveSession, docker: string): { name: string; networks: { network: string; aliases: string[] }[] }[] {
  return live
    .plan()
    .services.filter((s) => s.swarm?.networks.some((n) => n.network === docker))
    .map((s) => ({ name: s.swarm!.name, networks: s.swarm!.networks }));
}

async function recreate(ctx: FaultContext, network: string, spec: NetworkSpec, who: { container: string; aliases: string[]; ip?: string }[]): Promise<NetworkUndo> {
  const { rt, live } = ctx;
  const docker = spec.name;
  const now = await members(live, rt, docker);
  const services = swarmServicesOn(live, docker);
  for (const s of services) {
    await rt.setServiceNetworks(s.name, s.networks.filter((n) => n.network !== docker), cmd('docker', 'service', 'update', '--detach', '--network-rm', docker, s.name));
  }
  for (const m of now) await rt.disconnect(docker, m.container);
  // Swarm tasks leave the network a moment after their service lets go of it.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await rt.removeNetwork(docker);
      break;
    } catch (e) {
      if (Date.now() > deadline || !dockerFailed(e, 'in-use')) throw e;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  // Swarm forgets a removed overlay network a moment after the removal returns.
  for (;;) {
    try {
      await rt.createNetwork(spec);
      break;
    } catch (e) {
      if (Date.now() > deadline || !dockerFailed(e, 'exists')) throw e;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  for (const s of services) {
    await rt.setServiceNetworks(s.name, s.networks, cmd('docker', 'service', 'update', '--detach', '--network-add', docker, s.name));
  }
  const refused: string[] = [];
  for (const m of who) {
    const ip = now.find((x) => x.container === m.container)?.ip || m.ip;
    try {
      await rt.connect(docker, m.container, { aliases: m.aliases, ...(ip ? { ipv4Address: ip } : {}) });
    } catch (e) {
      if (!dockerFailed(e, 'not-attachable')) throw e;
      refused.push(m.container);
    }
  }
  return { members: now, services: services.map((s) => s.name), refused };
}

type NetworkFault = 'icc-off' | 'internal-network' | 'non-attachable';

function networkFault<T extends NetworkFault>(opts: {
  change: (spec: NetworkSpec) => void;
  check: (spec: NetworkSpec, network: string) => void;
  summary: (network: string) => string;
  /**
   * Whether the fault still bites: the live network has the faulty setting and the lab's services
   * still depend on it. A learner cannot re-create a network; moving the services off it onto a
   * sound network is a real fix.
   */
  still: (n: NetworkDetails, ctx: FaultContext) => boolean | Promise<boolean>;
}): FaultImpl<T> {
  const impl: FaultImpl<NetworkFault> = {
    describe: (f, live) => {
      const before = plannedNetwork(live, f.network);
      const after = structuredClone(before);
      opts.change(after);
      const rejoin = plannedMembers(live, before.name).map((m) => cmd('docker', 'network', 'connect', ...m.aliases.flatMap((a) => ['--alias', a]), before.name, m.container));
      return {
        summary: opts.summary(f.network),
        network: f.network,
        params: {},
        cause: [`docker network disconnect --force ${before.name} <each member>`, cmd('docker', 'network', 'rm', before.name), networkCreate(after), ...rejoin],
        undo: [`docker network disconnect --force ${before.name} <each member>`, cmd('docker', 'network', 'rm', before.name), networkCreate(before), ...rejoin],
        reveal: [cmd('docker', 'network', 'inspect', before.name)],
      };
    },
    async apply(f, ctx) {
      const spec = structuredClone(plannedNetwork(ctx.live, f.network));
      opts.check(spec, f.network);
      opts.change(spec);
      return recreate(ctx, f.network, spec, plannedMembers(ctx.live, spec.name));
    },
    async revert(f, ctx) {
      const spec = plannedNetwork(ctx.live, f.network);
      const now = await ctx.rt.inspectNetwork(spec.name);
      const same = now && now.internal === spec.internal && now.attachable === spec.attachable && (now.options['com.docker.network.bridge.enable_icc'] ?? 'true') === (spec.options['com.docker.network.bridge.enable_icc'] ?? 'true');
      const wanted = plannedMembers(ctx.live, spec.name);
      if (same && wanted.every((m) => now.containers.some((c) => c.name === m.container))) return;
      await recreate(ctx, f.network, spec, wanted);
    },
    async holds(f, ctx) {
      const n = await ctx.rt.inspectNetwork(ctx.live.networkName(f.network));
      return !!n && (await opts.still(n, ctx));
    },
  };
  return impl as unknown as FaultImpl<T>;
}

export const iccOff = networkFault<'icc-off'>({
  change: (s) => (s.options = { ...s.options, 'com.docker.network.bridge.enable_icc': 'false' }),
  check: (s, n) => {
    if (s.driver !== 'bridge') throw new FaultError(`icc-off works on bridge networks; "${n}" is ${s.driver}`);
  },
  summary: (n) => `inter-container communication was turned off on network ${n}: names resolve, but containers cannot reach each other`,
  // Off, and two of the lab's services still meet only there.
  still: async (n, ctx) => {
    if (n.options['com.docker.network.bridge.enable_icc'] !== 'false') return false;
    const on = await Promise.all(labServicesOn(n, ctx).map(async (c) => new Set(Object.keys((await ctx.rt.inspectContainer(c))?.networks ?? {}).filter((x) => x !== n.name))));
    for (let i = 0; i < on.length; i++) for (let j = i + 1; j < on.length; j++) if (![...on[i]!].some((x) => on[j]!.has(x))) return true;
    return false;
  },
});

/** The lab's service containers (not Flowlab's resolver or helpers) attached to a network now. */
function labServicesOn(n: NetworkDetails, ctx: FaultContext): string[] {
  const services = new Set(ctx.live.plan().services.flatMap((s) => (s.container ? [s.container.name] : [])));
  return n.containers.map((c) => c.name).filter((c) => services.has(c));
}

export const internalNetwork = networkFault<'internal-network'>({
  change: (s) => (s.internal = true),
  check: (s, n) => {
    if (s.driver !== 'bridge') throw new FaultError(`internal-network works on bridge networks here; "${n}" is ${s.driver}`);
  },
  summary: (n) => `network ${n} was made internal: no route out, no published ports, no forwarding of outside names`,
  // Internal, and a service of the lab that needs a way out sits on it with no other,
  // non-internal network. Published ports are the way out a lab can see; without any, every
  // service counts.
  still: async (n, ctx) => {
    if (!n.internal) return false;
    const on = labServicesOn(n, ctx);
    const publishing = new Set(ctx.live.plan().services.filter((s) => (s.container?.ports.length ?? 0) > 0).map((s) => s.container!.name));
    const needy = on.some((c) => publishing.has(c)) ? on.filter((c) => publishing.has(c)) : on;
    for (const name of needy) {
      const st = await ctx.rt.inspectContainer(name);
      const others = Object.keys(st?.networks ?? {}).filter((x) => x !== n.name);
      const open = await Promise.all(others.map(async (x) => !(await ctx.rt.inspectNetwork(x))?.internal));
      if (!open.some(Boolean)) return true;
    }
    return false;
  },
});

export const nonAttachable = networkFault<'non-attachable'>({
  change: (s) => (s.attachable = false),
  check: (s, n) => {
    if (s.driver !== 'overlay') throw new FaultError(`non-attachable is about overlay networks; "${n}" is ${s.driver}`);
  },
  summary: (n) => `overlay network ${n} was re-created without --attachable: plain containers can no longer join it ("network ${n} not manually attachable")`,
  // Not attachable, and a plain container of the lab that belongs on it has no other attachable
  // overlay to meet the services on.
  still: async (n, ctx) => {
    if (n.attachable) return false;
    for (const m of plannedMembers(ctx.live, n.name).filter((x) => x.container !== ctx.live.containerName(RESOLVER_NAME))) {
      const st = await ctx.rt.inspectContainer(m.container);
      const others = Object.keys(st?.networks ?? {}).filter((x) => x !== n.name);
      const ok = await Promise.all(others.map(async (x) => {
        const d = await ctx.rt.inspectNetwork(x);
        return !!d && d.attachable && d.driver === 'overlay';
      }));
      if (!ok.some(Boolean)) return true;
    }
    return false;
  },
});

export const endpointMode: FaultImpl<'endpoint-mode'> = {
  describe: (f, live) => {
    const s = live.planned(f.service).swarm;
    return {
      summary: `swarm service ${f.service} was switched to endpoint mode ${f.mode}${f.mode === 'vip' ? ': its name now resolves to one virtual IP' : ': its name now resolves to every task address'}`,
      service: f.service,
      params: { mode: f.mode },
      cause: [cmd('docker', 'service', 'update', '--endpoint-mode', f.mode, s?.name ?? f.service)],
      undo: [cmd('docker', 'service', 'update', '--endpoint-mode', s?.endpointMode ?? 'vip', s?.name ?? f.service)],
      reveal: [cmd('docker', 'service', 'inspect', '--format', '{{.Spec.EndpointSpec.Mode}}', s?.name ?? f.service), `dig ${f.service}`, `dig tasks.${f.service}`],
    };
  },
  async apply(f, ctx) {
    const s = ctx.live.planned(f.service).swarm;
    if (!s) throw new FaultError(`"${f.service}" is not a swarm service; endpoint-mode needs one (deploy:)`);
    await ctx.rt.setEndpointMode(s.name, f.mode);
    // Swarm applies it a moment later: the fault is in place once the name answers the new way.
    await waitForAddresses(ctx, f.service, (a) => (f.mode === 'vip' ? a.size === 1 : a.size >= Math.min(2, s.replicas)));
  },
  async revert(f, ctx) {
    const s = ctx.live.planned(f.service).swarm;
    if (s) await ctx.rt.setEndpointMode(s.name, s.endpointMode);
  },
  async holds(f, ctx) {
    const s = ctx.live.planned(f.service).swarm;
    return !!s && (await ctx.rt.serviceInfo(s.name))?.endpointMode === f.mode;
  },
};
