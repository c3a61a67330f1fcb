// Flowlab's own image and docker-compose.yml, on the real daemon and with no image registry: the
// image builds, stays within its size budget, runs as non-root and turns healthy; compose brings
// it up, a lab made through the HTTP API works from inside the container (its docker console, a
// probe from the host, a capture), and `down` leaves no Flowlab object within 10 s — with Compose
// v2 (`docker compose`) and with docker-compose 1.29 (Debian 12's) alike; a rebuild after a source
// change takes every dependency layer from the cache.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../server/config.ts';
import { LABEL } from '../server/docker/labels.ts';
import type { Topology } from '../server/protocol/session.ts';
import type { BuildReport } from '../scripts/build-image.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { cli, docker, freePort, leftovers as sessionLeftovers, sleep, testApp } from './helpers.ts';

const run = promisify(execFile);
const IMAGE = 'flowlab/flowlab:latest';
const SIZE_LIMIT = 250 * 1000 * 1000;
const STOP_LIMIT_MS = 10_000;
/** Debian's CLI: the one that builds with BuildKit here (the 28.x client first on PATH does not). */
const DOCKER_CLI = process.env.FLOWLAB_DOCKER_CLI ?? '/usr/bin/docker';
const SOCKET = '/var/run/docker.sock';
const TSX = join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');

const runId = Math.random().toString(16).slice(2, 10);

/** The two Compose implementations the file must work with; each gets its own project. */
interface Composer {
  name: string;
  argv: string[];
  project: string;
  registry: string;
  /** Its own host port, so one that failed half-way cannot make the other fail too. */
  port: number;
}
const COMPOSERS = ['docker-compose 1.29', 'Compose v2'] as const;
type ComposerName = (typeof COMPOSERS)[number];
const composers = new Map<ComposerName, Composer>();
/** The host port of the compose run under way. */
let port: number;
let baseEnv: NodeJS.ProcessEnv;
/** A Flowlab on the host, beside the one in the container. */
const host = testApp();

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  return undefined;
}


/** The build script, as `npm run image` runs it; its progress goes to the test's output. */
function buildImage(args: string[]): Promise<BuildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [join(PROJECT_ROOT, 'scripts', 'build-image.ts'), '--json', ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      process.stderr.write(b);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`scripts/build-image.ts ${args.join(' ')} failed (exit ${code}):\n${err.slice(-3000)}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as BuildReport);
    });
  });
}

const envOf = (c: Composer, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ ...baseEnv, FLOWLAB_REGISTRY_NAME: c.registry, FLOWLAB_PORT: String(c.port), ...extra });

async function compose(c: Composer, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<{ stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  try {
    const r = await run(c.argv[0]!, [...c.argv.slice(1), '-p', c.project, '-f', join(PROJECT_ROOT, 'docker-compose.yml'), ...args], { env: opts.env ?? envOf(c), encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000 });
    return { ...r, ms: Date.now() - started };
  } catch (e) {
    const x = e as Error & { stderr?: string };
    throw new Error(`${c.argv.join(' ')} ${args.join(' ')} failed: ${x.stderr?.trim() || x.message}`, { cause: e });
  }
}

/** A Compose implementation by name; the test fails, naming what to install, when it is missing. */
function composer(name: ComposerName): Composer {
  const c = composers.get(name);
  if (!c) throw new Error(`${name} is not installed: ${name === 'Compose v2' ? 'the docker compose plugin (Debian 13: apt-get install docker-compose; npm test fetches it when it runs as root)' : 'docker-compose (Debian 12: apt-get install docker-compose)'}`);
  return c;
}

const cliOut = async (args: string[]) => (await run(DOCKER_CLI, args, { encoding: 'utf8', timeout: 60_000 })).stdout.trim();

async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T & { ok: boolean; error?: string } }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as T & { ok: boolean; error?: string } };
}

/** What is left of this compose project and of the labs its Flowlab made. */
async function leftovers(c: Composer): Promise<string[]> {
  const mine = { [LABEL.managed]: 'true', [LABEL.registry]: c.registry };
  const [labContainers, labNetworks, labServices] = await Promise.all([docker.listContainers(mine), docker.listNetworks(mine), docker.listServices(mine)]);
  const project_ = { 'com.docker.compose.project': c.project };
  const [projContainers, projNetworks] = await Promise.all([docker.listContainers(project_), docker.listNetworks(project_)]);
  const volumes = (await cliOut(['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${c.project}`])).split('\n').filter(Boolean);
  return [
    ...[...labContainers, ...projContainers].map((c) => `container ${c.name}`),
    ...[...labNetworks, ...projNetworks].map((n) => `network ${n.name}`),
    ...labServices.map((s) => `service ${s.name}`),
    ...volumes.map((v) => `volume ${v}`),
  ].sort();
}

