// npm run bench:lifecycle [-- --runs N --lab bridge-basics --json]
//
// Times `bridge-basics` up-until-ready and down through Flowlab, beside the same containers
// (lab resolver included) made with the docker CLI in parallel and, when installed, with
// docker-compose, all in the same run and interleaved so they share the machine's noise.
// Prints medians and the ratios the targets are stated in.
// A lab with nodes (`--lab vxlan-port-blocked`) is timed beside a one-node overlay lab through
// Flowlab (`--beside overlay-basics`) and beside its nodes alone: the engine-node containers made
// with the docker CLI until each one's dockerd answers (the floor of a lab of nested engines).
// The warm column: a standing pool of one of the lab, kept by the app's WarmPools, and a start
// (startLab) that claims from it timed until ready. Each run waits until the pool is refilled
// and quiet, so no refill shares the machine with a timed cold start.
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { openApp, type App } from '../server/app/app.ts';
import { startLab } from '../server/app/labs.ts';
import { WarmPools } from '../server/app/warm.ts';
import { containerCreateArgs, networkConnectArgs, networkCreateArgs } from '../server/docker/cli.ts';
import { ensureLabImages } from '../server/images/build.ts';
import { ENGINE_NODE_REF } from '../server/lab/lab-images.ts';
import { hasNodes } from '../server/lab/nodes.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { formatCidr, overlaps, parseCidr, subnetsOf } from '../server/lab/ipv4.ts';
import type { Lab } from '../server/lab/schema.ts';
import { newHexId } from '../server/session/instance.ts';
import { planContainers, planLab, portKey, type LabPlan } from '../server/session/plan.ts';
import type { Topology } from '../server/protocol/session.ts';
import { commandExists } from '../server/env/system.ts';
import { flag, opt } from './lib/args.ts';
import { run } from './lib/run.ts';
import { median, timed } from './lib/stats.ts';

const RUNS = Number(opt('runs', '7'));
const LAB = opt('lab', 'bridge-basics');
const BESIDE = opt('beside', 'overlay-basics');
const JSON_OUT = flag('json');
/** A refill is one lab start at the lowest priority: this long means the pool is stuck. */
const REFILL_TIMEOUT_MS = 120_000;


/**
 * Subnets for the legs Flowlab does not allocate (docker CLI, compose): free ones picked at random
 * in the pool, since another Flowlab on this host (tests, a server) walks it from the start and
 * takes a subnet a session has just given back. A subnet the lab fixes is kept.
 */
async function freeSubnets(app: App, topo: Topology, lab: Lab): Promise<Record<string, string>> {
  const taken = (await app.docker.listNetworks()).flatMap((n) => n.subnets).flatMap((x) => {
    try {
      return [parseCidr(x)];
    } catch {
      return [];
    }
  });
  const free = [...subnetsOf(parseCidr(app.settings.subnetPool), app.settings.subnetPrefix)].filter((c) => !taken.some((t) => overlaps(t, c)));
  const out: Record<string, string> = {};
  for (const n of topo.networks) {
    const fixed = lab.networks[n.name]?.ipam?.config[0]?.subnet;
    if (fixed) {
      out[n.name] = fixed;
      continue;
    }
    if (free.length === 0) throw new Error(`no free /${app.settings.subnetPrefix} subnet left in ${app.settings.subnetPool} for the ${n.name} network of the docker CLI and compose legs`);
    out[n.name] = formatCidr(free.splice(randomInt(free.length), 1)[0]!);
  }
  return out;
}

/** The lab's Docker objects for a fresh, unregistered session id: the host ports a session has given back, free subnets. */
async function planFor(app: App, topo: Topology, lab: Lab, dataDir: string): Promise<{ plan: LabPlan; session: string }> {
  const session = newHexId(4);
  const subnets = await freeSubnets(app, topo, lab);
  const owner = app.engine.instance.id;
  const hostPorts: Record<string, number> = {};
  for (const s of topo.services) for (const p of s.ports) hostPorts[portKey(s.name, p.container_port, p.proto)] = p.host_port;
  const plan = planLab(lab, { session, scenario: lab.id, owner, registry: dataDir }, { subnets, hostPorts });
  return { plan, session };
}

async function cliUp(plan: LabPlan): Promise<void> {
  await Promise.all(plan.networks.map((n) => run(networkCreateArgs(n.spec))));
  await Promise.all(
    planContainers(plan).map(async (c) => {
      await run(containerCreateArgs(c));
      if (c.network.kind === 'networks') for (const e of c.network.endpoints.slice(1)) await run(networkConnectArgs(e.network, c.name, e));
      await run(['docker', 'start', c.name]);
    }),
  );
}

