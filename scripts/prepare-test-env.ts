// The set-up half of `npm test`. On a fresh CI-kind machine (Debian, root, no Docker engine, no
// browser) it installs what is missing from Debian's packages and starts dockerd; elsewhere it
// stops with a message that names what to install.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApp } from '../server/app/app.ts';
import { loadSettings, PROJECT_ROOT } from '../server/config.ts';
import { doctor } from '../server/app/doctor.ts';
import { canInstallPackages, commandExists, commandOutput, installDebianPackages, runLogged } from '../server/env/system.ts';
import { ensureBase } from '../server/images/build.ts';
import { DockerRuntime } from '../server/docker/runtime.ts';
import { ENGINE_NODE_IMAGE, ensureEngineNodeImage, removeTestbeds } from '../test/engines/bed.ts';

export const CHROMIUM = process.env.FLOWLAB_CHROMIUM ?? '/usr/bin/chromium';
/** Debian's own CLI, the one the container tests drive (it finds CLI plugins where the newer one does). */
const DOCKER_CLI = process.env.FLOWLAB_DOCKER_CLI ?? '/usr/bin/docker';
/** Where a Compose v2 plugin goes so every docker CLI on the machine finds it. */
const PLUGIN_DIR = '/usr/local/lib/docker/cli-plugins';
const DEBIAN_MIRROR = process.env.FLOWLAB_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';

const say = (line: string) => process.stderr.write(`[test set-up] ${line}\n`);
const quiet = (line: string) => {
  if (/^(building|built|bootstrapping|importing|installing|starting|removing|initialising|pulling|cannot pull)/.test(line)) say(line);
};

function fail(message: string): never {
  say(`cannot run the tests: ${message}`);
  process.exit(1);
}

async function ensureTool(what: string, present: () => boolean, pkg: string): Promise<void> {
  if (present()) return;
  if (!canInstallPackages()) fail(`${what} is missing; install it (Debian: apt-get install ${pkg}) and run npm test again`);
  say(`installing ${pkg} from Debian's packages`);
  await installDebianPackages([pkg], () => {});
  if (!present()) fail(`${pkg} was installed but ${what} is still missing`);
}

const composeV2 = () => /^v?2\./.test(commandOutput(DOCKER_CLI, ['compose', 'version', '--short']) ?? '');
const composeV1 = () => /version 1\./.test(commandOutput('docker-compose', ['version']) ?? '');

/**
 * Compose v2, for the container tests (docker-compose.yml must work with both Compose versions).
 * Debian 12 packages only docker-compose 1.29; Debian 13 (trixie) packages v2 under the same
 * name. So the trixie package is fetched by apt — signature-checked against Debian's archive
 * keyring — into a scratch folder, without touching this machine's sources or installed packages,
 * and only its plugin binary is put where docker CLIs look for plugins.
 */
