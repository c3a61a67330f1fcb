import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { knownKeys } from './known-hosts.ts';

const hashed = (name: string, salt = Buffer.from('0123456789abcdefghij')) => `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;

describe('known_hosts', () => {
  const text = [
    '# a comment',
    'node-2,10.0.0.5 ssh-ed25519 AAAAplain',
    `${hashed('10.0.0.6')} ssh-ed25519 AAAAhashed`,
    `${hashed('[10.0.0.7]:2222')} ecdsa-sha2-nistp256 AAAAport`,
    '@revoked 10.0.0.5 ssh-ed25519 AAAArevoked',
    '',
  ].join('\n');

  it('finds a host by plain name, in a list of names', () => {
    expect(knownKeys(text, '10.0.0.5', 22)).toEqual(['AAAAplain']);
    expect(knownKeys(text, 'node-2', 22)).toEqual(['AAAAplain']);
  });

  it('finds a host by its hashed name, and [host]:port for another port', () => {
    expect(knownKeys(text, '10.0.0.6', 22)).toEqual(['AAAAhashed']);
    expect(knownKeys(text, '10.0.0.7', 2222)).toEqual(['AAAAport']);
    // The same host on port 22 is another entry.
    expect(knownKeys(text, '10.0.0.7', 22)).toEqual([]);
  });

  it('knows nothing of a host it does not list, and never takes a revoked key', () => {
    expect(knownKeys(text, '10.0.0.9', 22)).toEqual([]);
    expect(knownKeys(text, '10.0.0.5', 22)).not.toContain('AAAArevoked');
    // A key listed for the host and revoked as well is not known.
    expect(knownKeys(`${text}10.0.0.5 ssh-ed25519 AAAArevoked\n`, '10.0.0.5', 22)).toEqual(['AAAAplain']);
  });
});
