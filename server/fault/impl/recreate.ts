// Faults made by running a service again with other options: its resolver, its hosts file, its
// search domains, or the host's network instead of its own.
import { containerCreate } from '../../docker/cli.ts';
import type { ContainerState } from '../../docker/types.ts';
import type { ContainerSpec } from '../../docker/specs.ts';
import { hostAt, parseCidr } from '../../lab/ipv4.ts';
import type { LiveSession } from '../../session/live.ts';
import { cmd } from '../common.ts';
import { FaultError, type FaultContext, type FaultImpl, type FaultOf } from '../types.ts';

type RecreateFault = FaultOf<'host-mode' | 'dns-override' | 'hosts-override' | 'dns-search'>;

function recreateCommands(live: LiveSession, service: string, change: (spec: ContainerSpec) => void): string[] {
  const spec = structuredClone(live.planned(service).container!);
  change(spec);
  return [cmd('docker', 'rm', '--force', spec.name), containerCreate(spec), cmd('docker', 'start', spec.name)];
}

function needsContainer(live: LiveSession, service: string): void {
  const p = live.planned(service);
  if (!p.container) throw new FaultError(`"${service}" is a swarm service; this fault re-creates a container`);
  if (p.model.attachment.kind !== 'networks' && p.model.attachment.kind !== 'default-bridge') {
    throw new FaultError(`"${service}" uses network_mode ${p.model.def.network_mode}; this fault needs a service on the lab's networks`);
  }
}

/** An address on the service's first network that nothing answers on. */
function silentAddress(live: LiveSession, service: string): string {
  const m = live.service(service);
  const net = m.attachment.kind === 'networks' ? m.attachment.networks[0]?.network : undefined;
  const subnet = net ? live.rec.allocation?.subnets[net] : undefined;
  if (!subnet) return '127.0.0.1';
  return hostAt(parseCidr(subnet), -3);
}

function recreating<T extends RecreateFault['type']>(opts: {
  change: (f: FaultOf<T>, live: LiveSession) => (spec: ContainerSpec) => void;
  summary: (f: FaultOf<T>, live: LiveSession) => string;
  reveal: (f: FaultOf<T>, live: LiveSession) => string[];
  params: (f: FaultOf<T>, live: LiveSession) => Record<string, unknown>;
  /** Whether the container still runs with the faulty option. */
  still: (f: FaultOf<T>, host: ContainerState, live: LiveSession) => boolean;
  wait?: boolean;
}): FaultImpl<T> {
  const impl: FaultImpl<RecreateFault['type']> = {
    describe: (f, live) => ({
      summary: opts.summary(f as FaultOf<T>, live),
      service: f.service,
      params: opts.params(f as FaultOf<T>, live),
      cause: recreateCommands(live, f.service, opts.change(f as FaultOf<T>, live)),
      undo: recreateCommands(live, f.service, () => {}),
      reveal: opts.reveal(f as FaultOf<T>, live),
    }),
    async apply(f, ctx: FaultContext) {
      needsContainer(ctx.live, f.service);
      await ctx.live.recreateService(f.service, opts.change(f as FaultOf<T>, ctx.live), { revealsFault: true, runtime: ctx.rt, wait: opts.wait ?? true });
    },
    async revert(f, ctx: FaultContext) {
      await ctx.live.recreateService(f.service, () => {}, { revealsFault: true, runtime: ctx.rt });
    },
    async holds(f, ctx: FaultContext) {
      const st = await ctx.rt.inspectContainer(ctx.live.containerName(f.service));
      return !!st && opts.still(f as FaultOf<T>, st, ctx.live);
    },
  };
  return impl as unknown as FaultImpl<T>;
}

export const hostMode = recreating<'host-mode'>({
  change: () => (s) => {
    s.network = { kind: 'host' };
    s.ports = [];
    s.dns = [];
    s.dnsSearch = [];
    s.dnsOptions = [];
    s.capAdd = [];
  },
  summary: (f) => `${f.service} was moved to the host's network: its published ports are discarded, its name no longer resolves, and it binds the host's ports directly`,
  still: (_f, st) => st.networkMode === 'host',
  params: () => ({}),
  reveal: (f, live) => [cmd('docker', 'inspect', '--format', '{{.HostConfig.NetworkMode}}', live.containerName(f.service)), 'ss -ltnp (on the Docker host)'],
  wait: false,
});

export const dnsOverride = recreating<'dns-override'>({
  change: (f, live) => (s) => {
    s.dns = [f.server ?? silentAddress(live, f.service)];
  },
  summary: (f, live) => `${f.service}'s resolver was set to ${f.server ?? silentAddress(live, f.service)}, which does not answer: names outside the lab fail`,
  still: (f, st, live) => st.host.dns.includes(f.server ?? silentAddress(live, f.service)),
  params: (f, live) => ({ server: f.server ?? silentAddress(live, f.service) }),
  reveal: (f, live) => [cmd('docker', 'exec', live.containerName(f.service), 'cat', '/etc/resolv.conf'), cmd('docker', 'inspect', '--format', '{{.HostConfig.Dns}}', live.containerName(f.service))],
});

export const hostsOverride = recreating<'hosts-override'>({
  change: (f, live) => (s) => {
    s.extraHosts = [...s.extraHosts, `${f.name}:${live.resolveRefs(f.address)}`];
  },
  summary: (f, live) => `a stale /etc/hosts entry in ${f.service} sends "${f.name}" to ${live.resolveRefs(f.address)}; /etc/hosts is read before DNS`,
  still: (f, st, live) => st.host.extraHosts.some((h: string) => h.replace('=', ':') === `${f.name}:${live.resolveRefs(f.address)}`),
  params: (f, live) => ({ name: f.name, address: live.resolveRefs(f.address) }),
  reveal: (f, live) => [cmd('docker', 'exec', live.containerName(f.service), 'getent', 'hosts', f.name), cmd('docker', 'exec', live.containerName(f.service), 'dig', '+short', f.name)],
});

export const dnsSearch = recreating<'dns-search'>({
  change: (f) => (s) => {
    s.dnsSearch = Array.isArray(f.search) ? f.search : [f.search];
    if (f.ndots !== undefined) s.dnsOptions = [...s.dnsOptions.filter((o) => !o.startsWith('ndots:')), `ndots:${f.ndots}`];
  },
  summary: (f) => `${f.service} got search domains ${[f.search].flat().join(', ')}${f.ndots !== undefined ? ` and ndots:${f.ndots}` : ''}: short names are tried with those suffixes first`,
  still: (f, st) => [f.search].flat().some((d) => st.host.dnsSearch.includes(d)),
  params: (f) => ({ search: f.search, ...(f.ndots !== undefined ? { ndots: f.ndots } : {}) }),
  reveal: (f, live) => [cmd('docker', 'exec', live.containerName(f.service), 'cat', '/etc/resolv.conf'), 'dig +search <name>'],
});
