// The engine pool on real engines: two dockerd test engines on TCP with TLS, added, listed,
// drained and removed through the CLI and the HTTP API; every bad input refused with what was
// expected, naming the engine, and nothing stored. The bed goes afterwards, even on failure.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineRegistry } from '../server/engines/registry.ts';
import { startServer, type Running } from '../server/http/server.ts';
import { openDb } from '../server/store/db.ts';
import { cli, tempDataDir } from './helpers.ts';
import { EngineBed } from './engines/bed.ts';
import { makeCerts } from './engines/certs.ts';

let bed: EngineBed;
const data = tempDataDir();
const env = { FLOWLAB_DATA: data };
const scratch = mkdtempSync(join(tmpdir(), 'flowlab-engines-'));

beforeAll(async () => {
  bed = await EngineBed.start(2);
}, 180_000);
afterAll(async () => {
  await bed?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const ls = async () => JSON.parse((await cli(['engines', 'ls', '--json'], env)).stdout) as { name: string; url: string; state: string; drained: boolean; sessions: number; facts: { cpus: number; memoryBytes: number; api: string; version: string; swarm: boolean } | null; error: string | null }[];

describe('flowlab engines', () => {
  it('adds a TLS engine and lists it beside local with what it says of itself', async () => {
    const [n1] = bed.engines;
    const r = await cli(['engines', 'add', 'node-1', n1!.url, '--tls-dir', n1!.tlsDir], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^engine node-1 added: Docker \d+\.\d+\.\d+\S* \(API 1\.\d+\), \d+ CPUs, \d+\.\d GiB$/m);
    const list = await ls();
    expect(list.map((e) => e.name)).toEqual(['local', 'node-1']);
    expect(list[1]).toMatchObject({ url: n1!.url, state: 'up', drained: false, sessions: 0, error: null, facts: { swarm: false } });
    expect(list[1]!.facts!.cpus).toBeGreaterThan(0);
    const table = (await cli(['engines', 'ls'], env)).stdout;
    expect(table).toMatch(/^NAME\s+URL\s+STATE\s+DOCKER\s+CPUS\s+MEMORY\s+SESSIONS\s+CONTAINERS\s+CAPABILITIES$/m);
    expect(table).toMatch(new RegExp(`^node-1\\s+${n1!.url.replace(/\./g, '\\.')}\\s+up\\s+\\d+\\.`, 'm'));
  });

  it('refuses every bad input with what was expected, and stores nothing', async () => {
    const [n1, n2] = bed.engines;
    const other = makeCerts(join(scratch, 'other'), [n2!.ip], 'not-the-engines-ca');
    const cases: [string[], RegExp][] = [
      [['engines', 'add', 'node-1', n2!.url, '--tls-dir', n2!.tlsDir], /an engine named "node-1" is already in the pool/],
      [['engines', 'add', 'local', n2!.url, '--tls-dir', n2!.tlsDir], /an engine named "local" is already in the pool/],
      [['engines', 'add', 'Node_2', n2!.url, '--tls-dir', n2!.tlsDir], /expected an engine name of lower-case letters.*found "Node_2"/],
      [['engines', 'add', 'node-2', `http://${n2!.ip}:2376`], /expected tcp:\/\/, ssh:\/\/ or unix:\/\/ before the engine's address; found "http:/],
      [['engines', 'add', 'node-2', n2!.url], /needs TLS client certificates \(--tls-dir DIR/],
      [['engines', 'add', 'node-2', n2!.url, '--tls-dir', join(scratch, 'nowhere')], /is not a folder; expected one holding ca\.pem, cert\.pem, key\.pem/],
      [['engines', 'add', 'node-2', n2!.url, '--tls-dir', other.clientDir], /engine "node-2" at tcp:\/\/.* did not answer: .*(certificate|self.signed|verify).*expected a Docker engine listening there that trusts the certificates in/i],
      [['engines', 'add', 'node-2', `tcp://${n1!.ip}:2399`, '--tls-dir', n2!.tlsDir], /engine "node-2" at tcp:\/\/.*:2399 did not answer: .*(ECONNREFUSED|refused)/],
      [['engines', 'rm', 'local'], /the local engine is where Flowlab finds Docker .*cannot be removed/],
      [['engines', 'drain', 'nope'], /no engine named "nope"; the engines are: local, node-1/],
    ];
    for (const [args, want] of cases) {
      const r = await cli(args, env);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(want);
      expect(r.stderr, args.join(' ')).not.toMatch(/\n\s+at /); // never a stack trace
    }
    expect((await ls()).map((e) => e.name)).toEqual(['local', 'node-1']);
  }, 120_000);

  it('refuses an engine older than API 1.41, naming its version', async () => {
    // A socket that answers as Docker 17.03 would: the version rule, without an old engine to run.
    const sock = join(scratch, 'old.sock');
    const old: Server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url?.includes('/version')) return void res.end(JSON.stringify({ Version: '17.03.2-ce', ApiVersion: '1.27', Os: 'linux' }));
      if (req.url?.includes('/info')) return void res.end(JSON.stringify({ NCPU: 1, MemTotal: 1 << 30, Containers: 0 }));
      res.end('[]');
    });
    await new Promise<void>((r) => old.listen(sock, () => r()));
    try {
      const db = openDb(data);
      try {
        await expect(new EngineRegistry(db).add('old', `unix://${sock}`)).rejects.toThrow(/engine "old" at unix:\/\/.* speaks Docker API 1\.27 \(Docker 17\.03\.2-ce\); expected 1\.41 or later/);
      } finally {
        db.close();
      }
    } finally {
      old.close();
    }
    expect((await ls()).map((e) => e.name)).toEqual(['local', 'node-1']);
  });

  it('drains and undrains an engine, and removes it', async () => {
    expect((await cli(['engines', 'drain', 'node-1'], env)).stdout).toMatch(/engine node-1 drained: it keeps its labs and takes no new ones/);
    expect((await ls()).find((e) => e.name === 'node-1')?.drained).toBe(true);
    expect((await cli(['engines', 'ls'], env)).stdout).toMatch(/^node-1\s+\S+\s+drained\s/m);
    await cli(['engines', 'undrain', 'node-1'], env);
    expect((await ls()).find((e) => e.name === 'node-1')?.drained).toBe(false);
    expect((await cli(['engines', 'rm', 'node-1'], env)).code).toBe(0);
    expect((await ls()).map((e) => e.name)).toEqual(['local']);
  });

  it('an engine that stops answering is listed down, with why; the others are not touched', async () => {
    const [n1, n2] = bed.engines;
    await cli(['engines', 'add', 'node-1', n1!.url, '--tls-dir', n1!.tlsDir], env);
    await cli(['engines', 'add', 'node-2', n2!.url, '--tls-dir', n2!.tlsDir], env);
    await bed.pause(n2!);
    try {
      const list = await ls();
      expect(list.find((e) => e.name === 'node-1')).toMatchObject({ state: 'up' });
      expect(list.find((e) => e.name === 'node-2')).toMatchObject({ state: 'down', facts: null, error: expect.stringMatching(/\w/) });
    } finally {
      await bed.unpause(n2!);
    }
    expect((await ls()).find((e) => e.name === 'node-2')).toMatchObject({ state: 'up' });
  }, 60_000);
});

describe('the engine pool over HTTP', () => {
  let server: Running;
  beforeAll(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: tempDataDir() }, background: false, handleSignals: false });
  });
  afterAll(() => server?.close());
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  it('lists, adds, drains and removes engines, and refuses bad bodies with what was expected', async () => {
    const [n1] = bed.engines;
    expect((await api('GET', '/api/engines')).body.engines).toMatchObject([{ name: 'local', state: 'up' }]);
    const added = await api('POST', '/api/engines', { name: 'node-1', url: n1!.url, tls_dir: n1!.tlsDir });
    expect(added.status).toBe(200);
    expect(added.body.engine).toMatchObject({ name: 'node-1', state: 'up' });
    const bad = await api('POST', '/api/engines', { name: 'node-2', url: n1!.url, tls: 'x' });
    expect(bad.status).toBe(400);
    expect(String(bad.body.error)).toMatch(/invalid engine at .*expected \{ "name": "node-2", "url": "tcp:/);
    expect((await api('POST', '/api/engines', { name: 'node-1', url: n1!.url, tls_dir: n1!.tlsDir })).status).toBe(409);
    expect((await api('POST', '/api/engines/node-1/drain', { drained: true })).body).toMatchObject({ name: 'node-1', drained: true });
    expect((await api('POST', '/api/engines/nope/drain', { drained: true })).status).toBe(404);
    expect((await api('DELETE', '/api/engines/node-1')).body).toMatchObject({ removed: 'node-1' });
    expect(((await api('GET', '/api/engines')).body.engines as unknown[]).length).toBe(1);
  });
});
