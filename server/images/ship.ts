// Lab images on an engine of the pool: built once here (the local engine), then sent to each
// engine that lacks them, as `docker save | docker load` does — no registry. An image is the same
// (same id) on every engine, so one already there is left alone.
import { PassThrough } from 'node:stream';
import type { DockerApi } from '../docker/types.ts';
import { imagesNeeded } from '../lab/lab-images.ts';
import { ensureLabImages, type Progress } from './build.ts';

const inFlight = new Map<string, Promise<void>>();

/** Makes sure `to` (the engine named `engine`) has every lab image `from` has, up to date (the engine node's too, for a lab with nodes). */
export function shipLabImages(from: DockerApi, to: DockerApi, engine: string, progress: Progress = () => {}, opts: { nodes?: boolean } = {}): Promise<void> {
  const key = `${engine}${opts.nodes ? ' nodes' : ''}`;
  let p = inFlight.get(key);
  if (!p) {
    p = (async () => {
      await ensureLabImages(from, progress, opts);
      await sendImages(from, [{ rt: to, engine }], imagesNeeded(opts).map((i) => i.ref), progress);
    })().finally(() => inFlight.delete(key));
    inFlight.set(key, p);
  }
  return p;
}

/**
 * Sends each image `from` has to every engine of `to` that lacks it (or has another of that name):
 * the image is saved once and its one stream loaded into each of them at once (a lab's nodes), the
 * slowest load setting the pace. `engine` names each for messages (a docker context's name).
 */
export async function sendImages(from: DockerApi, to: readonly { rt: DockerApi; engine: string }[], refs: readonly string[], progress: Progress = () => {}): Promise<void> {
  const where = to.map((t) => `engine ${t.engine}`).join(', ');
  for (const ref of refs) {
    const here = await from.imageInfo(ref);
    if (!here) throw new Error(`${ref} is not built here, so it cannot be sent to ${where}`);
    const lacking = (await Promise.all(to.map(async (t) => ((await t.rt.imageInfo(ref))?.id === here.id ? undefined : t)))).filter((t) => t !== undefined);
    if (lacking.length === 0) continue;
    const names = lacking.map((t) => `engine ${t.engine}`).join(', ');
    progress(`sending ${ref} to ${names} (${Math.round(here.size / 2 ** 20)} MB)`);
    const started = Date.now();
    const tar = await from.saveImage(ref);
    const copies = lacking.map(() => new PassThrough({ highWaterMark: 1 << 20 }));
    for (const c of copies) tar.pipe(c);
    const failed = (e: Error) => copies.forEach((c) => c.destroy(e));
    tar.on('error', failed);
    await Promise.all(lacking.map((t, i) => t.rt.loadImage(copies[i]!, { ref, engine: t.engine }).catch((e: Error) => (failed(e), Promise.reject(e)))));
    progress(`sent ${ref} to ${names} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}
