// The engine pool on real engines: two dockerd test engines on TCP with TLS, added, listed,
// drained and removed through the CLI and the HTTP API; every bad input refused with what was
// expected, naming the engine, and nothing stored. The bed goes afterwards, even on failure.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineRegistry } from '../server/engines/registry.ts';
import { startServer, type Running } from '../server/http/server.ts';
import { openDb } from '../server/store/db.ts';
import { dockerFor } from '../server/docker/connect.ts';
import { Faults, faultFromWords } from '../server/fault/faults.ts';
import { capturedPcap, FlowCollector } from '../server/flow/collector.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { Prober } from '../server/probe/prober.ts';
import { Grader } from '../server/grade/grader.ts';
import { chooseVariant } from '../server/session/variant.ts';
import { cli, tempDataDir, testApp } from './helpers.ts';
import { EngineBed } from './engines/bed.ts';
import { makeCerts } from './engines/certs.ts';

const run = promisify(execFile);
let bed: EngineBed;
const data = tempDataDir();
const env = { FLOWLAB_DATA: data };
const scratch = mkdtempSync(join(tmpdir(), 'flowlab-engines-'));

beforeAll(async () => {
  bed = await EngineBed.start(2);
}, 180_000);
afterAll(async () => {
  await bed?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const ls = async () => JSON.parse((await cli(['engines', 'ls', '--json'], env)).stdout) as { name: string; url: string; state: string; drained: boolean; sessions: number; facts: { cpus: number; memoryBytes: number; api: string; version: string; swarm: boolean } | null; error: string | null }[];

describe('flowlab engines', () => {
  it('adds a TLS engine and lists it beside local with what it says of itself', async () => {
    const [n1] = bed.engines;
    const r = await cli(['engines', 'add', 'node-1', n1!.url, '--tls-dir', n1!.tlsDir], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^engine node-1 added: Docker \d+\.\d+\.\d+\S* \(API 1\.\d+\), \d+ CPUs, \d+\.\d GiB$/m);
    const list = await ls();
    expect(list.map((e) => e.name)).toEqual(['local', 'node-1']);
    expect(list[1]).toMatchObject({ url: n1!.url, state: 'up', drained: false, sessions: 0, error: null, facts: { swarm: false } });
    expect(list[1]!.facts!.cpus).toBeGreaterThan(0);
    const table = (await cli(['engines', 'ls'], env)).stdout;
    expect(table).toMatch(/^NAME\s+URL\s+STATE\s+DOCKER\s+CPUS\s+MEMORY\s+SESSIONS\s+CONTAINERS\s+CAPABILITIES$/m);
    expect(table).toMatch(new RegExp(`^node-1\\s+${n1!.url.replace(/\./g, '\\.')}\\s+up\\s+\\d+\\.`, 'm'));
  });

  it('refuses every bad input with what was expected, and stores nothing', async () => {
    const [n1, n2] = bed.engines;
    const other = makeCerts(join(scratch, 'other'), [n2!.ip], 'not-the-engines-ca');
    const cases: [string[], RegExp][] = [
      [['engines', 'add', 'node-1', n2!.url, '--tls-dir', n2!.tlsDir], /an engine named "node-1" is already in the pool/],
      [['engines', 'add', 'local', n2!.url, '--tls-dir', n2!.tlsDir], /an engine named "local" is already in the pool/],
      [['engines', 'add', 'Node_2', n2!.url, '--tls-dir', n2!.tlsDir], /expected an engine name of lower-case letters.*found "Node_2"/],
      [['engines', 'add', 'node-2', `http://${n2!.ip}:2376`], /expected tcp:\/\/, ssh:\/\/ or unix:\/\/ before the engine's address; found "http:/],
      [['engines', 'add', 'node-2', n2!.url], /needs TLS client certificates \(--tls-dir DIR/],
      [['engines', 'add', 'node-2', n2!.url, '--tls-dir', join(scratch, 'nowhere')], /is not a folder; expected one holding ca\.pem, cert\.pem, key\.pem/],
      [['engines', 'add', 'node-2', n2!.url, '--tls-dir', other.clientDir], /engine "node-2" at tcp:\/\/.* did not answer: .*(certificate|self.signed|verify).*expected a Docker engine listening there that trusts the certificates in/i],
      [['engines', 'add', 'node-2', `tcp://${n1!.ip}:2399`, '--tls-dir', n2!.tlsDir], /engine "node-2" at tcp:\/\/.*:2399 did not answer: .*(ECONNREFUSED|refused)/],
      [['engines', 'rm', 'local'], /the local engine is where Flowlab finds Docker .*cannot be removed/],
      [['engines', 'drain', 'nope'], /no engine named "nope"; the engines are: local, node-1/],
    ];
    for (const [args, want] of cases) {
      const r = await cli(args, env);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(want);
      expect(r.stderr, args.join(' ')).not.toMatch(/\n\s+at /); // never a stack trace
    }
    expect((await ls()).map((e) => e.name)).toEqual(['local', 'node-1']);
  }, 120_000);

  it('refuses an engine older than API 1.41, naming its version', async () => {
    // A socket that answers as Docker 17.03 would: the version rule, without an old engine to run.
    const sock = join(scratch, 'old.sock');
    const old: Server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url?.includes('/version')) return void res.end(JSON.stringify({ Version: '17.03.2-ce', ApiVersion: '1.27', Os: 'linux' }));
      if (req.url?.includes('/info')) return void res.end(JSON.stringify({ NCPU: 1, MemTotal: 1 << 30, Containers: 0 }));
      res.end('[]');
    });
    await new Promise<void>((r) => old.listen(sock, () => r()));
    try {
      const db = openDb(data);
      try {
        await expect(new EngineRegistry(db).add('old', `unix://${sock}`)).rejects.toThrow(/engine "old" at unix:\/\/.* speaks Docker API 1\.27 \(Docker 17\.03\.2-ce\); expected 1\.41 or later/);
      } finally {
        db.close();
      }
    } finally {
      old.close();
    }
    expect((await ls()).map((e) => e.name)).toEqual(['local', 'node-1']);
  });

  it('drains and undrains an engine, and removes it', async () => {
    expect((await cli(['engines', 'drain', 'node-1'], env)).stdout).toMatch(/engine node-1 drained: it keeps its labs and takes no new ones/);
    expect((await ls()).find((e) => e.name === 'node-1')?.drained).toBe(true);
    expect((await cli(['engines', 'ls'], env)).stdout).toMatch(/^node-1\s+\S+\s+drained\s/m);
    await cli(['engines', 'undrain', 'node-1'], env);
    expect((await ls()).find((e) => e.name === 'node-1')?.drained).toBe(false);
    expect((await cli(['engines', 'rm', 'node-1'], env)).code).toBe(0);
    expect((await ls()).map((e) => e.name)).toEqual(['local']);
  });

  it('an engine that stops answering is listed down, with why; the others are not touched', async () => {
    const [n1, n2] = bed.engines;
    await cli(['engines', 'add', 'node-1', n1!.url, '--tls-dir', n1!.tlsDir], env);
    await cli(['engines', 'add', 'node-2', n2!.url, '--tls-dir', n2!.tlsDir], env);
    await bed.pause(n2!);
    try {
      const list = await ls();
      expect(list.find((e) => e.name === 'node-1')).toMatchObject({ state: 'up' });
      expect(list.find((e) => e.name === 'node-2')).toMatchObject({ state: 'down', facts: null, error: expect.stringMatching(/\w/) });
    } finally {
      await bed.unpause(n2!);
    }
    expect((await ls()).find((e) => e.name === 'node-2')).toMatchObject({ state: 'up' });
  }, 60_000);
});

describe('the engine pool over HTTP', () => {
  let server: Running;
  beforeAll(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: tempDataDir() }, background: false, handleSignals: false });
  });
  afterAll(() => server?.close());
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  it('lists, adds, drains and removes engines, and refuses bad bodies with what was expected', async () => {
    const [n1] = bed.engines;
    expect((await api('GET', '/api/engines')).body.engines).toMatchObject([{ name: 'local', state: 'up' }]);
    const added = await api('POST', '/api/engines', { name: 'node-1', url: n1!.url, tls_dir: n1!.tlsDir });
    expect(added.status).toBe(200);
    expect(added.body.engine).toMatchObject({ name: 'node-1', state: 'up' });
    const bad = await api('POST', '/api/engines', { name: 'node-2', url: n1!.url, tls: 'x' });
    expect(bad.status).toBe(400);
    expect(String(bad.body.error)).toMatch(/invalid engine at .*expected \{ "name": "node-2", "url": "tcp:/);
    expect((await api('POST', '/api/engines', { name: 'node-1', url: n1!.url, tls_dir: n1!.tlsDir })).status).toBe(409);
    expect((await api('POST', '/api/engines/node-1/drain', { drained: true })).body).toMatchObject({ name: 'node-1', drained: true });
    expect((await api('POST', '/api/engines/nope/drain', { drained: true })).status).toBe(404);
    expect((await api('DELETE', '/api/engines/node-1')).body).toMatchObject({ removed: 'node-1' });
    expect(((await api('GET', '/api/engines')).body.engines as unknown[]).length).toBe(1);
  });
});

