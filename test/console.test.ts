// The learner's docker console on real labs: the real docker CLI inside a console container talks
// to a Docker API scoped to its session. What the lab needs works; every way out is refused and
// leaves the engine as it was; two sessions never see each other; a Docker-level fix made through
// the console is verified by the grader.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../server/config.ts';
import type { ConsoleInfo } from '../server/console/consoles.ts';
import { Grader } from '../server/grade/grader.ts';
import { workaroundsInPlace } from '../server/grade/workarounds.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { TOOLBOX_REF } from '../server/lab/lab-images.ts';
import { Prober } from '../server/probe/prober.ts';
import type { Topology } from '../server/protocol/session.ts';
import { chooseVariant } from '../server/session/variant.ts';
import { cli, engineState as engineStateOf, testApp } from './helpers.ts';

const run = promisify(execFile);
const app = testApp();
const entry = loadLab('published-port-empty-reply');
const seedFor = (id: string) => [...Array(500).keys()].find((s) => chooseVariant(entry.lab, s)?.id === id)!;
let a: Topology; // the learner's lab: the published port forwards to the wrong container port
let b: Topology; // someone else's lab on the same engine
const consoles: Record<string, ConsoleInfo> = {};

beforeAll(async () => {
  [a, b] = await Promise.all([app.engine.up(entry, { seed: seedFor('wrong-target-port'), learner: 'ada' }), app.engine.up(entry, { seed: seedFor('loopback'), learner: 'bob' })]);
  await app.engine.settled();
  consoles.a = await app.consoles.ensure(a.session);
  consoles.b = await app.consoles.ensure(b.session);
}, 180_000);
afterAll(() => app.dispose(), 120_000);

/** Runs a shell command in a session's console, as a learner typing it would. */
async function sh(which: 'a' | 'b', command: string): Promise<{ code: number; out: string }> {
  const r = await app.docker.exec(consoles[which]!.container, ['sh', '-c', command], { timeoutMs: 60_000 });
  return { code: r.exitCode, out: `${r.stdout}${r.stderr}` };
}

