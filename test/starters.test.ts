// Each starter lab, up on the real daemon: Docker shows exactly the networks, containers,
// aliases, subnets and ports the lab asks for, every container is locked down, names resolve
// inside the lab and unknown names are answered by the lab's resolver; down leaves nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../server/docker/labels.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { contains, parseCidr } from '../server/lab/ipv4.ts';
import { servicesOf } from '../server/lab/model.ts';
import type { Topology } from '../server/protocol/session.ts';
import { docker, expectGone, none, testApp } from './helpers.ts';

const app = testApp();
afterAll(() => app.dispose());

async function exec(container: string, cmd: string): Promise<string> {
  const r = await docker.exec(container, ['sh', '-c', cmd], { timeoutMs: 15_000 });
  return r.stdout + r.stderr;
}

async function expectLockedDown(container: string, hostNetwork: boolean): Promise<void> {
  const st = (await docker.inspectContainer(container))!;
  expect(st.host.privileged).toBe(false);
  expect(st.host.mounts.filter((m) => m.type !== 'tmpfs')).toEqual([]);
  expect(st.host.mounts.some((m) => m.source.includes('docker.sock'))).toBe(false);
  expect(st.host.capDrop).toEqual(['ALL']);
  expect(st.host.readOnly).toBe(true);
  expect(st.host.init).toBe(true);
  expect(st.host.memoryBytes).toBeGreaterThan(0);
  expect(st.host.pidsLimit).toBeGreaterThan(0);
  expect(st.host.nanoCpus).toBeGreaterThan(0);
  expect(st.host.securityOpt).toContain('no-new-privileges');
  if (hostNetwork) expect(st.host.capAdd).toEqual([]);
  else expect(st.host.capAdd).not.toContain('NET_ADMIN');
}

/** What Docker shows matches the lab file, network by network and service by service. */
async function expectTopology(labId: string, topo: Topology): Promise<void> {
  const { lab } = loadLab(labId);
  const session = topo.session;
  const labels = { [LABEL.session]: session };

  const nets = await docker.listNetworks(labels);
  expect(nets.map((n) => n.name).sort()).toEqual(Object.keys(lab.networks).map((n) => `fl-${session}-${n}`).sort());
  const subnets = nets.map((n) => n.subnets[0]!);
  for (let i = 0; i < subnets.length; i++) for (let j = i + 1; j < subnets.length; j++) expect(subnets[i]).not.toBe(subnets[j]);
  for (const n of topo.networks) expect(nets.find((d) => d.name === n.docker_name)?.subnets).toEqual([n.subnet]);

  for (const m of servicesOf(lab)) {
    const t = topo.services.find((s) => s.name === m.name)!;
    if (m.swarm) {
      const tasks = await docker.serviceTasks(t.container);
      expect(tasks.filter((x) => x.state === 'running').length).toBe(m.def.deploy?.replicas ?? 1);
      continue;
    }
    const st = (await docker.inspectContainer(`fl-${session}-${m.name}`))!;
    expect(st.running).toBe(true);
    expect(st.labels).toMatchObject({ [LABEL.managed]: 'true', [LABEL.session]: session, [LABEL.scenario]: labId });
    await expectLockedDown(st.name, m.attachment.kind === 'host');
    if (m.attachment.kind === 'host') {
      expect(st.networkMode).toBe('host');
      continue;
    }
    if (m.attachment.kind === 'networks') {
      expect(Object.keys(st.networks).sort()).toEqual(m.attachment.networks.map((n) => `fl-${session}-${n.network}`).sort());
      for (const n of m.attachment.networks) {
        const e = st.networks[`fl-${session}-${n.network}`]!;
        expect(e.aliases).toEqual(expect.arrayContaining([m.name, ...n.aliases]));
        const subnet = topo.networks.find((x) => x.name === n.network)!.subnet;
        expect(contains(parseCidr(subnet), e.ip)).toBe(true);
      }
    }
    expect(st.ports.map((p) => `${p.hostIp}/${p.containerPort}/${p.proto}`).sort()).toEqual(m.ports.map((p) => `127.0.0.1/${p.containerPort}/${p.proto}`).sort());
    for (const p of st.ports) expect(t.ports).toContainEqual({ host_ip: p.hostIp, host_port: p.hostPort, container_port: p.containerPort, proto: p.proto });
  }
  const resolver = await docker.inspectContainer(`fl-${session}-lab-dns`);
  expect(resolver?.running).toBe(true);
  await expectLockedDown(resolver!.name, false);
}

