import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { filesUnder } from './files.ts';

const dir = mkdtempSync(join(tmpdir(), 'flowlab-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('filesUnder', () => {
  it('lists files sorted and relative, walks linked folders, and lets keep skip entries', () => {
    mkdirSync(join(dir, 'root/b'), { recursive: true });
    mkdirSync(join(dir, 'elsewhere'));
    writeFileSync(join(dir, 'root/z.txt'), '');
    writeFileSync(join(dir, 'root/b/a.txt'), '');
    writeFileSync(join(dir, 'root/.hidden'), '');
    writeFileSync(join(dir, 'elsewhere/lab.yaml'), '');
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'root/linked'));
    expect(filesUnder(join(dir, 'root'))).toEqual(['.hidden', join('b', 'a.txt'), join('linked', 'lab.yaml'), 'z.txt']);
    expect(filesUnder(join(dir, 'root'), (name, isDir) => !name.startsWith('.') && !(isDir && name === 'b'))).toEqual([join('linked', 'lab.yaml'), 'z.txt']);
  });
});