/** A host session's objects, in a comparable form. */
async function hostObjectsOf(session: string): Promise<string[]> {
  const left = await sessionLeftovers(session);
  return [...left.containers, ...left.networks, ...left.services].sort();
}

beforeAll(async () => {
  const missing: string[] = [];
  if (!existsSync(DOCKER_CLI)) missing.push(`a docker CLI that builds with BuildKit at ${DOCKER_CLI} (Debian: apt-get install docker.io)`);
  const v1 = which('docker-compose');
  if (v1 && /version 1\./.test((await run(v1, ['version'], { encoding: 'utf8' }).catch(() => ({ stdout: '' }))).stdout)) {
    composers.set('docker-compose 1.29', { name: 'docker-compose 1.29', argv: [v1], project: `flowlab-test-${runId}-v1`, registry: `container:flowlab-test-${runId}-v1`, port: await freePort() });
  }
  const v2 = await run(DOCKER_CLI, ['compose', 'version', '--short'], { encoding: 'utf8' }).catch(() => ({ stdout: '' }));
  if (/^v?2\./.test(v2.stdout.trim())) {
    composers.set('Compose v2', { name: 'Compose v2', argv: [DOCKER_CLI, 'compose'], project: `flowlab-test-${runId}-v2`, registry: `container:flowlab-test-${runId}-v2`, port: await freePort() });
  }
  if (!existsSync(SOCKET)) missing.push(`the Docker socket ${SOCKET} (the compose file mounts it)`);
  if (!existsSync(TSX)) missing.push('tsx in node_modules (npm install)');
  try {
    await docker.info();
  } catch (e) {
    missing.push(`a running Docker engine (${(e as Error).message}; flowlab doctor --fix starts one)`);
  }
  if (missing.length > 0) throw new Error(`the container tests cannot run; missing: ${missing.join('; ')}`);
  baseEnv = {
    ...process.env,
    // The socket's group, as `stat -c %g /var/run/docker.sock` prints it: the compose file adds it.
    FLOWLAB_DOCKER_GID: String(statSync(SOCKET).gid),
  };
});

afterAll(async () => {
  await host.dispose();
  for (const c of composers.values()) {
    // Idempotent, and thorough even when a test failed half-way.
    await compose(c, ['--profile', 'dev', 'down', '--volumes', '--timeout', '20']).catch(() => undefined);
    const mine = { [LABEL.managed]: 'true', [LABEL.registry]: c.registry };
    for (const x of await docker.listContainers(mine)) await docker.removeContainer(x.id).catch(() => undefined);
    for (const n of await docker.listNetworks(mine)) await docker.removeNetwork(n.id).catch(() => undefined);
  }
}, 180_000);

describe("Flowlab's image", () => {
  it('builds with no registry, within 250 MB, non-root, with a health check and OCI labels', async () => {
    const report = await buildImage([]);
    const mb = (report.size_bytes / 1e6).toFixed(1);
    console.log(`image ${report.image}: ${mb} MB, built in ${report.seconds.toFixed(1)} s on ${report.base} with Node ${report.node}; dependency layers ${report.dependencies_cached ? 'from the cache' : 'built'}`);
    expect(report.size_bytes).toBeLessThanOrEqual(SIZE_LIMIT);

    const config = JSON.parse(await cliOut(['image', 'inspect', '--format', '{{json .Config}}', IMAGE])) as {
      User: string;
      Healthcheck?: { Test: string[] };
      Labels: Record<string, string>;
      Entrypoint: string[];
    };
    expect(config.User).toBe('10001:10001');
    expect(config.Healthcheck?.Test.join(' ')).toContain('/api/health');
    for (const k of ['title', 'description', 'version', 'revision', 'source', 'licenses']) expect(config.Labels[`org.opencontainers.image.${k}`], k).toBeTruthy();
    const who = await cliOut(['run', '--rm', '--entrypoint', 'node', IMAGE, '-e', 'console.log(process.getuid(), process.getgid())']);
    expect(who).toBe('10001 10001');
  }, 1_200_000);
});