describe('bridge-basics on the real daemon', () => {
  let topo: Topology;
  beforeAll(async () => {
    topo = await app.engine.up(loadLab('bridge-basics'));
  });

  it('has exactly the networks, containers, aliases, subnets and ports asked for', async () => {
    await expectTopology('bridge-basics', topo);
  });

  it('resolves names and aliases within shared networks only, and answers unknown names inside the lab', async () => {
    const client = `fl-${topo.session}-client`;
    expect(await exec(client, 'curl -s -m 3 http://web/')).toMatch(/ok GET \//);
    expect(await exec(client, 'curl -s -m 3 http://api:8080/')).toMatch(/ok GET \//);
    expect(await exec(client, 'getent hosts db || echo not-found')).toMatch(/not-found/);
    expect(await exec(`fl-${topo.session}-api`, 'echo ping | nc -q 1 -w 2 database 5432')).toMatch(/ping/);
    expect(await exec(`fl-${topo.session}-api`, 'getent hosts api.internal')).toMatch(/api/);
    const nx = await exec(client, 'dig +time=3 +tries=1 no-such-name.example');
    expect(nx).toMatch(/status: NXDOMAIN/);
    const logs = await docker.logs(`fl-${topo.session}-lab-dns`, 50);
    expect(logs).toMatch(/no-such-name\.example/); // answered by the lab resolver, not the machine's
  });

  it('is reachable from the host through its published port', async () => {
    const port = topo.services.find((s) => s.name === 'web')!.ports[0]!;
    const res = await fetch(`http://127.0.0.1:${port.host_port}/from-host`);
    expect(await res.text()).toMatch(/ok GET \/from-host/);
  });

  it('records every Docker action as a docker CLI command', async () => {
    await app.engine.settled(topo.session);
    const actions = app.engine.store.actions(topo.session, { includeRevealing: true }).map((a) => a.command);
    expect(actions.filter((a) => a.startsWith('docker network create --driver bridge --subnet ')).length).toBe(2);
    // 4 services, the lab resolver, a capture sidecar for each service, and the traffic helpers of the two that call.
    expect(actions.filter((a) => a.startsWith('docker create --name ')).length).toBe(11);
    expect(actions.filter((a) => a.startsWith('docker start ')).length).toBe(11);
    expect(actions.filter((a) => / --network container:fl-\S+-(client|api) --cap-drop ALL .*lab-traffic /.test(a)).length).toBe(2);
    expect(actions.filter((a) => / --network container:fl-\S+ --cap-drop ALL --cap-add NET_RAW .*lab-capture run/.test(a)).length).toBe(4);
  });

  it('down leaves nothing behind', async () => {
    await app.engine.down(topo.session);
    expect(await expectGone(topo.session)).toEqual(none);
    expect(app.engine.store.get(topo.session)?.state).toBe('ended');
  });
});

describe('host-basics on the real daemon', () => {
  let topo: Topology;
  beforeAll(async () => {
    topo = await app.engine.up(loadLab('host-basics'));
  });

  it('runs the host-network service with no capabilities beside a bridged one', async () => {
    await expectTopology('host-basics', topo);
    const res = await fetch('http://127.0.0.1:17480/');
    expect(await res.text()).toMatch(/ok GET \//);
    // localhost in a bridged container is that container, not the host.
    expect(await exec(`fl-${topo.session}-client`, 'curl -s -m 2 http://localhost:17480/ || echo refused')).toMatch(/refused/);
  });

  it('down leaves nothing behind', async () => {
    await app.engine.down(topo.session);
    expect(await expectGone(topo.session)).toEqual(none);
  });
});

describe('overlay-basics on the real daemon', () => {
  let topo: Topology;
  beforeAll(async () => {
    topo = await app.engine.up(loadLab('overlay-basics'), { initSwarm: true });
  });

  it('has an attachable overlay with a two-replica swarm service and two containers', async () => {
    await expectTopology('overlay-basics', topo);
    const client = `fl-${topo.session}-client`;
    expect((await exec(client, 'dig +short tasks.web')).trim().split('\n').length).toBe(2);
    expect(await exec(client, 'curl -s -m 3 http://web:8080/')).toMatch(/ok GET \//);
    expect(await exec(client, 'echo hi | nc -q 1 -w 2 cache 6379')).toMatch(/hi/);
  });

  it('down leaves nothing behind, swarm service and tasks included', async () => {
    await app.engine.down(topo.session);
    expect(await expectGone(topo.session)).toEqual(none);
  });
});
