// `flowlab doctor [--fix]`: can labs run here, and if not, what to do (or, with --fix, doing it:
// installing Debian's Docker engine and starting dockerd when we are root with apt).
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { DockerRuntime, dockerEndpoint } from '../docker/runtime.ts';
import { ensureLabImages, imageStatus } from '../images/build.ts';
import { openDb } from '../store/db.ts';
import type { Settings } from '../config.ts';
import { FEATURE_WHY, kernelFeatures } from '../env/kernel.ts';
import { canInstallPackages, commandExists, installDebianPackages } from '../env/system.ts';

export type CheckStatus = 'ok' | 'warn' | 'error';
export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to run (or what --fix did). */
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  checks: Check[];
}

const DEFAULT_SOCKET = '/var/run/docker.sock';
const DOCKERD_LOG = '/var/log/flowlab-dockerd.log';

function usesDefaultSocket(): boolean {
  const host = process.env.DOCKER_HOST;
  return !host || host === `unix://${DEFAULT_SOCKET}`;
}

async function reachable(rt: DockerRuntime): Promise<boolean> {
  try {
    await rt.ping();
    return true;
  } catch {
    return false;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts dockerd in the background (surviving this process), clearing a stale pid file first. */
async function startDockerd(rt: DockerRuntime, progress: (l: string) => void): Promise<void> {
  const pidFile = '/var/run/docker.pid';
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
      progress(`dockerd (pid ${pid}) is already starting; waiting for it`);
    } else {
      progress(`removing stale ${pidFile}`);
      rmSync(pidFile, { force: true });
    }
  }
  if (!existsSync(pidFile)) {
    progress(`starting dockerd (log: ${DOCKERD_LOG})`);
    const log = openSync(DOCKERD_LOG, 'a');
    const child = spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] });
    child.unref();
  }
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (existsSync(DEFAULT_SOCKET) && (await reachable(rt))) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  const tail = existsSync(DOCKERD_LOG) ? readFileSync(DOCKERD_LOG, 'utf8').split('\n').slice(-15).join('\n') : '';
  throw new Error(`dockerd did not answer on ${DEFAULT_SOCKET} within 60 s; its log ends with:\n${tail}`);
}

/**
 * What `flowlab serve` (and so `npm start`) does about a missing engine on its own: set it up, as
 * `doctor --fix` would, where that is possible (root with apt, the default socket) and not turned
 * off with FLOWLAB_NO_INSTALL=1; otherwise say what to install.
 */
export function engineSetupPlan(opts: { reachable: boolean; defaultSocket: boolean; canInstall: boolean; noInstall: boolean }): 'none' | 'install' | 'explain' {
  if (opts.reachable) return 'none';
  return opts.defaultSocket && opts.canInstall && !opts.noInstall ? 'install' : 'explain';
}

/** The plan for this machine, now. */
export async function engineSetupHere(rt: DockerRuntime): Promise<'none' | 'install' | 'explain'> {
  return engineSetupPlan({ reachable: await reachable(rt), defaultSocket: usesDefaultSocket(), canInstall: canInstallPackages(), noInstall: process.env.FLOWLAB_NO_INSTALL === '1' });
}

/** What to install, in words, for a machine where Flowlab will not do it itself. */
export function engineMissingAdvice(): string {
  if (!usesDefaultSocket()) return `no Docker engine answers at DOCKER_HOST=${process.env.DOCKER_HOST}; start that engine or unset DOCKER_HOST`;
  if (canInstallPackages()) return `no Docker engine answers at ${DEFAULT_SOCKET}, and FLOWLAB_NO_INSTALL=1 keeps Flowlab from installing one; run: flowlab doctor --fix (or apt-get install docker.io and start dockerd)`;
  return `no Docker engine answers at ${DEFAULT_SOCKET}; install and start one (Debian: sudo apt-get install docker.io && sudo dockerd &, or Docker Desktop), or run Flowlab as root to let it do that`;
}

/** Makes the Docker engine reachable when it can; returns what it did. */
async function ensureEngine(rt: DockerRuntime, progress: (l: string) => void): Promise<string | undefined> {
  if (await reachable(rt)) return undefined;
  if (!usesDefaultSocket()) throw new Error(`Docker is not reachable at DOCKER_HOST=${process.env.DOCKER_HOST}; start that engine or unset DOCKER_HOST`);
  if (!canInstallPackages()) {
    throw new Error(`no Docker engine answers at ${DEFAULT_SOCKET}; install and start one (Debian: sudo apt-get install docker.io && sudo dockerd &, or Docker Desktop), or run this as root to let Flowlab do it`);
  }
  const did: string[] = [];
  if (!commandExists('dockerd')) {
    progress('installing Debian\'s Docker engine (docker.io)');
    await installDebianPackages(['docker.io'], progress);
    did.push('apt-get install docker.io');
  }
  await startDockerd(rt, progress);
  did.push('started dockerd');
  return did.join('; ');
}