describe('a lab on another engine, end to end', () => {
  const app = testApp();
  let session = '';
  const lines: string[] = [];
  afterAll(() => app.dispose());
  const onNode = async (labels: string[]) => {
    const d = dockerFor({ url: bed.engines[0]!.url, tlsDir: bed.engines[0]!.tlsDir });
    const filters = { label: ['flowlab.managed=true', ...labels] };
    const [c, n] = await Promise.all([d.listContainers({ all: true, filters }), d.listNetworks({ filters })]);
    return { containers: c.length, networks: n.length };
  };

  it('comes up there: images sent over, every object on that engine, none here', async () => {
    const [n1] = bed.engines;
    await app.engines.add('node-1', n1!.url, n1!.tlsDir);
    const topo = await app.engine.up(loadLab('bridge-basics'), { engine: 'node-1', progress: (l) => lines.push(l) });
    session = topo.session;
    expect(topo.engine).toBe('node-1');
    expect(app.engine.status(session)[0]).toMatchObject({ engine: 'node-1', state: 'ready' });
    expect(lines.join('\n')).toMatch(/sent flowlab\/toolbox:latest to engine node-1 in \d+\.\d s/);
    const there = await onNode([`flowlab.session=${session}`]);
    expect(there.containers).toBeGreaterThanOrEqual(4);
    expect(there.networks).toBe(2);
    const here = await app.docker.listContainers({ 'flowlab.managed': 'true', 'flowlab.session': session });
    expect(here).toEqual([]);
    await app.engine.settled(session);
  }, 180_000);

  it('answers probes there, the host ones from that engine’s host', async () => {
    const live = app.engine.live(session);
    const port = live.rec.topology!.services.find((s) => s.name === 'web')!.ports[0]!.host_port;
    const results = await new Prober(live).run([
      { from: 'client', to: 'http://web:80/' },
      { from: 'api', to: 'tcp:database:5432' },
      { from: 'client', to: 'dns:web' },
      { from: 'host', to: `http://localhost:${port}/` },
      // A name the client's networks do not know is the lab resolver's to refuse, as on local —
      // not answered empty by that engine because its host's resolv.conf says ndots.
      { from: 'client', to: 'dns:db' },
      { from: 'client', to: 'dns:nothing-here.example' },
    ]);
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'nxdomain', 'nxdomain']);
  }, 60_000);

  it('takes a fault there and gives it back', async () => {
    const live = app.engine.live(session);
    const faults = new Faults(live);
    const f = await faults.apply(faultFromWords('firewall', ['service=db', 'port=5432']));
    expect((await new Prober(live).run([{ from: 'api', to: 'tcp:database:5432' }]))[0]!.status).toBe('timeout');
    await faults.revert(f.id);
    expect((await new Prober(live).run([{ from: 'api', to: 'tcp:database:5432' }]))[0]!.status).toBe('ok');
  }, 60_000);

  it('captures there: flow events stream in, and the pcap downloads', async () => {
    const live = app.engine.live(session);
    const collector = new FlowCollector(live);
    await collector.start({ history: true });
    try {
      await new Prober(live).run([{ from: 'client', to: 'dns:nothing-here.example' }]);
      const deadline = Date.now() + 15_000;
      while (!collector.events.some((e) => e.type === 'dns.answer' && e.name === 'nothing-here.example' && e.rcode === 'NXDOMAIN')) {
        if (Date.now() > deadline) throw new Error(`no flow event for the lookup; saw ${collector.events.length} events`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      collector.stop();
    }
    const pcap = await capturedPcap(live, 'client');
    expect(pcap.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(pcap.length).toBeGreaterThan(24);
  }, 60_000);

  it('opens a shell in a service there', async () => {
    const t = await app.consoles.terminal(session, 'client', { cols: 80, rows: 24 });
    expect(t.title).toBe('shell in client');
    let out = '';
    t.tty.stream.on('data', (b: Buffer) => (out += b.toString()));
    t.tty.stream.write('echo "on $(hostname): $((6 * 7))"; exit\n');
    await Promise.race([t.tty.exit, new Promise((_, rej) => setTimeout(() => rej(new Error(`the shell did not exit; it printed: ${out}`)), 15_000))]);
    expect(out).toMatch(/on \w+: 42/);
  }, 60_000);

  it('gives the lab a docker console there: the real CLI, scoped to the session, relayed through that engine', async () => {
    const info = await app.consoles.ensure(session);
    expect(info.docker_host).toBe('unix:///run/flowlab/docker.sock');
    const rt = app.engine.runtimeOf('node-1');
    const sh = async (command: string) => {
      const r = await rt.exec(info.container, ['sh', '-c', command], { timeoutMs: 60_000 });
      return { code: r.exitCode, out: `${r.stdout}${r.stderr}` };
    };
    const ps = await sh('docker ps -a --format "{{.Names}}"');
    expect(ps.code, ps.out).toBe(0);
    expect(ps.out.trim().split('\n').every((n) => n.startsWith(`fl-${session}-`))).toBe(true);
    expect(ps.out).toContain(`fl-${session}-web`);
    expect((await sh('docker network ls --format "{{.Name}}"')).out.trim().split('\n').sort()).toEqual(['bridge', `fl-${session}-backend`, `fl-${session}-frontend`, 'host', 'none']);
    const escape = await sh('docker run --rm --privileged toolbox true');
    expect(escape.code).not.toBe(0);
    expect(escape.out).toMatch(/this lab's console can only touch|privileged/i);
    // Its own container has no network: the scoped API is reached through the relay only.
    expect((await rt.inspectContainer(info.container))?.networkMode).toBe('none');
    // An interactive exec goes through the relay too (an upgraded connection).
    const exec = await sh('echo hello | docker exec -i client cat');
    expect(exec).toEqual({ code: 0, out: 'hello\n' });
    // Served again (a server restart, a closed console): one relay listens, the old one is gone.
    await app.consoles.close(session);
    await app.consoles.ensure(session);
    expect((await sh('docker ps --format "{{.Names}}" | grep -c -- -web$')).out.trim()).toBe('1');
    const listeners = await sh('ps -eo args | grep -c "^/bin/sh /usr/local/bin/flowlab-console-relay listen"');
    expect(listeners.out.trim()).toBe('1');
  }, 120_000);

  it('goes down leaving nothing on that engine, and the engine cannot be removed while it held it', async () => {
    expect(() => app.engines.remove('node-1')).toThrow(/engine "node-1" holds 1 session; end them first/);
    await app.engine.down(session);
    expect(await onNode([`flowlab.session=${session}`])).toEqual({ containers: 0, networks: 0 });
    app.engines.remove('node-1');
  }, 60_000);
});

describe('a fix made through the docker console on another engine', () => {
  const app = testApp();
  afterAll(() => app.dispose(), 120_000);

  it('re-creating the broken service through the console there is verified by the grader', async () => {
    const [n1] = bed.engines;
    await app.engines.add('node-1', n1!.url, n1!.tlsDir);
    const entry = loadLab('published-port-empty-reply');
    const seed = [...Array(500).keys()].find((s) => chooseVariant(entry.lab, s)?.id === 'wrong-target-port')!;
    const topo = await app.engine.up(entry, { seed, engine: 'node-1' });
    const live = app.engine.live(topo.session);
    const hostPort = live.rec.allocation!.hostPorts['shop:8080'] ?? Object.values(live.rec.allocation!.hostPorts)[0]!;
    const [broken] = await new Prober(live).run([{ from: 'host', to: `http://localhost:${hostPort}/` }]);
    expect(broken!.status).not.toBe('ok');
    const info = await app.consoles.ensure(topo.session);
    const fix = await app.engine.runtimeOf('node-1').exec(info.container, ['sh', '-c', `docker rm -f shop && docker run -d --name shop --network storefront -p ${hostPort}:8080 toolbox lab-serve http --port 8080`], { timeoutMs: 60_000 });
    expect(fix.exitCode, fix.stdout + fix.stderr).toBe(0);
    const deadline = Date.now() + 30_000;
    let r = await new Grader(app.engine.live(topo.session)).grade({ cause: 'mapping-wrong-port', culprit: 'shop', evidence: [broken!.id], fixed: true });
    while (r.breakdown.fix.earned === 0 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 1000));
      r = await new Grader(app.engine.live(topo.session)).grade({ cause: 'mapping-wrong-port', culprit: 'shop', evidence: [broken!.id], fixed: true });
    }
    expect(r.breakdown.fix, JSON.stringify(r.feedback)).toMatchObject({ why: 'live fix verified' });
    expect(app.engine.store.actions(topo.session, { includeRevealing: false }).map((x) => x.command)).toContain(`docker rm --force fl-${topo.session}-shop`);
    await app.engine.down(topo.session);
    const d = dockerFor({ url: n1!.url, tlsDir: n1!.tlsDir });
    expect(await d.listContainers({ all: true, filters: { label: [`flowlab.session=${topo.session}`] } })).toEqual([]);
  }, 240_000);
});

