// Faults on a service's life: stopped, frozen, killed — and the lab resolver going quiet.
import type { LiveSession } from '../../session/live.ts';
import { RESOLVER_NAME } from '../../session/plan.ts';
import { cmd, startAndWait, waitForAddresses } from '../common.ts';
import { FaultError, type FaultContext, type FaultImpl } from '../types.ts';

const swarmName = (live: LiveSession, service: string) => live.planned(service).swarm?.name;

async function startAgain(ctx: FaultContext, service: string): Promise<void> {
  const swarm = swarmName(ctx.live, service);
  if (swarm) return ctx.rt.scaleService(swarm, ctx.live.planned(service).swarm!.replicas);
  const st = await ctx.rt.inspectContainer(ctx.live.containerName(service));
  if (st?.paused) await ctx.rt.unpauseContainer(st.name);
  if (!st?.running) await startAndWait(ctx.live, ctx.rt, service);
}

/** Tasks stop a moment after a scale: waits (up to 20 s) until at most `max` run. */
async function untilRunningAtMost(ctx: FaultContext, swarm: string, max: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && (await ctx.rt.serviceTasks(swarm)).filter((t) => t.state === 'running').length > max) await new Promise((r) => setTimeout(r, 300));
}

export const stop: FaultImpl<'stop'> = {
  describe: (f, live) => {
    const swarm = swarmName(live, f.service);
    return {
      summary: `${f.service} was stopped`,
      service: f.service,
      params: {},
      cause: [swarm ? cmd('docker', 'service', 'scale', `${swarm}=0`) : cmd('docker', 'stop', live.containerName(f.service))],
      undo: [swarm ? cmd('docker', 'service', 'scale', `${swarm}=${live.planned(f.service).swarm!.replicas}`) : cmd('docker', 'start', live.containerName(f.service))],
      reveal: [swarm ? cmd('docker', 'service', 'ps', swarm) : cmd('docker', 'ps', '--all', '--filter', `name=${live.containerName(f.service)}`)],
    };
  },
  async apply(f, ctx) {
    const swarm = swarmName(ctx.live, f.service);
    if (swarm) {
      await ctx.rt.scaleService(swarm, 0);
      await untilRunningAtMost(ctx, swarm, 0);
    }
    else await ctx.rt.stopContainer(ctx.live.containerName(f.service), 1);
  },
  revert: (f, ctx) => startAgain(ctx, f.service),
  holds: (f, ctx) => notRunning(ctx, f.service),
};

export const replicas: FaultImpl<'replicas'> = {
  describe: (f, live) => {
    const swarm = swarmName(live, f.service) ?? f.service;
    return {
      summary: `swarm service ${f.service} was scaled down to ${f.replicas} ${f.replicas === 1 ? 'task' : 'tasks'}: every request to its name lands there`,
      service: f.service,
      params: { replicas: f.replicas },
      cause: [cmd('docker', 'service', 'scale', `${swarm}=${f.replicas}`)],
      undo: [cmd('docker', 'service', 'scale', `${swarm}=${live.planned(f.service).swarm?.replicas ?? 1}`)],
      reveal: [cmd('docker', 'service', 'ls', '--filter', `name=${swarm}`), `dig +short tasks.${f.service}`],
    };
  },
  async apply(f, ctx) {
    const swarm = swarmName(ctx.live, f.service);
    if (!swarm) throw new FaultError(`"${f.service}" is not a swarm service; replicas needs one (deploy:)`);
    await ctx.rt.scaleService(swarm, f.replicas);
    await untilRunningAtMost(ctx, swarm, f.replicas);
    // ...and they leave the name's answers after that.
    await waitForAddresses(ctx, f.service, (a) => a.size <= f.replicas);
  },
  revert: (f, ctx) => startAgain(ctx, f.service),
  async holds(f, ctx) {
    const swarm = swarmName(ctx.live, f.service);
    return !!swarm && ((await ctx.rt.serviceInfo(swarm))?.replicas ?? 0) <= f.replicas;
  },
};

/** A container that does not run, or a swarm service with no running task. */
async function notRunning(ctx: FaultContext, service: string): Promise<boolean> {
  const swarm = swarmName(ctx.live, service);
  if (swarm) return !(await ctx.rt.serviceTasks(swarm)).some((t) => t.state === 'running');
  const st = await ctx.rt.inspectContainer(ctx.live.containerName(service));
  return !st?.running || st.paused;
}

export const kill: FaultImpl<'kill'> = {
  describe: (f, live) => ({
    summary: `${f.service} was killed (SIGKILL)`,
    service: f.service,
    params: {},
    cause: [cmd('docker', 'kill', live.containerName(f.service))],
    undo: [cmd('docker', 'start', live.containerName(f.service))],
    reveal: [cmd('docker', 'ps', '--all', '--filter', `name=${live.containerName(f.service)}`), cmd('docker', 'inspect', '--format', '{{.State.ExitCode}}', live.containerName(f.service))],
  }),
  async apply(f, ctx) {
    await ctx.rt.killContainer(ctx.live.containerName(f.service));
  },
  revert: (f, ctx) => startAgain(ctx, f.service),
  holds: (f, ctx) => notRunning(ctx, f.service),
};

export const pause: FaultImpl<'pause'> = {
  describe: (f, live) => ({
    summary: `${f.service} was paused: its processes are frozen, its sockets still exist`,
    service: f.service,
    params: {},
    cause: [cmd('docker', 'pause', live.containerName(f.service))],
    undo: [cmd('docker', 'unpause', live.containerName(f.service))],
    reveal: [cmd('docker', 'ps', '--filter', `name=${live.containerName(f.service)}`)],
  }),
  async apply(f, ctx) {
    await ctx.rt.pauseContainer(ctx.live.containerName(f.service));
  },
  async revert(f, ctx) {
    const st = await ctx.rt.inspectContainer(ctx.live.containerName(f.service));
    if (st?.paused) await ctx.rt.unpauseContainer(st.name);
  },
  holds: async (f, ctx) => !!(await ctx.rt.inspectContainer(ctx.live.containerName(f.service)))?.paused,
};

export const dnsUpstreamDown: FaultImpl<'dns-upstream-down'> = {
  describe: (_f, live) => ({
    summary: "the lab's upstream resolver stopped answering: names Docker's embedded DNS does not know time out",
    params: {},
    cause: [cmd('docker', 'pause', live.containerName(RESOLVER_NAME))],
    undo: [cmd('docker', 'unpause', live.containerName(RESOLVER_NAME))],
    reveal: ['dig +time=2 <a name outside the lab>', cmd('docker', 'ps', '--filter', `name=${live.containerName(RESOLVER_NAME)}`)],
  }),
  async apply(_f, ctx) {
    await ctx.rt.pauseContainer(ctx.live.containerName(RESOLVER_NAME));
  },
  async revert(_f, ctx) {
    const st = await ctx.rt.inspectContainer(ctx.live.containerName(RESOLVER_NAME));
    if (st?.paused) await ctx.rt.unpauseContainer(st.name);
  },
  holds: async (_f, ctx) => {
    const st = await ctx.rt.inspectContainer(ctx.live.containerName(RESOLVER_NAME));
    return !st?.running || st.paused;
  },
};
