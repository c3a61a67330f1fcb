import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { loadLab } from '../lab/catalogue.ts';
import { DB_FILE, openDb, peekSession, StoreError } from './db.ts';
import { MIGRATIONS } from './migrations.ts';
import { SessionStore } from './sessions.ts';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'flowlab-store-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const { lab } = loadLab('bridge-basics');
const newSession = (id: string) => ({ id, scenario: lab.id, labFile: 'x.yaml', seed: 7, variant: null, owner: 'o1', ownerPid: process.pid, ownerHost: 'h', ownerStart: null, lab, detached: false });

describe('the registry database', () => {
  it('is created in WAL mode at the latest schema version', () => {
    const db = openDb(tempDir());
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
  });

  it('refuses a corrupt file with a clear message and leaves it as it was', () => {
    const dir = tempDir();
    const file = join(dir, DB_FILE);
    writeFileSync(file, 'this is not a database, it is a note that matters'.repeat(100));
    const before = readFileSync(file);
    expect(() => openDb(dir)).toThrow(StoreError);
    expect(() => openDb(dir)).toThrow(/corrupt or not a database.*will not overwrite it/);
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('refuses a database from a newer Flowlab and leaves it as it was', () => {
    const dir = tempDir();
    const db = openDb(dir);
    db.pragma(`user_version = ${MIGRATIONS.length + 5}`);
    db.close();
    expect(() => openDb(dir)).toThrow(/from a newer Flowlab \(schema version \d+; this Flowlab knows up to \d+\)/);
    const raw = new Database(join(dir, DB_FILE));
    expect(raw.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length + 5);
    raw.close();
  });

  it('refuses a foreign SQLite file', () => {
    const dir = tempDir();
    const raw = new Database(join(dir, DB_FILE));
    raw.exec('CREATE TABLE recipes (name TEXT)');
    raw.close();
    expect(() => openDb(dir)).toThrow(/other tables; Flowlab will not touch it/);
  });
});

describe('SessionStore', () => {
  it('records sessions, states and actions, and hides fault-revealing actions unless asked', () => {
    const dir = tempDir();
    const store = new SessionStore(openDb(dir));
    store.create(newSession('aaaa0001'));
    expect(store.get('aaaa0001')).toMatchObject({ state: 'starting', seed: 7, lab: { id: 'bridge-basics' } });
    store.appendAction('aaaa0001', 'docker network create x', false);
    store.appendAction('aaaa0001', 'docker exec x lab-serve rebind --bind 127.0.0.1', true);
    expect(store.actions('aaaa0001', { includeRevealing: false }).map((a) => a.command)).toEqual(['docker network create x']);
    expect(store.actions('aaaa0001', { includeRevealing: true }).map((a) => a.seq)).toEqual([1, 2]);
    store.markEnded('aaaa0001', 'ended');
    expect(store.get('aaaa0001')?.state).toBe('ended');
    expect(peekSession(dir, 'aaaa0001')?.state).toBe('ended');
    expect(peekSession(dir, 'ffff0000')).toBeUndefined();
  });

  it('never leases one subnet or port to two sessions, across connections', () => {
    const dir = tempDir();
    const a = new SessionStore(openDb(dir));
    const b = new SessionStore(openDb(dir));
    a.create(newSession('aaaa0002'));
    b.create(newSession('bbbb0002'));
    const candidates = ['10.88.0.0/24', '10.88.1.0/24', '10.88.2.0/24'];
    const gotA = a.lease('aaaa0002', 'subnet', 2, candidates, () => true);
    const gotB = b.lease('bbbb0002', 'subnet', 2, candidates, () => true);
    expect(gotA).toEqual(['10.88.0.0/24', '10.88.1.0/24']);
    expect(gotB).toEqual(['10.88.2.0/24']);
    a.markEnded('aaaa0002', 'ended');
    expect(b.lease('bbbb0002', 'subnet', 1, candidates, () => true)).toEqual(['10.88.0.0/24']);
  });
});