async function ensureComposeV2(): Promise<void> {
  if (composeV2()) return;
  const install = 'the docker compose plugin (Compose v2; Debian 13: apt-get install docker-compose)';
  if (!canInstallPackages()) fail(`${install} is missing; install it and run npm test again`);
  say("fetching Compose v2 from Debian 13's docker-compose package (plugin only)");
  const scratch = mkdtempSync(join(tmpdir(), 'flowlab-compose-v2-'));
  let problem: string | undefined;
  try {
    for (const d of ['lists/partial', 'cache/archives/partial', 'pkg']) mkdirSync(join(scratch, d), { recursive: true });
    writeFileSync(join(scratch, 'sources.list'), `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${DEBIAN_MIRROR} trixie main\n`);
    const apt = [
      '-q', '-o', `Dir::Etc::SourceList=${join(scratch, 'sources.list')}`, '-o', 'Dir::Etc::SourceParts=/nonexistent',
      '-o', `Dir::State::Lists=${join(scratch, 'lists')}`, '-o', `Dir::Cache=${join(scratch, 'cache')}`,
      '-o', 'Dir::Cache::pkgcache=', '-o', 'Dir::Cache::srcpkgcache=', '-o', 'APT::Sandbox::User=root',
      // The machine's own update hooks (command-not-found and the like) have no business with these lists.
      '-o', 'APT::Update::Pre-Invoke::=', '-o', 'APT::Update::Post-Invoke::=', '-o', 'APT::Update::Post-Invoke-Success::=',
    ];
    await runLogged('apt-get', [...apt, 'update'], () => {});
    execFileSync('apt-get', [...apt, 'download', 'docker-compose'], { cwd: join(scratch, 'pkg'), stdio: 'ignore' });
    const deb = readdirSync(join(scratch, 'pkg')).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download docker-compose fetched no package');
    execFileSync('dpkg-deb', ['-x', join(scratch, 'pkg', deb), join(scratch, 'root')]);
    mkdirSync(PLUGIN_DIR, { recursive: true });
    copyFileSync(join(scratch, 'root', 'usr', 'libexec', 'docker', 'cli-plugins', 'docker-compose'), join(PLUGIN_DIR, 'docker-compose'));
    chmodSync(join(PLUGIN_DIR, 'docker-compose'), 0o755);
  } catch (e) {
    problem = (e as Error).message.split('\n')[0];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (problem) fail(`could not fetch Compose v2 from Debian 13 at ${DEBIAN_MIRROR} (${problem}); install ${install}`);
  if (!composeV2()) fail(`Compose v2 was put in ${PLUGIN_DIR} but \`${DOCKER_CLI} compose version\` does not answer`);
}

/** docker-compose 1.29, the other Compose the file must work with: Debian 12's package. */
async function ensureComposeV1(): Promise<void> {
  if (composeV1()) return;
  const candidate = /Candidate:\s*(\S+)/.exec(commandOutput('apt-cache', ['policy', 'docker-compose']) ?? '')?.[1] ?? '';
  // Debian 13's docker-compose package is v2: installing it would not give 1.29.
  if (canInstallPackages() && !/^1\./.test(candidate)) {
    fail(`docker-compose 1.29 is missing and apt offers ${candidate ? `docker-compose ${candidate}, not 1.x` : 'no docker-compose'}; install 1.29 (Debian 12's package, or pip install docker-compose==1.29.2) and run npm test again`);
  }
  await ensureTool('docker-compose 1.29 (for the container tests)', composeV1, 'docker-compose');
}

async function main(): Promise<void> {
  const settings = loadSettings();
  const report = await doctor(settings, { fix: true, progress: quiet });
  for (const c of report.checks) if (c.fix && c.status === 'ok') say(`${c.name}: ${c.fix}`);
  const errors = report.checks.filter((c) => c.status === 'error');
  if (errors.length > 0) fail(errors.map((c) => `${c.name}: ${c.detail}${c.fix ? ` (fix: ${c.fix})` : ''}`).join('; '));
  const images = report.checks.find((c) => c.name === 'images');
  if (images?.status !== 'ok') fail(`lab images are not ready: ${images?.detail}`);

  await ensureTool('Chromium (for the browser tests)', () => existsSync(CHROMIUM), 'chromium');
  await ensureTool('tshark (for decoder cross-checks)', () => commandExists('tshark'), 'tshark');
  await ensureTool('openssl (certificates for the test engines)', () => commandExists('openssl'), 'openssl');
  await ensureTool('ssh-agent, ssh-add and ssh-keyscan (the test engine over ssh)', () => ['ssh-agent', 'ssh-add', 'ssh-keyscan', 'ssh-keygen'].every(commandExists), 'openssh-client');
  await ensureComposeV1();
  await ensureComposeV2();

  // Objects an earlier, interrupted run left: their registries are gone, so they are dead.
  const scratch = mkdtempSync(join(tmpdir(), 'flowlab-sweep-'));
  const app = openApp({ dataDir: scratch });
  try {
    const swept = await app.engine.sweep();
    if (swept.removed.length > 0) say(`swept ${swept.removed.length} session(s) an earlier run left behind`);
    for (const f of swept.failed) say(`warning: could not sweep session ${f.session} yet: ${f.error}`);
  } finally {
    app.close();
    rmSync(scratch, { recursive: true, force: true });
  }

  // The test engines' image (a dockerd in a container), and test beds a killed run left behind.
  const rt = new DockerRuntime();
  const base = await ensureBase(rt, quiet);
  if ((await ensureEngineNodeImage(rt, base.ref, join(PROJECT_ROOT, 'images', 'engine-node'))) === 'built') say(`built ${ENGINE_NODE_IMAGE} for the test engines`);
  await removeTestbeds();

  say('building the web app');
  execFileSync(process.execPath, [join(PROJECT_ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  say('ready: Docker engine, swarm, lab images, test engine image, Chromium, tshark, docker-compose 1.29 and Compose v2, web app');
}

await main();
