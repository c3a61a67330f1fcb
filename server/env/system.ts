// The machine Flowlab runs on: which commands exist, and installing Debian packages when we
// are root on a Debian-like system.
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function commandExists(name: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin']) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not here either
    }
  }
  return false;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function canInstallPackages(): boolean {
  return isRoot() && commandExists('apt-get');
}

let aptUpdated = false;

/** Runs a host command, passing its output line by line to `progress`; rejects with its tail. */
export function runLogged(cmd: string, args: string[], progress: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    let tail = '';
    const onData = (b: Buffer) => {
      tail = (tail + b.toString()).slice(-3000);
      for (const line of b.toString().split('\n')) if (line.trim()) progress(line.trim());
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (exit ${code}):\n${tail}`))));
  });
}

export async function installDebianPackages(packages: string[], progress: (line: string) => void): Promise<void> {
  if (!canInstallPackages()) throw new Error(`cannot install ${packages.join(', ')}: needs root and apt-get; install them by hand`);
  if (!aptUpdated) {
    await runLogged('apt-get', ['update', '-q'], progress);
    aptUpdated = true;
  }
  await runLogged('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], progress);
}

export function commandOutput(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
  } catch {
    return undefined;
  }
}
