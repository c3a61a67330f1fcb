// Query parameters, per route: each one the route names, read and written back by Flowlab; any
// other is refused. `filters` is JSON in Docker's two forms, read strictly like a body.
import { parseStrictJson } from './json.ts';
import { REF, SIGNAL } from './patterns.ts';
import { Refusal } from './refusal.ts';
import { bounded } from '../../util/lookup.ts';

export type Param = 'bool' | 'int' | 'time' | 'filters' | 'signal' | 'name' | 'text' | readonly string[];
export type Query = Record<string, string>;
/** Docker's filter argument, read into lists (`{"label":["a=b"]}`). */
type Filters = Record<string, string[]>;

const FORMS: Record<Exclude<Param, readonly string[] | 'bool' | 'filters'>, [RegExp, string]> = {
  int: [/^-?\d{1,10}$/, 'a whole number'],
  // Unix seconds (with a fraction) or an RFC 3339 time: what the CLI turns `--since 10m` into.
  time: [/^(\d{1,12}(\.\d{1,9})?|\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d))$/, 'a time (Unix seconds or RFC 3339)'],
  signal: [SIGNAL, 'a signal like KILL or 9'],
  name: [REF, 'a name (letters, digits, _ . -)'],
  text: [/^[A-Za-z0-9 ,_.:=+-]{0,64}$/, 'a short plain value'],
};

/** Reads the filters argument into the list form, whatever form it came in. */
function readFilters(raw: string): Filters {
  const v = parseStrictJson(raw || '{}', 'the filters argument');
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Refusal(400, `the filters argument must be a JSON object, found ${bounded(raw, 40)}`);
  const out: Filters = {};
  for (const [k, val] of Object.entries(v)) {
    if (!/^[a-z_-]{1,32}$/i.test(k)) throw new Refusal(400, `the filters argument has a filter named ${bounded(k, 40)}, which no Docker filter is called`);
    const items = Array.isArray(val) ? val : val && typeof val === 'object' ? Object.entries(val).filter(([, on]) => on === true).map(([x]) => x) : undefined;
    if (!items || items.some((x) => typeof x !== 'string' || x.length > 512)) throw new Refusal(400, `the filter ${k} must be a list of strings or a map of strings to true`);
    out[k] = items as string[];
  }
  return out;
}

/** Reads the query a route allows; anything else in it is refused. */
export function readQuery(given: Map<string, string>, allowed: Record<string, Param>, where: string): Query {
  const out: Query = {};
  for (const [k, v] of given) {
    const form = Object.hasOwn(allowed, k) ? allowed[k] : undefined;
    if (form === undefined) throw new Refusal(400, `${where} takes ${Object.keys(allowed).join(', ') || 'no query parameters'}, not ${bounded(k, 40)}`);
    if (form === 'bool') out[k] = ['', '0', 'no', 'false', 'none'].includes(v.toLowerCase()) ? '0' : '1';
    else if (form === 'filters') out[k] = writeFilters(readFilters(v));
    else if (Array.isArray(form)) {
      if (!form.includes(v)) throw new Refusal(400, `${where}: ${k} must be one of ${form.map((x) => JSON.stringify(x)).join(', ')}, found ${JSON.stringify(bounded(v, 40))}`);
      out[k] = v;
    } else {
      const [re, what] = FORMS[form as keyof typeof FORMS];
      if (!re.test(v)) throw new Refusal(400, `${where}: ${k} must be ${what}, found ${JSON.stringify(bounded(v, 40))}`);
      out[k] = v;
    }
  }
  return out;
}

/** Filters as the engine reads them best: `{"label":{"a=b":true}}`. */
export function writeFilters(f: Filters): string {
  return JSON.stringify(Object.fromEntries(Object.entries(f).map(([k, items]) => [k, Object.fromEntries(items.map((x) => [x, true]))])));
}

/** The filters a query holds (after readQuery), in list form. */
export function filtersOf(q: Query): Filters {
  return q.filters ? readFilters(q.filters) : {};
}
