// npm run bench:engines [-- --labs 12 --runs 5 --json]
//
// The engine pool on a bed of three real dockerd engines (containers on this machine, TLS on TCP,
// as the tests run them), in one run:
//   1. `--labs` labs started at once on one engine, then the same spread over three by placement:
//      where each went, the wall time, and the time starts waited at each engine's gate;
//   2. a remote engine against local, interleaved: up until ready, a probe, and a terminal's echo
//      (a keystroke into a shell in a service and back).
// Targets: remote up <= 1.2x local, echo p95 <= 300 ms. The three engines share this machine's
// cores, so this shows balance and overhead, not speed-up: the output says so.
import { cpus } from 'node:os';
import { join } from 'node:path';
import { openApp, type App } from '../server/app/app.ts';
import { startLab } from '../server/app/labs.ts';
import { PROJECT_ROOT } from '../server/config.ts';
import { DockerRuntime } from '../server/docker/runtime.ts';
import { ensureBase } from '../server/images/build.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { Prober } from '../server/probe/prober.ts';
import type { Topology } from '../server/protocol/session.ts';
import { EngineBed, ensureEngineNodeImage } from '../test/engines/bed.ts';
import { tempDataDir } from '../test/helpers.ts';
import { flag, numOpt } from './lib/args.ts';
import { median, pct, timed } from './lib/stats.ts';

const LABS = numOpt('labs', 12);
const RUNS = numOpt('runs', 5);
const ECHOES = 30;
const JSON_OUT = flag('json');
const log = (s: string) => process.stderr.write(`${s}\n`);
const NODES = ['node-1', 'node-2', 'node-3'];

function gates(app: App): Record<string, { starts: number; ms: number }> {
  return Object.fromEntries(NODES.map((n) => [n, { ...app.engine.runtimeOf(n).starts.waited }]));
}

/** `LABS` labs at once with the engines `open` taking labs: where they went, how long, the gates' waits. */
async function wave(app: App, open: string[]): Promise<{ wallMs: number; placed: Record<string, number>; gateWaitMs: Record<string, number>; waitedStarts: Record<string, number> }> {
  for (const n of NODES) app.engines.drain(n, !open.includes(n));
  const before = gates(app);
  let labs: Topology[] = [];
  const wallMs = await timed(async () => {
    labs = await Promise.all(Array.from({ length: LABS }, () => startLab(app, loadLab('bridge-basics'))));
  });
  const after = gates(app);
  const placed: Record<string, number> = Object.fromEntries(NODES.map((n) => [n, labs.filter((t) => t.engine === n).length]));
  await app.engine.settled();
  await Promise.all(labs.map((t) => app.engine.down(t.session)));
  return {
    wallMs,
    placed,
    gateWaitMs: Object.fromEntries(NODES.map((n) => [n, after[n]!.ms - before[n]!.ms])),
    waitedStarts: Object.fromEntries(NODES.map((n) => [n, after[n]!.starts - before[n]!.starts])),
  };
}

/** One keystroke's round trip through a shell in a service: written, then seen echoed. */
async function echoes(app: App, session: string): Promise<number[]> {
  const t = await app.consoles.terminal(session, 'client', { cols: 80, rows: 24 });
  let seen = '';
  t.tty.stream.on('data', (b: Buffer) => (seen += b.toString()));
  const until = async (needle: string, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!seen.includes(needle)) {
      if (Date.now() > deadline) throw new Error(`the shell did not echo ${JSON.stringify(needle)}; it printed ${JSON.stringify(seen.slice(-200))}`);
      await new Promise((r) => setImmediate(r));
    }
  };
  t.tty.stream.write('stty echo; echo READY\n');
  await until('READY\r\n');
  const times: number[] = [];
  for (let i = 0; i < ECHOES; i++) {
    const mark = `k${i}q`;
    const t0 = performance.now();
    t.tty.stream.write(mark);
    await until(mark);
    times.push(performance.now() - t0);
    // The line is cleared each time (Ctrl-U): a long one would wrap, and the echo with it.
    t.tty.stream.write('\u0015');
  }
  t.tty.stream.write('\u0003exit\n');
  return times;
}

