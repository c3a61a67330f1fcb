// npm run bench:probes [-- --runs N]
//
// The probe matrix of `bridge-basics` through Flowlab (one exec per source, sources in
// parallel), beside the same probes issued one by one with `docker exec`, in the same run.
// Prints medians and the ratio. Target: a 4-service lab's full matrix in <= 2 s.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApp } from '../server/app/app.ts';
import { ensureLabImages } from '../server/images/build.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { parseProbeTarget } from '../server/lab/targets.ts';
import { probeCommand } from '../server/probe/commands.ts';
import { deriveMatrix } from '../server/probe/matrix.ts';
import { DEFAULT_PROBE_TIMEOUT_MS, Prober } from '../server/probe/prober.ts';
import { objectName } from '../server/docker/labels.ts';
import { numOpt } from './lib/args.ts';
import { runTo } from './lib/run.ts';
import { median } from './lib/stats.ts';

const RUNS = numOpt('runs', 5);

/** Runs a command to its end, whatever it answers (a probe that fails still took its time). */
const run = (argv: string[]) => runTo(argv).then(() => undefined);

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flowlab-bench-'));
  const app = openApp({ dataDir });
  const log = (s: string) => process.stderr.write(`${s}\n`);
  let session = '';
  const flowlab: number[] = [];
  const oneByOne: number[] = [];
  let count = 0;
  try {
    await ensureLabImages(app.docker);
    const entry = loadLab('bridge-basics');
    session = (await app.engine.up(entry)).session;
    const live = app.engine.live(session);
    const prober = new Prober(live);
    const specs = [...entry.lab.probes, ...deriveMatrix(entry.lab, live.topology)];
    await prober.matrix(); // warm-up: creates the host probe helper
    const host = await live.hostHelper();
    for (let i = 0; i < RUNS; i++) {
      let t = performance.now();
      count = (await prober.matrix()).length;
      flowlab.push(performance.now() - t);

      t = performance.now();
      for (const s of specs) {
        const target = parseProbeTarget(live.resolveRefs(s.to))!;
        const container = s.from === 'host' ? host : objectName(session, s.from);
        await run(['docker', 'exec', container, 'sh', '-c', probeCommand(target, DEFAULT_PROBE_TIMEOUT_MS)]);
      }
      oneByOne.push(performance.now() - t);
      log(`run ${i + 1}/${RUNS}: flowlab matrix ${flowlab.at(-1)!.toFixed(0)} ms, docker exec one by one ${oneByOne.at(-1)!.toFixed(0)} ms`);
    }
  } finally {
    if (session) await app.engine.down(session).catch(() => undefined);
    app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const f = median(flowlab);
  const o = median(oneByOne);
  console.log(`\nbridge-basics probe matrix: ${count} probes, medians of ${RUNS} runs in one run`);
  console.log(`  flowlab matrix             ${(f / 1000).toFixed(2)} s   target <= 2.0 s${f <= 2000 ? '  (target met)' : '  (target missed)'}`);
  console.log(`  docker exec, one by one    ${(o / 1000).toFixed(2)} s`);
  console.log(`  ratio                      ${(f / o).toFixed(2)}x (${(o / f).toFixed(1)} times faster)`);
}

await main();
