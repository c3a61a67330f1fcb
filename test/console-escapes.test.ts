// The ways out of a learner's docker console found on the real engine, each refused with its
// reason and the engine left as it was; then every variant of every request the console allows
// (case-folded and doubled keys, unknown keys at every depth, old versions, paths written another
// way, bodies where none belongs) sent to a real console: refused, or holding only allow-listed
// values on the engine. Also: host probes stay within the session, a forged X-Forwarded-For is
// not believed, and a console never talks to a stale listener left on its address.
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleInfo } from '../server/console/consoles.ts';
import { ScopedApi } from '../server/docker/scoped/proxy.ts';
import type { ScopePolicy } from '../server/docker/scoped/scope.ts';
import { API_VERSION } from '../server/docker/scoped/request.ts';
import { variantsOf, type BaseRequest, type Variant } from '../server/docker/scoped/variants.ts';
import type { Json } from '../server/docker/scoped/json.ts';
import { startServer } from '../server/http/server.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { ProbeError, Prober } from '../server/probe/prober.ts';
import type { Topology } from '../server/protocol/session.ts';
import fixture from '../server/docker/scoped/cli-requests.fixture.json' with { type: 'json' };
import { docker, engineState as engineStateOf, tempDataDir, testApp } from './helpers.ts';

const run = promisify(execFile);
const app = testApp();
let shopLab: Topology; // a bridge lab: shop and checkout on storefront
let other: Topology; // another learner's lab on the same engine
let hostLab: Topology; // agent on the host's network
let overlay: Topology; // a swarm service
const consoles: Record<string, ConsoleInfo> = {};
const V = `/v${API_VERSION}`;

beforeAll(async () => {
  [shopLab, other, hostLab, overlay] = await Promise.all([
    app.engine.up(loadLab('published-port-empty-reply'), { learner: 'ada' }),
    app.engine.up(loadLab('published-port-empty-reply'), { learner: 'bob' }),
    app.engine.up(loadLab('host-basics')),
    app.engine.up(loadLab('overlay-basics'), { initSwarm: true }),
  ]);
  await app.engine.settled();
  for (const [k, t] of Object.entries({ shop: shopLab, other, host: hostLab, overlay })) consoles[k] = await app.consoles.ensure(t.session);
}, 240_000);
afterAll(() => app.dispose(), 180_000);

async function sh(which: string, command: string): Promise<{ code: number; out: string }> {
  const r = await app.docker.exec(consoles[which]!.container, ['sh', '-c', command], { timeoutMs: 60_000 });
  return { code: r.exitCode, out: `${r.stdout}${r.stderr}` };
}

