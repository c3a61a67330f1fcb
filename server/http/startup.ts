// What `flowlab serve` does once it listens, in the background: a machine with no engine gets
// one (as doctor --fix would, where it may), dead sessions are swept, lab images are built. The
// page's banners read its progress from the images' state.
import type { App } from '../app/app.ts';
import { doctor, engineMissingAdvice, engineSetupHere } from '../app/doctor.ts';
import { ensureLabImages } from '../images/build.ts';
import type { ImagesState } from './routes/context.ts';

export async function startUp(app: App, images: ImagesState, log: (line: string) => void): Promise<void> {
  const note = (line: string) => {
    images.detail = line.trim();
    images.log = [...images.log.slice(-50), line];
    log(line);
  };
  try {
    // No engine yet on a fresh machine: set it up as doctor --fix would (root with apt), with progress on the page.
    const plan = await engineSetupHere(app.docker);
    if (plan === 'explain') throw new Error(engineMissingAdvice());
    if (plan === 'install') {
      images.state = 'setting-up';
      const report = await doctor(app.settings, { fix: true, progress: note });
      const failed = report.checks.filter((c) => c.status === 'error');
      if (failed.length > 0) throw new Error(failed.map((c) => `${c.name}: ${c.detail}`).join('; '));
    }
    const swept = await app.engine.sweep();
    if (swept.removed.length > 0) log(`swept ${swept.removed.length} dead session(s)`);
    for (const f of swept.failed) log(`could not sweep session ${f.session} yet: ${f.error}`);
    await ensureLabImages(
      app.docker,
      (line) => {
        if (/^(building|base image|pulling|cannot pull|installing|importing|debootstrap)/.test(line)) images.state = 'building';
        note(line);
      },
      { nodes: true },
    );
    images.state = 'ready';
    images.detail = 'lab images ready';
  } catch (e) {
    images.state = 'failed';
    images.detail = (e as Error).message;
    log(`lab images: ${(e as Error).message} (run: flowlab doctor --fix)`);
  }
}