describe('an engine over ssh', () => {
  const app = testApp();
  const dir = mkdtempSync(join(tmpdir(), 'flowlab-ssh-'));
  const agentSock = join(dir, 'agent.sock');
  const known = join(dir, 'known_hosts');
  let agent: ChildProcess | undefined;
  const saved = { SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK, FLOWLAB_KNOWN_HOSTS: process.env.FLOWLAB_KNOWN_HOSTS };
  beforeAll(async () => {
    agent = spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!existsSync(agentSock) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await run('ssh-add', [bed.sshKey], { env: { ...process.env, SSH_AUTH_SOCK: agentSock } });
  }, 60_000);
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
    await app.dispose();
    agent?.kill();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('is refused until its host key is known, then added, listed, and runs a lab', async () => {
    const [n1] = bed.engines;
    const sshEnv = { ...env, SSH_AUTH_SOCK: agentSock, FLOWLAB_KNOWN_HOSTS: known };
    const unknown = await cli(['engines', 'add', 'node-ssh', n1!.sshUrl], sshEnv);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(new RegExp(`the ssh host key of ${n1!.ip.replace(/\./g, '\\.')} is not in ${known}; expected it there.*ssh-keyscan ${n1!.ip.replace(/\./g, '\\.')} >>`));
    // Another machine's key under its name: refused when it answers with its own.
    writeFileSync(known, `${n1!.ip} ssh-ed25519 ${Buffer.from('not this host').toString('base64')}\n`);
    const spoofed = await cli(['engines', 'add', 'node-ssh', n1!.sshUrl], sshEnv);
    expect(spoofed.code).not.toBe(0);
    expect(spoofed.stderr).toMatch(/engine "node-ssh" at ssh:\/\/.* did not answer: .*(verif|denied)/i);
    writeFileSync(known, (await run('ssh-keyscan', ['-t', 'ed25519', n1!.ip])).stdout);
    const added = await cli(['engines', 'add', 'node-ssh', n1!.sshUrl], sshEnv);
    expect(added.stderr).toBe('');
    expect(added.stdout).toMatch(/^engine node-ssh added: Docker \d+/m);
    const listed = JSON.parse((await cli(['engines', 'ls', '--json'], sshEnv)).stdout) as { name: string; url: string; state: string; error: string | null }[];
    expect(listed.find((e) => e.name === 'node-ssh')).toMatchObject({ url: n1!.sshUrl, state: 'up', error: null });

    Object.assign(process.env, { SSH_AUTH_SOCK: agentSock, FLOWLAB_KNOWN_HOSTS: known });
    await app.engines.add('node-ssh', n1!.sshUrl);
    const topo = await app.engine.up(loadLab('bridge-basics'), { engine: 'node-ssh' });
    const results = await new Prober(app.engine.live(topo.session)).run([{ from: 'client', to: 'http://web:80/' }, { from: 'client', to: 'dns:db' }]);
    expect(results.map((r) => r.status)).toEqual(['ok', 'nxdomain']);
    await expect(app.consoles.ensure(topo.session)).rejects.toThrow(/docker console of a lab on engine node-ssh is not available: that engine is reached over ssh/);
    await app.engine.settled(topo.session);
    await app.engine.down(topo.session);
    expect(await dockerFor({ url: n1!.url, tlsDir: n1!.tlsDir }).listContainers({ all: true, filters: { label: [`flowlab.session=${topo.session}`] } })).toEqual([]);
  }, 300_000);
});
