// Workshop tokens: signed with the data directory's key, verified only with it, and nothing a
// holder changes in one passes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TokenSigner } from './tokens.ts';

const dirs: string[] = [];
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), 'flowlab-tokens-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('workshop tokens', () => {
  it('say who signed in: the trainer, or a learner of a workshop', () => {
    const s = new TokenSigner(dir());
    expect(s.verify(s.sign({ role: 'trainer' }))).toEqual({ role: 'trainer' });
    expect(s.verify(s.sign({ role: 'learner', learner: 'l1', workshop: 'w1' }))).toEqual({ role: 'learner', learner: 'l1', workshop: 'w1' });
  });

  it('the same key makes the same signer across restarts; another data directory’s does not verify', () => {
    const d = dir();
    const token = new TokenSigner(d).sign({ role: 'trainer' });
    expect(new TokenSigner(d).verify(token)).toEqual({ role: 'trainer' });
    expect(new TokenSigner(dir()).verify(token)).toBeUndefined();
  });

  it('refuse a payload changed by its holder, a forged signature, and malformed tokens', () => {
    const s = new TokenSigner(dir());
    const learner = s.sign({ role: 'learner', learner: 'l1', workshop: 'w1' });
    const [, mac] = learner.split('.');
    const trainerPayload = Buffer.from(JSON.stringify({ r: 't' })).toString('base64url');
    expect(s.verify(`${trainerPayload}.${mac}`)).toBeUndefined();
    for (const t of ['', 'x', 'a.b', `${learner}x`, learner.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), `${'A'.repeat(400)}.${mac}`]) expect(s.verify(t), t).toBeUndefined();
  });

  it('refuse a key file that is not one, saying what to do', () => {
    const d = dir();
    writeFileSync(join(d, 'workshop.key'), 'not a key');
    expect(() => new TokenSigner(d)).toThrow(/is not a workshop key \(expected 64 hex characters\); delete it to make a new one/);
  });
});
