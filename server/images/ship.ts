// Lab images on an engine of the pool: built once here (the local engine), then sent to each
// engine that lacks them, as `docker save | docker load` does — no registry. An image is the same
// (same id) on every engine, so one already there is left alone.
import type { DockerApi } from '../docker/types.ts';
import { LAB_IMAGES } from '../lab/lab-images.ts';
import { ensureLabImages, type Progress } from './build.ts';

const inFlight = new Map<string, Promise<void>>();

/** Makes sure `to` (the engine named `engine`) has every lab image `from` has, up to date. */
export function shipLabImages(from: DockerApi, to: DockerApi, engine: string, progress: Progress = () => {}): Promise<void> {
  let p = inFlight.get(engine);
  if (!p) {
    p = ship(from, to, engine, progress).finally(() => inFlight.delete(engine));
    inFlight.set(engine, p);
  }
  return p;
}

async function ship(from: DockerApi, to: DockerApi, engine: string, progress: Progress): Promise<void> {
  await ensureLabImages(from, progress);
  for (const img of LAB_IMAGES) {
    const [here, there] = await Promise.all([from.imageInfo(img.ref), to.imageInfo(img.ref)]);
    if (!here) throw new Error(`${img.ref} is not built here, so it cannot be sent to engine ${engine}`);
    if (there?.id === here.id) continue;
    progress(`sending ${img.ref} to engine ${engine} (${Math.round(here.size / 2 ** 20)} MB)`);
    const started = Date.now();
    await to.loadImage(await from.saveImage(img.ref), { ref: img.ref, engine });
    progress(`sent ${img.ref} to engine ${engine} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}
