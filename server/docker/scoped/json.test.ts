import { describe, expect, it } from 'vitest';
import { foldKey, JsonRefusal, parseStrictJson } from './json.ts';

const read = (t: string) => parseStrictJson(t, 'the body');
const refused = (t: string) => {
  try {
    read(t);
  } catch (e) {
    expect(e).toBeInstanceOf(JsonRefusal);
    return (e as Error).message;
  }
  throw new Error(`read ${t}`);
};

describe('the strict JSON reader', () => {
  it('reads what JSON.parse reads, escapes and all', () => {
    for (const t of ['{}', '[]', '{"a":[1,-2.5e3,true,false,null,"x\\u00e9\\n\\"\\\\/"]}', ' { "a" : { "b" : [ ] } } ', '"s"', '0']) expect(read(t)).toEqual(JSON.parse(t));
  });

  it('refuses a key given twice, or twice in two cases, naming where', () => {
    expect(refused('{"HostConfig":{"Privileged":false,"Privileged":true}}')).toMatch(/gives HostConfig\.Privileged twice/);
    expect(refused('{"a":{"Privileged":false,"privileged":true}}')).toMatch(/both a\.Privileged and privileged, which differ only in case/);
    // Go folds ſ onto s and the Kelvin sign onto k, as Docker's decoder does.
    expect(refused('{"SecurityOpt":[],"ſecurityOpt":["x"]}')).toMatch(/differ only in case/);
    expect(foldKey('\u212Aey')).toBe(foldKey('KEY'));
  });

  it('keeps __proto__ as data, never as the prototype', () => {
    const v = read('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses what is not JSON, trailing text, and nesting deeper than any request needs', () => {
    for (const t of ['{not json', '{"a":1,}', '[1 2]', '{"a":1} x', '"\u0001"', '{"a":01}', '']) expect(refused(t)).toMatch(/the body/);
    expect(refused(`${'['.repeat(40)}${']'.repeat(40)}`)).toMatch(/nests deeper than 32/);
  });
});