async function cliDown(plan: LabPlan): Promise<void> {
  await Promise.all(planContainers(plan).map((c) => run(['docker', 'rm', '--force', c.name])));
  await Promise.all(plan.networks.map((n) => run(['docker', 'network', 'rm', n.spec.name])));
}

function composeFile(plan: LabPlan): string {
  const networks = Object.fromEntries(
    plan.networks.map((n) => [n.spec.name, { name: n.spec.name, driver: n.spec.driver, labels: n.spec.labels, ipam: { config: [{ subnet: n.spec.subnet }] } }]),
  );
  const services = Object.fromEntries(
    planContainers(plan).map((c) => [
      c.name,
      {
        image: c.image,
        container_name: c.name,
        ...(c.command ? { command: c.command } : {}),
        labels: c.labels,
        ...(c.network.kind === 'networks'
          ? {
              networks: Object.fromEntries(
                c.network.endpoints.map((e) => [e.network, { aliases: e.aliases, ...(e.ipv4Address ? { ipv4_address: e.ipv4Address } : {}) }]),
              ),
            }
          : { network_mode: c.network.kind === 'default-bridge' ? 'bridge' : c.network.kind }),
        ...(c.ports.length ? { ports: c.ports.map((p) => `${p.hostIp}:${p.hostPort}:${p.containerPort}/${p.proto}`) } : {}),
        ...(c.dns.length ? { dns: c.dns } : {}),
        cap_drop: c.capDrop,
        cap_add: c.capAdd,
        security_opt: ['no-new-privileges'],
        read_only: c.readOnly,
        tmpfs: Object.entries(c.tmpfs).map(([p, o]) => `${p}:${o}`),
        mem_limit: c.memoryBytes,
        cpus: c.nanoCpus / 1e9,
        pids_limit: c.pidsLimit,
        init: true,
      },
    ]),
  );
  return stringify({ version: '2.4', services, networks });
}