/** A raw request to a session's console API, as a learner crafting one would (any method, any body). */
function raw(which: string, method: string, target: string, body?: string): Promise<{ status: number; text: string }> {
  const info = consoles[which]!;
  const [host, port] = info.docker_host.replace('tcp://', '').split(':');
  const session = Object.entries({ shop: shopLab, other, host: hostLab, overlay }).find(([k]) => k === which)![1].session;
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), method, path: target, headers: { 'content-type': 'application/json', 'x-flowlab-console': app.engine.store.consoleSecret(session, () => 'unused'), ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer to ${method} ${target}`)));
    req.end(body);
  });
}

/** A read straight from the engine's socket (what no docker CLI command shows, like an exec's settings). */
function engineGet(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: '/var/run/docker.sock', path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    });
    req.on('error', reject);
    req.end();
  });
}

const inspect = async (ref: string) => JSON.parse((await run('docker', ['inspect', ref], { encoding: 'utf8' })).stdout)[0] as Record<string, any>;

/** Everything on the engine an escape could change (what other tests beside this one own left out). */
const engineState = () =>
  engineStateOf(
    () => app.engine.store.list().map((r) => r.id),
    '{{.Id}} {{.Name}} {{.State.Status}} {{.State.StartedAt}} {{.HostConfig.Privileged}} {{json .HostConfig.Binds}} {{json .HostConfig.CapAdd}} {{.HostConfig.PidMode}} {{json .HostConfig.PortBindings}} {{json .HostConfig.LogConfig}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}',
    { services: '{{.ID}} {{json .Spec.TaskTemplate.ContainerSpec.Mounts}} {{json .Spec.TaskTemplate.ContainerSpec.Privileges}} {{json .Spec.TaskTemplate.ContainerSpec.CapabilityAdd}} {{json .Spec.EndpointSpec.Ports}}' },
  );

describe('the four ways out, on the real engine', () => {
  let before = '';
  beforeAll(async () => {
    expect((await sh('shop', 'docker create --name x --network storefront toolbox sleep 120')).code).toBe(0);
    // Host probes run from a helper on the host's network, made on first use: made now, before the state is taken.
    await Promise.all([app.engine.live(shopLab.session).hostHelper(), app.engine.live(hostLab.session).hostHelper()]);
    before = await engineState();
  });
  afterAll(async () => {
    await sh('shop', 'docker rm -f x');
  });

  it('1. an old API version with a HostConfig on start is refused, and so is any body on start', async () => {
    const smuggled = JSON.stringify({ Binds: ['/:/h'], CapAdd: ['SYS_ADMIN'], PidMode: 'host', SecurityOpt: ['seccomp=unconfined'], Privileged: true });
    const old = await raw('shop', 'POST', '/v1.23/containers/x/start', smuggled);
    expect(old.status).toBe(400);
    expect(JSON.parse(old.text).message).toMatch(/speaks Docker API 1\.41; \/v1\.23 is older/);
    const ours = await raw('shop', 'POST', `${V}/containers/x/start`, smuggled);
    expect(ours.status).toBe(400);
    expect(JSON.parse(ours.text).message).toMatch(/docker start takes no body/);
    const x = await inspect(`fl-${shopLab.session}-x`);
    expect(x.State.Running).toBe(false);
    expect([x.HostConfig.Binds, x.HostConfig.Privileged, x.HostConfig.PidMode]).toEqual([null, false, '']);
    // The action log holds the request that was sent: the forced settings, not the CLI's defaults.
    const s = shopLab.session;
    const created = app.engine.store.actions(s, { includeRevealing: false }).map((a) => a.command).find((c) => c.startsWith(`docker create --name fl-${s}-x `))!;
    expect(created).toMatch(new RegExp(`^docker create --name fl-${s}-x --network fl-${s}-storefront --cap-drop ALL( --cap-add [A-Z_]+)+ --security-opt no-new-privileges --dns [0-9.]+ --memory \\d+ --cpus [0-9.]+ --pids-limit \\d+ flowlab/toolbox:latest sleep 120$`));
    expect(app.engine.store.actions(s, { includeRevealing: false }).map((a) => a.command)).not.toContain(`docker start fl-${s}-x`);
  });

  it('2. keys Docker reads case-insensitively are refused: privileged exec, a second container, hostIp, a log type, service mounts', async () => {
    const foreign = (await inspect(`fl-${other.session}-shop`)).Id as string;
    const attempts: [string, string, string, string, RegExp][] = [
      ['shop', 'POST', `${V}/containers/checkout/exec`, '{"Cmd":["true"],"Privileged":false,"privileged":true}', /differ only in case/],
      ['shop', 'POST', `${V}/containers/checkout/exec`, '{"Cmd":["true"],"privileged":true}', /differs only in case from Privileged/],
      ['shop', 'POST', `${V}/networks/storefront/connect`, `{"Container":"checkout","container":"${foreign}"}`, /differ only in case/],
      ['shop', 'POST', `${V}/containers/create`, '{"Image":"toolbox","HostConfig":{"NetworkMode":"storefront","PortBindings":{"8080/tcp":[{"HostIp":"127.0.0.1","HostPort":"","hostIp":"0.0.0.0","hostPort":"18997"}]}}}', /differ only in case/],
      ['shop', 'POST', `${V}/containers/create`, '{"Image":"toolbox","HostConfig":{"NetworkMode":"storefront","LogConfig":{"type":"syslog","Config":{"syslog-address":"udp://192.0.2.1:514"}}}}', /differs only in case from Type/],
    ];
    const svc = (await docker.listServices({ 'flowlab.session': overlay.session }))[0]!;
    const current = JSON.parse((await run('docker', ['service', 'inspect', svc.id], { encoding: 'utf8' })).stdout)[0] as { Version: { Index: number }; Spec: Record<string, any> };
    const spec = structuredClone(current.Spec);
    spec.TaskTemplate.ContainerSpec.mounts = [{ Type: 'bind', Source: '/', Target: '/h' }];
    attempts.push(['overlay', 'POST', `${V}/services/${svc.id}/update?version=${current.Version.Index}`, JSON.stringify(spec), /differs only in case from Mounts|differ only in case/]);
    for (const [who, method, target, body, why] of attempts) {
      const r = await raw(who, method, target, body);
      expect(r.status, `${target} ${body}`).toBeGreaterThanOrEqual(400);
      expect(JSON.parse(r.text).message, body).toMatch(why);
    }
    const mounts = JSON.parse((await run('docker', ['service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Mounts}}', svc.id], { encoding: 'utf8' })).stdout) as { Type: string }[];
    expect(mounts.every((m) => m.Type === 'tmpfs')).toBe(true);
  });

  it('3. no container shares a host-network service’s namespace, with NET_ADMIN or without', async () => {
    for (const cmd of ['docker run --rm --network container:agent --cap-add NET_ADMIN toolbox iptables -S', 'docker run --rm --network container:agent toolbox tcpdump -i any -c 1', 'docker create --name peek --network container:agent toolbox true']) {
      const r = await sh('host', cmd);
      expect(r.code, cmd).not.toBe(0);
      expect(r.out, cmd).toMatch(/runs on the Docker host's own network/);
    }
    // Flowlab's own helper on the host's network (for host probes) is out of reach the same way.
    const helper = await app.engine.live(hostLab.session).hostHelper();
    const r = await sh('host', `docker run --rm --network container:${helper} toolbox true`);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/runs on the Docker host's own network/);
  });

  it('4. nodes and docker info show no host name or engine; host probes reach only this session; the engine state is unchanged after all of it', async () => {
    const nodes = await sh('overlay', 'docker node ls --format "{{.ID}} {{.Hostname}} {{.EngineVersion}}"; docker node inspect self --format "{{.Description.Hostname}} {{.Status.Addr}}"; docker info --format "{{.Name}}"');
    expect(nodes.code, nodes.out).toBe(0);
    const hostName = (await run('docker', ['info', '--format', '{{.Name}}'], { encoding: 'utf8' })).stdout.trim();
    expect(nodes.out).not.toContain(hostName);
    expect(nodes.out).not.toMatch(/\d+\.\d+\.\d+\.\d+/);
    expect((await sh('overlay', 'docker node update --availability drain self')).code).not.toBe(0);

    const prober = new Prober(app.engine.live(shopLab.session));
    const theirs = Object.values(app.engine.live(other.session).rec.allocation!.hostPorts)[0]!;
    const mine = Object.values(app.engine.live(shopLab.session).rec.allocation!.hostPorts)[0]!;
    const gateway = shopLab.networks.find((n) => n.name === 'storefront')!.gateway;
    for (const to of [`tcp:127.0.0.1:${theirs}`, 'http://localhost:7420/api/health', 'tcp:127.0.0.1:22', `tcp:${gateway}:22`, `http://${gateway}:7420/api/health`, 'dns:example.org', 'http://192.0.2.7:80/', `http://${(await inspect(`fl-${other.session}-shop`)).NetworkSettings.Networks[`fl-${other.session}-storefront`].IPAddress}:8080/`]) {
      await expect(prober.run([{ from: 'host', to }]), to).rejects.toBeInstanceOf(ProbeError);
    }
    const [own] = await prober.run([{ from: 'host', to: `tcp:127.0.0.1:${mine}` }]);
    expect(own!.status).toBe('ok');
    const ip = (await inspect(`fl-${shopLab.session}-checkout`)).NetworkSettings.Networks[`fl-${shopLab.session}-storefront`].IPAddress as string;
    const [lab] = await new Prober(app.engine.live(shopLab.session)).run([{ from: 'host', to: `tcp:${ip}:9` }]);
    expect(lab!.status).not.toBe('error');
    // The host-network agent's own port is this session's too.
    const [agent] = await new Prober(app.engine.live(hostLab.session)).run([{ from: 'host', to: 'http://localhost:17480/' }]);
    expect(agent!.status).toBe('ok');

    expect(await engineState()).toBe(before);
  });
});