/** A raw request to a session's scoped API, as a learner crafting one with curl would. */
async function raw(which: 'a' | 'b', method: string, path: string, body?: unknown, secret?: string): Promise<{ status: number; text: string }> {
  const info = consoles[which]!;
  const base = info.docker_host.replace('tcp://', 'http://');
  const session = which === 'a' ? a.session : b.session;
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-flowlab-console': secret ?? app.engine.store.consoleSecret(session, () => 'unused') };
  const res = await fetch(`${base}/v1.41${path}`, { method, headers, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  return { status: res.status, text: await res.text() };
}

/** Everything on the engine that an escape could change (what other tests beside this one own left out). */
const engineState = () =>
  engineStateOf(
    () => app.engine.store.list().map((r) => r.id),
    '{{.Id}} {{.Name}} {{.State.Status}} {{.State.StartedAt}} {{.HostConfig.Privileged}} {{json .HostConfig.CapAdd}} {{json .HostConfig.PortBindings}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}',
    { images: true },
  );

const scoped = /this lab's console can only touch this lab's containers and networks/;
const notHere = /No such (container|network|object|exec)|not found|this lab's console can only touch/i;

describe('the console runs the real docker CLI on its own lab', () => {
  it('lists only this session: its containers, its networks, and Docker’s own networks as context', async () => {
    const ps = await sh('a', 'docker ps -a --format "{{.Names}}"');
    expect(ps.code).toBe(0);
    const names = ps.out.trim().split('\n');
    expect(names).toEqual(expect.arrayContaining([`fl-${a.session}-shop`, `fl-${a.session}-checkout`, `fl-${a.session}-console`]));
    expect(names.every((n) => n.startsWith(`fl-${a.session}-`))).toBe(true);
    const nets = await sh('a', 'docker network ls --format "{{.Name}}"');
    expect(nets.out.trim().split('\n').sort()).toEqual(['bridge', `fl-${a.session}-storefront`, 'host', 'none']);
    const filtered = await sh('a', `docker ps -a --filter label=flowlab.session=${b.session} --format "{{.Names}}"`);
    expect(filtered).toEqual({ code: 0, out: '' });
    const byName = await sh('a', 'docker ps --filter name=checkout --format "{{.Names}}"');
    expect(byName.out).toContain(`fl-${a.session}-checkout`);
  });

  it('inspect, port, logs, top, network inspect and events work by the lab’s short names', async () => {
    const port = await sh('a', 'docker port shop');
    expect(port.code).toBe(0);
    expect(port.out).toMatch(/8081\/tcp -> 127\.0\.0\.1:\d+/); // the fault: the published port goes to 8081
    expect((await sh('a', 'docker inspect --format "{{.Name}} {{.State.Running}}" shop')).out.trim()).toBe(`/fl-${a.session}-shop true`);
    expect((await sh('a', 'docker logs --tail 5 shop')).code).toBe(0);
    expect((await sh('a', 'docker top shop')).out).toMatch(/lab-serve/);
    const net = await sh('a', 'docker network inspect storefront --format "{{range .Containers}}{{.Name}} {{end}}"');
    expect(net.out).toContain(`fl-${a.session}-shop`);
    expect(net.out).not.toContain(b.session);
    const bridge = await sh('a', 'docker network inspect bridge --format "{{len .Containers}}"');
    expect(bridge).toEqual({ code: 0, out: '0\n' });
    const events = await sh('a', 'docker events --since 10m --until 0s --format "{{.Actor.Attributes.name}}"');
    expect(events.code).toBe(0);
    expect(events.out).toContain(`fl-${a.session}-shop`);
    expect(events.out).not.toContain(b.session);
    const info = await sh('a', 'docker info --format "{{.ServerVersion}}"');
    expect(info.code).toBe(0);
    expect(info.out.trim()).toMatch(/^\d+\.\d+/);
  });

  it('exec, and run --network container:<service> with tcpdump, see the service from inside', async () => {
    const exec = await sh('a', 'docker exec checkout getent hosts shop');
    expect(exec.code).toBe(0);
    expect(exec.out).toMatch(/^10\.\d+\.\d+\.\d+\s+shop/);
    const ss = await sh('a', 'docker run --rm --network container:shop toolbox ss -ltn');
    expect(ss.code).toBe(0);
    expect(ss.out).toMatch(/0\.0\.0\.0:8080/);
    // As a trainer would write it: docker run --rm -it --network container:shop toolbox tcpdump -i any
    const dump = await sh('a', `docker run --rm --network container:shop toolbox sh -c 'tcpdump -i any -n -c 1 "tcp port 8080" 2>&1 & sleep 1; curl -s -o /dev/null http://127.0.0.1:8080/; wait'`);
    expect(dump.code).toBe(0);
    expect(dump.out).toMatch(/1 packet captured/);
    const admin = await sh('a', 'docker run --rm --network container:shop --cap-add NET_ADMIN toolbox ip link set lo mtu 65536');
    expect(admin).toEqual({ code: 0, out: '' });
    const left = await sh('a', 'docker ps -a --filter label=flowlab.role=learner --format "{{.Names}}"');
    expect(left.out).toBe(''); // --rm removed them
  });

  it('stop, start, restart, pause, unpause, kill, network disconnect and connect change the lab, and the action log says so', async () => {
    for (const cmd of ['docker stop checkout', 'docker start checkout', 'docker restart checkout', 'docker pause checkout', 'docker unpause checkout', 'docker network disconnect storefront checkout', 'docker network connect storefront checkout']) {
      const r = await sh('a', cmd);
      expect(r, cmd).toMatchObject({ code: 0 });
    }
    expect((await sh('a', 'docker exec checkout getent hosts shop')).code).toBe(0);
    const k = await sh('a', 'docker run -d --name sleeper --network storefront toolbox sleep 300 && docker kill sleeper && docker rm sleeper');
    expect(k.code).toBe(0);
    const actions = app.engine.store.actions(a.session, { includeRevealing: false }).map((x) => x.command);
    const s = a.session;
    for (const line of [`docker stop fl-${s}-checkout`, `docker start fl-${s}-checkout`, `docker restart fl-${s}-checkout`, `docker pause fl-${s}-checkout`, `docker unpause fl-${s}-checkout`, `docker network disconnect fl-${s}-storefront fl-${s}-checkout`, `docker network connect fl-${s}-storefront fl-${s}-checkout`, `docker kill fl-${s}-sleeper`, `docker rm fl-${s}-sleeper`, `docker exec fl-${s}-checkout getent hosts shop`]) {
      expect(actions, line).toContain(line);
    }
    expect(actions.some((x) => x.startsWith(`docker create --name fl-${s}-sleeper --network fl-${s}-storefront `))).toBe(true);
    // Nothing the learner did leaks the console's credentials.
    expect(actions.join('\n')).not.toContain(app.engine.store.consoleSecret(s, () => 'unused'));
  });

  it('containers the console runs carry the session’s labels and limits, on the lab’s networks only', async () => {
    const r = await sh('a', 'docker run -d --name probe --network storefront toolbox sleep 300');
    expect(r.code).toBe(0);
    const { stdout } = await run('docker', ['inspect', '--format', '{{json .Config.Labels}}|{{.HostConfig.Memory}}|{{.HostConfig.PidsLimit}}|{{.HostConfig.Privileged}}|{{json .HostConfig.SecurityOpt}}', `fl-${a.session}-probe`], { encoding: 'utf8' });
    const [labels, memory, pids, privileged, secopt] = stdout.trim().split('|');
    expect(JSON.parse(labels!)).toMatchObject({ 'flowlab.managed': 'true', 'flowlab.session': a.session, 'flowlab.scenario': 'published-port-empty-reply', 'flowlab.role': 'learner', 'flowlab.name': 'probe' });
    expect(Number(memory)).toBeGreaterThan(0);
    expect(Number(pids)).toBeGreaterThan(0);
    expect(privileged).toBe('false');
    expect(JSON.parse(secopt!)).toEqual(['no-new-privileges']);
    expect((await sh('a', 'docker rm -f probe')).code).toBe(0);
  });
});

describe('every way out is refused, and nothing changes on the engine', () => {
  const B = () => b.session;
  let before = '';
  let bShop = '';
  beforeAll(async () => {
    bShop = (await run('docker', ['inspect', '--format', '{{.Id}}', `fl-${B()}-shop`], { encoding: 'utf8' })).stdout.trim();
    before = await engineState();
  });

  // Each attempt, as the docker CLI sends it from inside the console.
  const cliAttempts: [string, () => string, RegExp?][] = [
    ['image pull', () => 'docker pull alpine'],
    ['image build', () => 'printf "FROM scratch\\n" | docker build -t x -'],
    ['image push', () => 'docker push flowlab/toolbox'],
    ['image list', () => 'docker images'],
    ['commit a container to an image', () => 'docker commit shop evil'],
    ['volume create', () => 'docker volume create v'],
    ['volume list', () => 'docker volume ls'],
    ['bind mount of the host root', () => 'docker run --rm --network storefront -v /:/host toolbox true'],
    ['--mount bind', () => 'docker run --rm --network storefront --mount type=bind,src=/etc,dst=/h toolbox true'],
    ['the Docker socket', () => 'docker run --rm --network storefront -v /var/run/docker.sock:/s toolbox true'],
    ['anonymous volume', () => 'docker run --rm --network storefront -v /data toolbox true'],
    ['--volumes-from', () => 'docker run --rm --network storefront --volumes-from shop toolbox true'],
    ['--tmpfs', () => 'docker run --rm --network storefront --tmpfs /x toolbox true'],
    ['privileged', () => 'docker run --rm --network storefront --privileged toolbox true'],
    ['CAP_SYS_ADMIN', () => 'docker run --rm --network storefront --cap-add SYS_ADMIN toolbox true'],
    ['every capability', () => 'docker run --rm --network storefront --cap-add ALL toolbox true'],
    ['host PID namespace', () => 'docker run --rm --network storefront --pid host toolbox true'],
    ['host IPC namespace', () => 'docker run --rm --network storefront --ipc host toolbox true'],
    ['host UTS namespace', () => 'docker run --rm --network storefront --uts host toolbox true'],
    ['host user namespace', () => 'docker run --rm --network storefront --userns host toolbox true'],
    ['host network', () => 'docker run --rm --network host toolbox true'],
    ['a device', () => 'docker run --rm --network storefront --device /dev/kmsg toolbox true'],
    ['seccomp off', () => 'docker run --rm --network storefront --security-opt seccomp=unconfined toolbox true'],
    ['apparmor off', () => 'docker run --rm --network storefront --security-opt apparmor=unconfined toolbox true'],
    ['a kernel setting', () => 'docker run --rm --network storefront --sysctl net.ipv4.ip_forward=1 toolbox true'],
    ['a cgroup parent', () => 'docker run --rm --network storefront --cgroup-parent /evil toolbox true'],
    ['raised ulimits', () => 'docker run --rm --network storefront --ulimit nofile=1048576 toolbox true'],
    ['a log driver that ships logs away', () => 'docker run --rm --network storefront --log-driver syslog --log-opt syslog-address=udp://192.0.2.1:514 toolbox true'],
    ['an outside DNS server', () => 'docker run --rm --network storefront --dns 8.8.8.8 toolbox true'],
    ['an image that is not a lab image', () => 'docker run --rm --network storefront debian true'],
    ['publishing on every address', () => 'docker run --rm --network storefront -p 0.0.0.0::8080 toolbox true'],
    ['publishing a host port of no lab', () => 'docker run --rm --network storefront -p 127.0.0.1:1:8080 toolbox true'],
    ['publishing every port', () => 'docker run --rm --network storefront -P toolbox true'],
    ['another session’s network', () => `docker run --rm --network fl-${B()}-storefront toolbox true`, notHere],
    ['another session’s network namespace', () => `docker run --rm --network container:fl-${B()}-shop toolbox true`, notHere],
    ['the console’s own network', () => `docker run --rm --network fl-${a.session}-console toolbox true`],
    ['the console’s network namespace', () => 'docker run --rm --network container:console toolbox true'],
    ['label spoofing', () => `docker run --rm --network storefront --label flowlab.session=${B()} toolbox true`],
    ['a name of another session', () => `docker run -d --network storefront --name fl-${B()}-shop toolbox true`],
    ['privileged exec', () => 'docker exec --privileged shop true'],
    ['exec in another session', () => `docker exec fl-${B()}-shop true`, notHere],
    ['exec in another session by id', () => `docker exec ${bShop.slice(0, 12)} true`, notHere],
    ['inspect another session', () => `docker inspect fl-${B()}-shop`, notHere],
    ['logs of another session', () => `docker logs ${bShop}`, notHere],
    ['stop another session', () => `docker stop fl-${B()}-shop`, notHere],
    ['remove another session', () => `docker rm ${bShop.slice(0, 12)}`, notHere],
    ['another session’s network inspect', () => `docker network inspect fl-${B()}-storefront`, notHere],
    ['join another session’s network', () => `docker network connect fl-${B()}-storefront shop`, notHere],
    ['join the default bridge (not this lab’s)', () => 'docker network connect bridge shop'],
    ['join the host network', () => 'docker network connect host shop'],
    ['join the console network', () => `docker network connect fl-${a.session}-console shop`],
    ['network create', () => 'docker network create escape'],
    ['network rm', () => 'docker network rm storefront'],
    ['stop Flowlab’s capture', () => 'docker stop shop-capture'],
    ['exec in the console itself', () => 'docker exec console true'],
    ['docker cp out of a container', () => 'docker cp shop:/etc/hostname /tmp/x'],
    ['docker update', () => 'docker update --memory 2g shop'],
    ['docker rename', () => 'docker rename shop shop2'],
    ['swarm init', () => 'docker swarm init'],
    ['swarm leave', () => 'docker swarm leave --force'],
    ['swarm join', () => 'docker swarm join --token x 127.0.0.1:2377'],
    ['plugins', () => 'docker plugin ls'],
    ['secrets', () => 'docker secret ls'],
    ['configs', () => 'docker config ls'],
    ['system prune', () => 'docker system prune -af'],
    ['container prune', () => 'docker container prune -f'],
    ['network prune', () => 'docker network prune -f'],
  ];

  for (const [what, cmd, expected] of cliAttempts) {
    it(`refuses ${what}`, async () => {
      const r = await sh('a', cmd());
      expect(r.code, r.out).not.toBe(0);
      expect(r.out).toMatch(expected ?? scoped);
    });
  }

  const create = (extra: Record<string, unknown>, host: Record<string, unknown> = {}) => ({ Image: 'toolbox', Cmd: ['true'], HostConfig: { NetworkMode: `fl-${a.session}-storefront`, ...host }, ...extra });
  // Each attempt, as a raw request with a crafted body.
  const rawAttempts: [string, () => [string, string, unknown?, string?], number][] = [
    ['Binds', () => ['POST', '/containers/create', create({}, { Binds: ['/:/host'] })], 403],
    ['Mounts of type bind', () => ['POST', '/containers/create', create({}, { Mounts: [{ Type: 'bind', Source: '/', Target: '/h' }] })], 403],
    ['Privileged', () => ['POST', '/containers/create', create({}, { Privileged: true })], 403],
    ['CapAdd SYS_ADMIN', () => ['POST', '/containers/create', create({}, { CapAdd: ['CAP_SYS_ADMIN'] })], 403],
    ['PidMode host', () => ['POST', '/containers/create', create({}, { PidMode: 'host' })], 403],
    ['CgroupnsMode host', () => ['POST', '/containers/create', create({}, { CgroupnsMode: 'host' })], 403],
    ['NetworkMode of another session', () => ['POST', '/containers/create', create({}, { NetworkMode: `fl-${B()}-storefront` })], 404],
    ['NetworkMode container: of another session, by id', () => ['POST', '/containers/create', create({}, { NetworkMode: `container:${bShop}` })], 404],
    ['an endpoint on another session’s network', () => ['POST', '/containers/create', create({ NetworkingConfig: { EndpointsConfig: { [`fl-${B()}-storefront`]: {} } } })], 404],
    ['an address outside the lab', () => ['POST', '/containers/create', create({ NetworkingConfig: { EndpointsConfig: { [`fl-${a.session}-storefront`]: { IPAMConfig: { IPv4Address: '192.0.2.7' } } } } })], 403],
    ['label spoofing', () => ['POST', '/containers/create', create({ Labels: { 'flowlab.session': B(), 'flowlab.managed': 'true' } })], 403],
    ['a name collision with another session', () => ['POST', `/containers/create?name=fl-${B()}-shop`, create({})], 403],
    ['unmasked /proc paths', () => ['POST', '/containers/create', create({}, { MaskedPaths: [] })], 403],
    ['another runtime', () => ['POST', '/containers/create', create({}, { Runtime: 'io.containerd.runc.v2' })], 403],
    ['an unknown HostConfig setting', () => ['POST', '/containers/create', create({}, { KernelMemoryTCP: 1 })], 403],
    ['a top-level volume', () => ['POST', '/containers/create', create({ Volumes: { '/data': {} } })], 403],
    ['a non-JSON body', () => ['POST', '/containers/create', '{not json'], 400],
    ['privileged exec', () => ['POST', `/containers/fl-${a.session}-shop/exec`, { Cmd: ['true'], Privileged: true }], 403],
    ['starting an exec it did not create', () => ['POST', '/exec/0123456789abcdef/start', { Detach: true }], 404],
    ['an encoded path escape', () => ['GET', '/containers/..%2F..%2Finfo/json'], 403],
    ['inspecting another session by id', () => ['GET', `/containers/${bShop}/json`], 404],
    ['connecting another session’s container', () => ['POST', `/networks/fl-${a.session}-storefront/connect`, { Container: bShop }], 404],
    ['container update', () => ['POST', `/containers/fl-${a.session}-shop/update`, { Memory: 1 << 30 }], 403],
    ['archive (docker cp in)', () => ['PUT', `/containers/fl-${a.session}-shop/archive?path=/`, ''], 403],
    ['export', () => ['GET', `/containers/fl-${a.session}-shop/export`], 403],
    ['BuildKit session', () => ['POST', '/session'], 403],
    ['no secret', () => ['GET', '/containers/json', undefined, ''], 401],
    ['another session’s secret', () => ['GET', '/containers/json', undefined, app.engine.store.consoleSecret(B(), () => 'unused')], 401],
  ];

  for (const [what, attempt, status] of rawAttempts) {
    it(`refuses a raw request with ${what}`, async () => {
      const [method, path, body, secret] = attempt();
      const r = await raw('a', method, path, body, secret);
      expect(r.status, r.text).toBe(status);
      expect(JSON.parse(r.text).message).toMatch(status === 401 ? /not authorised for this lab/ : status === 400 ? /JSON/ : notHere);
    });
  }

  it('a label filter for another session finds nothing', async () => {
    const r = await raw('a', 'GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [`flowlab.session=${B()}`] }))}`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual([]);
  });

  it('after all of it, nothing changed on the engine', async () => {
    expect(cliAttempts.length + rawAttempts.length).toBeGreaterThanOrEqual(40);
    expect(await engineState()).toBe(before);
  });
});

describe('two sessions side by side', () => {
  it('each console sees only its own objects, and the other’s are refused as if they did not exist', async () => {
    const psB = await sh('b', 'docker ps -a --format "{{.Names}}"');
    expect(psB.out.trim().split('\n').every((n) => n.startsWith(`fl-${b.session}-`))).toBe(true);
    const aShop = (await run('docker', ['inspect', '--format', '{{.Id}}', `fl-${a.session}-shop`], { encoding: 'utf8' })).stdout.trim();
    const byId = await sh('b', `docker inspect ${aShop}`);
    expect(byId.code).not.toBe(0);
    expect(byId.out).toContain(`No such object: ${aShop}`);
    const byName = await sh('b', `docker logs fl-${a.session}-shop`);
    expect(byName.out).toMatch(new RegExp(`No such container: fl-${a.session}-shop`));
    const net = await sh('b', `docker network inspect fl-${a.session}-storefront`);
    expect(net.out).toMatch(/No such network|not found/);
    // The same short name means each session's own container.
    const own = await sh('b', 'docker inspect --format "{{.Name}}" shop');
    expect(own.out.trim()).toBe(`/fl-${b.session}-shop`);
  });
});

describe('a Docker-level fix made through the console', () => {
  it('re-creating shop with the right published port is verified by the grader', async () => {
    const live = app.engine.live(a.session);
    const hostPort = live.rec.allocation!.hostPorts['shop:8080'] ?? Object.values(live.rec.allocation!.hostPorts)[0];
    expect(hostPort).toBeGreaterThan(0);
    const prober = new Prober(live);
    const [broken] = await prober.run([{ from: 'host', to: `http://localhost:${hostPort}/` }]);
    expect(broken!.status).not.toBe('ok');

    const fix = await sh('a', `docker rm -f shop && docker run -d --name shop --network storefront -p ${hostPort}:8080 toolbox lab-serve http --port 8080`);
    expect(fix.code, fix.out).toBe(0);
    const port = await sh('a', 'docker port shop');
    expect(port.out).toContain(`8080/tcp -> 127.0.0.1:${hostPort}`);
    // Re-created under its name, it answers to its names again, and is a service of the lab.
    expect((await sh('a', 'docker exec checkout getent hosts shop.internal')).code).toBe(0);

    const deadline = Date.now() + 20_000;
    let r = await new Grader(live).grade({ cause: 'mapping-wrong-port', culprit: 'shop', evidence: [broken!.id], fixed: true });
    while (r.breakdown.fix.earned === 0 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 1000));
      r = await new Grader(app.engine.live(a.session)).grade({ cause: 'mapping-wrong-port', culprit: 'shop', evidence: [broken!.id], fixed: true });
    }
    expect(r.breakdown.fix, JSON.stringify(r.feedback)).toMatchObject({ why: 'live fix verified' });
    expect(r.breakdown.fix.earned).toBeGreaterThan(0);
    // Re-created the learner's way, shop is the lab's shop: no workaround a lab could forbid.
    expect(await workaroundsInPlace(app.engine.live(a.session), ['host-network', 'new-published-port', 'hosts-file', 'new-alias', 'extra-network', 'privileged'])).toEqual([]);
    const actions = app.engine.store.actions(a.session, { includeRevealing: false }).map((x) => x.command);
    expect(actions).toContain(`docker rm --force fl-${a.session}-shop`);
    expect(actions.some((x) => x.includes(`--publish 127.0.0.1:${hostPort}:8080`))).toBe(true);
    // The flow view follows the re-created service: a new capture joins its network namespace.
    const capDeadline = Date.now() + 15_000;
    let captured = false;
    while (!captured && Date.now() < capDeadline) {
      const st = await app.docker.inspectContainer(`fl-${a.session}-shop-capture`);
      const shop = await app.docker.inspectContainer(`fl-${a.session}-shop`);
      captured = !!st?.running && !!shop && st.startedAt >= shop.startedAt;
      if (!captured) await new Promise((res) => setTimeout(res, 500));
    }
    expect(captured).toBe(true);
  });
});

describe('flowlab console', () => {
  it('runs a command in the console, served by whichever Flowlab process already serves it', async () => {
    const r = await cli(['console', a.session, '--', 'docker', 'ps', '--filter', 'label=flowlab.name=checkout', '--format', '{{.Names}}'], { FLOWLAB_DATA: app.dataDir });
    expect(r.stderr).toBe('');
    expect(r).toMatchObject({ code: 0, stdout: `fl-${a.session}-checkout\n` });
    const refused = await cli(['console', a.session, '--', 'docker', 'run', '--rm', '--privileged', '--network', 'storefront', 'toolbox', 'true'], { FLOWLAB_DATA: app.dataDir });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(scoped);
  });

  it('says what it expected for an unknown session or a missing terminal', async () => {
    const unknown = await cli(['console', 'deadbeef'], { FLOWLAB_DATA: app.dataDir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown session "deadbeef"/);
    const noTty = await cli(['console', a.session], { FLOWLAB_DATA: app.dataDir });
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toMatch(/needs a terminal; pass a command instead/);
  });
});

describe('when Flowlab itself runs in a container', () => {
  it('the container joins the console network and serves the scoped API there', async () => {
    // Flowlab in a container, as a trainer would run it: the Docker socket and its data mounted.
    const c = await app.engine.up(loadLab('bridge-basics'));
    await app.engine.settled();
    const self = `fl-${'c0ffee00'}-flowlab-in-a-container`;
    const labels = ['flowlab.managed=true', 'flowlab.session=c0ffee00', 'flowlab.scenario=console-test'].flatMap((l) => ['--label', l]);
    try {
      const { stdout } = await run(
        'docker',
        ['run', '--name', self, ...labels, '-v', '/var/run/docker.sock:/var/run/docker.sock', '-v', `${PROJECT_ROOT}:${PROJECT_ROOT}:ro`, '-v', `${app.dataDir}:${app.dataDir}`, '-v', `${process.execPath}:/usr/local/bin/node:ro`,
          '-e', `FLOWLAB_DATA=${app.dataDir}`, '-e', 'HOME=/tmp', '-w', PROJECT_ROOT, TOOLBOX_REF,
          'node', `${PROJECT_ROOT}/bin/flowlab.js`, 'console', c.session, '--', 'sh', '-c', 'echo "$DOCKER_HOST"; docker ps --filter label=flowlab.role=service --format "{{.Names}}"'],
        { encoding: 'utf8', timeout: 120_000 },
      );
      const [dockerHost, ...names] = stdout.trim().split('\n');
      const ip = (await run('docker', ['inspect', '--format', `{{(index .NetworkSettings.Networks "fl-${c.session}-console").IPAddress}}`, `fl-${c.session}-console`], { encoding: 'utf8' })).stdout.trim();
      expect(ip).toMatch(/^10\./);
      // The console talks to the Flowlab container's address on the console network, not a gateway on the host.
      expect(dockerHost).toMatch(/^tcp:\/\/10\.\d+\.\d+\.\d+:2375$/);
      expect(dockerHost).not.toMatch(/\.1:2375$/);
      expect(names.sort()).toEqual(['api', 'client', 'db', 'web'].map((n) => `fl-${c.session}-${n}`));
      // Done serving, the Flowlab container left the console network again.
      const nets = (await run('docker', ['inspect', '--format', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', self], { encoding: 'utf8' })).stdout.trim();
      expect(nets).toBe('bridge');
    } finally {
      await run('docker', ['rm', '-f', self]).catch(() => undefined);
      await app.engine.down(c.session);
    }
  }, 180_000);
});

describe('overlay labs: swarm services through the console', () => {
  let o: Topology;
  let info: ConsoleInfo;
  const osh = async (command: string) => {
    const r = await app.docker.exec(info.container, ['sh', '-c', command], { timeoutMs: 60_000 });
    return { code: r.exitCode, out: `${r.stdout}${r.stderr}` };
  };
  beforeAll(async () => {
    o = await app.engine.up(loadLab('overlay-basics'), { initSwarm: true });
    await app.engine.settled();
    info = await app.consoles.ensure(o.session);
  }, 180_000);

  it('service ls, ps, inspect and logs show the lab’s services by their short names', async () => {
    const ls = await osh('docker service ls --format "{{.Name}} {{.Replicas}}"');
    expect(ls).toEqual({ code: 0, out: `fl-${o.session}-web 2/2\n` });
    const ps = await osh('docker service ps --filter desired-state=running --format "{{.Name}}" web');
    expect(ps.code, ps.out).toBe(0);
    expect(ps.out.trim().split('\n').sort()).toEqual([`fl-${o.session}-web.1`, `fl-${o.session}-web.2`]);
    expect((await osh('docker service inspect --format "{{.Spec.Name}}" web')).out.trim()).toBe(`fl-${o.session}-web`);
    expect((await osh('docker service logs --tail 1 web')).code).toBe(0);
  });

  it('service update changes the lab and is logged; what reaches outside is refused', async () => {
    const env = await osh('docker service update --detach --env-add GREETING=hi web');
    expect(env.code, env.out).toBe(0);
    // Without --detach the CLI follows the tasks by the short name until they converge.
    const scale = await osh('docker service scale web=3');
    expect(scale.code, scale.out).toBe(0);
    expect(scale.out).toMatch(/verify: Service converged|converged/);
    const actions = app.engine.store.actions(o.session, { includeRevealing: false }).map((x) => x.command);
    expect(actions).toContain(`docker service update --env-add GREETING=hi fl-${o.session}-web`);
    expect(actions).toContain(`docker service update --replicas 3 fl-${o.session}-web`);
    for (const cmd of ['docker service update --detach --publish-add 8080:8080 web', 'docker service scale web=50', 'docker service update --detach --mount-add type=bind,src=/,dst=/h web', 'docker service update --detach --image debian web', 'docker service update --detach --cap-add SYS_ADMIN web', 'docker service rm web', 'docker service create --name extra toolbox', `docker service update --detach --network-add fl-${o.session}-console web`]) {
      const r = await osh(cmd);
      expect(r.code, cmd).not.toBe(0);
      expect(r.out, cmd).toMatch(cmd.includes('console') ? notHere : scoped);
    }
  });
});

describe('the console goes with its session', () => {
  it('down removes the console, its network, and stops serving its API', async () => {
    expect(app.consoles.serving(b.session)).toBe(true);
    await app.engine.down(b.session);
    expect(app.consoles.serving(b.session)).toBe(false);
    const left = await run('docker', ['ps', '-aq', '--filter', `label=flowlab.session=${b.session}`], { encoding: 'utf8' });
    expect(left.stdout.trim()).toBe('');
    const nets = await run('docker', ['network', 'ls', '-q', '--filter', `label=flowlab.session=${b.session}`], { encoding: 'utf8' });
    expect(nets.stdout.trim()).toBe('');
  });
});
