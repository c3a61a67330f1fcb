// Faults on which networks a service is on and which names it answers to there.
import { FaultError, type FaultContext, type FaultImpl } from '../types.ts';
import { addressesOf, cmd, plannedEndpoint, rejoin, restoreMembership } from '../common.ts';

/** The aliases the service has on a network now, or undefined when it is not on it. */
async function aliasesOn(ctx: FaultContext, service: string, network: string): Promise<string[] | undefined> {
  const st = await ctx.rt.inspectContainer(ctx.live.containerName(service));
  return st?.networks[ctx.live.networkName(network)]?.aliases;
}

async function restore(ctx: FaultContext, service: string, undo: unknown): Promise<void> {
  await restoreMembership(ctx.live, ctx.rt, service, (undo as { addresses?: Record<string, string> } | undefined)?.addresses ?? {});
}

export const disconnect: FaultImpl<'disconnect'> = {
  describe: (f, live) => ({
    summary: `${f.service} was disconnected from network ${f.network}`,
    service: f.service,
    network: f.network,
    params: { network: f.network },
    cause: [cmd('docker', 'network', 'disconnect', live.networkName(f.network), live.containerName(f.service))],
    undo: [cmd('docker', 'network', 'connect', ...plannedEndpoint(live, f.service, f.network).aliases.flatMap((a) => ['--alias', a]), live.networkName(f.network), live.containerName(f.service))],
    reveal: [cmd('docker', 'network', 'inspect', live.networkName(f.network)), cmd('docker', 'inspect', '--format', '{{json .NetworkSettings.Networks}}', live.containerName(f.service))],
  }),
  async apply(f, ctx) {
    const addresses = await addressesOf(ctx.live, ctx.rt, f.service);
    plannedEndpoint(ctx.live, f.service, f.network);
    await ctx.rt.disconnect(ctx.live.networkName(f.network), ctx.live.containerName(f.service));
    return { addresses };
  },
  revert: (f, ctx, undo) => restore(ctx, f.service, undo),
  holds: async (f, ctx) => (await aliasesOn(ctx, f.service, f.network)) === undefined,
};

export const wrongNetwork: FaultImpl<'wrong-network'> = {
  describe: (f, live) => ({
    summary: `${f.service} was moved from network ${f.network} to network ${f.to}`,
    service: f.service,
    network: f.network,
    params: { network: f.network, to: f.to },
    cause: [
      cmd('docker', 'network', 'disconnect', live.networkName(f.network), live.containerName(f.service)),
      cmd('docker', 'network', 'connect', '--alias', f.service, live.networkName(f.to), live.containerName(f.service)),
    ],
    undo: [
      cmd('docker', 'network', 'disconnect', live.networkName(f.to), live.containerName(f.service)),
      cmd('docker', 'network', 'connect', ...plannedEndpoint(live, f.service, f.network).aliases.flatMap((a) => ['--alias', a]), live.networkName(f.network), live.containerName(f.service)),
    ],
    reveal: [cmd('docker', 'network', 'inspect', live.networkName(f.network)), cmd('docker', 'network', 'inspect', live.networkName(f.to))],
  }),
  async apply(f, ctx) {
    plannedEndpoint(ctx.live, f.service, f.network);
    if (ctx.live.service(f.service).attachment.kind === 'networks' && plannedEndpointOn(ctx, f.service, f.to)) {
      throw new FaultError(`"${f.service}" is already on network "${f.to}" in this lab; expected a network it is not on`);
    }
    const addresses = await addressesOf(ctx.live, ctx.rt, f.service);
    await ctx.rt.disconnect(ctx.live.networkName(f.network), ctx.live.containerName(f.service));
    await ctx.rt.connect(ctx.live.networkName(f.to), ctx.live.containerName(f.service), { aliases: [f.service] });
    return { addresses };
  },
  revert: (f, ctx, undo) => restore(ctx, f.service, undo),
  holds: async (f, ctx) => (await aliasesOn(ctx, f.service, f.network)) === undefined,
};