describe('a connection upgrade the engine refuses', () => {
  afterAll(async () => {
    await sh('shop', 'docker rm -f y');
    // Were the smuggled request ever read, its container carries none of Flowlab's labels: removed by name.
    await run('docker', ['rm', '-f', `smuggled-${shopLab.session}`]).catch(() => undefined);
  });

  it('passes nothing more the learner sent to the engine: a request smuggled behind it is never read', async () => {
    expect((await sh('shop', 'docker run -d --name y --network storefront toolbox sleep 300')).code).toBe(0);
    const made = await raw('shop', 'POST', `${V}/containers/y/exec`, '{"Cmd":["true"],"AttachStdout":true}');
    expect(made.status).toBe(201);
    const exec = (JSON.parse(made.text) as { Id: string }).Id;
    expect((await sh('shop', 'docker stop -t 0 y')).code).toBe(0);

    // The exec's container stopped: the engine refuses the start and keeps the connection for a next request.
    const smuggledBody = JSON.stringify({ Image: 'flowlab/toolbox:latest', Cmd: ['true'], HostConfig: { Privileged: true, Binds: ['/:/h'], NetworkMode: 'host' } });
    const smuggled = `POST /v${API_VERSION}/containers/create?name=smuggled-${shopLab.session} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(smuggledBody)}\r\n\r\n${smuggledBody}`;
    const info = consoles.shop!;
    const [host, port] = info.docker_host.replace('tcp://', '').split(':');
    const secret = app.engine.store.consoleSecret(shopLab.session, () => 'unused');
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = connect(Number(port), host!);
      let got = '';
      sock.on('data', (c: Buffer) => (got += c.toString('latin1')));
      sock.on('close', () => resolve(got));
      sock.on('error', reject);
      sock.setTimeout(20_000, () => sock.destroy(new Error(`the console kept the connection open; so far: ${got}`)));
      sock.write(`POST ${V}/exec/${exec}/start HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: 2\r\nx-flowlab-console: ${secret}\r\n\r\n{}${smuggled}`);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 (404|409)/);
    expect(answer.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    const names = (await run('docker', ['ps', '-a', '--format', '{{.Names}}'], { encoding: 'utf8' })).stdout;
    expect(names).not.toContain(`smuggled-${shopLab.session}`);
  });

  it('still streams an exec the engine takes over', async () => {
    const r = await sh('shop', 'docker exec checkout echo through-the-upgrade');
    expect(r).toEqual({ code: 0, out: 'through-the-upgrade\n' });
  });
});

