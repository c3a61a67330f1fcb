// An engine's trouble on real engines, with a running server watching every second: an engine
// killed mid-session makes its session engine-lost within 15 s while the other engine's lab and
// the server go on; started again (its containers stopped, as after any dockerd restart), the
// session is brought back — containers, its fault, its capture; an engine replaced by an empty
// one ends its session, saying why; a lab that cannot be brought back is broken, and Restart
// starts it again. The bed goes afterwards, even on failure.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restartLab, startLab } from '../server/app/labs.ts';
import { Faults, faultFromWords } from '../server/fault/faults.ts';
import { FlowCollector } from '../server/flow/collector.ts';
import { startServer, type Running } from '../server/http/server.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { Prober } from '../server/probe/prober.ts';
import type { SessionSummary } from '../server/protocol/session.ts';
import { tempDataDir } from './helpers.ts';
import { EngineBed } from './engines/bed.ts';

const run = promisify(execFile);
let bed: EngineBed;
let server: Running;

beforeAll(async () => {
  bed = await EngineBed.start(2);
  server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: tempDataDir() }, background: false, handleSignals: false, engineWatchMs: 1000 });
  for (const e of bed.engines) await server.app.engines.add(e.name, e.url, e.tlsDir);
  server.app.engines.drain('local');
}, 180_000);
afterAll(async () => {
  await server?.app.engine.downAll().catch(() => undefined);
  await server?.close();
  await bed?.stop();
});

