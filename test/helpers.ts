// Shared by the integration tests: a throwaway data directory per test file, the real CLI as a
// child process, and a way to count what a session left on the real daemon.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openApp, type App } from '../server/app/app.ts';
import { PROJECT_ROOT, type Settings } from '../server/config.ts';
import { LABEL } from '../server/docker/labels.ts';
import { DockerRuntime } from '../server/docker/runtime.ts';
import { freePort, leftovers as leftoversOf, type Leftovers } from '../bench/lib/docker.ts';
export { freePort };

export const docker = new DockerRuntime();

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'flowlab-test-'));
}

/** An App on its own data directory; `dispose` tears down every session it started, then deletes it. */
export function testApp(overrides: Partial<Settings> = {}): App & { dataDir: string; dispose(): Promise<void> } {
  const dataDir = tempDataDir();
  const app = openApp({ dataDir, ...overrides });
  return Object.assign(app, {
    dataDir,
    async dispose() {
      for (const s of app.engine.store.list()) await app.engine.teardown(s.id).catch(() => undefined);
      app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

export type { Leftovers };

/** Objects labelled flowlab.managed=true, for one session or all. */
export function leftovers(session?: string): Promise<Leftovers> {
  return leftoversOf(session ? { session } : {});
}

/** The session's lab containers (its services and resolver), not Flowlab's sidecars and helpers. */
export async function labContainers(session: string): Promise<string[]> {
  const all = await docker.listContainers({ [LABEL.managed]: 'true', [LABEL.session]: session });
  return all.filter((c) => c.labels[LABEL.role] === 'service' || c.labels[LABEL.role] === 'resolver').map((c) => c.name);
}

export const none: Leftovers = { containers: [], networks: [], services: [] };

/** Waits until nothing of `session` is left (swarm tasks take a moment to go). */
export async function expectGone(session: string, timeoutMs = 20_000): Promise<Leftovers> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await leftovers(session);
    if (left.containers.length + left.networks.length + left.services.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const BIN = join(PROJECT_ROOT, 'bin', 'flowlab.js');

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = startCli(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Resolves with the first match of `re` in a child's output (stdout and stderr together). */
export function waitForLine(child: ChildProcess, re: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
  let buf = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms; output:\n${buf}`)), timeoutMs);
    const onData = (b: Buffer) => {
      buf += b.toString();
      const m = re.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stderr!.on('data', onData);
    child.stdout!.on('data', onData);
  });
}

/** The URL a `flowlab serve` child says it serves on. */
export async function servingUrl(child: ChildProcess, timeoutMs = 60_000): Promise<string> {
  return (await waitForLine(child, /serving (http:\/\/127\.0\.0\.1:\d+)/, timeoutMs))[1]!;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes a small lab file: the required header for `id`, then `body` (services, networks...). */
export function writeLab(dir: string, id: string, body: string, network: 'bridge' | 'host' | 'overlay' = 'bridge'): string {
  const file = join(dir, `${id}.yaml`);
  writeFileSync(file, `id: ${id}\ntitle: ${id}\nsummary: A lab made by a test.\nlevel: beginner\nnetwork: ${network}\nminutes: 5\nbriefing: b\n${body}`);
  return file;
}

/**
 * Everything on the engine an escape could change, in a comparable form — leaving out what other
 * tests running beside this one own (other sessions' objects, test-bed engines), never what has
 * no owner: a container an escape made unlabelled is always in it. `containerFormat` is the
 * `docker inspect` template of what to compare per container; `mine` are this test's sessions.
 */
const runFile = promisify(execFile);

export async function engineState(mine: () => Iterable<string>, containerFormat: string, extra: { images?: boolean; services?: string } = {}): Promise<string> {
  const lines = async (args: string[]) => (await runFile('docker', args, { encoding: 'utf8' })).stdout.trim().split('\n').filter(Boolean);
  const own = new Set(mine());
  // "<session label> <testbed label> <the rest>": kept when unowned, or owned by this test.
  const keep = (ls: string[]) =>
    ls
      .map((l) => /^(\S*) (\S*) (.*)$/.exec(l.replace(/<no value>/g, ''))!)
      .filter((m) => !m[2] && (!m[1] || own.has(m[1])))
      .map((m) => m[3]!)
      .sort()
      .join('\n');
  const labels = (prefix: string) => `{{index ${prefix} "${LABEL.session}"}} {{index ${prefix} "flowlab.testbed"}}`;
  const ids = await lines(['ps', '-aq', '--no-trunc']);
  const containers = ids.length ? keep(await lines(['inspect', '--format', `${labels('.Config.Labels')} ${containerFormat}`, ...ids])) : '';
  const netIds = await lines(['network', 'ls', '-q', '--no-trunc']);
  const networks = keep(await lines(['network', 'inspect', '--format', `${labels('.Labels')} {{.Id}}`, ...netIds]));
  const volIds = await lines(['volume', 'ls', '-q']);
  const volumes = volIds.length ? keep(await lines(['volume', 'inspect', '--format', `${labels('.Labels')} {{.Name}}`, ...volIds])) : '';
  const svcIds = extra.services ? await lines(['service', 'ls', '-q']) : [];
  const services = svcIds.length ? keep(await lines(['service', 'inspect', '--format', `${labels('.Spec.Labels')} ${extra.services}`, ...svcIds])) : '';
  const images = extra.images ? (await lines(['images', '-aq', '--no-trunc'])).sort().join('\n') : '';
  return [containers, networks, volumes, services, images].join('\n--\n');
}
