// Terminals over socket.io: a shell in a service or the docker console, its input and output,
// and every bad request refused with what was expected — nothing else is ever offered.
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type Running } from '../server/http/server.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { tempDataDir } from './helpers.ts';

let server: Running;
let socket: Socket;
let session = '';

beforeAll(async () => {
  server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: tempDataDir() }, background: false, handleSignals: false });
  session = (await server.app.engine.up(loadLab('bridge-basics'))).session;
  socket = connect(server.url, { transports: ['websocket'] });
  await new Promise<void>((r) => socket.once('connect', () => r()));
});
afterAll(async () => {
  socket?.close();
  await server?.app.engine.down(session).catch(() => undefined);
  await server?.close();
});

const open = (payload: unknown) => socket.timeout(60_000).emitWithAck('term:open', payload) as Promise<{ ok: boolean; error?: string; id?: string; title?: string; container?: string }>;

async function runIn(id: string, line: string, want: RegExp): Promise<string> {
  let out = '';
  const onOut = (m: { id: string; data: string }) => {
    if (m.id === id) out += m.data;
  };
  socket.on('term:output', onOut);
  socket.emit('term:input', { id, data: `${line}\r` });
  const deadline = Date.now() + 20_000;
  while (!want.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  socket.off('term:output', onOut);
  return out;
}

describe('terminals', () => {
  it('opens a shell in a service, with a terminal: what is typed runs there', async () => {
    const t = await open({ session, target: 'client', cols: 100, rows: 30 });
    expect(t).toMatchObject({ ok: true, title: 'shell in client', container: `fl-${session}-client` });
    const out = await runIn(t.id!, 'getent hosts web; stty size', /\d+\.\d+\.\d+\.\d+\s+web[\s\S]*30 100/);
    expect(out).toMatch(/30 100/);
    socket.emit('term:resize', { id: t.id, cols: 120, rows: 40 });
    await new Promise((r) => setTimeout(r, 500)); // the engine applies a resize asynchronously
    expect(await runIn(t.id!, 'stty size', /40 120/)).toMatch(/40 120/);
    const exited = new Promise<{ id: string; code: number }>((r) => socket.once('term:exit', r));
    socket.emit('term:input', { id: t.id, data: 'exit 3\r' });
    expect(await exited).toEqual({ id: t.id, code: 3 });
    const actions = server.app.engine.store.actions(session, { includeRevealing: false }).map((a) => a.command);
    expect(actions).toContain(`docker exec -it fl-${session}-client sh`);
  });

  it('opens the docker console: its prompt and title say so, and what is typed there is recorded for the trainer', async () => {
    const t = await open({ session, target: 'console', cols: 100, rows: 30 });
    const lab = server.app.engine.store.get(session)!.scenario;
    expect(t).toMatchObject({ ok: true, title: expect.stringMatching(/^docker console · /), container: `fl-${session}-console` });
    const prompt = `docker console \\(lab ${lab}\\) \\$ `;
    const out = await runIn(t.id!, 'docker ps --filter label=flowlab.name=db --format "{{.Names}}"', new RegExp(`fl-${session}-db\\s*\\r?\\n[\\s\\S]*${prompt}`));
    expect(out).toMatch(new RegExp(`fl-${session}-db`));
    expect(out).toContain(`docker console (lab ${lab}) $ `);
    // The terminal's title is set by the prompt too.
    expect(out).toContain(`\u001b]0;docker console · lab ${lab}\u0007`);
    expect(await runIn(t.id!, 'docker network ls -q | wc -l; docker stop db', new RegExp(`\\bdb\\s*\\r?\\n[\\s\\S]*${prompt}`))).toMatch(/\bdb\s*\r?\n/);
    await socket.timeout(10_000).emitWithAck('term:close', { id: t.id });
    const typed = server.app.engine.store.learnerActions(session);
    expect(typed).toEqual(expect.arrayContaining([
      expect.objectContaining({ kind: 'shell', command: `flowlab console ${session}` }),
      expect.objectContaining({ kind: 'command', command: "docker ps --filter label=flowlab.name=db --format '{{.Names}}'", changed: false }),
      expect.objectContaining({ kind: 'command', command: 'docker network ls -q', changed: false }),
      expect.objectContaining({ kind: 'command', command: 'docker stop db', changed: true }),
      expect.objectContaining({ kind: 'change', command: `docker stop fl-${session}-db` }),
    ]));
    // What the learner typed is the trainer's; the learner's own log shows what was sent.
    expect(server.app.engine.store.actions(session, { includeRevealing: false }).map((a) => a.command)).not.toContain('docker stop db');
  });

  it('refuses anything else, saying what it expected', async () => {
    const cases: [unknown, RegExp][] = [
      [{ session, target: 'lab-dns', cols: 80, rows: 24 }, /"lab-dns" is not a service of this lab; expected console or one of: /],
      [{ session, target: 'client-capture', cols: 80, rows: 24 }, /not a service of this lab/],
      [{ session: 'deadbeef', target: 'console', cols: 80, rows: 24 }, /unknown session "deadbeef"/],
      [{ session, target: '../etc', cols: 80, rows: 24 }, /expected \{ "session": "<id>", "target": "console" or a service/],
      [{ session, target: 'web', cols: 80, rows: 24, cmd: ['sh'] }, /expected/],
      [{ session, target: 'web', cols: 5000, rows: 24 }, /expected/],
      ['not an object', /expected/],
    ];
    for (const [payload, error] of cases) {
      const r = await open(payload);
      expect(r.ok, JSON.stringify(payload)).toBe(false);
      expect(r.error).toMatch(error);
    }
    // Input for a terminal this socket never opened goes nowhere, and the server keeps serving.
    socket.emit('term:input', { id: 't000000000000', data: 'rm -rf /\r' });
    socket.emit('term:input', { nonsense: true });
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
  });
});
