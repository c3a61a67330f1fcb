// Faults on ports: a server on the wrong address, a mapping to the wrong port, a port never
// published, a host port someone else holds.
import { containerCreate } from '../../docker/cli.ts';
import type { ContainerSpec, PublishedPort } from '../../docker/specs.ts';
import type { LiveSession } from '../../session/live.ts';
import { LABEL } from '../../docker/labels.ts';
import { helperContainer } from '../../session/plan.ts';
import { cmd, startAndWait } from '../common.ts';
import { FaultError, type FaultImpl } from '../types.ts';

function published(live: LiveSession, service: string, port: number): PublishedPort {
  const p = live.planned(service).container?.ports.find((x) => x.containerPort === port);
  if (!p) throw new FaultError(`"${service}" does not publish container port ${port}`);
  return p;
}

const portArg = (p: PublishedPort) => `${p.hostIp}:${p.hostPort}:${p.containerPort}/${p.proto}`;

/** The docker command that re-creates the service with `spec` (as a learner would retype it). */
const recreateCommands = (live: LiveSession, service: string, change: (spec: ContainerSpec) => void) => {
  const spec = structuredClone(live.planned(service).container!);
  change(spec);
  return [cmd('docker', 'rm', '--force', spec.name), containerCreate(spec), cmd('docker', 'start', spec.name)];
};

export const bindLoopback: FaultImpl<'bind-loopback'> = {
  describe: (f, live) => ({
    summary: `${f.service}'s server on port ${f.port} listens on 127.0.0.1 only: it answers from inside its container and nowhere else`,
    service: f.service,
    params: { port: f.port },
    cause: [cmd('docker', 'exec', live.containerName(f.service), 'lab-serve', 'rebind', '--port', String(f.port), '--bind', '127.0.0.1')],
    undo: [cmd('docker', 'exec', live.containerName(f.service), 'lab-serve', 'rebind', '--port', String(f.port), '--bind', '0.0.0.0')],
    reveal: [cmd('docker', 'exec', live.containerName(f.service), 'ss', '-ltnp'), cmd('docker', 'port', live.containerName(f.service))],
  }),
  async apply(f, ctx) {
    const res = await ctx.rt.exec(ctx.live.containerName(f.service), ['lab-serve', 'rebind', '--port', String(f.port), '--bind', '127.0.0.1'], { timeoutMs: 15_000, record: true });
    if (res.exitCode !== 0) throw new FaultError(`"${f.service}" has no lab-serve server on port ${f.port} to rebind: ${(res.stderr || res.stdout).trim()}`);
  },
  async revert(f, ctx) {
    const res = await ctx.rt.exec(ctx.live.containerName(f.service), ['lab-serve', 'rebind', '--port', String(f.port), '--bind', '0.0.0.0'], { timeoutMs: 15_000, record: true });
    if (res.exitCode !== 0) throw new FaultError(`could not rebind "${f.service}" port ${f.port} to 0.0.0.0: ${(res.stderr || res.stdout).trim()}`);
  },
  async holds(f, ctx) {
    const sockets = (await ctx.live.listening(f.service)).filter((x) => x.port === f.port && x.proto === 'tcp');
    const loopback = (a: string) => a.startsWith('127.') || a === '::1';
    return sockets.some((x) => loopback(x.addr)) && !sockets.some((x) => !loopback(x.addr));
  },
};

/** The host port the session published for a container port. */
async function mappings(ctx: Parameters<FaultImpl['holds']>[1], service: string) {
  return (await ctx.rt.inspectContainer(ctx.live.containerName(service)))?.ports ?? [];
}

/** Re-creating a service from its plan is the revert of every fault that re-created it. */
const recreatePlanned = (live: LiveSession, service: string, rt: Parameters<FaultImpl['revert']>[1]['rt']) =>
  live.recreateService(service, () => {}, { revealsFault: true, runtime: rt });

export const portMismatch: FaultImpl<'port-mismatch'> = {
  describe(f, live) {
    const p = published(live, f.service, f.port);
    const wrong = { ...p, containerPort: f.to };
    return {
      summary: `${f.service}'s host port ${p.hostPort} is mapped to container port ${f.to}, where nothing listens (the server is on ${f.port})`,
      service: f.service,
      params: { port: f.port, to: f.to },
      cause: recreateCommands(live, f.service, (s) => (s.ports = s.ports.map((x) => (x.containerPort === f.port ? wrong : x)))),
      undo: recreateCommands(live, f.service, () => {}),
      reveal: [cmd('docker', 'port', live.containerName(f.service)), cmd('docker', 'exec', live.containerName(f.service), 'ss', '-ltn')],
    };
  },
  async apply(f, ctx) {
    published(ctx.live, f.service, f.port);
    await ctx.live.recreateService(f.service, (s) => {
      s.ports = s.ports.map((x) => (x.containerPort === f.port ? { ...x, containerPort: f.to } : x));
      s.exposed = [...s.exposed, { port: f.to, proto: 'tcp' }];
    }, { revealsFault: true, runtime: ctx.rt });
  },
  revert: (f, ctx) => recreatePlanned(ctx.live, f.service, ctx.rt),
  async holds(f, ctx) {
    const p = published(ctx.live, f.service, f.port);
    return !(await mappings(ctx, f.service)).some((m) => m.hostPort === p.hostPort && m.containerPort === f.port);
  },
};

