// The one recursive file walk: every file under a folder, as paths relative to it, sorted, so a
// hash of them or an upload of them reads the same on every machine.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Files under `dir` (relative paths, sorted), following symbolic links; `keep` decides on each entry's name (hidden ones by default are kept). */
export function filesUnder(dir: string, keep: (name: string, isDir: boolean) => boolean = () => true): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = rel ? join(rel, e.name) : e.name;
      // A symbolic link counts as what it points at (a linked folder of labs is walked).
      const isDir = e.isDirectory() || (e.isSymbolicLink() && statSync(join(dir, p), { throwIfNoEntry: false })?.isDirectory() === true);
      if (!keep(e.name, isDir)) continue;
      if (isDir) visit(p);
      else out.push(p);
    }
  };
  visit('');
  return out;
}