function plannedEndpointOn(ctx: FaultContext, service: string, network: string): boolean {
  try {
    plannedEndpoint(ctx.live, service, network);
    return true;
  } catch {
    return false;
  }
}

export const dropAlias: FaultImpl<'drop-alias'> = {
  describe: (f, live) => {
    const aliases = plannedEndpoint(live, f.service, f.network).aliases.filter((a) => a !== f.alias);
    return {
      summary: `${f.service} no longer answers to "${f.alias}" on network ${f.network}`,
      service: f.service,
      network: f.network,
      params: { network: f.network, alias: f.alias },
      cause: [
        cmd('docker', 'network', 'disconnect', live.networkName(f.network), live.containerName(f.service)),
        cmd('docker', 'network', 'connect', ...aliases.flatMap((a) => ['--alias', a]), live.networkName(f.network), live.containerName(f.service)),
      ],
      undo: [
        cmd('docker', 'network', 'disconnect', live.networkName(f.network), live.containerName(f.service)),
        cmd('docker', 'network', 'connect', ...[...aliases, f.alias].flatMap((a) => ['--alias', a]), live.networkName(f.network), live.containerName(f.service)),
      ],
      reveal: [cmd('docker', 'inspect', '--format', `{{json (index .NetworkSettings.Networks "${live.networkName(f.network)}").Aliases}}`, live.containerName(f.service)), `dig +short ${f.alias}`],
    };
  },
  async apply(f, ctx) {
    const e = plannedEndpoint(ctx.live, f.service, f.network);
    if (!e.aliases.includes(f.alias)) throw new FaultError(`"${f.service}" has no alias "${f.alias}" on network "${f.network}"; expected one of: ${e.aliases.join(', ')}`);
    const addresses = await addressesOf(ctx.live, ctx.rt, f.service);
    await rejoin(ctx.live, ctx.rt, f.service, f.network, e.aliases.filter((a) => a !== f.alias));
    return { addresses };
  },
  revert: (f, ctx, undo) => restore(ctx, f.service, undo),
  holds: async (f, ctx) => !(await aliasesOn(ctx, f.service, f.network))?.includes(f.alias),
};

export const aliasCollision: FaultImpl<'alias-collision'> = {
  describe: (f, live) => {
    const aliases = [...plannedEndpoint(live, f.service, f.network).aliases, f.alias];
    return {
      summary: `${f.service} also claims the alias "${f.alias}" on network ${f.network}: the name answers with two addresses in random order`,
      service: f.service,
      network: f.network,
      params: { network: f.network, alias: f.alias },
      cause: [
        cmd('docker', 'network', 'disconnect', live.networkName(f.network), live.containerName(f.service)),
        cmd('docker', 'network', 'connect', ...aliases.flatMap((a) => ['--alias', a]), live.networkName(f.network), live.containerName(f.service)),
      ],
      undo: [
        cmd('docker', 'network', 'disconnect', live.networkName(f.network), live.containerName(f.service)),
        cmd('docker', 'network', 'connect', ...aliases.slice(0, -1).flatMap((a) => ['--alias', a]), live.networkName(f.network), live.containerName(f.service)),
      ],
      reveal: [`dig ${f.alias}`, cmd('docker', 'network', 'inspect', live.networkName(f.network))],
    };
  },
  async apply(f, ctx) {
    const e = plannedEndpoint(ctx.live, f.service, f.network);
    const addresses = await addressesOf(ctx.live, ctx.rt, f.service);
    await rejoin(ctx.live, ctx.rt, f.service, f.network, [...new Set([...e.aliases, f.alias])]);
    return { addresses };
  },
  revert: (f, ctx, undo) => restore(ctx, f.service, undo),
  holds: async (f, ctx) => !!(await aliasesOn(ctx, f.service, f.network))?.includes(f.alias),
};
