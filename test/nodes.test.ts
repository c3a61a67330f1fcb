// A lab with nodes on real nested engines: the session's own swarm of three engine-node containers
// on the local engine, placement as the lab writes it, traffic that really crosses the underlay,
// each node fault applied and reverted, and nothing left on the engine after down.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, SCENARIOS_DIR } from '../server/config.ts';
import { LABEL } from '../server/docker/labels.ts';
import { capturedPcap, retainedEvents } from '../server/flow/collector.ts';
import { decodePacket } from '../server/flow/packet.ts';
import { PcapStream } from '../server/flow/pcap.ts';
import { startServer } from '../server/http/server.ts';
import type { NodesRuntime } from '../server/docker/nodes-runtime.ts';
import { Faults, faultFromWords } from '../server/fault/faults.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { Prober } from '../server/probe/prober.ts';
import type { LiveSession } from '../server/session/live.ts';
import { docker, expectGone, none, testApp, writeLab } from './helpers.ts';
import { launchBrowser } from './e2e/browser.ts';
import type { HealthEvent } from '../server/app/health.ts';
import { LOCAL_ENGINE } from '../server/protocol/engines.ts';

const run = promisify(execFile);
const app = testApp();
/** The lab's own folder: a server started on the same data serves it from there. */
const labs = join(app.dataDir, 'labs');
let session = '';

const LAB = `nodes:
  manager-1: { role: manager }
  worker-1: { labels: { zone: a } }
  worker-2: { labels: { zone: b } }
networks:
  mesh: { driver: overlay, attachable: true }
services:
  web:
    image: toolbox
    command: "lab-serve http --port 8080"
    networks: [mesh]
    expose: [8080]
    deploy: { replicas: 2, endpoint_mode: dnsrr, placement: { constraints: ["node.role == worker"] } }
  cache:
    image: toolbox
    command: "lab-serve http --port 6379"
    networks: [mesh]
    expose: [6379]
    deploy: { replicas: 1, endpoint_mode: dnsrr, placement: { constraints: ["node.labels.zone == b"] } }
  api: { image: toolbox, command: "lab-serve http --port 8080", networks: [mesh], expose: [8080], node: worker-2 }
  near: { image: toolbox, networks: [mesh], node: worker-2 }
  client: { image: toolbox, networks: [mesh], node: worker-1 }
  far: { image: toolbox, command: "lab-serve http --port 8080", networks: [mesh], expose: [8080], node: manager-1 }
`;

/** Another session's swarm, up beside it: out of the first one's reach. */
const OTHER = `nodes:
  manager-1: { role: manager }
  worker-1: {}
networks:
  mesh: { driver: overlay, attachable: true }
services:
  box: { image: toolbox, command: "lab-serve http --port 8080", networks: [mesh], expose: [8080], node: worker-1 }
`;
let other = '';

beforeAll(async () => {
  mkdirSync(join(PROJECT_ROOT, 'test-results'), { recursive: true });
  mkdirSync(labs, { recursive: true });
  const [mine, theirs] = await Promise.all([app.engine.up(loadLab(writeLab(labs, 'three-nodes', LAB, 'overlay'))), app.engine.up(loadLab(writeLab(labs, 'two-nodes', OTHER, 'overlay')))]);
  session = mine.session;
  other = theirs.session;
}, 300_000);
afterAll(() => app.dispose(), 120_000);

const live = (): LiveSession => app.engine.live(session);
const swarm = () => live().docker as NodesRuntime;
const probe = async (from: string, to: string) => (await new Prober(live()).run([{ from, to }]))[0]!;

/** The node each running task of a service is on, sorted. */
async function taskNodes(service: string): Promise<string[]> {
  const names = new Map((await swarm().listNodes()).map((n) => [n.id, n.hostname]));
  const tasks = (await swarm().serviceTasks(live().planned(service).swarm!.name)).filter((t) => t.state === 'running');
  return tasks.map((t) => names.get(t.node ?? '') ?? '?').sort();
}

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)} after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function withFault(words: string, check: () => Promise<void>): Promise<void> {
  const [type, ...params] = words.split(' ');
  const f = await new Faults(live()).apply(faultFromWords(type!, params));
  try {
    expect(f.describe.node).toBe(params.find((p) => p.startsWith('node='))!.slice(5));
    await check();
  } finally {
    expect((await new Faults(live()).revert(f.id)).state).toBe('reverted');
  }
}

