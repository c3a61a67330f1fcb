// When is a service ready: its healthcheck passes, else its ports accept, else it runs.
// A service that never gets there fails with its name, state and last log lines.
import { connect } from 'node:net';
import { listeningPorts } from '../docker/netns.ts';
import type { DockerApi } from '../docker/types.ts';
import type { PlannedService } from './plan.ts';
import { FlowlabError, type ErrorKind } from '../util/errors.ts';

export class NotReadyError extends FlowlabError {
  override name = 'NotReadyError';
  constructor(message: string, kind: ErrorKind = 'unavailable') {
    super(message, kind);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function failure(rt: DockerApi, service: string, container: string, why: string): Promise<NotReadyError> {
  const state = await rt.inspectContainer(container).catch(() => undefined);
  const logs = (await rt.logs(container, 15)).trimEnd();
  const where = state ? `state ${state.status}${state.running ? '' : ` (exit code ${state.exitCode})`}${state.health && state.health !== 'none' ? `, health ${state.health}` : ''}` : 'container gone';
  return new NotReadyError(`service "${service}" did not become ready: ${why}; ${where}${logs ? `; last log lines:\n${logs.split('\n').map((l) => `    ${l}`).join('\n')}` : '; no log output'}`);
}

function tcpAccepts(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: ip, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
    sock.once('timeout', () => done(false));
  });
}

export async function waitContainerReady(rt: DockerApi, planned: PlannedService, container: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const health = planned.container?.healthcheck;
  if (health && health.test[0] !== 'NONE') {
    for (;;) {
      const s = await rt.inspectContainer(container);
      if (!s || (!s.running && s.status !== 'created')) throw await failure(rt, planned.name, container, 'it stopped while its healthcheck was pending');
      if (s.health === 'healthy') return;
      if (Date.now() > deadline) throw await failure(rt, planned.name, container, `its healthcheck did not pass within ${timeoutMs / 1000} s`);
      await sleep(100);
    }
  }
  const listens = planned.model.listens;
  if (listens.length > 0) {
    const specs = listens.map((l) => `${l.port}/${l.proto}`);
    const stopped = async () => !(await rt.inspectContainer(container))?.running;
    const pid = await rt.containerPid(container);
    if (pid === undefined && (await stopped())) throw await failure(rt, planned.name, container, `it stopped before listening on ${specs.join(', ')}`);
    // Not in this machine's /proc (another engine): asked inside the container below.
    while (pid !== undefined) {
      const open = await listeningPorts(pid);
      if (open === undefined) {
        if (await stopped()) throw await failure(rt, planned.name, container, `it stopped before listening on ${specs.join(', ')}`);
        break; // cannot look from here: ask inside the container below
      }
      const missing = specs.filter((s) => !open.has(s));
      if (missing.length === 0) return;
      if (Date.now() > deadline) throw await failure(rt, planned.name, container, `nothing listens on ${missing.join(', ')} after ${timeoutMs / 1000} s`);
      await sleep(20);
    }
  }
  if (listens.length > 0 && planned.labImage) {
    const specs = listens.map((l) => `${l.port}/${l.proto}`);
    const res = await rt.exec(container, ['lab-ready', '--timeout', String(Math.ceil(timeoutMs / 1000)), ...specs], { timeoutMs: timeoutMs + 2000 });
    if (res.exitCode !== 0) throw await failure(rt, planned.name, container, `nothing listens on ${specs.join(', ')} (${(res.stderr || res.stdout).trim() || 'lab-ready failed'})`);
    return;
  }
  const tcp = listens.filter((l) => l.proto === 'tcp');
  if (tcp.length > 0) {
    // An image without the lab tools: try its ports from here, where the lab networks are routable.
    const s = await rt.inspectContainer(container);
    const ip = Object.values(s?.networks ?? {}).find((n) => n.ip)?.ip;
    if (ip) {
      for (const l of tcp) {
        while (!(await tcpAccepts(ip, l.port, 300))) {
          if (Date.now() > deadline) throw await failure(rt, planned.name, container, `port ${l.port}/tcp did not accept connections within ${timeoutMs / 1000} s`);
          await sleep(100);
        }
      }
      return;
    }
  }
  const s = await rt.inspectContainer(container);
  if (!s?.running) throw await failure(rt, planned.name, container, 'it is not running');
}

export async function waitSwarmServiceReady(rt: DockerApi, planned: PlannedService, service: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const replicas = planned.swarm?.replicas ?? 1;
  let last = '';
  for (;;) {
    const tasks = await rt.serviceTasks(service);
    const running = tasks.filter((t) => t.desired === 'running' && t.state === 'running');
    if (running.length >= replicas) {
      const listens = planned.model.listens;
      if (listens.length > 0 && planned.labImage) {
        await Promise.all(
          running.map(async (t) => {
            if (!t.container) return;
            const res = await rt.exec(t.container, ['lab-ready', '--timeout', String(Math.max(1, Math.ceil((deadline - Date.now()) / 1000))), ...listens.map((l) => `${l.port}/${l.proto}`)]);
            if (res.exitCode !== 0) throw new NotReadyError(`swarm service "${planned.name}": a task does not listen: ${res.stderr.trim()}`);
          }),
        );
      }
      return;
    }
    const failed = tasks.find((t) => ['failed', 'rejected'].includes(t.state));
    if (failed) last = failed.error ?? failed.state;
    if (Date.now() > deadline) {
      throw new NotReadyError(`swarm service "${planned.name}" did not get ${replicas} running task(s) within ${timeoutMs / 1000} s (${running.length} running${last ? `; last task error: ${last}` : ''})`);
    }
    await sleep(150);
  }
}
