// Engine addresses: each scheme gives dockerode what it needs, and anything else is refused with
// what was expected and what was found, before anything connects.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { apiAtLeast, dockerOptions } from './connect.ts';

const dir = mkdtempSync(join(tmpdir(), 'flowlab-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';

describe('engine addresses', () => {
  it('unix, tcp with TLS, and ssh become dockerode options', () => {
    expect(dockerOptions({ url: 'unix:///var/run/docker.sock' })).toEqual({ socketPath: '/var/run/docker.sock' });
    writeFileSync(join(dir, 'ca.pem'), PEM);
    writeFileSync(join(dir, 'cert.pem'), PEM);
    writeFileSync(join(dir, 'key.pem'), KEY);
    expect(dockerOptions({ url: 'tcp://10.0.0.5:2376', tlsDir: dir })).toEqual({ host: '10.0.0.5', port: 2376, protocol: 'https', ca: PEM, cert: PEM, key: KEY });
    expect(dockerOptions({ url: 'tcp://node-2', tlsDir: dir })).toMatchObject({ host: 'node-2', port: 2376 });
    // ssh: the agent's keys, and the host's key checked against known_hosts.
    const known = join(dir, 'known_hosts');
    const engineKey = Buffer.from('the engine host key blob');
    writeFileSync(known, `[node-3]:2222 ssh-ed25519 ${engineKey.toString('base64')}\n`);
    const env = { SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK, FLOWLAB_KNOWN_HOSTS: process.env.FLOWLAB_KNOWN_HOSTS };
    try {
      delete process.env.SSH_AUTH_SOCK;
      process.env.FLOWLAB_KNOWN_HOSTS = known;
      expect(() => dockerOptions({ url: 'ssh://ada@node-3:2222' })).toThrow(/ssh:\/\/ada@node-3:2222 logs in with your ssh agent's keys, and SSH_AUTH_SOCK is not set/);
      process.env.SSH_AUTH_SOCK = '/tmp/agent.sock';
      const o = dockerOptions({ url: 'ssh://ada@node-3:2222' }) as { sshOptions: { hostVerifier: (k: Buffer) => boolean } };
      expect(o).toMatchObject({ protocol: 'ssh', host: 'node-3', port: 2222, username: 'ada', sshOptions: { agent: '/tmp/agent.sock' } });
      expect(o.sshOptions.hostVerifier(engineKey)).toBe(true);
      expect(o.sshOptions.hostVerifier(Buffer.from('another key'))).toBe(false);
      expect(() => dockerOptions({ url: 'ssh://ada@node-4' })).toThrow(new RegExp(`the ssh host key of node-4 is not in ${known}; expected it there.*ssh-keyscan node-4 >> ${known}`));
      expect(() => dockerOptions({ url: 'ssh://node-3:2222' })).toThrow(/expected the user to log in as, like ssh:\/\/ubuntu@node-3/);
    } finally {
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('refuses what is not an engine address, saying what was expected', () => {
    expect(() => dockerOptions({ url: 'node-2:2376' })).toThrow(/expected tcp:\/\/, ssh:\/\/ or unix:\/\/ before the engine's address; found "node-2:2376"/);
    expect(() => dockerOptions({ url: 'http://node-2:2376' })).toThrow(/expected tcp:\/\/, ssh:\/\/ or unix:\/\/.*found "http:\/\/node-2:2376"/);
    expect(() => dockerOptions({ url: 'not a url' })).toThrow(/expected an engine address like tcp:\/\/host:2376.*found "not a url"/);
    expect(() => dockerOptions({ url: 'tcp://10.0.0.5:2376' })).toThrow(/needs TLS client certificates \(--tls-dir DIR with ca\.pem, cert\.pem, key\.pem\)/);
    expect(() => dockerOptions({ url: 'unix:///var/run/docker.sock', tlsDir: dir })).toThrow(/--tls-dir is for tcp:\/\/ engines/);
    expect(() => dockerOptions({ url: 'tcp://10.0.0.5:2376', tlsDir: join(dir, 'nope') })).toThrow(/--tls-dir .*nope is not a folder; expected one holding ca\.pem, cert\.pem, key\.pem/);
  });

  it('refuses missing or malformed certificates, naming the file', () => {
    const bad = mkdtempSync(join(dir, 'bad-'));
    writeFileSync(join(bad, 'ca.pem'), PEM);
    expect(() => dockerOptions({ url: 'tcp://h:2376', tlsDir: bad })).toThrow(/has no cert\.pem, key\.pem/);
    writeFileSync(join(bad, 'cert.pem'), 'hello');
    writeFileSync(join(bad, 'key.pem'), KEY);
    expect(() => dockerOptions({ url: 'tcp://h:2376', tlsDir: bad })).toThrow(/cert\.pem is not a PEM certificate; expected a file starting with -----BEGIN CERTIFICATE-----/);
    writeFileSync(join(bad, 'cert.pem'), PEM);
    writeFileSync(join(bad, 'key.pem'), PEM);
    expect(() => dockerOptions({ url: 'tcp://h:2376', tlsDir: bad })).toThrow(/key\.pem is not a PEM private key/);
  });

  it('compares API versions as numbers', () => {
    expect(apiAtLeast('1.41', '1.41')).toBe(true);
    expect(apiAtLeast('1.43', '1.41')).toBe(true);
    expect(apiAtLeast('1.9', '1.41')).toBe(false);
    expect(apiAtLeast('1.40', '1.41')).toBe(false);
    expect(apiAtLeast('2.0', '1.41')).toBe(true);
  });
});
