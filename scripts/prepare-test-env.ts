// The set-up half of `npm test`. On a fresh CI-kind machine (Debian, root, no Docker engine, no
// browser) it installs what is missing from Debian's packages and starts dockerd; elsewhere it
// stops with a message that names what to install.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApp } from '../server/app.ts';
import { loadSettings, PROJECT_ROOT } from '../server/config.ts';
import { doctor } from '../server/env/doctor.ts';
import { canInstallPackages, commandExists, installDebianPackages } from '../server/env/system.ts';

export const CHROMIUM = process.env.FLOWLAB_CHROMIUM ?? '/usr/bin/chromium';

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

  say('building the web app');
  execFileSync(process.execPath, [join(PROJECT_ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  say('ready: Docker engine, swarm, lab images, Chromium, tshark, web app');
}

await main();
