// The Docker floor: what the engine needs to start N copies of a lab's containers — the very
// containers Flowlab would make (same images, networks, limits and capture sidecars), from
// Flowlab's own plan, through the same Docker connection and start gate — with no readiness wait,
// no faults, no registry work and no server. A bench divides Flowlab's figures by these, measured in the same
// run, so what the machine costs and what Flowlab adds can be told apart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApp } from '../server/app/app.ts';
import type { ContainerSpec } from '../server/docker/specs.ts';
import { ensureLabImages } from '../server/images/build.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { LABEL, type SessionRef } from '../server/docker/labels.ts';
import { allocate } from '../server/session/allocate.ts';
import { newHexId } from '../server/session/instance.ts';
import { settleAll } from '../server/util/settle.ts';
import { captureContainer, capturedServices, planContainers, planLab, type LabPlan } from '../server/session/plan.ts';

export interface Floor {
  labs: number;
  /** Containers per lab: services and the lab resolver, then capture sidecars. */
  perLab: { lab: number; capture: number };
  /** From the first create until every lab's own containers run. */
  labsMs: number;
  /** ... and until every capture sidecar runs too. */
  allMs: number;
  startsAtOnce: number;
  /**
   * A network change as a claim's faults make them (one container disconnected from a lab network
   * and connected again): one lab's alone, then every lab's at once — the engine's floor for a
   * room claiming together.
   */
  networkChange?: { oneMs: number; allMs: number };
}

const shares = (c: ContainerSpec) => c.network.kind === 'container';

/** Starts `labs` copies of `labId`'s containers as Flowlab plans them, times it, removes them. */
export async function dockerFloor(labId: string, labs: number, log: (s: string) => void): Promise<Floor> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flowlab-bench-floor-'));
  const app = openApp({ dataDir });
  const { engine } = app;
  const sessions: string[] = [];
  let result: Floor | undefined;
  let failure: unknown;
  try {
    await ensureLabImages(app.docker, () => {});
    const entry = loadLab(labId);
    const { lab } = entry;
    const inst = engine.instance;
    engine.claimInstance();
    const rt = app.docker.scoped(undefined);
    const plans: { ref: SessionRef; plan: LabPlan }[] = [];
    for (let i = 0; i < labs; i++) {
      const session = newHexId(4);
      engine.store.create({ id: session, scenario: lab.id, labFile: entry.file, seed: 0, variant: null, owner: inst.id, ownerPid: inst.pid, ownerHost: inst.host, ownerStart: inst.start, lab, detached: false });
      sessions.push(session);
      const alloc = await allocate(lab, session, engine.store, app.settings, (await rt.listNetworks()).flatMap((n) => n.subnets));
      const ref = { session, scenario: lab.id, owner: inst.id, registry: engine.registryPath };
      plans.push({ ref, plan: planLab(lab, ref, alloc) });
    }
    const perLab = { lab: planContainers(plans[0]!.plan).length, capture: capturedServices(lab).length };
    log(`docker floor: ${labs} x (${perLab.lab} lab + ${perLab.capture} capture) containers, ${app.docker.starts.atOnce || 'unlimited'} start(s) at once`);

    // Every branch settles before the first failure is reported, so teardown sees all it made.
    const t0 = performance.now();
    await settleAll(
      plans.map(async ({ plan }) => {
        await Promise.all(plan.networks.map((n) => rt.createNetwork(n.spec)));
        const containers = planContainers(plan);
        await Promise.all(containers.map((c) => rt.createContainer(c)));
        // A container in another's network namespace starts after it.
        await Promise.all(containers.filter((c) => !shares(c)).map((c) => rt.startContainer(c.name, 'lab')));
        await Promise.all(containers.filter(shares).map((c) => rt.startContainer(c.name, 'lab')));
      }),
    );
    const labsMs = performance.now() - t0;
    await settleAll(
      plans.flatMap(({ ref }) =>
        capturedServices(lab).map(async (service) => {
          const spec = captureContainer(ref, service, app.settings.captureRingBytes);
          await rt.createContainer(spec);
          await rt.startContainer(spec.name, 'background');
        }),
      ),
    );
    const allMs = performance.now() - t0;
    log(`docker floor: lab containers running at ${(labsMs / 1000).toFixed(1)} s, capture sidecars too at ${(allMs / 1000).toFixed(1)} s`);
    // The first container of each lab on a user-defined network, and that network.
    const changes = plans.flatMap(({ plan }) => {
      const c = planContainers(plan).find((x) => x.network.kind === 'networks' && x.network.endpoints.length > 0);
      const endpoint = c?.network.kind === 'networks' ? c.network.endpoints[0] : undefined;
      return c && endpoint ? [() => rt.disconnect(endpoint.network, c.name).then(() => rt.connect(endpoint.network, c.name, { aliases: endpoint.aliases }))] : [];
    });
    let networkChange: Floor['networkChange'];
    if (changes.length > 1) {
      const t1 = performance.now();
      await changes[0]!();
      const oneMs = performance.now() - t1;
      const t2 = performance.now();
      await Promise.all(changes.slice(1).map((f) => f()));
      networkChange = { oneMs, allMs: performance.now() - t2 };
      log(`docker floor: one lab's network change ${Math.round(oneMs)} ms; ${changes.length - 1} labs' at once ${(networkChange.allMs / 1000).toFixed(2)} s; removing them`);
    }
    result = { labs, perLab, labsMs, allMs, startsAtOnce: app.docker.starts.atOnce, ...(networkChange ? { networkChange } : {}) };
  } catch (e) {
    failure = e;
  }
  // Whatever happened: everything the floor made goes, and a leak is an error.
  for (const s of sessions) await engine.down(s).catch(() => undefined);
  await engine.sweep().catch(() => undefined);
  const mine = { [LABEL.managed]: 'true', [LABEL.registry]: engine.registryPath };
  const [containers, networks] = await Promise.all([app.docker.listContainers(mine), app.docker.listNetworks(mine)]);
  app.close();
  rmSync(dataDir, { recursive: true, force: true });
  const left = [...containers, ...networks].map((o) => o.name);
  // A leak here is the bench's failure too (it would otherwise hide behind another data directory).
  if (left.length > 0) throw new Error(`the docker floor left ${left.length} object(s) labelled ${LABEL.registry}=${engine.registryPath}: ${left.join(', ')}`);
  if (failure !== undefined || !result) throw failure;
  return result;
}
