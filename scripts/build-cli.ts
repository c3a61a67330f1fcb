// Bundles the flowlab command into dist/cli.mjs so it starts without compiling TypeScript first.
// bin/flowlab.js uses the bundle only while it is newer than every source file; otherwise it runs
// the sources through tsx, so a stale bundle can never run.
import { build } from 'esbuild';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../server/config.ts';

await build({
  entryPoints: [join(PROJECT_ROOT, 'server', 'cli', 'main.ts')],
  outfile: join(PROJECT_ROOT, 'dist', 'cli.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
