#!/usr/bin/env node
// The flowlab command. Runs dist/cli.mjs when it is newer than every source file (npm install
// and npm start build it), otherwise the TypeScript sources through tsx: never a stale build.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (p.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

async function load() {
  const bundle = join(root, 'dist', 'cli.mjs');
  const built = statSync(bundle, { throwIfNoEntry: false });
  // An installed copy without the sources (the container image) always runs its bundle.
  const sources = join(root, 'server');
  const newest = statSync(sources, { throwIfNoEntry: false }) ? newestSource(sources) : 0;
  if (built && built.mtimeMs >= newest) return import(pathToFileURL(bundle).href);
  const { register } = await import('tsx/esm/api');
  register();
  return import('../server/cli/main.ts');
}

const { main } = await load();
const code = await main(process.argv.slice(2));
if (code !== undefined) {
  process.exitCode = code;
  // Idle Docker connections must not keep a finished command alive.
  setTimeout(() => process.exit(code), 50).unref();
}