async function main(): Promise<void> {
  const outer = new DockerRuntime();
  const base = await ensureBase(outer, () => {});
  await ensureEngineNodeImage(outer, base.ref, join(PROJECT_ROOT, 'images', 'engine-node'));
  log('starting three test engines');
  const bed = await EngineBed.start(3);
  const app = openApp({ dataDir: tempDataDir() });
  try {
    for (const e of bed.engines) await app.engines.add(e.name, e.url, e.tlsDir);
    // Warm-up: the lab images reach every engine, each gate learns its CPUs.
    app.engines.drain('local');
    for (const n of NODES) {
      log(`warm-up on ${n}`);
      const t = await startLab(app, loadLab('bridge-basics'), { engine: n });
      await app.engine.settled(t.session);
      await app.engine.down(t.session);
    }

    log(`${LABS} labs at once on one engine`);
    const one = await wave(app, ['node-1']);
    log(`  ${JSON.stringify(one)}`);
    log(`${LABS} labs at once spread over three`);
    const three = await wave(app, NODES);
    log(`  ${JSON.stringify(three)}`);

    // Remote against local, interleaved so they share the machine's noise.
    app.engines.drain('local', false);
    const up: Record<'local' | 'remote', number[]> = { local: [], remote: [] };
    const probe: Record<'local' | 'remote', number[]> = { local: [], remote: [] };
    const echo: Record<'local' | 'remote', number[]> = { local: [], remote: [] };
    for (let i = 0; i < RUNS; i++) {
      for (const [which, engine] of [['local', 'local'], ['remote', 'node-1']] as const) {
        let topo!: Topology;
        up[which].push(await timed(async () => (topo = await startLab(app, loadLab('bridge-basics'), { engine }))));
        const live = app.engine.live(topo.session);
        await live.settle().catch(() => undefined);
        probe[which].push(await timed(() => new Prober(live).run([{ from: 'client', to: 'http://web:80/' }])));
        if (i === 0) echo[which].push(...(await echoes(app, topo.session)));
        await app.engine.settled(topo.session);
        await app.engine.down(topo.session);
        log(`run ${i + 1}/${RUNS} ${which}: up ${up[which].at(-1)!.toFixed(0)} ms, probe ${probe[which].at(-1)!.toFixed(0)} ms`);
      }
    }

    const result = {
      labs: LABS,
      cores: cpus().length,
      one_engine: one,
      three_engines: three,
      remote_vs_local: {
        up_ms: { local: median(up.local), remote: median(up.remote), ratio: median(up.remote) / median(up.local) },
        probe_ms: { local: median(probe.local), remote: median(probe.remote), ratio: median(probe.remote) / median(probe.local) },
        echo_p95_ms: { local: pct(echo.local, 95), remote: pct(echo.remote, 95) },
      },
    };
    if (JSON_OUT) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    const f = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const ms = (x: number) => `${x.toFixed(0)} ms`;
    const mark = (ok: boolean) => (ok ? '  ok' : '  MISSED');
    console.log(`\n${LABS} × bridge-basics started at once (engines are containers on this machine's ${result.cores} cores: they share them)`);
    for (const [name, w] of [['one engine', one], ['three engines', three]] as const) {
      console.log(`  ${name.padEnd(14)} wall ${f(w.wallMs).padEnd(9)} placed ${NODES.map((n) => `${n} ${w.placed[n]}`).join(', ')}`);
      const each = (n: string) => (w.waitedStarts[n] ? `${w.waitedStarts[n]} starts waited, ${f(w.gateWaitMs[n]! / w.waitedStarts[n]!)} each on average` : 'none waited');
      console.log(`  ${''.padEnd(14)} at each gate: ${NODES.map((n) => `${n} ${each(n)}`).join('; ')}`);
    }
    const counts = NODES.map((n) => three.placed[n]!);
    console.log(`  balance over three: ${counts.join(' / ')} (most − fewest = ${Math.max(...counts) - Math.min(...counts)})`);
    console.log(`  spread vs one engine, wall time: ${(three.wallMs / one.wallMs).toFixed(2)}x — not a speed-up measure here: all three engines run on the same cores`);
    const r = result.remote_vs_local;
    console.log(`\nremote engine (node-1, TLS over TCP) vs local, medians of ${RUNS} interleaved runs`);
    console.log(`  up until ready   local ${ms(r.up_ms.local)}  remote ${ms(r.up_ms.remote)}  ${r.up_ms.ratio.toFixed(2)}x  target <= 1.2x${mark(r.up_ms.ratio <= 1.2)}`);
    console.log(`  probe            local ${ms(r.probe_ms.local)}  remote ${ms(r.probe_ms.remote)}  ${r.probe_ms.ratio.toFixed(2)}x`);
    console.log(`  terminal echo    p95 local ${ms(r.echo_p95_ms.local)}  remote ${ms(r.echo_p95_ms.remote)}  target <= 300 ms${mark(r.echo_p95_ms.remote <= 300)}`);
    console.log(`  (a nested engine adds its own dockerd and a second network namespace hop; on separate machines the network is the difference)`);
  } finally {
    await app.engine.downAll().catch(() => undefined);
    app.close();
    await bed.stop();
  }
}

await main();
