// Part of `npm run lint`: imports point one way (entry points -> core -> the Docker layer), the
// web app imports only the shared protocol from the server, there are no import cycles and no
// deep relative imports.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { PROJECT_ROOT } from '../server/config.ts';
import { filesUnder } from '../server/util/files.ts';

/** Lower layers never import higher ones. The most specific prefix wins. */
const LAYERS: [string, number][] = [
  ['server/config.ts', 0],
  ['server/util/', 0],
  ['server/protocol/', 1],
  ['server/lab/', 2],
  ['server/docker/', 2],
  ['server/env/system.ts', 2],
  ['server/env/kernel.ts', 2],
  ['server/store/', 3],
  ['server/images/', 4],
  ['server/engines/', 4],
  ['server/session/', 5],
  ['server/probe/', 6],
  ['server/fault/', 6],
  ['server/flow/', 6],
  ['server/grade/', 7],
  ['server/console/', 6],
  ['server/check/', 8],
  ['server/workshop/', 8],
  ['server/app/', 8],
  ['server/http/', 9],
  ['server/cli/', 10],
];
/** Layers that must not import each other even though they share a rank. */
const SEPARATE = [['server/lab/', 'server/docker/']];

const ROOTS = ['server', 'web/src', 'test', 'bench', 'scripts'];

function files(dir: string): string[] {
  return filesUnder(join(PROJECT_ROOT, dir)).filter((p) => p.endsWith('.ts')).map((p) => join(dir, p));
}

function layerOf(file: string): [string, number] | undefined {
  return LAYERS.filter(([prefix]) => file === prefix || file.startsWith(prefix)).sort((a, b) => b[0].length - a[0].length)[0];
}

const problems: string[] = [];
const graph = new Map<string, string[]>();
for (const file of ROOTS.flatMap(files)) {
  const text = readFileSync(join(PROJECT_ROOT, file), 'utf8');
  const deps: string[] = [];
  // Type-only imports vanish at run time: they count for layers, not for cycles.
  for (const m of text.matchAll(/^\s*(import type|import|export)\s[^;]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'|import\('([^']+)'\)/gm)) {
    const typeOnly = m[1] === 'import type';
    const spec = m[2] ?? m[3] ?? m[4]!;
    if (!spec.startsWith('.')) continue;
    if (spec.startsWith('../../../')) problems.push(`${file}: deep relative import "${spec}"; import from a nearer module`);
    const target = relative(PROJECT_ROOT, resolve(dirname(join(PROJECT_ROOT, file)), spec));
    if (!typeOnly) deps.push(target);
    if (file.startsWith('web/') && !target.startsWith('web/') && !target.startsWith('server/protocol/')) {
      problems.push(`${file}: the web app imports "${target}"; it may import only server/protocol/ from the server`);
    }
    if (!file.startsWith('server/') || file.endsWith('.test.ts')) continue;
    const from = layerOf(file);
    const to = layerOf(target);
    if (from && to && to[1] > from[1]) problems.push(`${file}: imports ${target}, a higher layer (${to[0]} over ${from[0]}); imports point from entry points to core to the Docker layer`);
    for (const [a, b] of SEPARATE) {
      if ((file.startsWith(a!) && target.startsWith(b!)) || (file.startsWith(b!) && target.startsWith(a!))) problems.push(`${file}: imports ${target}; ${a} and ${b} stay independent`);
    }
  }
  graph.set(file, deps);
}

// Cycles, by depth-first search.
const state = new Map<string, 'visiting' | 'done'>();
const visit = (file: string, trail: string[]) => {
  if (state.get(file) === 'done') return;
  if (state.get(file) === 'visiting') {
    problems.push(`import cycle: ${[...trail.slice(trail.indexOf(file)), file].join(' -> ')}`);
    return;
  }
  state.set(file, 'visiting');
  for (const d of graph.get(file) ?? []) if (graph.has(d)) visit(d, [...trail, file]);
  state.set(file, 'done');
};
for (const f of graph.keys()) visit(f, []);

if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error(`${problems.length} import problem(s)`);
  process.exit(1);
}
console.log(`imports: ${graph.size} files, layers respected, no cycles`);
