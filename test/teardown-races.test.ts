// Teardown against what a session still does in the background. A learner re-creates a service
// from the console, which sets the capture and the topology following it; `down` right after
// must call that off or wait for it, and leave nothing. Run many times: the race is a race.
// Also: a session is never left `ready` over half-removed objects, and sweep judges a ready
// session by its owner (a server that died) unless `flowlab up` started it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLab } from '../server/lab/catalogue.ts';
import { chooseVariant } from '../server/session/variant.ts';
import { cli, docker, expectGone, leftovers, none, servingUrl, startCli, testApp } from './helpers.ts';

const run = promisify(execFile);
const app = testApp();
afterAll(() => app.dispose(), 120_000);

const entry = loadLab('exposed-not-published');
const seed = [...Array(200).keys()].find((s) => chooseVariant(entry.lab, s)?.id === 'exposed-only')!;

describe('re-create from the console, then down at once', () => {
  it('leaves nothing and never fails, ten times over', async () => {
    const rounds = 10;
    for (let i = 0; i < rounds; i++) {
      const t = await app.engine.up(entry, { seed });
      await app.engine.settled(t.session);
      const info = await app.consoles.ensure(t.session);
      const port = Object.values(app.engine.store.get(t.session)!.allocation!.hostPorts)[0]!;
      const fix = await app.docker.exec(info.container, ['sh', '-c', `docker rm -f status >/dev/null && docker run -d --name status --network ops -p ${port}:80 toolbox lab-serve http --port 80 >/dev/null`]);
      expect(fix.exitCode, fix.stderr).toBe(0);
      // No pause: the console's follow-up (a new capture sidecar, the topology) is under way now.
      const report = await app.engine.down(t.session);
      expect(report.removed.containers).toBeGreaterThan(0);
      expect(await leftovers(t.session), `round ${i + 1}`).toEqual(none);
      expect(app.engine.store.get(t.session)!.state).toBe('ended');
    }
  }, 600_000);

  it('a container already being removed by someone else counts as removed once it is gone', async () => {
    const t = await app.engine.up(loadLab('bridge-basics'));
    await app.engine.settled(t.session);
    // Another remover gets there first: both calls end with the container gone, neither fails.
    const name = `fl-${t.session}-client`;
    // (The docker CLI itself fails that race: "removal of container … is already in progress".)
    const [, ours, again] = await Promise.allSettled([run('docker', ['rm', '-f', name]), docker.removeContainer(name), docker.removeContainer(name)]);
    expect([ours.status, again.status]).toEqual(['fulfilled', 'fulfilled']);
    expect(await docker.inspectContainer(name)).toBeUndefined();
    await app.engine.down(t.session);
    expect(await expectGone(t.session)).toEqual(none);
  }, 120_000);
});

describe('a teardown that cannot finish', () => {
  it('marks the session failed with the reason, and sweep removes what is left', async () => {
    const t = await app.engine.up(loadLab('bridge-basics'));
    await app.engine.settled(t.session);
    // Something outside the lab holds one of its networks: the network cannot be removed yet.
    const net = `fl-${t.session}-${t.networks[0]!.name}`;
    const squatter = `fl-${t.session}-squatter`;
    await run('docker', ['run', '-d', '--name', squatter, '--network', net, '--label', 'flowlab.test=squatter', 'flowlab/toolbox', 'sleep', '300']);
    try {
      // The squatter carries no session label, so the teardown cannot remove it, and the network stays.
      await expect(app.engine.down(t.session)).rejects.toThrow(/network/);
      const rec = app.engine.store.get(t.session)!;
      expect(rec.state).toBe('failed');
      expect(rec.error).toMatch(/teardown did not finish: .*network/i);
    } finally {
      await run('docker', ['rm', '-f', squatter]);
    }
    const swept = await app.engine.sweep();
    expect(swept.removed.map((r) => r.session)).toContain(t.session);
    expect(await expectGone(t.session)).toEqual(none);
  }, 120_000);
});

describe('sweep judges a ready session by its owner', () => {
  it('removes a server’s ready lab once the server is gone, and keeps one flowlab up started', async () => {
    const env = { FLOWLAB_DATA: app.dataDir };
    const detached = JSON.parse((await cli(['up', 'bridge-basics', '--json'], env)).stdout) as { session: string };
    const server = startCli(['serve', '--port', '0'], env);
    const url = await servingUrl(server, 60_000);
    const res = (await (await fetch(`${url}/api/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scenario: 'bridge-basics' }) })).json()) as { session: { session: string } };
    const owned = res.session.session;
    server.kill('SIGKILL');
    await new Promise((r) => server.once('close', r));
    expect((await leftovers(owned)).containers.length).toBeGreaterThan(0);

    const swept = JSON.parse((await cli(['sweep', '--json'], env)).stdout) as { removed: { session: string }[]; kept: string[] };
    expect(swept.removed.map((r) => r.session)).toContain(owned);
    expect(swept.kept).toContain(detached.session);
    expect(await expectGone(owned)).toEqual(none);
    expect(JSON.parse((await cli(['status', owned, '--json'], env)).stdout)).toMatchObject({ state: 'failed', error: expect.stringMatching(/stopped without ending it/) });
    expect((await leftovers(detached.session)).containers.length).toBeGreaterThan(0);
    expect((await cli(['down', detached.session], env)).code).toBe(0);
    expect(await expectGone(detached.session)).toEqual(none);
  }, 180_000);
});

describe('a change made through a short-lived console process', () => {
  it('reaches the session’s topology before the process exits', async () => {
    const env = { FLOWLAB_DATA: app.dataDir };
    const up = JSON.parse((await cli(['up', 'exposed-not-published', '--json'], env)).stdout) as { session: string };
    try {
      // No server serves this console: the `flowlab console` process does, for as long as it runs.
      const change = await cli(['console', up.session, '--', 'sh', '-c', 'docker network disconnect ops portal && docker network connect --alias reports ops portal'], env);
      expect(change.code, change.stderr).toBe(0);
      const status = JSON.parse((await cli(['status', up.session, '--json'], env)).stdout) as { topology: { services: { name: string; networks: Record<string, { aliases: string[] }> }[] } };
      const portal = status.topology.services.find((s) => s.name === 'portal')!;
      expect(portal.networks.ops!.aliases).toContain('reports');
      // Docker dropped the service name when it was connected again without it: the topology says so too.
      expect(portal.networks.ops!.aliases).not.toContain('portal');
    } finally {
      await cli(['down', up.session], env);
    }
    expect(await expectGone(up.session)).toEqual(none);
  }, 120_000);
});
