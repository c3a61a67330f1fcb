// Lab images: built from images/<name>/ with the engine's builder, skipped when their content
// has not changed, and based on a Debian image bootstrapped offline-from-registry when the
// configured base cannot be pulled.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IMAGES_DIR } from '../config.ts';
import type { DockerApi } from '../docker/types.ts';
import { imagesNeeded, LAB_IMAGES, type LabImage } from '../lab/lab-images.ts';
import { canInstallPackages, commandExists, installDebianPackages, runLogged } from '../env/system.ts';
import { FlowlabError, type ErrorKind } from '../util/errors.ts';
import { filesUnder } from '../util/files.ts';

export const DEFAULT_BASE = 'debian:bookworm-slim';
export const BOOTSTRAP_BASE = 'flowlab/base:bookworm';
const HASH_LABEL = 'flowlab.content-hash';
const DEBIAN_MIRROR = process.env.FLOWLAB_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';

export type Progress = (line: string) => void;

export class ImageError extends FlowlabError {
  override name = 'ImageError';
  constructor(message: string, kind: ErrorKind = 'unavailable') {
    super(message, kind);
  }
}

function contentHash(dir: string, base: string, baseId: string): string {
  const h = createHash('sha256');
  for (const rel of filesUnder(dir)) h.update(rel).update('\0').update(readFileSync(join(dir, rel))).update('\0');
  return h.update(base).update(baseId).digest('hex').slice(0, 16);
}

/** The base image to build on: the configured one, pulled if possible, else bootstrapped. */
export async function ensureBase(rt: DockerApi, progress: Progress): Promise<{ ref: string; id: string }> {
  const wanted = process.env.FLOWLAB_BASE_IMAGE ?? DEFAULT_BASE;
  for (const ref of [wanted, BOOTSTRAP_BASE]) {
    const info = await rt.imageInfo(ref);
    if (info) return { ref, id: info.id };
  }
  try {
    progress(`pulling base image ${wanted}`);
    await rt.pullImage(wanted, 60_000);
    const pulled = await rt.imageInfo(wanted);
    if (pulled) return { ref: wanted, id: pulled.id };
  } catch (e) {
    progress(`cannot pull ${wanted} (${(e as Error).message.replace(/^.*failed: /, '')})`);
  }
  progress(`base image ${wanted} is not here; no registry is needed: bootstrapping ${BOOTSTRAP_BASE} from Debian packages (about a minute)`);
  await bootstrapBase(rt, progress);
  const info = await rt.imageInfo(BOOTSTRAP_BASE);
  if (!info) throw new ImageError(`bootstrapping ${BOOTSTRAP_BASE} finished but Docker does not show the image`);
  return { ref: BOOTSTRAP_BASE, id: info.id };
}

