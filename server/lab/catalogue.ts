// Finding and loading lab files: the shipped catalogue under scenarios/, or any file a trainer names.
import { readFileSync, statSync } from 'node:fs';
import { extname, join, relative, resolve } from 'node:path';
import { SCENARIOS_DIR } from '../config.ts';
import { formatProblem, type Problem } from './problems.ts';
import type { Lab } from './schema.ts';
import { crossFileProblems, validateLabText, type LabCheck, type ValidateContext } from './validate.ts';
import { FlowlabError, type ErrorKind } from '../util/errors.ts';
import { filesUnder } from '../util/files.ts';

export class LabError extends FlowlabError {
  constructor(
    message: string,
    readonly problems: Problem[] = [],
    kind: ErrorKind = 'invalid',
  ) {
    super(problems.length > 0 ? `${message}\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}` : message, kind);
    this.name = 'LabError';
  }
}

const isLabFile = (p: string) => ['.yaml', '.yml'].includes(extname(p));

/** Every lab file under the given files and folders, sorted. */
function labFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const given of paths) {
    const p = resolve(given);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) throw new LabError(`no such file or folder: ${given}${given === p ? "" : ` (${p})`}`);
    if (st.isDirectory()) out.push(...filesUnder(p, (name, isDir) => !name.startsWith('.') && (isDir || isLabFile(name))).map((rel) => join(p, rel)));
    else out.push(p);
  }
  return out;
}

function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

export function checkFiles(paths: string[], ctx: ValidateContext = {}): LabCheck[] {
  const checks = labFiles(paths).map((file) => {
    const text = readFileSync(file, 'utf8');
    return validateLabText(displayPath(file), text, ctx);
  });
  for (const p of crossFileProblems(checks)) checks.find((c) => c.file === p.file)?.problems.push(p);
  return checks;
}

export interface CatalogueEntry {
  file: string;
  lab: Lab;
}

/**
 * The labs of the given folders (the shipped ones by default), valid ones only; a broken lab is
 * reported, not hidden, and one whose id an earlier file took is left out.
 */
export function catalogue(dirs: string | string[] = SCENARIOS_DIR, ctx: ValidateContext = {}): { labs: CatalogueEntry[]; problems: Problem[] } {
  const checks = checkFiles(typeof dirs === 'string' ? [dirs] : dirs, ctx);
  return {
    labs: checks.filter((c) => c.lab && !c.problems.some((p) => p.severity === 'error')).map((c) => ({ file: c.file, lab: c.lab! })),
    problems: checks.flatMap((c) => c.problems.filter((p) => p.severity === 'error')),
  };
}

/** A lab by catalogue id (in the given folders, the shipped ones by default) or by file path. */
export function loadLab(idOrFile: string, ctx: ValidateContext = {}, dirs: string | string[] = SCENARIOS_DIR): CatalogueEntry {
  const looksLikeFile = isLabFile(idOrFile) || idOrFile.includes('/');
  if (looksLikeFile) {
    const [check] = checkFiles([idOrFile], ctx);
    if (!check?.lab) throw new LabError(`lab file ${idOrFile} has errors:`, check?.problems.filter((p) => p.severity === 'error'));
    return { file: check.file, lab: check.lab };
  }
  const checks = checkFiles(typeof dirs === 'string' ? [dirs] : dirs, ctx);
  const found = checks.find((c) => c.lab?.id === idOrFile);
  if (found?.lab) return { file: found.file, lab: found.lab };
  const ids = checks.flatMap((c) => (c.lab ? [c.lab.id] : []));
  throw new LabError(`unknown lab "${idOrFile}"; expected a lab file path or one of: ${ids.join(', ')}`);
}