describe.each(COMPOSERS)('docker-compose.yml with %s', (name) => {
  it('comes up healthy, runs a lab made through the HTTP API from inside the container, and `down` removes everything within 10 s', async () => {
    const c = composer(name);
    port = c.port;
    // A lab of a Flowlab on the host: the container's start-up sweep cannot open its registry, so
    // it must leave it alone.
    const hostLab = (await host.engine.up(loadLab('bridge-basics'))).session;
    await host.engine.settled();
    const hostObjects = await hostObjectsOf(hostLab);

    const started = Date.now();
    const up = await compose(c, ['up', '-d', 'flowlab']);
    const id = (await compose(c, ['ps', '-q', 'flowlab'])).stdout.trim();
    expect(id, `${name} up gave no flowlab container: ${up.stderr}`).toMatch(/^[0-9a-f]{12,}$/);

    const upMs = Date.now() - started;
    // Generous: the first check runs 10 s after start, and a busy 2-core machine slows each one.
    const healthyBy = Date.now() + 180_000;
    let health = '';
    while (Date.now() < healthyBy) {
      health = await cliOut(['inspect', '--format', '{{.State.Health.Status}}', id]);
      if (health === 'healthy' || health === 'unhealthy') break;
      await sleep(1000);
    }
    const logs = async () => (await run(DOCKER_CLI, ['logs', id], { encoding: 'utf8' })).stdout;
    expect(health, `the flowlab container is ${health}; its log:\n${await logs()}`).toBe('healthy');
    console.log(`${name}: up in ${(upMs / 1000).toFixed(1)} s, healthy ${((Date.now() - started) / 1000).toFixed(1)} s after`);

    // Not root; PID 1 is the init; logs are JSON lines on stdout.
    const inside = await cliOut(['exec', id, 'node', '-e', "console.log(process.getuid(), require('fs').readFileSync('/proc/1/comm', 'utf8').trim())"]);
    expect(inside).toBe('10001 docker-init');
    const lines = (await logs()).trim().split('\n');
    for (const l of lines) expect(JSON.parse(l), l).toMatchObject({ time: expect.any(String), level: expect.any(String), msg: expect.any(String) });
    expect(await hostObjectsOf(hostLab), "the container's sweep kept the host's lab").toEqual(hostObjects);

    // A lab, made through the HTTP API.
    const made = await api<{ session: Topology }>('POST', '/api/sessions', { scenario: 'bridge-basics' });
    expect(made.status, made.json.error).toBe(201);
    const session = made.json.session.session;
    const web = made.json.session.services.find((s) => s.name === 'web')!;
    const hostPort = web.ports[0]!.host_port;

    // The docker console: its CLI reaches the scoped API that Flowlab serves from its container.
    const opened = await api<{ console: { container: string; docker_host: string } }>('POST', `/api/sessions/${session}/console`);
    expect(opened.status, opened.json.error).toBe(200);
    const seen = await cliOut(['exec', opened.json.console.container, 'docker', 'ps', '--format', '{{.Names}}']);
    expect(seen.split('\n')).toEqual(expect.arrayContaining([`fl-${session}-web`, `fl-${session}-client`]));
    expect(seen).not.toContain(id.slice(0, 12));

    // A probe from the Docker host, to the published port.
    const probe = await api<{ result: { status: string; raw: string } }>('POST', `/api/sessions/${session}/probes`, { from: 'host', target: `http://localhost:${hostPort}/` });
    expect(probe.json.result?.status, JSON.stringify(probe.json)).toBe('ok');

    // The capture saw it.
    let pcap = Buffer.alloc(0);
    for (let i = 0; i < 20 && pcap.length <= 24; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/api/sessions/${session}/pcap?service=web`);
      if (res.status === 200) pcap = Buffer.from(await res.arrayBuffer());
      if (pcap.length <= 24) await sleep(500);
    }
    expect(pcap.length, 'the capture of web holds packets').toBeGreaterThan(24);
    expect([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1]).toContain(pcap.readUInt32BE(0));

    // The host's sweep cannot open the container's registry either: it keeps the container's lab.
    const before = await leftovers(c);
    const swept = await cli(['sweep', '--json'], { FLOWLAB_DATA: host.dataDir });
    expect(swept.code, swept.stderr).toBe(0);
    expect(JSON.parse(swept.stdout).kept).toContain(session);
    expect(await leftovers(c)).toEqual(before);
    expect(before.filter((o) => o.includes(`fl-${session}-`)).length).toBeGreaterThan(0);

    // down: SIGTERM → Flowlab tears its labs down → exits; then compose removes its own objects.
    const follow: ChildProcess = spawn(DOCKER_CLI, ['logs', '--follow', '--tail', '0', id], { stdio: ['ignore', 'pipe', 'ignore'] });
    let tail = '';
    follow.stdout!.on('data', (b: Buffer) => (tail += b.toString()));
    await sleep(500);
    const down = await compose(c, ['down', '--volumes']);
    follow.kill();
    console.log(`${name}: down took ${(down.ms / 1000).toFixed(1)} s`);
    expect(tail, 'Flowlab logged its SIGTERM teardown').toMatch(/"msg":"SIGTERM: tearing down this instance's labs"/);
    expect(down.ms).toBeLessThanOrEqual(STOP_LIMIT_MS);
    expect(await leftovers(c)).toEqual([]);
    expect(await hostObjectsOf(hostLab), "stopping the container left the host's lab alone").toEqual(hostObjects);
  }, 300_000);
});

describe('rebuilding after a source change', () => {
  it('takes every dependency layer from the cache', async () => {
    // The same build context in a scratch folder, with one source file changed for real.
    const context = mkdtempSync(join(tmpdir(), 'flowlab-image-context-'));
    const tag = `flowlab/flowlab:cache-check-${runId}`;
    try {
      const files = (await run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: PROJECT_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })).stdout.split('\0').filter(Boolean);
      for (const f of files) {
        const from = join(PROJECT_ROOT, f);
        if (!existsSync(from) || statSync(from).isDirectory()) continue;
        mkdirSync(dirname(join(context, f)), { recursive: true });
        cpSync(from, join(context, f));
      }
      const imageDir = join(PROJECT_ROOT, '.flowlab-image');
      mkdirSync(join(context, '.flowlab-image'));
      if (existsSync(imageDir)) for (const f of readdirSync(imageDir)) cpSync(join(imageDir, f), join(context, '.flowlab-image', f));
      const changed = join(context, 'server', 'config.ts');
      writeFileSync(changed, `${readFileSync(changed, 'utf8')}\n// touched by test/container.test.ts at ${new Date().toISOString()}\n`);

      const report = await buildImage(['--context', context, '--tag', tag]);
      const build = report.steps.filter((s) => s.stage === 'build' && s.name.startsWith('RUN'));
      console.log(`cached rebuild: ${report.seconds.toFixed(1)} s; dependency layers ${report.dependencies_cached ? 'reused' : 'REBUILT'}; the build stage ${build.every((s) => !s.cached) ? 'reran' : 'was cached'}`);
      expect(build.length).toBeGreaterThan(0);
      expect(build.every((s) => !s.cached), 'the changed source reached the build stage').toBe(true);
      expect(report.dependencies_cached, report.steps.filter((s) => !s.cached).map((s) => `[${s.stage}] ${s.name}`).join('\n')).toBe(true);
    } finally {
      rmSync(context, { recursive: true, force: true });
      await run(DOCKER_CLI, ['image', 'rm', tag], { encoding: 'utf8' }).catch(() => undefined);
    }
  }, 900_000);
});

