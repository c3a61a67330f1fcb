// A lab file's text as YAML, with every value traceable to its line and column.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { formatPath, type Problem, type YamlPath } from './problems.ts';

export const MAX_LAB_FILE_BYTES = 256 * 1024;
const MAX_ALIASES = 100;

export interface LabSource {
  file: string;
  /** The plain data, or undefined when the YAML itself could not be read. */
  data: unknown;
  problems: Problem[];
  /** Where the value at `path` is written; with `key`, where that key is written. */
  locate(path: YamlPath, key?: string): { line: number; column: number };
  problem(severity: Problem['severity'], path: YamlPath, message: string, key?: string): Problem;
}

export function readLabSource(file: string, text: string): LabSource {
  const lineCounter = new LineCounter();
  const problems: Problem[] = [];
  const parsed: { doc?: Document } = {};
  const locateOffset = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const locate = (path: YamlPath, key?: string) => {
    if (!parsed.doc) return { line: 1, column: 1 };
    const node = walk(parsed.doc.contents as Node | null, key === undefined ? path : [...path, key], key !== undefined);
    return node?.range ? locateOffset(node.range[0]) : { line: 1, column: 1 };
  };
  const problem = (severity: Problem['severity'], path: YamlPath, message: string, key?: string): Problem => ({
    severity,
    file,
    ...locate(path, key),
    path: formatPath(key === undefined ? path : [...path, key]),
    message,
  });
  const source: LabSource = { file, data: undefined, problems, locate, problem };

  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_LAB_FILE_BYTES) {
    problems.push({
      severity: 'error', file, line: 1, column: 1, path: '(top level)',
      message: `expected a lab file of at most ${MAX_LAB_FILE_BYTES / 1024} KiB, found ${Math.ceil(bytes / 1024)} KiB`,
    });
    return source;
  }

  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, schema: 'core' });
  parsed.doc = doc;
  for (const e of [...doc.errors, ...doc.warnings]) {
    const at = locateOffset(e.pos[0]);
    const what = e.code === 'DUPLICATE_KEY' ? 'a key written once per mapping, found it twice'
      : e.code === 'TAG_RESOLVE_FAILED' ? 'plain YAML without custom tags'
      : 'valid YAML';
    problems.push({ severity: 'error', file, ...at, path: '(yaml)', message: `expected ${what}: ${e.message.split(' at line')[0]}` });
  }
  if (problems.length > 0) return source;
  try {
    source.data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    problems.push({
      severity: 'error', file, line: 1, column: 1, path: '(yaml)',
      message: `expected YAML with at most ${MAX_ALIASES} alias expansions, found more (${(e as Error).message})`,
    });
    return source;
  }
  if (source.data === null || typeof source.data !== 'object' || Array.isArray(source.data)) {
    problems.push({
      severity: 'error', file, line: 1, column: 1, path: '(top level)',
      message: `expected a mapping with id, title, services..., found ${source.data === null || source.data === undefined ? 'an empty file' : typeof source.data}`,
    });
    source.data = undefined;
  }
  return source;
}

/** The node at `path`; with `wantKey`, the key node of the last step rather than its value. */
function walk(node: Node | null, path: YamlPath, wantKey: boolean): Node | undefined {
  let cur: Node | null | undefined = node;
  let last: Node | undefined = node ?? undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(cur)) {
      const pair = cur.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return last;
      if (wantKey && i === path.length - 1) return pair.key as Node;
      last = (pair.key as Node) ?? last;
      cur = pair.value as Node | null;
      if (cur) last = cur;
    } else if (isSeq(cur) && typeof seg === 'number') {
      const item = cur.items[seg] as Node | undefined;
      if (!item) return last;
      cur = item;
      last = item;
    } else {
      return last;
    }
  }
  return last;
}
