// Schema versions, oldest first. Append only: a released migration is never edited.

export const MIGRATIONS: readonly string[] = [
  // 1: the session registry.
  `
  CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    scenario    TEXT NOT NULL,
    lab_file    TEXT NOT NULL,
    seed        INTEGER NOT NULL,
    variant     TEXT,
    state       TEXT NOT NULL CHECK (state IN ('starting', 'ready', 'ended', 'failed')),
    owner       TEXT NOT NULL,
    owner_pid   INTEGER NOT NULL,
    owner_host  TEXT NOT NULL,
    owner_start TEXT,
    created_at  INTEGER NOT NULL,
    ready_at    INTEGER,
    ended_at    INTEGER,
    error       TEXT,
    lab         TEXT NOT NULL,
    topology    TEXT
  );
  CREATE INDEX sessions_state ON sessions (state);

  CREATE TABLE actions (
    session       TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    command       TEXT NOT NULL,
    reveals_fault INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session, seq)
  );

  -- Subnets and host ports a session holds, so concurrent sessions never collide.
  CREATE TABLE leases (
    kind    TEXT NOT NULL CHECK (kind IN ('subnet', 'port')),
    value   TEXT NOT NULL,
    session TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    PRIMARY KEY (kind, value)
  );
  `,
];
