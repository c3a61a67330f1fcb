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
  // 2: probes and faults.
  `
  -- The subnets and host ports a session was given, so its services can be re-created alike.
  ALTER TABLE sessions ADD COLUMN allocation TEXT;

  -- Processes that created Docker objects, so sweep can tell whether their helpers are orphans.
  CREATE TABLE instances (
    id         TEXT PRIMARY KEY,
    pid        INTEGER NOT NULL,
    host       TEXT NOT NULL,
    start      TEXT,
    started_at INTEGER NOT NULL
  );

  CREATE TABLE probe_results (
    id         TEXT PRIMARY KEY,
    session    TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    source     TEXT NOT NULL,
    target     TEXT NOT NULL,
    status     TEXT NOT NULL,
    answers    TEXT NOT NULL,
    latency_ms INTEGER NOT NULL,
    command    TEXT NOT NULL,
    raw        TEXT NOT NULL
  );
  CREATE INDEX probe_results_session ON probe_results (session, at);

  -- Every fault applied to a session: the ground truth the grader checks, and what revert undoes.
  CREATE TABLE faults (
    id          TEXT PRIMARY KEY,
    session     TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    type        TEXT NOT NULL,
    params      TEXT NOT NULL,
    origin      TEXT NOT NULL CHECK (origin IN ('lab', 'variant', 'manual')),
    state       TEXT NOT NULL CHECK (state IN ('applying', 'applied', 'reverting', 'reverted', 'failed')),
    owner       TEXT NOT NULL,
    undo        TEXT,
    describe    TEXT,
    error       TEXT,
    applied_at  INTEGER,
    reverted_at INTEGER,
    created_at  INTEGER NOT NULL
  );
  CREATE INDEX faults_session ON faults (session);
  `,
  // 3: learners, attempts, hints and pinned evidence.
  `
  CREATE TABLE learners (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  );
  ALTER TABLE sessions ADD COLUMN learner INTEGER REFERENCES learners (id);

  CREATE TABLE attempts (
    id        TEXT PRIMARY KEY,
    session   TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    number    INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    diagnosis TEXT NOT NULL,
    score     INTEGER NOT NULL,
    passed    INTEGER NOT NULL,
    result    TEXT NOT NULL,
    UNIQUE (session, number)
  );

  CREATE TABLE hints_taken (
    session TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    idx     INTEGER NOT NULL,
    cost    INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (session, idx)
  );

  -- Flow events a learner pinned as evidence, kept as the server saw them (never as a client sent them).
  CREATE TABLE pins (
    session TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    id      TEXT NOT NULL,
    event   TEXT NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (session, id)
  );
  `,
  // 4: docker consoles.
  `
  -- The secret a session's console presents to its scoped Docker API.
  CREATE TABLE consoles (
    session TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    secret  TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  `,
  // 5: workshops, and who caused each action.
  `
  -- 'flowlab' (the engine, faults, probes' helpers) or 'learner' (their docker console and terminals).
  ALTER TABLE actions ADD COLUMN source TEXT NOT NULL DEFAULT 'flowlab';

  CREATE TABLE workshops (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    code         TEXT NOT NULL,
    labs         TEXT NOT NULL,
    minutes      INTEGER,
    allow_shared INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    ended_at     INTEGER,
    message      TEXT,
    message_at   INTEGER
  );
  CREATE UNIQUE INDEX workshops_open_code ON workshops (code) WHERE ended_at IS NULL;

  CREATE TABLE workshop_learners (
    id        TEXT PRIMARY KEY,
    workshop  TEXT NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    joined_at INTEGER NOT NULL,
    UNIQUE (workshop, name)
  );

  -- Every session a learner had for a lab of the workshop (a reset or an idle expiry makes a new one).
  CREATE TABLE workshop_sessions (
    session TEXT PRIMARY KEY,
    learner TEXT NOT NULL REFERENCES workshop_learners (id) ON DELETE CASCADE,
    lab     TEXT NOT NULL,
    started_at INTEGER NOT NULL
  );
  CREATE INDEX workshop_sessions_learner ON workshop_sessions (learner, lab);
  `,
  // 6: sessions that outlive the process that started them.
  `
  -- 1: started by \`flowlab up\` (lives until \`flowlab down\`); 0: lives while its owner process does
  -- (a server: when it dies unannounced, sweep removes its labs). Sessions from before were all kept.
  ALTER TABLE sessions ADD COLUMN detached INTEGER NOT NULL DEFAULT 1;
  `,
  // 7: a room's workshop: what learners typed, time worked, resets, why a lab ended, the event feed.
  `
  -- 'change' (a request Flowlab sent for the learner, as its docker command), 'command' (a docker
  -- command the learner typed in the console; changed = 1 once one of its requests changed the lab),
  -- 'shell' (a shell the learner opened in a service).
  ALTER TABLE actions ADD COLUMN kind TEXT NOT NULL DEFAULT 'change';
  ALTER TABLE actions ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;

  -- A trainer's reset starts a lab's counters afresh: sessions of an earlier round are history.
  ALTER TABLE workshop_sessions ADD COLUMN round INTEGER NOT NULL DEFAULT 0;
  -- Time the learner was active in the session (gaps of inactivity do not count), and when last.
  ALTER TABLE workshop_sessions ADD COLUMN worked_ms INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE workshop_sessions ADD COLUMN active_at INTEGER;
  -- Why the session ended: 'reset' (by the trainer), 'restart' (by the learner), 'idle', 'workshop', 'learner'.
  ALTER TABLE workshop_sessions ADD COLUMN ended_by TEXT;
  ALTER TABLE workshop_sessions ADD COLUMN variant TEXT;

  CREATE TABLE workshop_events (
    workshop TEXT NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    text     TEXT NOT NULL,
    learner  TEXT,
    lab      TEXT,
    PRIMARY KEY (workshop, seq)
  );
  -- When ending began: every screen shows "ending" until ended_at is set.
  ALTER TABLE workshops ADD COLUMN ending_at INTEGER;
  -- A learner's lab across its sessions: the round a trainer's reset begins (0 until then).
  CREATE TABLE workshop_slots (
    learner  TEXT NOT NULL REFERENCES workshop_learners (id) ON DELETE CASCADE,
    lab      TEXT NOT NULL,
    round    INTEGER NOT NULL,
    reset_at INTEGER NOT NULL,
    PRIMARY KEY (learner, lab)
  );
  `,
  `
  -- The Docker engines labs are placed on, besides "local" (the one DOCKER_HOST or the default
  -- socket names), which is never stored.
  CREATE TABLE engines (
    name       TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    tls_dir    TEXT,
    added_at   INTEGER NOT NULL,
    drained_at INTEGER
  );
  -- The engine a session's objects live on.
  ALTER TABLE sessions ADD COLUMN engine TEXT NOT NULL DEFAULT 'local';
  `,
  `
  -- Whether the local engine takes new labs: the added engines keep this in their own row.
  CREATE TABLE local_engine (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    drained_at INTEGER
  );
  INSERT INTO local_engine (id, drained_at) VALUES (1, NULL);
  -- A ready session in trouble: its engine stopped answering (engine-lost), or it could not be
  -- brought back after its engine restarted (broken). Cleared when it is well again.
  ALTER TABLE sessions ADD COLUMN trouble TEXT CHECK (trouble IN ('engine-lost', 'broken'));
  ALTER TABLE sessions ADD COLUMN trouble_reason TEXT;
  ALTER TABLE sessions ADD COLUMN trouble_at INTEGER;
  `,
  `
  -- A warm session: brought up healthy (no fault, no learner) for a lab's pool, waiting to be
  -- claimed; warm_at is when it became ready, NULL once claimed (or for a session started on demand).
  ALTER TABLE sessions ADD COLUMN warm_at INTEGER;
  -- When a warm session was claimed (NULL for one started on demand).
  ALTER TABLE sessions ADD COLUMN claimed_at INTEGER;
  CREATE INDEX sessions_warm ON sessions (scenario, warm_at) WHERE warm_at IS NOT NULL;
  -- The standing pools: how many warm sessions of each lab are kept (set by serve --warm, the API,
  -- the dashboard).
  CREATE TABLE warm_pools (
    lab    TEXT PRIMARY KEY,
    size   INTEGER NOT NULL CHECK (size >= 0),
    set_at INTEGER NOT NULL
  );
  `,
];