/** debootstrap a minimal Debian into a temporary folder and `docker import` it. */
async function bootstrapBase(rt: DockerApi, progress: Progress): Promise<void> {
  if (!commandExists('debootstrap')) {
    if (!canInstallPackages()) {
      throw new ImageError(`the base image ${DEFAULT_BASE} is missing, cannot be pulled, and debootstrap is not installed to build one; install debootstrap (apt-get install debootstrap) or load ${DEFAULT_BASE} into Docker`);
    }
    progress('installing debootstrap from Debian packages');
    await installDebianPackages(['debootstrap'], progress);
  }
  const dir = mkdtempSync(join(tmpdir(), 'flowlab-base-'));
  try {
    await runLogged('debootstrap', ['--variant=minbase', 'bookworm', dir, DEBIAN_MIRROR], (l) => progress(`debootstrap: ${l}`));
    for (const p of ['usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale', 'var/cache/apt/archives', 'var/lib/apt/lists']) {
      rmSync(join(dir, p), { recursive: true, force: true });
    }
    progress(`importing ${BOOTSTRAP_BASE}`);
    const tar = spawn('tar', ['-C', dir, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await rt.importImage(tar.stdout, BOOTSTRAP_BASE);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ImageStatus {
  name: string;
  ref: string;
  built: boolean;
  upToDate: boolean;
  sizeBytes?: number;
}

/** The image an image is built on: another Flowlab image, or the Debian base. */
async function baseOf(rt: DockerApi, img: LabImage): Promise<{ ref: string; id: string } | undefined> {
  if (img.base) {
    const ref = LAB_IMAGES.find((i) => i.name === img.base)!.ref;
    const info = await rt.imageInfo(ref);
    return info ? { ref, id: info.id } : undefined;
  }
  return baseIfPresent(rt);
}

/** Whether each lab image (the engine node's too, unless `nodes` is false) exists and matches its folder, without building anything. */
export async function imageStatus(rt: DockerApi, opts: { nodes?: boolean } = { nodes: true }): Promise<ImageStatus[]> {
  const out: ImageStatus[] = [];
  for (const img of imagesNeeded(opts)) {
    const info = await rt.imageInfo(img.ref);
    const base = await baseOf(rt, img);
    const hash = base ? contentHash(join(IMAGES_DIR, img.dir), base.ref, base.id) : undefined;
    out.push({ name: img.name, ref: img.ref, built: !!info, upToDate: !!info && info.labels[HASH_LABEL] === hash, ...(info ? { sizeBytes: info.size } : {}) });
  }
  return out;
}

async function baseIfPresent(rt: DockerApi): Promise<{ ref: string; id: string } | undefined> {
  for (const ref of [process.env.FLOWLAB_BASE_IMAGE ?? DEFAULT_BASE, BOOTSTRAP_BASE]) {
    const info = await rt.imageInfo(ref);
    if (info) return { ref, id: info.id };
  }
  return undefined;
}

const inFlight = new Map<string, Promise<ImageStatus[]>>();

/**
 * Builds every lab image that is missing or out of date (with `nodes`, the engine node's too: a
 * lab with nodes needs it); a no-op when nothing changed.
 */
export function ensureLabImages(rt: DockerApi, progress: Progress = () => {}, opts: { force?: boolean; nodes?: boolean } = {}): Promise<ImageStatus[]> {
  // One build at a time per process: concurrent `up`s wait for the same build.
  const key = opts.nodes ? 'nodes' : 'labs';
  let p = inFlight.get(key);
  if (!p) {
    p = (async () => {
      if (opts.nodes) await inFlight.get('labs')?.catch(() => undefined);
      return buildAll(rt, imagesNeeded(opts), progress, opts.force ?? false);
    })().finally(() => inFlight.delete(key));
    inFlight.set(key, p);
  }
  return p;
}

async function buildAll(rt: DockerApi, images: readonly LabImage[], progress: Progress, force: boolean): Promise<ImageStatus[]> {
  const out: ImageStatus[] = [];
  for (const img of images) out.push(await buildOne(rt, img, progress, force));
  return out;
}

async function buildOne(rt: DockerApi, img: LabImage, progress: Progress, force: boolean): Promise<ImageStatus> {
  const dir = join(IMAGES_DIR, img.dir);
  const existing = await rt.imageInfo(img.ref);
  const baseNow = await baseOf(rt, img);
  if (!force && existing && baseNow && existing.labels[HASH_LABEL] === contentHash(dir, baseNow.ref, baseNow.id)) {
    progress(`${img.ref} is up to date`);
    return { name: img.name, ref: img.ref, built: true, upToDate: true, sizeBytes: existing.size };
  }
  const base = baseNow ?? (await ensureBase(rt, progress));
  const hash = contentHash(dir, base.ref, base.id);
  progress(`building ${img.ref} on ${base.ref}`);
  const started = Date.now();
  await rt.buildImage(dir, img.ref, {
    buildArgs: { BASE: base.ref },
    labels: { [HASH_LABEL]: hash, 'flowlab.image': img.name },
    onLine: (l) => progress(`  ${l}`),
  });
  const info = await rt.imageInfo(img.ref);
  const mb = ((info?.size ?? 0) / 1e6).toFixed(0);
  progress(`built ${img.ref} in ${((Date.now() - started) / 1000).toFixed(1)} s, ${mb} MB`);
  return { name: img.name, ref: img.ref, built: true, upToDate: true, ...(info ? { sizeBytes: info.size } : {}) };
}
