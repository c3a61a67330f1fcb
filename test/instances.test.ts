// Several Flowlab processes on one daemon: a `flowlab up` killed with SIGKILL mid-way is swept
// by `flowlab sweep`, while another live instance's lab stays untouched; SIGTERM makes a server
// tear down what it owns and exit.
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../server/docker/labels.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { cli, docker, expectGone, labContainers, leftovers, none, servingUrl, sleep, startCli, tempDataDir, testApp } from './helpers.ts';

const dataDir = tempDataDir();
const otherDataDir = tempDataDir();
const env = { FLOWLAB_DATA: dataDir };
let server: ChildProcess | undefined;
let serverUrl = '';
let serverSession = '';
const started: string[] = [];

beforeAll(async () => {
  server = startCli(['serve', '--port', '0'], env);
  serverUrl = await servingUrl(server);
  const res = await fetch(`${serverUrl}/api/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scenario: 'bridge-basics' }) });
  const body = (await res.json()) as { ok: boolean; session: { session: string }; error?: string };
  expect(body.error).toBeUndefined();
  serverSession = body.session.session;
  started.push(serverSession);
});

afterAll(async () => {
  server?.kill('SIGKILL');
  // Whatever a failed assertion left: remove it by label, then the data directories.
  for (const id of started) {
    const left = await leftovers(id);
    for (const c of left.containers) await docker.removeContainer(c);
    for (const n of left.networks) await docker.removeNetwork(n).catch(() => undefined);
  }
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(otherDataDir, { recursive: true, force: true });
});

describe('kill -9 during up, then sweep', () => {
  it('removes everything the killed up made and nothing of the live server', async () => {
    const up = startCli(['up', 'bridge-basics'], env);
    // Kill it once Docker has some of its objects but before it is ready.
    let victim = '';
    const deadline = Date.now() + 60_000;
    while (!victim && Date.now() < deadline) {
      const containers = await docker.listContainers({ [LABEL.managed]: 'true', [LABEL.registry]: dataDir });
      victim = containers.map((c) => c.labels[LABEL.session]!).find((s) => s !== serverSession) ?? '';
      if (!victim) await sleep(20);
    }
    up.kill('SIGKILL');
    await new Promise((r) => up.once('close', r));
    expect(victim).not.toBe('');
    started.push(victim);
    const before = await leftovers(victim);
    expect(before.containers.length + before.networks.length).toBeGreaterThan(0);

    // Another registry's sweep leaves the server's live session alone (its own registry vouches for it).
    const other = await cli(['sweep', '--json'], { FLOWLAB_DATA: otherDataDir });
    expect(other.code).toBe(0);
    expect((await labContainers(serverSession)).length).toBe(5);

    const sweep = await cli(['sweep', '--json'], env);
    expect(sweep.code, sweep.stderr).toBe(0);
    expect(await expectGone(victim)).toEqual(none);
    expect((await labContainers(serverSession)).length).toBe(5);
    expect((await leftovers(serverSession)).networks.length).toBe(2);

    const status = await cli(['status', victim, '--json'], env);
    expect(JSON.parse(status.stdout)).toMatchObject({ session: victim, state: 'failed' });
  });
});

describe('SIGTERM to a server', () => {
  it('tears down the labs it owns within 5 s and exits', async () => {
    const t0 = Date.now();
    const exited = new Promise<number | null>((r) => server!.once('close', (code) => r(code)));
    server!.kill('SIGTERM');
    const code = await exited;
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(code).toBe(0);
    expect(await leftovers(serverSession)).toEqual(none);
    server = undefined;
  });
});

describe('Ctrl-C during flowlab up', () => {
  it('removes what was built so far and exits', async () => {
    const up = startCli(['up', 'bridge-basics'], { FLOWLAB_DATA: otherDataDir });
    let victim = '';
    const deadline = Date.now() + 60_000;
    while (!victim && Date.now() < deadline) {
      const containers = await docker.listContainers({ [LABEL.managed]: 'true', [LABEL.registry]: otherDataDir });
      victim = containers[0]?.labels[LABEL.session] ?? '';
      if (!victim) await sleep(20);
    }
    expect(victim).not.toBe('');
    started.push(victim);
    const exited = new Promise<number | null>((r) => up.once('close', (code) => r(code)));
    up.kill('SIGINT');
    const code = await exited;
    expect(code).not.toBe(0);
    expect(await expectGone(victim)).toEqual(none);
  });
});

describe('two data directories bringing labs up at once', () => {
  it('never take the same subnet: the one that loses the race picks again, elsewhere in the pool', async () => {
    const one = testApp();
    const two = testApp();
    const made: { app: typeof one; id: string }[] = [];
    try {
      // Both registries walk the pool from its start, unaware of each other's leases.
      const ups = [one, two, one, two, one, two].map(async (app) => {
        const t = await app.engine.up(loadLab('bridge-basics'));
        made.push({ app, id: t.session });
        return t;
      });
      const topologies = await Promise.all(ups);
      const subnets = topologies.flatMap((t) => t.networks.map((n) => n.subnet));
      expect(new Set(subnets).size).toBe(subnets.length);
      for (const t of topologies) expect(t.services.every((s) => s.name)).toBe(true);
    } finally {
      for (const m of made) await m.app.engine.down(m.id).catch(() => undefined);
      for (const m of made) expect(await expectGone(m.id)).toEqual(none);
      await one.dispose();
      await two.dispose();
    }
  }, 240_000);
});
