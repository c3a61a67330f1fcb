// Where Flowlab keeps things, and the knobs a trainer can turn through the environment.
import { statSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SCENARIOS_DIR = join(PROJECT_ROOT, 'scenarios');
export const IMAGES_DIR = join(PROJECT_ROOT, 'images');
export const WEB_DIST_DIR = join(PROJECT_ROOT, 'web', 'dist');

export interface Settings {
  dataDir: string;
  /** The pool lab subnets are carved from; /24s by default. */
  subnetPool: string;
  subnetPrefix: number;
  /** Host ports handed out for `auto` published ports. */
  portRange: [number, number];
  initSwarm: boolean;
  /** How long a service may take to become healthy before `up` gives up. */
  readyTimeoutMs: number;
  /** Bytes of packets each capture sidecar keeps. */
  captureRingBytes: number;
  /**
   * Containers the engine is asked to start at once (0 = no limit); the rest queue, labs before
   * capture. Default: the number of CPUs, at least 2.
   */
  dockerStarts: number;
  /** FLOWLAB_DOCKER_STARTS was given: every engine's gate is that size, not sized from its CPUs. */
  dockerStartsFixed?: boolean;
  /** The most Flowlab containers placement puts on one engine (default: 40 per CPU of it). */
  engineContainers?: number;
  /**
   * What labels call this data directory's registry when other Flowlab processes cannot see the
   * directory (Flowlab in a container); unset, labels carry the directory's path.
   */
  registryName?: string;
  /**
   * The proxies in front of `flowlab serve` whose X-Forwarded-For and X-Forwarded-Proto are
   * believed (addresses, subnets, or express's names such as loopback); none by default, so no
   * client can name its own address, loopback ones included (host-network labs live there).
   */
  trustProxy?: string;
  /**
   * The address learners open in a workshop when a proxy or a name stands in front of this
   * server (FLOWLAB_PUBLIC_URL, like https://labs.example.org/): shown first on the dashboard.
   */
  publicUrl?: string;
  /**
   * The folders labs are served from: the shipped scenarios/ first, then each folder of
   * FLOWLAB_LABS (separated by ':'), a team's own labs. An id found twice is an error in the file
   * that repeats it, which is left out.
   */
  labDirs: string[];
  /** Standing warm pools set by FLOWLAB_WARM (or serve --warm): warm sessions kept per lab. */
  warm?: Record<string, number>;
  /** An unclaimed warm session is ended after this long (FLOWLAB_WARM_TTL; default 2 h). */
  warmTtlMs: number;
}

/** A duration as a trainer writes it: 90s, 45m, 2h (a bare number is minutes). */
export function parseDuration(raw: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*$/.exec(raw);
  const n = Number(m?.[1]);
  if (!m || !(n > 0)) throw new Error(`${what} must be a duration like 90s, 45m or 2h; found "${raw}"`);
  const unit = m[2] ?? 'm';
  return Math.round(n * (unit === 's' ? 1000 : unit === 'h' ? 3_600_000 : 60_000));
}

/** Warm pool sizes as `lab=n[,lab=n…]`. */
export function parseWarmSpec(raw: string, what: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([^=\s]+)=(\d+)$/.exec(part);
    if (!m) throw new Error(`${what} must list lab=n pairs separated by commas, like split-networks=10,icc-disabled=5; found "${part}"`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, found "${raw}"`);
  return n;
}

function portRangeFromEnv(): [number, number] {
  const raw = process.env.FLOWLAB_PORT_RANGE ?? '20000-29999';
  const m = /^(\d+)-(\d+)$/.exec(raw);
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2]);
  if (!m || lo < 1024 || hi > 65535 || lo > hi) {
    throw new Error(`FLOWLAB_PORT_RANGE must look like 20000-29999 (1024..65535), found "${raw}"`);
  }
  return [lo, hi];
}

function registryNameFromEnv(): string | undefined {
  const raw = process.env.FLOWLAB_REGISTRY_NAME;
  if (raw === undefined || raw === '') return undefined;
  // A path would pass for a data directory another Flowlab could open and judge.
  if (!/^[a-z][a-z0-9+.-]*:[A-Za-z0-9_.:-]+$/.test(raw)) throw new Error(`FLOWLAB_REGISTRY_NAME must look like container:flowlab (a scheme, a colon, a name; no path), found "${raw}"`);
  return raw;
}

function dockerStartsFromEnv(): number {
  const n = intFromEnv('FLOWLAB_DOCKER_STARTS', Math.max(2, availableParallelism()));
  if (n < 0) throw new Error(`FLOWLAB_DOCKER_STARTS must be a whole number >= 0 (containers started at once; 0 = no limit), found "${process.env.FLOWLAB_DOCKER_STARTS}"`);
  return n;
}

function engineContainersFromEnv(): { engineContainers?: number } {
  if (process.env.FLOWLAB_ENGINE_CONTAINERS === undefined) return {};
  const n = intFromEnv('FLOWLAB_ENGINE_CONTAINERS', 0);
  if (n < 1) throw new Error(`FLOWLAB_ENGINE_CONTAINERS must be a whole number >= 1 (the most Flowlab containers one engine takes), found "${process.env.FLOWLAB_ENGINE_CONTAINERS}"`);
  return { engineContainers: n };
}

function trustProxyFromEnv(): string | undefined {
  const raw = process.env.FLOWLAB_TRUST_PROXY;
  if (raw === undefined || raw.trim() === '') return undefined;
  const entries = raw.split(',').map((x) => x.trim());
  const ok = (e: string) => /^(loopback|linklocal|uniquelocal)$/.test(e) || /^(\d{1,3}\.){3}\d{1,3}(\/\d{1,2})?$/.test(e) || /^[0-9a-f:]+(\/\d{1,3})?$/i.test(e);
  const bad = entries.filter((e) => !ok(e));
  if (bad.length > 0) throw new Error(`FLOWLAB_TRUST_PROXY must list the proxies in front of Flowlab (addresses, subnets, or loopback), like 127.0.0.1 or 10.0.0.0/8; found "${bad[0]}"`);
  return entries.join(', ');
}

function labDirsFromEnv(): string[] {
  const extra = (process.env.FLOWLAB_LABS ?? '').split(':').map((d) => d.trim()).filter(Boolean);
  for (const d of extra) {
    if (!statSync(d, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`FLOWLAB_LABS must name folders of lab files, separated by ':'; "${d}" is not a folder`);
  }
  return [SCENARIOS_DIR, ...extra.map((d) => resolve(d))];
}

function publicUrlFromEnv(): string | undefined {
  const raw = process.env.FLOWLAB_PUBLIC_URL?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`FLOWLAB_PUBLIC_URL must be the address learners open, like https://labs.example.org/; found "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`FLOWLAB_PUBLIC_URL must be an http:// or https:// address; found "${raw}"`);
  return url.href;
}

export function loadSettings(overrides: Partial<Settings> = {}): Settings {
  const warm = process.env.FLOWLAB_WARM?.trim() ? parseWarmSpec(process.env.FLOWLAB_WARM, 'FLOWLAB_WARM') : undefined;
  const registryName = registryNameFromEnv();
  const trustProxy = trustProxyFromEnv();
  const publicUrl = publicUrlFromEnv();
  return {
    dataDir: resolve(process.env.FLOWLAB_DATA ?? join(homedir(), '.flowlab')),
    subnetPool: process.env.FLOWLAB_SUBNET_POOL ?? '10.88.0.0/16',
    subnetPrefix: intFromEnv('FLOWLAB_SUBNET_PREFIX', 24),
    portRange: portRangeFromEnv(),
    initSwarm: process.env.FLOWLAB_INIT_SWARM === '1',
    readyTimeoutMs: intFromEnv('FLOWLAB_READY_TIMEOUT_MS', 30_000),
    captureRingBytes: intFromEnv('FLOWLAB_CAPTURE_RING_MB', 8) * 1024 * 1024,
    dockerStarts: dockerStartsFromEnv(),
    dockerStartsFixed: process.env.FLOWLAB_DOCKER_STARTS !== undefined && process.env.FLOWLAB_DOCKER_STARTS.trim() !== '',
    ...engineContainersFromEnv(),
    labDirs: labDirsFromEnv(),
    warmTtlMs: process.env.FLOWLAB_WARM_TTL?.trim() ? parseDuration(process.env.FLOWLAB_WARM_TTL, 'FLOWLAB_WARM_TTL') : 2 * 3_600_000,
    ...(warm ? { warm } : {}),
    ...(registryName ? { registryName } : {}),
    ...(trustProxy ? { trustProxy } : {}),
    ...(publicUrl ? { publicUrl } : {}),
    ...overrides,
  };
}