describe('every variant of every request the console allows, sent to a real console', () => {
  const session = () => shopLab.session;
  const state = async (name: string) => (await docker.inspectContainer(`fl-${session()}-${name}`))!;

  /** What an accepted request may leave on the engine. */
  async function holdsOnlyAllowed(v: Variant, answer: string): Promise<string[]> {
    const bad: string[] = [];
    const id = (JSON.parse(answer || '{}') as { Id?: string }).Id;
    if (v.target.includes('/containers/create') && id) {
      const c = await inspect(id);
      const h = c.HostConfig;
      if (h.Privileged) bad.push('privileged');
      if ((h.Binds ?? []).length || (c.Mounts ?? []).length) bad.push('mounts');
      if (!['', 'private'].includes(h.PidMode) || h.NetworkMode === 'host' || h.IpcMode === 'host' || h.UTSMode === 'host') bad.push('a host namespace');
      if ((h.CapAdd ?? []).some((x: string) => !['NET_BIND_SERVICE', 'NET_RAW', 'NET_ADMIN', 'SETUID', 'SETGID'].includes(x))) bad.push(`caps ${h.CapAdd}`);
      if (JSON.stringify(h.CapDrop) !== '["ALL"]' || JSON.stringify(h.SecurityOpt) !== '["no-new-privileges"]') bad.push('caps not dropped');
      for (const bs of Object.values(h.PortBindings ?? {}) as { HostIp: string }[][]) for (const b of bs) if (b.HostIp !== '127.0.0.1') bad.push(`published on ${b.HostIp}`);
      if (h.LogConfig.Type !== 'json-file') bad.push(`log driver ${h.LogConfig.Type}`);
      if (Object.keys(c.NetworkSettings.Networks).some((n) => n !== `fl-${session()}-storefront`)) bad.push('a network not the lab’s');
      if (c.Config.Labels['flowlab.session'] !== session()) bad.push('labels');
      await docker.removeContainer(id);
    }
    if (v.target.endsWith('/exec') && id) {
      const ex = JSON.parse(await engineGet(`/exec/${id}/json`)) as { ProcessConfig: { privileged: boolean } };
      if (ex.ProcessConfig.privileged) bad.push('privileged exec');
    }
    if (/\/networks\/[^/]+\/(connect|disconnect)/.test(v.target)) {
      const spare = await state('spare');
      if (Object.keys(spare.networks).some((n) => n !== `fl-${session()}-storefront`)) bad.push('spare joined a network not the lab’s');
      const foreign = await state('shop');
      if (Object.keys(foreign.networks).length !== 1) bad.push('shop changed');
    }
    return bad;
  }

  it('are refused, or leave only allow-listed values on the engine', async () => {
    expect((await sh('shop', 'docker create --name spare --network storefront toolbox sleep 300')).code).toBe(0);
    const create = fixture.requests.find((r) => r.target.includes('create?name=fl-5c7a7c00-b'))!.body as unknown as Record<string, Json>;
    const cliExec = fixture.requests.find((r) => r.target.endsWith('/exec'))!.body as unknown as Json;
    const subnet = app.engine.live(session()).rec.allocation!.subnets.storefront!;
    const free = subnet.replace(/\.0\/24$/, '.200');
    const bases: BaseRequest[] = [
      { what: 'create', method: 'POST', target: '/containers/create?name=probe', body: { ...create, Labels: {}, HostConfig: { ...(create.HostConfig as Record<string, Json>), NetworkMode: 'storefront' }, NetworkingConfig: { EndpointsConfig: { storefront: { IPAMConfig: { IPv4Address: free }, Aliases: ['yy'] } } } } },
      { what: 'exec', method: 'POST', target: '/containers/checkout/exec', body: cliExec },
      { what: 'disconnect', method: 'POST', target: '/networks/storefront/disconnect', body: { Container: 'spare', Force: false } },
      ...['start', 'stop?t=0', 'restart?t=0', 'kill?signal=KILL', 'pause', 'unpause', 'wait?condition=not-running'].map((x): BaseRequest => ({ what: x, method: 'POST', target: `/containers/spare/${x}` })),
      { what: 'inspect', method: 'GET', target: '/containers/spare/json' },
      { what: 'list', method: 'GET', target: '/containers/json?all=1' },
      { what: 'remove', method: 'DELETE', target: '/containers/spare?force=1' },
    ];
    const variants = bases.flatMap((b) => variantsOf(b, V));
    expect(variants.length).toBeGreaterThan(300);
    const before = await engineState();
    let accepted = 0;
    for (const v of variants) {
      const r = await raw('shop', v.method, v.target, v.body);
      if (r.status >= 400) {
        expect(JSON.parse(r.text).message, v.what).toBeTruthy();
        continue;
      }
      accepted++;
      expect(await holdsOnlyAllowed(v, r.text), v.what).toEqual([]);
      // Put back what an accepted disconnect changed, so the next variant starts from the same lab.
      if (v.target.includes('/disconnect')) await docker.connect(`fl-${session()}-storefront`, `fl-${session()}-spare`, { aliases: [] });
    }
    expect(accepted).toBeLessThan(variants.length / 10);
    expect(await engineState()).toBe(before);
  }, 300_000);

  it('service update variants on a real swarm service: refused, or the spec keeps what the lab made', async () => {
    const svc = (await docker.listServices({ 'flowlab.session': overlay.session }))[0]!;
    const read = async () => JSON.parse((await run('docker', ['service', 'inspect', svc.id], { encoding: 'utf8' })).stdout)[0] as { Version: { Index: number }; Spec: Record<string, any> };
    const base = await read();
    const variants = variantsOf({ what: 'service update', method: 'POST', target: `/services/${svc.id}/update?version=0`, body: base.Spec as Json }, V);
    expect(variants.length).toBeGreaterThan(150);
    const kept = (s: Record<string, any>) => JSON.stringify([s.TaskTemplate.ContainerSpec.Mounts, s.TaskTemplate.ContainerSpec.Privileges ?? null, s.TaskTemplate.Resources, s.EndpointSpec.Ports ?? null, s.TaskTemplate.ContainerSpec.CapabilityAdd, s.Mode]);
    for (const v of variants) {
      const version = (await read()).Version.Index;
      const r = await raw('overlay', v.method, v.target.replace('version=0', `version=${version}`), v.body);
      if (r.status < 400) expect(kept((await read()).Spec), v.what).toBe(kept(base.Spec));
    }
    expect(kept((await read()).Spec)).toBe(kept(base.Spec));
  }, 300_000);
});