describe('a lab with three nodes', () => {
  it('is its own swarm of three engines, labelled as the lab says, each a locked-down node container on the engine', async () => {
    const nodes = await swarm().listNodes();
    expect(nodes.map((n) => `${n.hostname} ${n.role} ${n.state} ${n.labels.zone ?? '-'}`).sort()).toEqual(['manager-1 manager ready -', 'worker-1 worker ready a', 'worker-2 worker ready b']);
    const containers = await docker.listContainers({ [LABEL.session]: session, [LABEL.role]: 'node' });
    expect(containers.map((c) => `${c.name} ${c.labels[LABEL.role]}`).sort()).toEqual([`fl-${session}-manager-1.node node`, `fl-${session}-worker-1.node node`, `fl-${session}-worker-2.node node`]);
    for (const c of containers) {
      const st = (await docker.inspectContainer(c.name))!;
      expect(st.host.privileged).toBe(false);
      expect(st.host.capDrop).toContain('SYS_RESOURCE');
      expect(st.host.memoryBytes).toBeGreaterThan(0);
      expect(st.host.pidsLimit).toBeGreaterThan(0);
      expect(st.host.mounts.filter((m) => m.type === 'bind')).toEqual([]);
      expect(c.labels).toMatchObject({ [LABEL.managed]: 'true', [LABEL.scenario]: 'three-nodes' });
    }
    // The lab's own containers live inside the nodes, under the usual lock-down.
    const client = (await swarm().inspectContainer(live().containerName('client')))!;
    expect(client.host).toMatchObject({ privileged: false, readOnly: true });
    expect(client.host.securityOpt).toContain('no-new-privileges');
  });

  it('places every container and task as written', async () => {
    expect(await swarm().nodeOf(live().containerName('client'))).toBe('worker-1');
    expect(await swarm().nodeOf(live().containerName('api'))).toBe('worker-2');
    expect(await swarm().nodeOf(live().containerName('far'))).toBe('manager-1');
    expect(await taskNodes('web')).toEqual(['worker-1', 'worker-2']);
    expect(await taskNodes('cache')).toEqual(['worker-2']);
    // The topology says where the lab places each service, as designed (never the nodes' live state).
    const topo = live().topology;
    expect(topo.nodes?.map((n) => `${n.name} ${n.role} ${n.labels.zone ?? '-'} ${/^\d+\.\d+\.\d+\.\d+$/.test(n.address)}`)).toEqual(['manager-1 manager - true', 'worker-1 worker a true', 'worker-2 worker b true']);
    const placed = Object.fromEntries(topo.services.map((x) => [x.name, x.nodes]));
    expect(placed).toMatchObject({ web: ['worker-1', 'worker-2'], cache: ['worker-2'], api: ['worker-2'], client: ['worker-1'], far: ['manager-1'] });
  });

  it('carries traffic across nodes over the overlay, and within one', async () => {
    expect((await probe('client', 'http://api:8080/')).status).toBe('ok');
    expect((await probe('far', 'http://api:8080/')).status).toBe('ok');
    expect((await probe('near', 'http://api:8080/')).status).toBe('ok');
    expect((await probe('client', 'http://cache:6379/')).status).toBe('ok');
    expect((await probe('client', 'dns:web')).answers).toHaveLength(2);
  });

  it('captures each node’s underlay beside it: a flow between nodes seen once, decoded from VXLAN, as tshark reads the same pcap', async () => {
    await live().settle();
    const captures = await docker.listContainers({ [LABEL.session]: session, [LABEL.role]: 'capture' });
    expect(captures.map((c) => c.name).sort()).toEqual(['manager-1', 'worker-1', 'worker-2'].map((n) => `fl-${session}-${n}.node-capture`));
    for (const c of captures) {
      const st = (await docker.inspectContainer(c.id))!;
      expect(st.host).toMatchObject({ privileged: false, readOnly: true, capAdd: ['NET_RAW'] });
      expect(st.networkMode).toBe(`container:${(await docker.inspectContainer(c.name.replace(/-capture$/, '')))!.id}`);
    }
    // cache is a swarm task on worker-2 (no capture of its own), far a container on manager-1 (captured).
    expect((await probe('cache', 'http://far:8080/')).status).toBe('ok');
    expect((await probe('client', 'http://api:8080/')).status).toBe('ok');
    const events = await retainedEvents(live());
    const across = events.filter((e) => e.type === 'tcp.connect' && e.src === 'cache' && e.dst === 'far');
    expect(across.length).toBeGreaterThanOrEqual(1);
    // Once: by the node it left, not also by far's own capture.
    expect(across.every((e) => e.seen_by === 'worker-2')).toBe(true);
    const vni = across[0]!.crossed?.vni;
    expect(across[0]).toMatchObject({ outcome: 'established', crossed: { from: 'worker-2', to: 'manager-1' } });
    expect(vni).toBeGreaterThan(0);
    // A captured container's flow is its own capture's, with the nodes Docker runs its two ends on.
    const fromClient = events.filter((e) => e.type === 'tcp.connect' && e.src === 'client' && e.dst === 'api');
    expect(fromClient.length).toBeGreaterThanOrEqual(1);
    expect(fromClient.every((e) => e.seen_by === 'client' && e.crossed?.from === 'worker-1' && e.crossed.to === 'worker-2')).toBe(true);

    // The underlay's pcap, as Wireshark reads it: tshark opens the VXLAN and finds the same inner SYNs.
    const pcap = await capturedPcap(live(), 'worker-2');
    const dir = mkdtempSync(join(tmpdir(), 'flowlab-test-underlay-'));
    try {
      const file = join(dir, 'worker-2.pcap');
      writeFileSync(file, pcap);
      const { stdout } = await run('tshark', ['-r', file, '-Y', 'vxlan && tcp.flags.syn == 1 && tcp.flags.ack == 0', '-T', 'fields', '-e', 'vxlan.vni', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'tcp.srcport', '-e', 'tcp.dstport']);
      const theirs = stdout.trim().split('\n').filter(Boolean).map((l) => l.split('\t').join(' ')).sort();
      const ours = new PcapStream()
        .push(pcap)
        .map((r) => decodePacket(r.linktype, r.data))
        .filter((p) => p?.tunnel && p.tcp?.syn && !p.tcp.ack)
        .map((p) => `${p!.tunnel!.vni} ${p!.tunnel!.src},${p!.src} ${p!.tunnel!.dst},${p!.dst} ${p!.tcp!.sport} ${p!.tcp!.dport}`)
        .sort();
      expect(ours.length).toBeGreaterThanOrEqual(2);
      expect(ours).toEqual(theirs);
      expect(ours).toContainEqual(expect.stringMatching(new RegExp(`^${vni} \\S+,${across[0]!.src_addr.replace(/\./g, '\\.')} \\S+,${across[0]!.dst_addr.replace(/\./g, '\\.')} ${across[0]!.src_port} 8080$`)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('draws the nodes as boxes holding their containers and tasks, and the tunnel a flow crossed, in the browser', async () => {
    const server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: app.dataDir, labDirs: [SCENARIOS_DIR, labs] }, background: false, handleSignals: false, engineWatchMs: 0 });
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.url}/#/session/${session}`);
      const graph = page.locator('.graph');
      await expect.poll(() => graph.getAttribute('data-boxes'), { timeout: 30_000 }).toBe('manager-1[far] worker-1[client,web:task] worker-2[api,cache,near,web:task]');
      // The flows the captures kept arrive with the page: the one across worker-2 and manager-1 draws its tunnel.
      await expect.poll(() => graph.getAttribute('data-tunnels'), { timeout: 30_000 }).toMatch(/manager-1\|worker-2 ok vni \d+/);
      expect(await graph.getAttribute('data-flows')).toMatch(/cache->far tcp\/8080 ok across worker-2→manager-1/);
      await page.screenshot({ path: join(PROJECT_ROOT, 'test-results', 'nodes-graph.png') });
      expect(errors).toEqual([]);
      // The underlay's packets download like a service's.
      const res = await fetch(`${server.url}/api/sessions/${session}/pcap?node=worker-2`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toContain(`${session}-worker-2-underlay.pcap`);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(24);
      const wrong = await fetch(`${server.url}/api/sessions/${session}/pcap?node=worker-9`);
      expect(wrong.status).toBe(404);
      expect(((await wrong.json()) as { error: string }).error).toMatch(/unknown node "worker-9".*expected one of: manager-1, worker-1, worker-2/);
    } finally {
      await browser.close();
      await server.close();
    }
  });

  it('underlay-block of 4789/udp at a node: cross-node connections time out, same-node ones work, names resolve', async () => {
    await withFault('underlay-block node=worker-2 port=4789/udp', async () => {
      expect((await probe('client', 'tcp:api:8080')).status).toBe('timeout');
      expect((await probe('far', 'tcp:api:8080')).status).toBe('timeout');
      expect((await probe('near', 'tcp:api:8080')).status).toBe('ok');
      expect((await probe('client', 'dns:api')).status).toBe('ok');
    });
    expect((await probe('client', 'tcp:api:8080')).status).toBe('ok');
  });

  it('underlay-block with a peer cuts only that pair of nodes', async () => {
    await withFault('underlay-block node=worker-2 peer=worker-1 port=4789/udp', async () => {
      expect((await probe('client', 'tcp:api:8080')).status).toBe('timeout');
      expect((await probe('far', 'tcp:api:8080')).status).toBe('ok');
    });
  });

  it('underlay-mtu at a node: small requests cross, a large response hangs, only across nodes', async () => {
    await withFault('underlay-mtu node=worker-1 mtu=1400', async () => {
      expect((await probe('client', 'tcp:api:8080')).status).toBe('ok');
      expect((await probe('client', 'http://api:8080/bytes/200000')).status).toBe('timeout');
      expect((await probe('near', 'http://api:8080/bytes/200000')).status).toBe('ok');
    });
    expect((await probe('client', 'http://api:8080/bytes/200000')).status).toBe('ok');
  });

  it('node-drain: the swarm moves the tasks off the node; undrained, the node takes tasks again', async () => {
    await withFault('node-drain node=worker-1', async () => {
      expect((await swarm().listNodes()).find((n) => n.hostname === 'worker-1')?.availability).toBe('drain');
      await until('web tasks off worker-1', () => taskNodes('web'), (n) => n.length === 2 && n.every((x) => x === 'worker-2'));
    });
    expect((await swarm().listNodes()).find((n) => n.hostname === 'worker-1')?.availability).toBe('active');
  });

  it('node-label: a service placed by that label finds no node, and runs again once the label is back', async () => {
    await withFault('node-label node=worker-2 label=zone value=c', async () => {
      // Placement is read when tasks are scheduled: the running task stays until it is rescheduled.
      await swarm().scaleService(live().planned('cache').swarm!.name, 0);
      await swarm().scaleService(live().planned('cache').swarm!.name, 1);
      await until('cache pending', async () => (await swarm().serviceTasks(live().planned('cache').swarm!.name)).filter((t) => t.desired === 'running').map((t) => t.state), (s) => s.length === 1 && s[0] === 'pending');
    });
    await until('cache running again', () => taskNodes('cache'), (n) => n.join() === 'worker-2');
  });

  it('node-down: the node is Down for the swarm and its containers unreachable; brought back, they run again', async () => {
    await withFault('node-down node=worker-1', async () => {
      await until('worker-1 down', async () => (await swarm().listNodes()).find((n) => n.hostname === 'worker-1')?.state, (s) => s === 'down');
      expect((await probe('far', 'tcp:api:8080')).status).toBe('ok');
    });
    const client = await swarm().inspectContainer(live().containerName('client'));
    expect(client?.running).toBe(true);
    // The node came back in a new namespace: its underlay is captured there again.
    await until('worker-1’s underlay captured again', () => live().capturing('worker-1'), (v) => v);
    expect((await probe('client', 'http://api:8080/')).status).toBe('ok');
  });

  it('after its engine restarted (every container of it stopped), its swarm is brought back: nodes, containers, faults, captures', async () => {
    // A fault in a node's own namespace, which a restarted node no longer has: applied again.
    const fault = await new Faults(live()).apply(faultFromWords('underlay-block', ['node=worker-2', 'peer=worker-1', 'port=4789/udp']));
    const mine = await docker.listContainers({ [LABEL.session]: session });
    await Promise.all(mine.map((c) => docker.stopContainer(c.name, 2)));
    const back = new Promise<HealthEvent>((resolve) => {
      const off = app.health.on((e) => {
        if (e.kind === 'session' && e.session === session) {
          off();
          resolve(e);
        }
      });
    });
    await app.health.reconcile(LOCAL_ENGINE);
    const event = await back;
    expect(event).toMatchObject({ state: 'ready', text: expect.stringMatching(/was brought back after engine local restarted: containers started, 1 fault applied again/) });
    expect((await swarm().listNodes()).map((n) => `${n.hostname} ${n.state}`).sort()).toEqual(['manager-1 ready', 'worker-1 ready', 'worker-2 ready']);
    expect((await swarm().inspectContainer(live().containerName('client')))?.running).toBe(true);
    await until('cache running again', () => taskNodes('cache'), (n) => n.join() === 'worker-2');
    expect((await probe('client', 'tcp:api:8080')).status).toBe('timeout');
    expect((await probe('far', 'http://api:8080/')).status).toBe('ok');
    expect((await new Faults(live()).revert(fault.id)).state).toBe('reverted');
    expect((await probe('client', 'http://api:8080/')).status).toBe('ok');
    for (const point of ['client', 'worker-1', 'worker-2']) expect(await live().capturing(point)).toBe(true);
  });

  it("has a docker console that sees this lab's swarm and only it: nodes, tasks with their node, node updates", async () => {
    const { container } = await app.consoles.ensure(session);
    const sh = async (command: string) => {
      const r = await swarm().exec(container, ['sh', '-c', command], { timeoutMs: 60_000 });
      return { code: r.exitCode, out: r.stdout + r.stderr };
    };
    const nodes = await sh('docker node ls --format "{{.Hostname}} {{.Status}} {{.Availability}}"');
    expect(nodes.out.trim().split('\n').sort()).toEqual(['manager-1 Ready Active', 'worker-1 Ready Active', 'worker-2 Ready Active']);
    // Each task with its node (after node-down, both may run on worker-2: the swarm does not rebalance).
    const tasks = (await sh('docker service ps web --filter desired-state=running --format "{{.Node}} {{.CurrentState}}"')).out.trim().split('\n');
    expect(tasks).toHaveLength(2);
    for (const t of tasks) expect(t).toMatch(/^worker-[12] Running/);
    expect((await sh('docker node inspect worker-2 --format "{{.Spec.Labels.zone}}"')).out.trim()).toBe('b');
    expect((await sh('docker node update --availability drain worker-1')).code).toBe(0);
    expect((await swarm().listNodes()).find((n) => n.hostname === 'worker-1')?.availability).toBe('drain');
    expect((await sh('docker node update --availability active --label-add zone=a2 worker-1')).code).toBe(0);
    expect((await swarm().listNodes()).find((n) => n.hostname === 'worker-1')).toMatchObject({ availability: 'active', labels: { zone: 'a2' } });
    expect((await sh('docker node update --label-add zone=a worker-1')).code).toBe(0);
    expect(live().rec && app.engine.store.learnerActions(session).map((a) => a.command)).toContain('docker node update --availability drain worker-1');
    // Not the swarm's membership, not a role, not the engine the nodes run on.
    expect((await sh('docker node promote worker-1')).out).toMatch(/stays a worker/);
    expect((await sh('docker node rm -f worker-2')).out).toMatch(/cannot be removed/);
    expect((await sh('docker swarm leave --force')).out).toMatch(/swarm membership/);
    expect((await sh(`docker inspect fl-${session}-worker-1.node`)).out).toMatch(/No such object/);
    expect((await sh(`docker ps -a --format "{{.Names}}"`)).out).not.toMatch(/\.node/);
    expect((await sh('ls /var/run/docker.sock')).code).not.toBe(0);
  });

  it("cannot reach another session's swarm: its nodes are on an underlay of their own", async () => {
    const theirs = app.engine.live(other);
    const address = (lab: LiveSession, node: string) => lab.topology.nodes!.find((n) => n.name === node)!.address;
    const client = live().containerName('client');
    const reach = async (ip: string) => (await swarm().exec(client, ['sh', '-c', `nc -z -w 3 ${ip} 2377; echo $?`], { timeoutMs: 15_000 })).stdout.trim();
    // Its own leader's swarm port answers, as on any swarm host; the other session's leader does not.
    expect(await reach(address(live(), 'manager-1'))).toBe('0');
    expect(await reach(address(theirs, 'manager-1'))).not.toBe('0');
    // Nor does its console see the other swarm: its own nodes only.
    const { container } = await app.consoles.ensure(session);
    const ls = await swarm().exec(container, ['sh', '-c', 'docker node ls --format "{{.ID}}"'], { timeoutMs: 30_000 });
    const seen = ls.stdout.trim().split('\n');
    expect(seen.sort()).toEqual((await swarm().listNodes()).map((n) => n.id).sort());
    const theirIds = (await theirs.docker.listNodes()).map((n) => n.id);
    expect(theirIds).toHaveLength(2);
    expect(seen.filter((id) => theirIds.includes(id))).toEqual([]);
    await app.engine.down(other);
    expect(await expectGone(other)).toEqual(none);
  });

  it('down leaves nothing on the engine: no container, network or volume of the session', async () => {
    const nodes = await docker.listContainers({ [LABEL.session]: session, [LABEL.role]: 'node' });
    const volumes = (await Promise.all(nodes.map(async (c) => (await docker.inspectContainer(c.id))!.host.mounts.filter((m) => m.type === 'volume').map((m) => /volumes\/([^/]+)\/_data/.exec(m.source)?.[1] ?? m.source)))).flat();
    expect(volumes).toHaveLength(3);
    await app.engine.down(session);
    expect(await expectGone(session)).toEqual(none);
    const still = (await run('docker', ['volume', 'ls', '-q'])).stdout.split('\n');
    expect(volumes.filter((v) => still.includes(v))).toEqual([]);
  });
});
