// Workshop mode on a real daemon: sign-in, roles, a learner confined to their own sessions (HTTP
// and sockets), labs of different learners unable to reach each other, a fork bomb that stays in
// its lab, 1,000 malformed socket events, the capacity queue, idle expiry, and the end of the
// workshop leaving nothing behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connect, type Socket } from 'socket.io-client';
import { startServer, type Running } from '../server/http/server.ts';
import { csvCell } from '../server/util/csv.ts';
import { docker, expectGone, leftovers, none, tempDataDir } from './helpers.ts';

type Json = Record<string, any>;

async function call(server: Running, method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
    ...(opts.body !== undefined ? { body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  let body: Json;
  try {
    body = JSON.parse(text) as Json;
  } catch {
    body = { text };
  }
  return { status: res.status, body, headers: res.headers };
}

async function join(server: Running, code: string, name: string): Promise<{ token: string; id: string }> {
  const r = await call(server, 'POST', '/api/workshop/join', { body: { code, name } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return { token: r.body.token as string, id: r.body.learner.id as string };
}

/** Starts the learner's lab and waits until it is ready; returns its session id. */
async function startLab(server: Running, token: string, lab: string, timeoutMs = 90_000): Promise<string> {
  const r = await call(server, 'POST', `/api/workshop/labs/${lab}/start`, { token });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return waitSlot(server, token, lab, (s) => s.state === 'ready', timeoutMs).then((s) => s.session as string);
}

async function waitSlot(server: Running, token: string, lab: string, done: (slot: Json) => boolean, timeoutMs = 90_000): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = (await call(server, 'GET', '/api/workshop', { token })).body.view as Json;
    const slot = (view.labs as Json[]).find((l) => l.lab === lab)!;
    if (done(slot)) return slot;
    if (slot.state === 'failed') throw new Error(`lab failed: ${slot.error}`);
    if (Date.now() > deadline) throw new Error(`slot stayed ${JSON.stringify(slot)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

function socketFor(server: Running, token?: string, extraHeaders?: Record<string, string>): Socket {
  return connect(server.url, { transports: ['websocket'], reconnection: false, ...(token ? { auth: { token } } : {}), ...(extraHeaders ? { extraHeaders } : {}) });
}

const connected = (s: Socket) =>
  new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('connect_error', (e) => reject(e));
  });

/** A workshop-mode server on its own data directory. */
const workshopServer = (workshop: { maxLabs: number; idleMinutes?: number; idleMs?: number }) =>
  startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: tempDataDir() }, background: false, handleSignals: false, workshop });

/** Closes the server (tearing its labs down) and checks that none of its sessions left anything. */
async function closeAndCheck(server: Running): Promise<void> {
  const sessions = server.app.engine.store.list().map((x) => x.id);
  await server.close();
  for (const id of sessions) expect(await leftovers(id)).toEqual(none);
}

const ask = (s: Socket, event: string, payload: unknown) => new Promise<Json>((resolve) => s.emit(event, payload, (r: Json) => resolve(r)));

describe('workshop mode', () => {
  let server: Running;
  let trainer = '';
  const a = { token: '', id: '', session: '' };
  const b = { token: '', id: '', session: '' };

  beforeAll(async () => {
    server = await workshopServer({ maxLabs: 3, idleMinutes: 30 });
    trainer = server.trainerToken!;
  }, 30_000);
  afterAll(() => closeAndCheck(server), 60_000);

  it('without sign-in, every API route but health and joining answers 401', async () => {
    const routes: [string, string][] = [
      ['GET', '/api/me'], ['GET', '/api/scenarios'], ['GET', '/api/scenarios/bridge-basics'], ['GET', '/api/results'],
      ['GET', '/api/learners/x/scores'], ['GET', '/api/sessions'], ['POST', '/api/sessions'], ['GET', '/api/sessions/deadbeef'],
      ['GET', '/api/sessions/deadbeef/actions'], ['POST', '/api/sessions/deadbeef/probes'], ['POST', '/api/sessions/deadbeef/diagnosis'],
      ['GET', '/api/sessions/deadbeef/hints'], ['POST', '/api/sessions/deadbeef/hints'], ['POST', '/api/sessions/deadbeef/pins'],
      ['GET', '/api/sessions/deadbeef/pcap'], ['POST', '/api/sessions/deadbeef/console'], ['GET', '/api/sessions/deadbeef/services/web'],
      ['POST', '/api/sessions/deadbeef/restart'], ['DELETE', '/api/sessions/deadbeef'], ['POST', '/api/workshops'], ['GET', '/api/workshop'],
      ['POST', '/api/workshop/labs/bridge-basics/start'], ['POST', '/api/workshop/broadcast'], ['POST', '/api/workshop/end'],
      ['GET', '/api/workshop/export.csv'], ['POST', '/api/workshop/learners/x/labs/y/reset'], ['GET', '/api/workshop/learners/x/actions'],
      ['POST', '/api/auth/logout'], ['GET', '/api/no-such-route'],
    ];
    for (const [method, path] of routes) {
      const r = await call(server, method, path, { body: method === 'GET' ? undefined : {} });
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.body).toMatchObject({ ok: false, error: expect.stringMatching(/sign in first/) });
    }
    // A forged or foreign token is no sign-in either.
    expect((await call(server, 'GET', '/api/me', { token: 'eyJyIjoidCJ9.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })).status).toBe(401);
    expect((await call(server, 'GET', '/api/me', { headers: { cookie: 'flowlab_auth=%E0%A4%A; other=1' } })).status).toBe(401);
    const badCookieSocket = socketFor(server, undefined, { cookie: 'flowlab_auth=%E0%A4%A' });
    await expect(connected(badCookieSocket)).rejects.toThrow(/sign in first/);
    badCookieSocket.close();
    expect((await call(server, 'GET', '/api/health')).status).toBe(200);
    expect((await call(server, 'POST', '/api/auth/trainer', { body: { token: 'not-the-token-at-all' } })).status).toBe(401);
    // The web app (the join page) is served without sign-in.
    expect((await fetch(`${server.url}/`)).status).toBe(200);
  });

  it('the trainer signs in with the printed token and creates a workshop; shared labs are refused unless opted in', async () => {
    const login = await call(server, 'POST', '/api/auth/trainer', { body: { token: trainer } });
    expect(login.status).toBe(200);
    expect(login.headers.get('set-cookie')).toMatch(/^flowlab_auth=.+; Path=\/; HttpOnly; SameSite=Strict/);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    expect((await call(server, 'GET', '/api/me', { headers: { cookie } })).body).toMatchObject({ role: 'trainer', workshop: null });

    const shared = await call(server, 'POST', '/api/workshops', { token: trainer, body: { name: 'Day 1', labs: ['bridge-basics', 'host-basics'] } });
    expect(shared.status).toBe(400);
    expect(shared.body.error).toMatch(/cannot be isolated between learners.*host-basics \(uses the host's network\).*allow_shared/);
    const bad = await call(server, 'POST', '/api/workshops', { token: trainer, body: { name: '', labs: [] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/invalid workshop at name/);

    const created = await call(server, 'POST', '/api/workshops', { token: trainer, body: { name: 'Day 1', labs: ['bridge-basics', 'stale-hosts-entry'], code: 'day1ab' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.workshop).toMatchObject({ name: 'Day 1', code: 'DAY1AB', ended_at: null });
    expect((await call(server, 'POST', '/api/workshops', { token: trainer, body: { name: 'Day 2', labs: ['bridge-basics'] } })).status).toBe(409);
  });

  it('learners join with the code and a name; bad codes and taken names are refused', async () => {
    Object.assign(a, await join(server, 'day1ab', 'Ada'));
    Object.assign(b, await join(server, 'DAY1AB', 'Bo'));
    expect((await call(server, 'POST', '/api/workshop/join', { body: { code: 'NOPE99', name: 'Cy' } })).body.error).toMatch(/no running workshop has the code NOPE99/);
    expect((await call(server, 'POST', '/api/workshop/join', { body: { code: 'DAY1AB', name: 'ada' } })).status).toBe(409);
    const junk = await call(server, 'POST', '/api/workshop/join', { body: { code: 'DAY1AB', name: '<script>' } });
    expect(junk.status).toBe(400);
    expect(junk.body.error).toMatch(/display name/);
    expect((await call(server, 'GET', '/api/me', { token: a.token })).body).toMatchObject({ role: 'learner', learner: { name: 'Ada' }, workshop: { name: 'Day 1' } });
    // The learner's view never shows the join code; the trainer's does.
    expect((await call(server, 'GET', '/api/workshop', { token: a.token })).body.view.workshop.code).toBeUndefined();
  });

  it('each learner gets their own lab; a learner is refused (403) on every route for the other learner\'s session', async () => {
    [a.session, b.session] = await Promise.all([startLab(server, a.token, 'bridge-basics'), startLab(server, b.token, 'bridge-basics')]);
    expect(a.session).not.toBe(b.session);
    const bRoutes: [string, string, unknown?][] = [
      ['GET', `/api/sessions/${b.session}`], ['GET', `/api/sessions/${b.session}/actions`],
      ['POST', `/api/sessions/${b.session}/probes`, { from: 'client', target: 'dns:web' }],
      ['POST', `/api/sessions/${b.session}/diagnosis`, { cause: 'x', culprit: 'web', evidence: [] }],
      ['GET', `/api/sessions/${b.session}/hints`], ['POST', `/api/sessions/${b.session}/hints`],
      ['POST', `/api/sessions/${b.session}/pins`, { id: 'e0123456789abcdef' }], ['GET', `/api/sessions/${b.session}/pcap?service=web`],
      ['POST', `/api/sessions/${b.session}/console`], ['GET', `/api/sessions/${b.session}/services/web`],
      ['POST', `/api/sessions/${b.session}/restart`, {}], ['DELETE', `/api/sessions/${b.session}`],
    ];
    for (const [method, path, body] of bRoutes) {
      const r = await call(server, method, path, { token: a.token, body: body ?? (method === 'GET' ? undefined : {}) });
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.body.error).toMatch(/is not yours/);
    }
    // Trainer-only routes are refused to a learner.
    for (const [method, path] of [['POST', '/api/workshops'], ['POST', '/api/workshop/broadcast'], ['POST', '/api/workshop/end'], ['GET', '/api/workshop/export.csv'], ['GET', '/api/results'], ['POST', '/api/sessions'], [`POST`, `/api/workshop/learners/${b.id}/labs/bridge-basics/reset`]] as const) {
      expect((await call(server, method, path, { token: a.token, body: method === 'GET' ? undefined : {} })).status, `${method} ${path}`).toBe(403);
    }
    // A's list shows only A's session; B's lab is untouched and still ready.
    expect((await call(server, 'GET', '/api/sessions', { token: a.token })).body.sessions.map((s: Json) => s.session)).toEqual([a.session]);
    expect((await call(server, 'GET', `/api/sessions/${b.session}`, { token: b.token })).body.session.state).toBe('ready');
    expect((await call(server, 'GET', '/api/sessions/%E0%A4%A', { token: a.token })).status).toBe(400);
    expect((await call(server, 'GET', '/api/sessions/%E0%A4%A', { token: trainer })).status).toBe(400);
    // Their own session works.
    const own = await call(server, 'POST', `/api/sessions/${a.session}/probes`, { token: a.token, body: { from: 'client', target: 'dns:web' } });
    expect(own.body.result.status).toBe('ok');
  }, 180_000);

  it('sockets: no token, a foreign origin, or another learner\'s session is refused', async () => {
    const anon = socketFor(server);
    await expect(connected(anon)).rejects.toThrow(/sign in first/);
    anon.close();
    const foreign = socketFor(server, a.token, { origin: 'http://evil.example' });
    await expect(connected(foreign)).rejects.toThrow();
    foreign.close();
    const s = socketFor(server, a.token);
    await connected(s);
    try {
      expect(await ask(s, 'flows:join', { session: b.session })).toMatchObject({ ok: false, error: expect.stringMatching(/is not yours/) });
      expect(await ask(s, 'term:open', { session: b.session, target: 'console', cols: 80, rows: 24 })).toMatchObject({ ok: false, error: expect.stringMatching(/is not yours/) });
      expect(await ask(s, 'term:open', { session: b.session, target: 'client', cols: 80, rows: 24 })).toMatchObject({ ok: false });
      expect((await ask(s, 'flows:join', { session: a.session })).ok).toBe(true);
    } finally {
      s.close();
    }
  });

  it('labs of different learners cannot reach each other', async () => {
    const bTopo = (await call(server, 'GET', `/api/sessions/${b.session}`, { token: b.token })).body.session.topology as Json;
    const bWeb = (bTopo.services as Json[]).find((x) => x.name === 'web')!;
    const ip = Object.values(bWeb.networks as Record<string, { ip: string }>)[0]!.ip;
    for (const target of [`icmp:${ip}`, `tcp:${ip}:80`]) {
      const r = await call(server, 'POST', `/api/sessions/${a.session}/probes`, { token: a.token, body: { from: 'client', target } });
      expect(r.body.result.status, target).not.toBe('ok');
    }
  });

  it('a fork bomb and a memory hog in one learner\'s lab stay there', async () => {
    const hog = docker.exec(`fl-${a.session}-client`, ['sh', '-c', 'f() { f | f & }; f; sleep 5'], { timeoutMs: 20_000 }).catch(() => undefined);
    // tail holds all of its newline-free input in memory: 600 MB against the lab's 128 MiB limit.
    const mem = docker.exec(`fl-${a.session}-client`, ['sh', '-c', 'head -c 600m /dev/zero | tail > /dev/null; echo "tail exited $?"'], { timeoutMs: 20_000 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1500));
    const health = await call(server, 'GET', '/api/health');
    expect(health.status).toBe(200);
    const r = await call(server, 'POST', `/api/sessions/${b.session}/probes`, { token: b.token, body: { from: 'client', target: 'http://web:80/' } });
    expect(r.body.result.status).toBe('ok');
    const m = await mem;
    // Killed by the kernel inside its own limit (or the whole exec with it), never finished.
    expect(m?.stdout ?? '').not.toMatch(/tail exited 0/);
    await hog;
    const st = await docker.inspectContainer(`fl-${b.session}-web`);
    expect(st?.running).toBe(true);
    // The bomb's processes stay within A's client (at its pids limit) until it restarts.
    await docker.stopContainer(`fl-${a.session}-client`, 1);
    await docker.startContainer(`fl-${a.session}-client`);
  }, 60_000);

  it('1,000 malformed socket events leave the server up and every lab intact', async () => {
    const s = socketFor(server, a.token);
    await connected(s);
    const events = ['flows:join', 'flows:leave', 'term:open', 'term:input', 'term:resize', 'term:close', 'workshop:view', 'nonsense', 'flows:join'];
    const payloads: unknown[] = [null, undefined, 42, 'x', [], {}, { session: 1 }, { session: '../../etc' }, { session: b.session, extra: true }, { id: 'x'.repeat(10_000) }, { cols: -1, rows: 1e9 }, { session: a.session, target: '../../bin/sh', cols: 80, rows: 24 }, { data: { nested: [1, 2, { deep: true }] } }, 'é'.repeat(5000)];
    const replies: Promise<Json>[] = [];
    for (let i = 0; i < 1000; i++) {
      const event = events[i % events.length]!;
      const payload = payloads[(i * 7) % payloads.length];
      if (i % 3 === 0) s.emit(event, payload);
      else if (i % 3 === 1) replies.push(Promise.race([ask(s, event, payload), new Promise<Json>((r) => setTimeout(() => r({ timeout: true }), 5000))]));
      else s.emit(event, payload, 'not-a-function');
    }
    const answered = await Promise.all(replies);
    for (const r of answered) if (!('timeout' in r)) expect(r.ok === false || r.ok === true).toBe(true);
    s.close();
    expect((await call(server, 'GET', '/api/health')).status).toBe(200);
    for (const who of [a, b]) {
      expect((await call(server, 'GET', `/api/sessions/${who.session}`, { token: who.token })).body.session.state).toBe('ready');
      expect((await call(server, 'POST', `/api/sessions/${who.session}/probes`, { token: who.token, body: { from: 'client', target: 'dns:web' } })).body.result.status).toBe('ok');
    }
  }, 60_000);

  it('beyond the capacity learners queue with their position, and start when a lab goes', async () => {
    const c = await join(server, 'DAY1AB', 'Cy');
    const d = await join(server, 'DAY1AB', 'Di');
    const cSession = await startLab(server, c.token, 'stale-hosts-entry');
    const queued = await call(server, 'POST', '/api/workshop/labs/stale-hosts-entry/start', { token: d.token });
    expect(queued.body.slot).toMatchObject({ state: 'queued', position: 1 });
    const tv = (await call(server, 'GET', '/api/workshop', { token: trainer })).body.view as Json;
    expect(tv.capacity).toMatchObject({ max_labs: 3, running: 3, queued: 1 });
    // C ends their lab: D's starts.
    expect((await call(server, 'DELETE', `/api/sessions/${cSession}`, { token: c.token })).status).toBe(200);
    const slot = await waitSlot(server, d.token, 'stale-hosts-entry', (x) => x.state === 'ready');
    expect(slot.session).toMatch(/^[0-9a-f]{8}$/);
    expect((await call(server, 'GET', '/api/workshop', { token: c.token })).body.view.labs[1].state).toBe('expired');
  }, 180_000);

  it('the trainer sees learners × labs, their console actions, broadcasts, resets a lab and exports CSV', async () => {
    // What a learner changes from their docker console, and the shells they open, are recorded as theirs.
    const s = socketFor(server, a.token);
    await connected(s);
    const opened = await ask(s, 'term:open', { session: a.session, target: 'console', cols: 80, rows: 24 });
    expect(opened.ok, JSON.stringify(opened)).toBe(true);
    let out = '';
    s.on('term:output', (m: { data: string }) => (out += m.data));
    s.emit('term:input', { id: opened.id, data: 'docker restart db && echo RE""STARTED\r' });
    for (let i = 0; i < 200 && !/RESTARTED\r?\n/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    expect((await ask(s, 'term:open', { session: a.session, target: 'client', cols: 80, rows: 24 })).ok).toBe(true);
    s.close();
    const actions = (await call(server, 'GET', `/api/workshop/learners/${a.id}/actions`, { token: trainer })).body.actions as Json[];
    // What was typed (changed: it restarted a container), what Flowlab sent for it, the shells opened.
    expect(actions.map((x) => ({ kind: x.kind, command: x.command, changed: x.changed })), `${JSON.stringify(actions)} ${out.slice(-500)}`).toEqual(
      expect.arrayContaining([
        { kind: 'shell', command: `flowlab console ${a.session}`, changed: false },
        { kind: 'command', command: 'docker restart db', changed: true },
        { kind: 'change', command: `docker restart fl-${a.session}-db`, changed: false },
        { kind: 'shell', command: `docker exec -it fl-${a.session}-client sh`, changed: false },
      ]),
    );
    expect(actions.every((x) => x.session === a.session && x.lab === 'bridge-basics')).toBe(true);

    const msgSocket = socketFor(server, b.token);
    const got = new Promise<Json>((resolve) => msgSocket.on('workshop:message', resolve));
    await connected(msgSocket);
    expect((await call(server, 'POST', '/api/workshop/broadcast', { token: trainer, body: { message: 'Ten minutes left' } })).status).toBe(200);
    expect((await got).text).toBe('Ten minutes left');
    msgSocket.close();

    const view = (await call(server, 'GET', '/api/workshop', { token: trainer })).body.view as Json;
    expect(view.learners.map((l: Json) => l.name)).toEqual(['Ada', 'Bo', 'Cy', 'Di']);
    const ada = view.learners[0] as Json;
    expect(ada.labs[0]).toMatchObject({ lab: 'bridge-basics', state: 'ready', session: a.session, resets: 0, idle: false, stuck: false, cause: null });
    expect(ada.labs[0].seconds).toBeGreaterThan(0);
    expect(Date.parse(ada.labs[0].last_activity)).toBeGreaterThan(Date.now() - 120_000);
    expect(ada.console_actions).toBe(1);
    expect(view.events).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'queue' })]));

    const reset = await call(server, 'POST', `/api/workshop/learners/${b.id}/labs/bridge-basics/reset`, { token: trainer });
    expect(reset.status, JSON.stringify(reset.body)).toBe(200);
    const again = await waitSlot(server, b.token, 'bridge-basics', (x) => x.state === 'ready' && x.session !== b.session);
    expect(await expectGone(b.session)).toEqual(none);
    // The old lab is not acted on silently: the learner is told it was reset, and where the new one is.
    const old = await call(server, 'POST', `/api/sessions/${b.session}/probes`, { token: b.token, body: { from: 'client', target: 'dns:web' } });
    expect(old.status).toBe(410);
    expect(old.body.error).toMatch(/your trainer reset this lab .*a fresh one was started for you; open it from the workshop page/);
    expect(again.previous).toMatchObject({ session: b.session, by: 'reset' });
    b.session = again.session as string;
    const bo = ((await call(server, 'GET', '/api/workshop', { token: trainer })).body.view as Json).learners[1] as Json;
    expect(bo.labs[0]).toMatchObject({ resets: 1, attempts: 0, hints: 0, session: b.session });

    const csv = await fetch(`${server.url}/api/workshop/export.csv`, { headers: { authorization: `Bearer ${trainer}` } });
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect(csv.headers.get('content-disposition')).toBe(`attachment; filename="day-1-${new Date().toISOString().slice(0, 10)}.csv"`);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('workshop,learner,joined_at,lab,variant,seed,state,best_score,passed,attempts,hints,seconds_worked,resets,last_cause');
    expect(lines).toHaveLength(1 + 4 * 2);
    const seed = server.app.engine.store.get(a.session)!.seed;
    expect(lines.some((l) => new RegExp(`^Day 1,Ada,.*,bridge-basics,,${seed},ready,`).test(l))).toBe(true);
    expect(lines.some((l) => /^Day 1,Bo,.*,bridge-basics,,\d+,ready,,no,0,0,\d*,1,$/.test(l))).toBe(true);
  }, 180_000);

  it('ending the workshop tears every learner lab down and leaves no object', async () => {
    const end = await call(server, 'POST', '/api/workshop/end', { token: trainer });
    expect(end.status).toBe(200);
    expect(end.body.removed).toBeGreaterThanOrEqual(3);
    for (const s of server.app.engine.store.list()) expect(await leftovers(s.id), s.id).toEqual(none);
    const after = (await call(server, 'GET', '/api/workshop', { token: a.token })).body.view;
    expect(after.workshop.state).toBe('ended');
    expect(after.labs.every((l: Json) => l.session === null && ['ended', 'not-started'].includes(l.state)), JSON.stringify(after.labs)).toBe(true);
    expect(after.labs[0].state).toBe('ended');
    // Its results stay exportable after it ended.
    expect((await fetch(`${server.url}/api/workshop/export.csv`, { headers: { authorization: `Bearer ${trainer}` } })).status).toBe(200);
    expect((await call(server, 'POST', '/api/workshop/labs/bridge-basics/start', { token: a.token })).body.error).toMatch(/the workshop has ended/);
    // Guessing join codes is rate-limited per address.
    let last = 0;
    for (let i = 0; i < 70; i++) last = (await call(server, 'POST', '/api/workshop/join', { body: { code: `ZZZZ${i}0`, name: 'Eve' } })).status;
    expect(last).toBe(429);
  }, 120_000);
});

describe('workshop mode: idle labs', () => {
  let server: Running;
  beforeAll(async () => {
    server = await workshopServer({ maxLabs: 2, idleMs: 4000 });
  }, 30_000);
  afterAll(() => closeAndCheck(server), 60_000);

  it('a lab with no activity for the idle time is torn down, and can be started again', async () => {
    const t = server.trainerToken!;
    expect((await call(server, 'POST', '/api/workshops', { token: t, body: { name: 'Idle', labs: ['stale-hosts-entry'], code: 'IDLE01' } })).status).toBe(201);
    const l = await join(server, 'IDLE01', 'Sam');
    const session = await startLab(server, l.token, 'stale-hosts-entry');
    await waitSlot(server, l.token, 'stale-hosts-entry', (s) => s.state === 'expired', 30_000);
    expect(await expectGone(session)).toEqual(none);
    const again = await startLab(server, l.token, 'stale-hosts-entry');
    expect(again).not.toBe(session);
    expect((await call(server, 'POST', '/api/workshop/end', { token: t })).body.removed).toBe(1);
  }, 120_000);
});

describe('csv cells', () => {
  it('quotes what needs quoting and defuses formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell(42)).toBe('42');
  });
});