describe.each(COMPOSERS)('docker-compose.yml, dev profile, with %s', (name) => {
  it("serves vite's dev server from the mounted source, with the API behind its proxy", async () => {
    const c = composer(name);
    await buildImage(['--target', 'dev', '--tag', 'flowlab/flowlab:dev']);
    const devPort = await freePort();
    const env = envOf(c, { FLOWLAB_DEV_PORT: String(devPort) });
    const dev = (args: string[]) => compose(c, ['--profile', 'dev', ...args], { env, timeoutMs: 180_000 });
    try {
      await dev(['up', '-d', 'dev-web']);
      const by = Date.now() + 120_000;
      let page = 0;
      let health: { ok?: boolean; status?: string } = {};
      while (Date.now() < by) {
        page = await fetch(`http://127.0.0.1:${devPort}/`).then((r) => r.status, () => 0);
        // While the API behind the proxy starts, the proxy may answer with an empty body: not yet.
        health = await fetch(`http://127.0.0.1:${devPort}/api/health`)
          .then((r) => r.json() as Promise<typeof health>)
          .catch(() => ({}));
        if (page === 200 && health.ok) break;
        await sleep(1000);
      }
      expect(page).toBe(200);
      expect(health).toMatchObject({ ok: true, status: 'up' });
    } finally {
      await dev(['down', '--volumes', '--timeout', '20']).catch(() => undefined);
    }
    expect(await leftovers(c)).toEqual([]);
  }, 900_000);
});