export const unpublish: FaultImpl<'unpublish'> = {
  describe(f, live) {
    const p = published(live, f.service, f.port);
    return {
      summary: `${f.service}'s port ${f.port} is exposed but not published: the host has no way in (it was ${portArg(p)})`,
      service: f.service,
      params: { port: f.port },
      cause: recreateCommands(live, f.service, (s) => (s.ports = s.ports.filter((x) => x.containerPort !== f.port))),
      undo: recreateCommands(live, f.service, () => {}),
      reveal: [cmd('docker', 'port', live.containerName(f.service)), cmd('docker', 'ps', '--filter', `name=${live.containerName(f.service)}`)],
    };
  },
  async apply(f, ctx) {
    published(ctx.live, f.service, f.port);
    await ctx.live.recreateService(f.service, (s) => (s.ports = s.ports.filter((x) => x.containerPort !== f.port)), { revealsFault: true, runtime: ctx.rt });
  },
  revert: (f, ctx) => recreatePlanned(ctx.live, f.service, ctx.rt),
  holds: async (f, ctx) => !(await mappings(ctx, f.service)).some((m) => m.containerPort === f.port),
};

// What a learner finds holding the port: named like something someone left running, not like the fault.
const SQUATTER = 'legacy-agent';
/** The squatter this fault made: by its role too, since a learner may name a container of theirs the same. */
const squatterLabels = (session: string) => ({ [LABEL.session]: session, [LABEL.name]: SQUATTER, [LABEL.role]: 'fault' });

export const portConflict: FaultImpl<'port-conflict'> = {
  describe(f, live) {
    const p = published(live, f.service, f.port);
    return {
      summary: `another process holds host port ${p.hostIp}:${p.hostPort}, so ${f.service} cannot start with its port published`,
      service: f.service,
      params: { port: f.port, host_port: p.hostPort },
      cause: [cmd('docker', 'stop', live.containerName(f.service)), cmd('docker', 'run', '--detach', '--network', 'host', 'flowlab/toolbox:latest', 'lab-serve', 'tcp', '--port', String(p.hostPort), '--bind', p.hostIp), cmd('docker', 'start', live.containerName(f.service))],
      undo: ['docker rm --force <the container holding the port>', cmd('docker', 'start', live.containerName(f.service))],
      reveal: [cmd('docker', 'start', live.containerName(f.service)), `ss -ltnp 'sport = :${p.hostPort}'`, cmd('docker', 'ps', '--all')],
    };
  },
  async apply(f, ctx) {
    const p = published(ctx.live, f.service, f.port);
    const name = ctx.live.containerName(f.service);
    await ctx.rt.stopContainer(name, 1);
    ctx.live.claimInstance();
    // Part of the fault, not a passing helper: sweep leaves it while the session lives.
    const squatter = helperContainer(ctx.live.ref(), SQUATTER, { kind: 'host' }, [], ['lab-serve', 'tcp', '--port', String(p.hostPort), '--bind', p.hostIp], 'fault');
    await ctx.rt.createContainer(squatter);
    await ctx.rt.startContainer(squatter.name);
    const deadline = Date.now() + 15_000;
    // The service must not win the race for the port: wait until the squatter listens.
    while (Date.now() < deadline) {
      const r = await ctx.rt.exec(squatter.name, ['sh', '-c', `ss -ltnH 'sport = :${p.hostPort}' | grep -q .`], { timeoutMs: 5000 }).catch(() => undefined);
      if (r?.exitCode === 0) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    // The symptom: the service cannot start while the port is held.
    for (;;) {
      try {
        await ctx.rt.startContainer(name);
      } catch {
        return { squatter: squatter.name };
      }
      await ctx.rt.stopContainer(name, 1);
      if (Date.now() > deadline) throw new FaultError(`the squatter never took host port ${p.hostPort}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  },
  async revert(f, ctx) {
    const held = await ctx.rt.listContainers(squatterLabels(ctx.live.id));
    for (const c of held) await ctx.rt.removeContainer(c.id);
    const st = await ctx.rt.inspectContainer(ctx.live.containerName(f.service));
    if (!st?.running) await startAndWait(ctx.live, ctx.rt, f.service);
  },
  async holds(f, ctx) {
    const squatters = (await ctx.rt.listContainers(squatterLabels(ctx.live.id))).filter((c) => c.state === 'running');
    return squatters.length > 0 || !(await ctx.rt.inspectContainer(ctx.live.containerName(f.service)))?.running;
  },
};