export async function doctor(settings: Settings, opts: { fix: boolean; progress?: (l: string) => void }): Promise<DoctorReport> {
  const progress = opts.progress ?? (() => {});
  const checks: Check[] = [];
  const rt = new DockerRuntime();

  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  checks.push(
    major > 20 || (major === 20 && minor >= 19)
      ? { name: 'node', status: 'ok', detail: `Node.js ${process.versions.node}` }
      : { name: 'node', status: 'error', detail: `Node.js ${process.versions.node}; Flowlab needs 20.19 or newer`, fix: 'install Node.js 20 LTS' },
  );

  try {
    openDb(settings.dataDir).close();
    checks.push({ name: 'data', status: 'ok', detail: `data directory ${settings.dataDir}` });
  } catch (e) {
    checks.push({ name: 'data', status: 'error', detail: (e as Error).message });
  }

  let engineOk = await reachable(rt);
  if (!engineOk && opts.fix) {
    try {
      const did = await ensureEngine(rt, progress);
      engineOk = true;
      checks.push({ name: 'docker', status: 'ok', detail: `Docker engine reachable at ${dockerEndpoint()}`, ...(did ? { fix: did } : {}) });
    } catch (e) {
      checks.push({ name: 'docker', status: 'error', detail: (e as Error).message });
    }
  } else if (!engineOk) {
    checks.push({
      name: 'docker',
      status: 'error',
      detail: `no Docker engine answers at ${dockerEndpoint()}`,
      fix: canInstallPackages() && usesDefaultSocket() ? 'flowlab doctor --fix (installs docker.io and starts dockerd)' : 'install Docker (Debian: apt-get install docker.io) and start dockerd',
    });
  }

  if (engineOk) {
    const info = await rt.info();
    if (!checks.some((c) => c.name === 'docker')) checks.push({ name: 'docker', status: 'ok', detail: `Docker ${info.serverVersion} (API ${info.apiVersion}) at ${dockerEndpoint()}` });
    const apiOk = Number(info.apiVersion.split('.')[1]) >= 41;
    if (!apiOk) checks.push({ name: 'docker-api', status: 'error', detail: `Docker API ${info.apiVersion}; Flowlab needs 1.41 (Docker 20.10) or newer`, fix: 'upgrade Docker' });

    if (info.swarm === 'active') checks.push({ name: 'swarm', status: 'ok', detail: 'swarm active: overlay labs can run' });
    else if (opts.fix) {
      try {
        await rt.swarmInit('127.0.0.1');
        checks.push({ name: 'swarm', status: 'ok', detail: 'swarm active: overlay labs can run', fix: 'docker swarm init --advertise-addr 127.0.0.1' });
      } catch (e) {
        checks.push({ name: 'swarm', status: 'warn', detail: `overlay labs need swarm, and swarm init failed: ${(e as Error).message}` });
      }
    } else {
      checks.push({ name: 'swarm', status: 'warn', detail: 'swarm is inactive: overlay labs will not start', fix: 'docker swarm init --advertise-addr 127.0.0.1 (or flowlab up --init-swarm)' });
    }

    let images = await imageStatus(rt);
    if (opts.fix && images.some((i) => !i.upToDate)) {
      try {
        images = await ensureLabImages(rt, progress, { nodes: true });
      } catch (e) {
        checks.push({ name: 'images', status: 'error', detail: `building lab images failed: ${(e as Error).message}` });
      }
    }
    if (!checks.some((c) => c.name === 'images')) {
      const stale = images.filter((i) => !i.upToDate);
      checks.push(
        stale.length === 0
          ? { name: 'images', status: 'ok', detail: images.map((i) => `${i.ref} (${((i.sizeBytes ?? 0) / 1e6).toFixed(0)} MB)`).join(', ') }
          : { name: 'images', status: 'warn', detail: `${stale.map((i) => `${i.ref} ${i.built ? 'is out of date' : 'is not built'}`).join(', ')}; labs build it on first use`, fix: 'flowlab images build' },
      );
    }
  }

  const features = kernelFeatures();
  for (const f of ['netem', 'ipvs'] as const) {
    const state = features[f];
    checks.push(
      state
        ? { name: f, status: 'ok', detail: `the kernel has ${f === 'netem' ? 'sch_netem: latency faults can run' : 'IPVS: swarm VIP services answer'}` }
        : { name: f, status: 'warn', detail: `${state === undefined ? 'cannot tell whether the Docker host\'s kernel has' : 'the kernel has no'} ${f === 'netem' ? 'sch_netem' : 'IPVS'}: ${FEATURE_WHY[f]}; labs that need it are refused` },
    );
  }

  return { ok: !checks.some((c) => c.status === 'error'), checks };
}
