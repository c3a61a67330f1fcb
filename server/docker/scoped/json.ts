// A JSON reader for request bodies a learner wrote. JSON.parse keeps the last of two equal keys
// and Docker's decoder matches struct keys case-insensitively (the last match wins), so a body
// with `"Privileged":false, "privileged":true` reads one way to a checker and another to the
// engine. This reader refuses what could be read two ways: a key given twice, two keys that
// differ only in case, and nesting deeper than any Docker request needs.

import { Refusal } from './refusal.ts';

/** A body that could be read two ways (or not at all): refused as unreadable (400). */
export class JsonRefusal extends Refusal {
  override name = 'JsonRefusal';
  constructor(message: string) {
    super(400, message);
  }
}

const MAX_DEPTH = 32;

/**
 * How Go's encoding/json compares a JSON key with a field name: ASCII case folded, and the two
 * Unicode letters that fold onto ASCII ones (ſ → s, K Kelvin sign → k).
 */
export function foldKey(key: string): string {
  return key.replace(/\u017f/g, 's').replace(/\u212a/g, 'k').toLowerCase();
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Parses `text`; `where` names the body in errors ("the container config"). */
export function parseStrictJson(text: string, where: string): Json {
  let i = 0;
  const at = () => `${where}, at character ${i + 1}`;
  const fail = (what: string): never => {
    throw new JsonRefusal(`${where} is not valid JSON: ${what} (at character ${i + 1})`);
  };
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  const str = (): string => {
    if (text[i] !== '"') fail(`expected a string, found ${JSON.stringify(text.slice(i, i + 12))}`);
    i++;
    let out = '';
    for (;;) {
      if (i >= text.length) fail('a string is not closed');
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c < ' ') fail('a control character inside a string');
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1];
      i += 2;
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e !== undefined && e in simple) out += simple[e];
      else if (e === 'u') {
        const hex = text.slice(i, i + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('a bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
      } else fail(`an unknown escape \\${e ?? ''}`);
    }
  };
  const num = (): number => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) fail(`unexpected ${JSON.stringify(text.slice(i, i + 12))}`);
    i += m![0].length;
    const n = Number(m![0]);
    if (!Number.isFinite(n)) fail('a number out of range');
    return n;
  };
  const value = (depth: number, path: string): Json => {
    if (depth > MAX_DEPTH) throw new JsonRefusal(`${where} nests deeper than ${MAX_DEPTH} levels at ${path || 'the top'}; no Docker request needs that`);
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: { [key: string]: Json } = {};
      const folded = new Map<string, string>();
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        const key = str();
        const here = path ? `${path}.${key}` : key;
        const seen = folded.get(foldKey(key));
        if (seen === key) throw new JsonRefusal(`${where} gives ${here} twice; Docker would keep the last one, the console keeps neither`);
        if (seen !== undefined) {
          throw new JsonRefusal(`${where} gives both ${path ? `${path}.` : ''}${seen} and ${key}, which differ only in case; Docker reads keys without case, so say it once`);
        }
        folded.set(foldKey(key), key);
        ws();
        if (text[i] !== ':') fail('expected :');
        i++;
        // defineProperty: a key named __proto__ is data, never the object's prototype.
        Object.defineProperty(obj, key, { value: value(depth + 1, here), enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const arr: Json[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1, `${path}[${arr.length}]`));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail('expected , or ]');
      }
    }
    if (c === '"') return str();
    if (text.startsWith('true', i)) return (i += 4), true;
    if (text.startsWith('false', i)) return (i += 5), false;
    if (text.startsWith('null', i)) return (i += 4), null;
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return num();
    return fail(i >= text.length ? 'it ends too early' : `unexpected ${JSON.stringify(text.slice(i, i + 12))}`);
  };
  const v = value(0, '');
  ws();
  if (i < text.length) throw new JsonRefusal(`${where} has more after its JSON value (${at()})`);
  return v;
}