describe('what reaches the console’s address', () => {
  it('a console network whose gateway a stale listener still holds is not handed out', async () => {
    const pooled = testApp({ subnetPool: '10.211.0.0/22' });
    const stale = new ScopedApi(docker, { session: 'deadbeef' } as unknown as ScopePolicy, 'stale-secret', (await docker.upstream())!);
    try {
      const t = await pooled.engine.up(loadLab('published-port-empty-reply'));
      const labSubnet = Object.values(pooled.engine.store.get(t.session)!.allocation!.subnets)[0]!;
      // The next subnet the console would take: make its gateway address exist, listen on it, then take the network away.
      const next = ['10.211.0.0/24', '10.211.1.0/24', '10.211.2.0/24'].find((s) => s !== labSubnet)!;
      const gw = next.replace(/\.0\/24$/, '.1');
      const labels = ['flowlab.managed=true', 'flowlab.session=deadbeef', 'flowlab.scenario=stale-console'].flatMap((l) => ['--label', l]);
      await run('docker', ['network', 'create', ...labels, '--subnet', next, 'fl-deadbeef-stale']);
      await new Promise<void>((resolve, reject) => {
        stale.server.once('error', reject);
        stale.server.listen(2375, gw, () => resolve());
      });
      // A console of another session reaching it is told whom it reached, never "not authorised".
      const probe = await fetch(`http://${gw}:2375/_ping`, { headers: { 'x-flowlab-session': t.session, 'x-flowlab-console': 'x' } });
      expect([probe.status, await probe.text()]).toEqual([421, expect.stringMatching(/serves the console of lab session deadbeef, not/)]);
      await run('docker', ['network', 'rm', 'fl-deadbeef-stale']);

      const info = await pooled.consoles.ensure(t.session);
      expect(info.docker_host).not.toBe(`tcp://${gw}:2375`);
      expect(info.served_here).toBe(true);
      const ps = await pooled.docker.exec(info.container, ['docker', 'ps', '--format', '{{.Names}}']);
      expect(ps.exitCode, ps.stderr).toBe(0);
      expect(ps.stdout).toContain(`fl-${t.session}-shop`);
    } finally {
      stale.server.close();
      await run('docker', ['network', 'rm', 'fl-deadbeef-stale']).catch(() => undefined);
      await pooled.dispose();
    }
  }, 180_000);

  it('X-Forwarded-For is believed only from a proxy the trainer named, never because it came from loopback', async () => {
    const tryLogins = async (trustProxy?: string) => {
      const server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: tempDataDir(), ...(trustProxy ? { trustProxy } : {}) }, background: false, handleSignals: false, workshop: { maxLabs: 1 } });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 7; i++) {
          const r = await fetch(`${server.url}/api/auth/trainer`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': `198.51.100.${i}` }, body: JSON.stringify({ token: 'wrong' }) });
          statuses.push(r.status);
        }
        return statuses;
      } finally {
        await server.close();
      }
    };
    // Untrusted: every forged address is the same caller, and the login limit (5) bites.
    expect(await tryLogins()).toContain(429);
    // A proxy the trainer named (here: loopback) is believed: seven callers, none limited.
    expect(await tryLogins('loopback')).not.toContain(429);
  }, 60_000);
});