const summary = async (session: string) => ((await (await fetch(`${server.url}/api/sessions/${session}`)).json()) as { session: SessionSummary }).session;
/** Polls the API until the session's state is `want`; how long it took. */
async function until(session: string, want: string, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const s = await summary(session);
    if (s.state === want) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`session ${session} is ${s.state}${s.trouble ? ` (${s.trouble.reason})` : ''} after ${timeoutMs / 1000} s; expected ${want}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
const status = async (live: ReturnType<Running['app']['engine']['live']>, probes: { from: string; to: string }[]) => (await new Prober(live).run(probes)).map((r) => r.status);

describe('an engine in trouble', () => {
  let onNode1 = '';
  let onNode2 = '';

  it('puts a lab on each engine, one with a fault', async () => {
    const [a, b] = await Promise.all([startLab(server.app, loadLab('bridge-basics'), { engine: 'node-1' }), startLab(server.app, loadLab('bridge-basics'), { engine: 'node-2' })]);
    onNode1 = a.session;
    onNode2 = b.session;
    await new Faults(server.app.engine.live(onNode1)).apply(faultFromWords('firewall', ['service=db', 'port=5432']));
    expect(await status(server.app.engine.live(onNode1), [{ from: 'api', to: 'tcp:database:5432' }])).toEqual(['timeout']);
    await server.app.engine.settled();
  }, 240_000);

  it('a killed engine makes its session engine-lost within 15 s; the other engine’s lab and the server go on', async () => {
    await bed.kill(bed.engines[0]!);
    const took = await until(onNode1, 'engine-lost', 15_000);
    expect(took).toBeLessThan(15_000);
    const lost = await summary(onNode1);
    expect(lost.trouble).toMatchObject({ kind: 'engine-lost', reason: expect.stringMatching(/^engine node-1 does not answer/), todo: expect.stringMatching(/comes back by itself when engine node-1 answers again/) });
    expect(() => server.app.engine.live(onNode1)).toThrow(/session .* is engine-lost: engine node-1 does not answer/);
    expect((await summary(onNode2)).state).toBe('ready');
    expect(await status(server.app.engine.live(onNode2), [{ from: 'client', to: 'http://web:80/' }])).toEqual(['ok']);
    const engines = (await (await fetch(`${server.url}/api/engines`)).json()) as { engines: { name: string; state: string }[] };
    expect(engines.engines.find((e) => e.name === 'node-1')?.state).toBe('down');
  }, 60_000);

  it('started again, its lab comes back: containers running, the fault applied again, the capture too', async () => {
    await bed.start(bed.engines[0]!);
    await until(onNode1, 'ready', 60_000);
    const live = server.app.engine.live(onNode1);
    const collector = new FlowCollector(live);
    await collector.start();
    try {
      expect(await status(live, [{ from: 'client', to: 'http://web:80/' }, { from: 'api', to: 'tcp:database:5432' }])).toEqual(['ok', 'timeout']);
      const deadline = Date.now() + 15_000;
      while (!collector.events.some((e) => e.type === 'dns.answer' && e.name === 'web')) {
        if (Date.now() > deadline) throw new Error(`no flow event after the engine came back; saw ${collector.events.length} events`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      collector.stop();
    }
  }, 120_000);

  it('containers a learner stopped are left stopped: only an engine’s restart is undone', async () => {
    const e = bed.engines[1]!;
    const services = (await summary(onNode2)).topology!.services.map((x) => x.container);
    await run('docker', ['stop', '--time', '1', ...services], { env: bed.env(e) });
    // Several rounds of the server's check (every second here).
    await new Promise((r) => setTimeout(r, 4000));
    const states = (await run('docker', ['inspect', '--format', '{{.State.Status}}', ...services], { env: bed.env(e) })).stdout.trim().split('\n');
    expect(states.every((x) => x === 'exited')).toBe(true);
    expect((await summary(onNode2)).state).toBe('ready');
    await run('docker', ['start', ...services], { env: bed.env(e) });
  }, 60_000);

  it('an engine replaced by an empty one ends its session, saying why', async () => {
    await bed.replace(bed.engines[1]!);
    await until(onNode2, 'ended', 30_000);
    expect((await summary(onNode2)).error).toMatch(/its containers were gone from engine node-2 when it answered again/);
  }, 120_000);

  it('a lab that cannot be brought back is broken, with why; Restart starts it again', async () => {
    const e = bed.engines[0]!;
    server.app.health.stop();
    await bed.kill(e);
    await server.app.health.check();
    expect((await summary(onNode1)).state).toBe('engine-lost');
    await bed.start(e);
    // What the lab was made of is partly gone: its backend network.
    await run('docker', ['network', 'rm', `fl-${onNode1}-backend`], { env: bed.env(e) });
    await server.app.health.check();
    await server.app.health.check();
    const deadline = Date.now() + 60_000;
    while ((await summary(onNode1)).state !== 'broken' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    const broken = await summary(onNode1);
    expect(broken.state).toBe('broken');
    expect(broken.trouble?.reason).toMatch(/^engine node-1 restarted and the lab could not be brought back: .*(network|not found)/i);
    expect(broken.trouble?.todo).toMatch(/restart the lab/);
    const again = await restartLab(server.app, onNode1);
    expect(again.engine).toBe('node-1');
    expect((await summary(again.session)).state).toBe('ready');
    server.app.health.start(1000);
  }, 180_000);
});

describe('a warm pool whose engine is lost', () => {
  const pool = () => server.app.warm!.status().pools.find((p) => p.lab === 'bridge-basics');
  async function poolUntil(what: string, ok: (p: NonNullable<ReturnType<typeof pool>>) => boolean, timeoutMs = 120_000): Promise<void> {
    const t0 = Date.now();
    while (!(pool() && ok(pool()!))) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`the pool is not ${what} after ${timeoutMs / 1000} s: ${JSON.stringify(pool())}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it('is refilled on another engine; the lost one is never claimed, and goes once its engine is back', async () => {
    await server.app.warm!.setSize('bridge-basics', 1);
    await poolUntil('warm', (p) => p.warm === 1 && p.starting === 0, 180_000);
    const first = server.app.engine.store.warm()[0]!;
    const lost = bed.engines.find((e) => e.name === first.engine)!;
    const other = bed.engines.find((e) => e !== lost)!;
    await bed.kill(lost);
    await poolUntil(`refilled on ${other.name}`, (p) => p.lost === 1 && p.warm === 1 && p.engines[other.name] === 1, 180_000);
    expect(server.app.engine.store.get(first.id)?.trouble?.kind).toBe('engine-lost');
    const claimed = await startLab(server.app, loadLab('bridge-basics'));
    expect(claimed.engine).toBe(other.name);
    expect(server.app.engine.store.get(claimed.session)?.claimedAt).toEqual(expect.any(Number));
    expect(claimed.session).not.toBe(first.id);
    await server.app.warm!.setSize('bridge-basics', 0);
    await server.app.engine.down(claimed.session);
    // Back, the lost one is brought back, then ended: its pool wants none.
    await bed.start(lost);
    const t0 = Date.now();
    while (server.app.engine.store.warm().length > 0 && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 250));
    expect(server.app.engine.store.warm()).toEqual([]);
    expect(server.app.engine.store.get(first.id)?.state).toBe('ended');
  }, 420_000);
});

