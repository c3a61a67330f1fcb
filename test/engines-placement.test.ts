// Placement on real engines: two dockerd test engines beside local, labs started without an
// engine spread by free room, what a lab needs (swarm for an overlay, netem for a latency fault)
// decides before room does, a pinned lab is checked against its engine alone, and a lab no engine
// can run is refused with each engine's reason. local is drained in this data directory: other
// tests' labs share it, so its room is not this test's to count on.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeEngine, startLab } from '../server/app/labs.ts';
import { dockerFor } from '../server/docker/connect.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { cli, servingUrl, startCli, testApp, writeLab } from './helpers.ts';
import { EngineBed } from './engines/bed.ts';
import { Workshops } from '../server/workshop/workshops.ts';
import { labsOn } from '../server/workshop/prepare.ts';

const run = promisify(execFile);
let bed: EngineBed;
const app = testApp();
const scratch = mkdtempSync(join(tmpdir(), 'flowlab-placement-'));
const env = { FLOWLAB_DATA: app.dataDir };

beforeAll(async () => {
  bed = await EngineBed.start(2);
  for (const e of bed.engines) await app.engines.add(e.name, e.url, e.tlsDir);
  app.engines.drain('local');
}, 180_000);
afterAll(async () => {
  await app.engine.downAll().catch(() => undefined);
  await app.dispose();
  await bed?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const where = () => Object.fromEntries(['node-1', 'node-2'].map((n) => [n, app.engine.status().filter((s) => s.engine === n).length]));

describe('placement across engines', () => {
  it('spreads labs started together over the engines with room, and says where each went', async () => {
    const labs = await Promise.all(Array.from({ length: 4 }, () => startLab(app, loadLab('bridge-basics'))));
    expect(labs.map((t) => t.engine).sort()).toEqual(['node-1', 'node-1', 'node-2', 'node-2']);
    expect(where()).toEqual({ 'node-1': 2, 'node-2': 2 });
    for (const t of labs) expect(app.engine.status(t.session)[0]).toMatchObject({ engine: t.engine, state: 'ready' });
    await app.engine.settled();
    // One more goes where there is the most room, the same way every time: a tie goes to node-1.
    const fifth = await startLab(app, loadLab('bridge-basics'));
    expect(fifth.engine).toBe('node-1');
    await app.engine.down(fifth.session);
  }, 300_000);

  it('shows the choice in up --json and status, and lists each engine’s capabilities', async () => {
    const up = await cli(['up', 'bridge-basics', '--json'], env);
    expect(up.stderr).not.toMatch(/\n\s+at /);
    expect(up.code).toBe(0);
    const topo = JSON.parse(up.stdout) as { session: string; engine: string };
    expect(topo.engine).toBe('node-1');
    const status = (await cli(['status'], env)).stdout;
    expect(status).toMatch(new RegExp(`^${topo.session}\\s.*\\snode-1\\b`, 'm'));
    expect((await cli(['down', topo.session], env)).code).toBe(0);
    // The toolbox is on both engines now, so their kernels have been asked: this one has no netem.
    const ls = JSON.parse((await cli(['engines', 'ls', '--json'], env)).stdout) as { name: string; features?: { netem: boolean | null }; facts: { cpus: number } }[];
    expect(ls.find((e) => e.name === 'node-1')?.features?.netem).toBe(false);
    // Each engine's start gate is as wide as it has CPUs (at least 2).
    for (const n of ['node-1', 'node-2']) expect(app.engine.runtimeOf(n).starts.atOnce).toBe(Math.max(2, ls.find((e) => e.name === n)!.facts.cpus));
    expect((await cli(['engines', 'ls'], env)).stdout).toMatch(/^node-1\s.*\s(ipvs\?|—|ipvs)$/m);
  }, 180_000);

  it('goes by what a lab needs before room: an overlay lab only where swarm is active', async () => {
    const overlay = loadLab('overlay-basics');
    await expect(startLab(app, overlay)).rejects.toThrow(
      /no engine can run lab "overlay-basics": local: it is drained; node-1: the lab uses overlay networks and swarm mode is not active there; node-2: the lab uses overlay networks and swarm mode is not active there/,
    );
    const n2 = bed.engines[1]!;
    await run('docker', ['swarm', 'init', '--advertise-addr', n2.ip], { env: bed.env(n2) });
    // node-2 holds more labs than node-1 now, and is still the only one that can.
    const t = await startLab(app, overlay);
    expect(t.engine).toBe('node-2');
    await app.engine.down(t.session);
  }, 300_000);

  it('refuses a lab no engine can run, with each engine’s reason; a pinned lab is checked on its engine', async () => {
    const file = writeLab(scratch, 'slow-link', `services:\n  a: { image: toolbox, command: ["sleep", "infinity"] }\nfaults:\n  - { type: latency, service: a, delay: 200ms }\n`);
    await expect(startLab(app, loadLab(file))).rejects.toThrow(
      /no engine can run lab "slow-link": local: it is drained; node-1: latency faults need the kernel's netem queueing discipline \(sch_netem\), and its kernel does not have it; node-2: latency faults need .*/,
    );
    await expect(startLab(app, loadLab('bridge-basics'), { engine: 'local' })).rejects.toThrow(/engine "local" is drained: it keeps its labs and takes no new ones/);
    await expect(startLab(app, loadLab('overlay-basics'), { engine: 'node-1' })).rejects.toThrow(/lab "overlay-basics" cannot run on engine node-1: the lab uses overlay networks and swarm mode is not active there/);
    expect(where()).toEqual({ 'node-1': 2, 'node-2': 2 });
  }, 120_000);

  it('engines rm --force ends the sessions it holds first, leaving nothing there', async () => {
    const n2 = bed.engines[1]!;
    const held = app.engines.sessionsOn('node-2');
    expect(held.length).toBe(2);
    expect(() => app.engines.remove('node-2')).toThrow(/engine "node-2" holds 2 sessions; end them first/);
    await removeEngine(app, 'node-2', { force: true });
    expect(app.engines.names()).toEqual(['local', 'node-1']);
    for (const id of held) expect(app.engine.store.get(id)?.state).toBe('ended');
    const d = dockerFor({ url: n2.url, tlsDir: n2.tlsDir });
    expect(await d.listContainers({ all: true, filters: { label: ['flowlab.managed=true'] } })).toEqual([]);
    expect(await d.listNetworks({ filters: { label: ['flowlab.managed=true'] } })).toEqual([]);
    await app.engines.add('node-2', n2.url, n2.tlsDir);
  }, 120_000);

  it('after Flowlab is killed with -9, flowlab sweep cleans what it left on every engine', async () => {
    const server = startCli(['serve', '--port', '0'], env);
    let sessions: string[];
    try {
      const url = await servingUrl(server);
      const post = async (engine: string) => {
        const r = await fetch(`${url}/api/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scenario: 'bridge-basics', engine }) });
        expect(r.status).toBe(201);
        return ((await r.json()) as { session: { session: string } }).session.session;
      };
      sessions = await Promise.all([post('node-1'), post('node-2')]);
    } finally {
      server.kill('SIGKILL');
    }
    await new Promise((r) => server.once('close', r));
    const on = async (e: (typeof bed.engines)[number], session: string) => (await dockerFor({ url: e.url, tlsDir: e.tlsDir }).listContainers({ all: true, filters: { label: [`flowlab.session=${session}`] } })).length;
    expect(await on(bed.engines[0]!, sessions[0]!)).toBeGreaterThan(0);
    expect(await on(bed.engines[1]!, sessions[1]!)).toBeGreaterThan(0);
    const swept = await cli(['sweep', '--json'], env);
    expect(swept.code, swept.stderr).toBe(0);
    const report = JSON.parse(swept.stdout) as { removed: { session: string }[] };
    expect(report.removed.map((r) => r.session)).toEqual(expect.arrayContaining(sessions));
    expect(await on(bed.engines[0]!, sessions[0]!)).toBe(0);
    expect(await on(bed.engines[1]!, sessions[1]!)).toBe(0);
  }, 180_000);

  it('a workshop holds as many labs as its engines together; a drained one stops counting', async () => {
    const room = new Workshops(app, { idleMs: 60_000, engineWatchMs: 200 });
    try {
      const list = await app.engines.list();
      const share = (name: string) => labsOn(list.find((e) => e.name === name)!.facts!.memoryBytes);
      // local is drained here: node-1 and node-2 hold the room.
      await expect.poll(() => room.maxLabs, { timeout: 10_000 }).toBe(share('node-1') + share('node-2'));
      app.engines.drain('node-2');
      await expect.poll(() => room.maxLabs, { timeout: 10_000 }).toBe(share('node-1'));
      app.engines.drain('node-2', false);
      await expect.poll(() => room.maxLabs, { timeout: 10_000 }).toBe(share('node-1') + share('node-2'));
    } finally {
      room.close();
    }
  });
});
