// Starting a lab's services in the order their dependencies ask for: everything is created at
// once, each starts as soon as what it depends on has started (or is ready), and nothing is left
// half-made for the teardown to race.
import { dockerFailed } from '../docker/errors.ts';
import type { StartPriority } from '../docker/start-gate.ts';
import type { DockerApi } from '../docker/types.ts';
import { SessionError } from './errors.ts';
import { once, settleAll } from '../util/settle.ts';
import type { LabPlan, PlannedService } from './plan.ts';
import { waitContainerReady, waitSwarmServiceReady } from './readiness.ts';

/** A service that cannot start as the lab plans it. */

/**
 * Every container is created at once (creating is cheap); each then starts as soon as what it
 * depends on has started (or, for `condition: service_healthy`, is ready).
 */
export async function startServices(rt: DockerApi, plan: LabPlan, opts: { check: () => void; progress: (l: string) => void; readyTimeoutMs: number; serviceReady?: (service: string) => void; priority?: StartPriority; signal?: AbortSignal | undefined }): Promise<void> {
  const { check, progress, readyTimeoutMs } = opts;
  const byName = new Map(plan.services.map((s) => [s.name, s]));
  const created = new Map<string, Promise<void>>();
  const started = new Map<string, Promise<void>>();
  const ready = new Map<string, Promise<void>>();
  const create = (s: PlannedService): Promise<void> =>
    once(created, s.name, async () => {
      // A container sharing another's network namespace can only be created after it.
      const shares = s.model.attachment.kind === 'service' ? byName.get(s.model.attachment.service) : undefined;
      if (shares) await create(shares);
      check();
      if (s.container) await rt.createContainer(s.container);
    });
  const start = (s: PlannedService): Promise<void> =>
    once(started, s.name, async () => {
      await Promise.all([create(s), ...s.model.dependsOn.map((d) => (d.healthy ? whenReady : start)(byName.get(d.service)!))]);
      check();
      await startOne(rt, s, opts.priority, opts.signal);
    });
  const whenReady = (s: PlannedService): Promise<void> =>
    once(ready, s.name, async () => {
      await start(s);
      await waitReady(rt, s, readyTimeoutMs);
      progress(`  ${s.name} ready`);
      opts.serviceReady?.(s.name);
    });
  // Wait for every branch to settle before reporting, so teardown never races a create.
  await settleAll(plan.services.map(whenReady));
}

async function startOne(rt: DockerApi, s: PlannedService, priority?: StartPriority, signal?: AbortSignal): Promise<void> {
  if (s.swarm) {
    await rt.createService(s.swarm);
    return;
  }
  const spec = s.container!;
  try {
    await rt.startContainer(spec.name, priority, signal);
  } catch (e) {
    const msg = (e as Error).message;
    if (dockerFailed(e, 'port-taken')) {
      throw new SessionError(`service "${s.name}" cannot publish its port: ${msg.replace(/^.*?failed: /, '')}; another program holds that host port`);
    }
    throw e;
  }
}

function waitReady(rt: DockerApi, s: PlannedService, timeoutMs: number): Promise<void> {
if (s.swarm) return waitSwarmServiceReady(rt, s, s.swarm.name, timeoutMs);
return waitContainerReady(rt, s, s.container!.name, timeoutMs);
}