/** The lab's nodes alone, as the docker CLI makes them: an internal network, one engine-node container per node, until each dockerd answers; then removed. */
async function nodesFloor(lab: Lab, tag: string): Promise<[number, number]> {
  const net = `flbench-${tag}-underlay`;
  const names = Object.keys(lab.nodes ?? {}).map((n) => `flbench-${tag}-${n}`);
  const up = await timed(async () => {
    await run(['docker', 'network', 'create', '--internal', '--label', 'flowlab.bench=nodes', net]);
    await Promise.all(
      names.map(async (name) => {
        await run(['docker', 'run', '-d', '--name', name, '--label', 'flowlab.bench=nodes', '--network', net, '--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE', '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined', '--tmpfs', '/run', '--tmpfs', '/tmp', ENGINE_NODE_REF]);
        for (;;) {
          try {
            await run(['docker', 'exec', name, 'docker', 'version', '--format', '{{.Server.Version}}']);
            return;
          } catch {
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      }),
    );
  });
  const down = await timed(async () => {
    await run(['docker', 'rm', '-f', '-v', ...names]);
    await run(['docker', 'network', 'rm', net]);
  });
  return [up, down];
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flowlab-bench-'));
  const app = openApp({ dataDir });
  const work = mkdtempSync(join(tmpdir(), 'flowlab-bench-compose-'));
  const compose = commandExists('docker-compose') ? ['docker-compose'] : undefined;
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const rows: { flowlab: [number, number]; capture: number; claim: number; cli: [number, number]; compose?: [number, number]; beside?: [number, number] }[] = [];
  const pools = new WarmPools(app, { ttlMs: app.settings.warmTtlMs, tickMs: 200 });
  app.warm = pools;
  /** Until the pool holds a claimable session of the lab and nothing of it is being made, started or ended. */
  const poolReady = async (lab: string) => {
    for (const by = performance.now() + REFILL_TIMEOUT_MS; ; await new Promise((r) => setTimeout(r, 100))) {
      await pools.idle();
      if (pools.claimableCount(lab) >= 1 && pools.startingCount(lab) === 0) {
        // Its capture sidecars start after it is ready, in the background: quiet means those too.
        for (const r of app.engine.store.warm()) await app.engine.settled(r.id);
        return;
      }
      const pool = pools.status().pools.find((p) => p.lab === lab);
      if (performance.now() > by) throw new Error(`the warm pool of ${lab} holds no claimable session after ${REFILL_TIMEOUT_MS / 1000} s: ${JSON.stringify(pool)}`);
    }
  };
  try {
    await ensureLabImages(app.docker, () => {}, { nodes: true });
    const entry = loadLab(LAB);
    const withNodes = hasNodes(entry.lab);
    const beside = withNodes ? loadLab(BESIDE) : undefined;
    log(`warm-up: ${LAB}`);
    const warm = await app.engine.up(entry);
    await app.engine.down(warm.session);
    await pools.setSize(entry.lab.id, 1);
    pools.start();

    for (let i = 0; i < RUNS; i++) {
      await poolReady(entry.lab.id);
      let cold: Topology | undefined;
      const fUp = await timed(async () => (cold = await app.engine.up(entry)));
      const session = cold!.session;
      // Capture sidecars start once the lab is ready: how much later they all run.
      const fCapture = await timed(() => app.engine.settled(session));
      const fDown = await timed(() => app.engine.down(session));

      let cUp: number;
      let cDown: number;
      let besideRow: [number, number] | undefined;
      if (withNodes) {
        [cUp, cDown] = await nodesFloor(entry.lab, `${process.pid}-${i}`);
        let one: Topology | undefined;
        const bUp = await timed(async () => (one = await app.engine.up(beside!, { initSwarm: true })));
        await app.engine.settled(one!.session);
        const bDown = await timed(() => app.engine.down(one!.session));
        besideRow = [bUp, bDown];
      } else {
        // The host ports this run's cold session just gave back: the warm pool's session holds others.
        const cli = await planFor(app, cold!, entry.lab, dataDir);
        cUp = await timed(() => cliUp(cli.plan));
        cDown = await timed(() => cliDown(cli.plan));
      }

      let composeRow: [number, number] | undefined;
      if (compose && !withNodes) {
        const c = await planFor(app, cold!, entry.lab, dataDir);
        const file = join(work, `compose-${i}.yml`);
        writeFileSync(file, composeFile(c.plan));
        const base = [...compose, '--project-name', `flbench${c.session}`, '--file', file];
        const up = await timed(() => run([...base, 'up', '--detach', '--no-build']));
        const down = await timed(() => run([...base, 'down', '--timeout', '10']));
        composeRow = [up, down];
      }

      // The pool's session, claimed and broken as a cold start's seed would break it; then it goes.
      let claimed = '';
      const claim = await timed(async () => (claimed = (await startLab(app, entry)).session));
      if (app.engine.store.get(claimed)?.claimedAt == null) throw new Error(`startLab(${entry.lab.id}) brought session ${claimed} up on demand instead of claiming the warm one: the warm column would time a cold start`);
      await app.engine.settled(claimed);
      await app.engine.down(claimed);

      rows.push({ flowlab: [fUp, fDown], capture: fCapture, claim, cli: [cUp, cDown], ...(composeRow ? { compose: composeRow } : {}), ...(besideRow ? { beside: besideRow } : {}) });
      log(`run ${i + 1}/${RUNS}: flowlab up ${fUp.toFixed(0)} (+${fCapture.toFixed(0)} capture) / down ${fDown.toFixed(0)} ms; warm claim ${claim.toFixed(0)} ms; ${withNodes ? 'nodes alone' : 'cli'} up ${cUp.toFixed(0)} / down ${cDown.toFixed(0)} ms${composeRow ? `; compose up ${composeRow[0].toFixed(0)} / down ${composeRow[1].toFixed(0)} ms` : ''}${besideRow ? `; ${BESIDE} up ${besideRow[0].toFixed(0)} / down ${besideRow[1].toFixed(0)} ms` : ''}`);
    }
  } finally {
    // The standing pool goes with its sessions: none may be left being made when the sweep looks.
    pools.stop();
    await pools.idle().catch(() => undefined);
    for (const r of app.engine.store.warm()) await app.engine.down(r.id).catch(() => undefined);
    await app.engine.sweep().catch(() => undefined);
    app.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }

  const m = (pick: (r: (typeof rows)[number]) => number | undefined) => {
    const xs = rows.map(pick).filter((x): x is number => x !== undefined);
    return xs.length ? median(xs) : undefined;
  };
  const result = {
    lab: LAB,
    runs: RUNS,
    capture_after_ready_ms: m((r) => r.capture),
    up_ms: { flowlab: m((r) => r.flowlab[0]), flowlab_warm_claim: m((r) => r.claim), docker_cli_parallel: m((r) => r.cli[0]), docker_compose: m((r) => r.compose?.[0]), one_node_overlay: m((r) => r.beside?.[0]) },
    down_ms: { flowlab: m((r) => r.flowlab[1]), docker_cli_parallel: m((r) => r.cli[1]), docker_compose: m((r) => r.compose?.[1]), one_node_overlay: m((r) => r.beside?.[1]) },
  };
  const nodes = Object.keys(loadLab(LAB).lab.nodes ?? {}).length;
  const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined ? a / b : undefined);
  const ratios = {
    up_vs_cli: ratio(result.up_ms.flowlab, result.up_ms.docker_cli_parallel),
    warm_claim_vs_up: ratio(result.up_ms.flowlab_warm_claim, result.up_ms.flowlab),
    up_vs_compose: ratio(result.up_ms.flowlab, result.up_ms.docker_compose),
    down_vs_cli: ratio(result.down_ms.flowlab, result.down_ms.docker_cli_parallel),
    down_vs_compose: ratio(result.down_ms.flowlab, result.down_ms.docker_compose),
  };
  if (JSON_OUT) {
    process.stdout.write(`${JSON.stringify({ ...result, nodes, ...(nodes ? { beside: BESIDE } : {}), ratios }, null, 2)}\n`);
    return;
  }
  const f = (x?: number) => (x === undefined ? 'n/a' : `${(x / 1000).toFixed(2)} s`);
  const r = (x?: number) => (x === undefined ? 'n/a' : `${x.toFixed(2)}x`);
  // A claim of a lab with no faults is a few milliseconds: seconds and 0.00x would hide it.
  const fw = (x?: number) => (x === undefined ? 'n/a' : x < 1000 ? `${Math.round(x)} ms` : f(x));
  const rw = (x?: number) => (x === undefined ? 'n/a' : x < 0.1 ? `${x.toPrecision(2)}x` : r(x));
  const mark = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? '  (target met)' : '  (target missed)');
  if (nodes > 0) {
    console.log(`\n${LAB} (${nodes} nodes): medians of ${RUNS} runs, interleaved in one run`);
    console.log(`                          up (until ready)   warm claim (until ready)   down`);
    console.log(`  flowlab, ${nodes} nodes        ${f(result.up_ms.flowlab).padEnd(19)}${`${fw(result.up_ms.flowlab_warm_claim)} (${rw(ratios.warm_claim_vs_up)} of up)`.padEnd(27)}${f(result.down_ms.flowlab)}`);
    console.log(`  ${BESIDE} (1 node) ${f(result.up_ms.one_node_overlay).padEnd(19)}${'-'.padEnd(27)}${f(result.down_ms.one_node_overlay)}`);
    console.log(`  ${nodes} nodes alone (CLI)    ${f(result.up_ms.docker_cli_parallel).padEnd(19)}${'-'.padEnd(27)}${f(result.down_ms.docker_cli_parallel)}   (engine-node containers until each dockerd answers)`);
    console.log(`\n  up vs the one-node overlay lab: ${r(ratio(result.up_ms.flowlab, result.up_ms.one_node_overlay))}`);
    console.log(`  up vs its nodes alone:          ${r(ratios.up_vs_cli)}  (the rest: lab images loaded into each node, the swarm made, the lab started inside)`);
    console.log(`  warm claim vs cold up:          ${rw(ratios.warm_claim_vs_up)}  (${fw(result.up_ms.flowlab_warm_claim)}: startLab claiming from a standing pool of 1, its faults applied at claim)`);
    return;
  }
  console.log(`\n${LAB}: medians of ${RUNS} runs, interleaved in one run`);
  console.log(`                      up (until ready)   warm claim (until ready)   down`);
  console.log(`  flowlab             ${f(result.up_ms.flowlab).padEnd(19)}${`${fw(result.up_ms.flowlab_warm_claim)} (${rw(ratios.warm_claim_vs_up)} of up)`.padEnd(27)}${f(result.down_ms.flowlab)}   (capture sidecars running ${f(result.capture_after_ready_ms)} after ready)`);
  console.log(`  docker CLI parallel ${f(result.up_ms.docker_cli_parallel).padEnd(19)}${'-'.padEnd(27)}${f(result.down_ms.docker_cli_parallel)}`);
  console.log(`  docker-compose      ${f(result.up_ms.docker_compose).padEnd(19)}${'-'.padEnd(27)}${f(result.down_ms.docker_compose)}${compose ? '' : '  (not installed)'}`);
  console.log(`\n  up   vs docker CLI:     ${r(ratios.up_vs_cli)}  target <= 1.2x${mark(ratios.up_vs_cli === undefined ? undefined : ratios.up_vs_cli <= 1.2)}`);
  console.log(`  up   vs docker-compose: ${r(ratios.up_vs_compose)}  target <= 0.8x${mark(ratios.up_vs_compose === undefined ? undefined : ratios.up_vs_compose <= 0.8)}`);
  console.log(`  up   absolute:          ${f(result.up_ms.flowlab)}  target <= 1.0 s on the reference 2-core machine${mark((result.up_ms.flowlab ?? Infinity) <= 1000)}`);
  console.log(`  down absolute:          ${f(result.down_ms.flowlab)}  target <= 0.6 s${mark((result.down_ms.flowlab ?? Infinity) <= 600)}`);
  console.log(`  down vs docker CLI:     ${r(ratios.down_vs_cli)}`);
  console.log(`  warm claim vs cold up:  ${rw(ratios.warm_claim_vs_up)}  (${fw(result.up_ms.flowlab_warm_claim)}: startLab claiming from a standing pool of 1, its faults applied at claim)`);
}

await main();
