// The data directory's SQLite database: opened in WAL mode, migrated forward one version at a
// time, and never overwritten when it is corrupt or from a newer Flowlab.
import { mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { SessionState } from '../protocol/session.ts';
import { MIGRATIONS } from './migrations.ts';
import { FlowlabError, type ErrorKind } from '../util/errors.ts';

export type Db = Database.Database;

export class StoreError extends FlowlabError {
  override name = 'StoreError';
  constructor(message: string, kind: ErrorKind = 'internal') {
    super(message, kind);
  }
}

export const DB_FILE = 'flowlab.db';

export function openDb(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, DB_FILE);
  const existed = existsSync(file);
  let db: Db;
  try {
    db = new Database(file, { timeout: 5000 });
  } catch (e) {
    throw new StoreError(`cannot open the Flowlab database ${file}: ${(e as Error).message}`);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    const version = Number(db.pragma('user_version', { simple: true }));
    if (existed && version === 0 && hasForeignTables(db)) {
      throw new StoreError(`expected a Flowlab database at ${file}, found an SQLite file with other tables; Flowlab will not touch it. Move it away or set FLOWLAB_DATA to another folder.`);
    }
    if (version > MIGRATIONS.length) {
      throw new StoreError(
        `the database ${file} is from a newer Flowlab (schema version ${version}; this Flowlab knows up to ${MIGRATIONS.length}). Upgrade Flowlab, or set FLOWLAB_DATA to another folder; the file is left as it is.`,
      );
    }
    migrate(db, version);
    return db;
  } catch (e) {
    db.close();
    if (e instanceof StoreError) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      throw new StoreError(`the database ${file} is corrupt or not a database (${(e as Error).message}). Flowlab will not overwrite it: move it away (your session history is in it) or set FLOWLAB_DATA to another folder.`);
    }
    throw new StoreError(`cannot use the Flowlab database ${file}: ${(e as Error).message}`);
  }
}

function hasForeignTables(db: Db): boolean {
  const row = db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'`).get() as { n: number };
  return row.n > 0;
}

function migrate(db: Db, from: number): void {
  for (let v = from; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}

/**
 * A session's state and owner in another data directory's registry, read-only; undefined when
 * that registry or session does not exist (or cannot be read).
 */
export function peekSession(dataDir: string, id: string): { state: SessionState; detached: boolean; owner: { pid: number; host: string; start: string | null } } | undefined {
  const file = join(dataDir, DB_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      // Another registry may be older: before `detached`, every session was kept.
      const row = db.prepare(`SELECT * FROM sessions WHERE id = ?`).get(id) as
        | { state: SessionState; owner_pid: number; owner_host: string; owner_start: string | null; detached?: number }
        | undefined;
      return row && { state: row.state, detached: row.detached !== 0, owner: { pid: row.owner_pid, host: row.owner_host, start: row.owner_start } };
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
}
