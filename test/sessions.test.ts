// Sessions side by side and sessions that fail: five bridge-basics at once never collide; a
// service that never gets ready fails the `up` with its name, state and logs, and the half-built
// lab is removed.
import { afterAll, describe, expect, it } from 'vitest';
import { loadLab } from '../server/lab/catalogue.ts';
import type { Topology } from '../server/protocol/session.ts';
import { docker, expectGone, labContainers, leftovers, none, testApp, writeLab } from './helpers.ts';

const app = testApp();
afterAll(() => app.dispose());

describe('five sessions of bridge-basics at once', () => {
  it('come up without conflicts and leave nothing behind', async () => {
    const entry = loadLab('bridge-basics');
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => app.engine.up(entry)));
    const topos = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    try {
      expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.message)).toEqual([]);
      const ids = topos.map((t) => t.session);
      expect(new Set(ids).size).toBe(5);
      const subnets = topos.flatMap((t) => t.networks.map((n) => n.subnet));
      expect(new Set(subnets).size).toBe(10);
      const hostPorts = topos.flatMap((t) => t.services.flatMap((s) => s.ports.map((p) => p.host_port)));
      expect(new Set(hostPorts).size).toBe(5);
      for (const t of topos) {
        expect((await labContainers(t.session)).length).toBe(5);
        expect((await leftovers(t.session)).networks.length).toBe(2);
        const web = t.services.find((s) => s.name === 'web')!.ports[0]!;
        expect(await (await fetch(`http://127.0.0.1:${web.host_port}/`)).text()).toMatch(/ok GET/);
      }
    } finally {
      await Promise.all(topos.map((t) => app.engine.down(t.session)));
    }
    for (const t of topos) expect(await expectGone(t.session)).toEqual(none);
  });
});

describe('a lab that never gets ready', () => {
  const file = writeLab(app.dataDir, 'never-ready', `networks: { net: {} }
services:
  good: { image: toolbox, command: "lab-serve tcp --port 7000", networks: [net], expose: [7000] }
  bad: { image: toolbox, command: "sh -c 'echo starting up; echo cannot bind, giving up >&2; lab-serve tcp --port 9999'", networks: [net], expose: [8080] }
`)

  it('fails the up with the service name, its state and its last log lines, and removes the half-built lab', async () => {
    const engine = app.engine;
    const before = new Set(engine.store.list().map((s) => s.id));
    const settings = engine.settings;
    const saved = settings.readyTimeoutMs;
    settings.readyTimeoutMs = 3000;
    let error: Error | undefined;
    try {
      await engine.up(loadLab(file));
    } catch (e) {
      error = e as Error;
    } finally {
      settings.readyTimeoutMs = saved;
    }
    expect(error?.message).toMatch(/service "bad" did not become ready: nothing listens on 8080\/tcp/);
    expect(error?.message).toMatch(/state running/);
    expect(error?.message).toMatch(/cannot bind, giving up/);
    const session = engine.store.list().find((s) => !before.has(s.id))!;
    expect(session.state).toBe('failed');
    expect(session.error).toMatch(/did not become ready/);
    expect(await expectGone(session.id)).toEqual(none);
  });

  it('fails clearly when a published host port is already taken, and removes everything', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const fixed = writeLab(app.dataDir, 'fixed-port', `networks: { net: {} }
services:
  web: { image: toolbox, command: "lab-serve http --port 80", networks: [net], ports: ["127.0.0.1:${port}:80"] }
`)
    const before = new Set(app.engine.store.list().map((s) => s.id));
    try {
      await expect(app.engine.up(loadLab(fixed))).rejects.toThrow(/^service "web" cannot publish its port: .*another program holds that host port$/);
    } finally {
      blocker.close();
    }
    const session = app.engine.store.list().find((s) => !before.has(s.id))!;
    expect(await expectGone(session.id)).toEqual(none);
  });
});

describe('dependencies', () => {
  it('starts a service only after what it depends on is ready when asked (service_healthy)', async () => {
    const file = writeLab(app.dataDir, 'deps', `networks: { net: {} }
services:
  db: { image: toolbox, command: "sh -c 'sleep 1; exec lab-serve tcp --port 5432'", networks: [net], expose: [5432] }
  app:
    image: toolbox
    command: "sh -c 'echo hi | nc -q 1 -w 1 db 5432 > /tmp/first-contact; exec sleep infinity'"
    networks: [net]
    depends_on: { db: { condition: service_healthy } }
`)
    let topo: Topology | undefined;
    try {
      topo = await app.engine.up(loadLab(file));
      const r = await docker.exec(`fl-${topo.session}-app`, ['cat', '/tmp/first-contact']);
      expect(r.stdout).toBe('hi\n');
    } finally {
      if (topo) await app.engine.down(topo.session);
    }
  });
});

describe("Docker's default bridge", () => {
  it('has no name resolution between containers, and unknown names are answered by the lab resolver', async () => {
    const file = writeLab(app.dataDir, 'legacy', `services:
  db: { image: toolbox, command: "lab-serve tcp --port 5432", expose: [5432] }
  app: { image: toolbox }
`)
    const topo = await app.engine.up(loadLab(file));
    try {
      const resolverIp = (await docker.inspectContainer(`fl-${topo.session}-lab-dns`))!.networks.bridge!.ip;
      const dbIp = topo.services.find((s) => s.name === 'db')!.networks.bridge!.ip;
      expect(dbIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      const run = async (cmd: string) => {
        const r = await docker.exec(`fl-${topo.session}-app`, ['sh', '-c', cmd], { timeoutMs: 15_000 });
        return r.stdout + r.stderr;
      };
      expect(await run('cat /etc/resolv.conf')).toMatch(new RegExp(`^nameserver ${resolverIp.replace(/\./g, '\\.')}$`, 'm'));
      expect(await run('getent hosts db || echo no-such-host')).toMatch(/no-such-host/);
      expect(await run('dig +time=3 +tries=1 db')).toMatch(/status: NXDOMAIN/);
      expect(await run(`echo hi | nc -q 1 -w 2 ${dbIp} 5432`)).toMatch(/hi/);
    } finally {
      await app.engine.down(topo.session);
    }
    expect(await expectGone(topo.session)).toEqual(none);
  });
});
