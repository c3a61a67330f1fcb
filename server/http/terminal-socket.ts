// Terminals over socket.io, one module: `term:open` { session, target, cols, rows } answers
// { ok, id, title, container }; then `term:input`, `term:resize`, `term:close` from the browser and
// `term:output`, `term:exit` from here. A terminal is the session's docker console or a shell in
// one of its services — never anything else — and it closes with its browser tab.
import { randomBytes } from 'node:crypto';
import type { Server, Socket } from 'socket.io';
import type { z } from 'zod';
import type { App } from '../app/app.ts';
import type { SocketAccess } from './auth.ts';
import { terminalCloseSchema, terminalInputSchema, terminalOpenSchema, terminalResizeSchema, type TerminalOpened } from '../protocol/terminal.ts';
import { failed, ok, type Reply } from '../protocol/reply.ts';

type Ack = (r: Reply<Partial<TerminalOpened>>) => void;

interface Open {
  session: string;
  stream: NodeJS.ReadWriteStream;
  resize(cols: number, rows: number): Promise<void>;
}

const MAX_PER_SOCKET = 8;

function parse<T>(schema: z.ZodType<T>, payload: unknown, expected: string): T {
  const r = schema.safeParse(payload);
  if (!r.success) throw new Error(`expected ${expected}`);
  return r.data;
}

export function attachTerminalSockets(io: Server, app: App, access?: SocketAccess): { close(): void; open(): number } {
  const all = new Map<string, Open>();

  const openTerminal = async (socket: Socket, mine: Map<string, Open>, payload: unknown): Promise<TerminalOpened> => {
    const req = parse(terminalOpenSchema, payload, '{ "session": "<id>", "target": "console" or a service of the lab, "cols", "rows" }');
    if (mine.size >= MAX_PER_SOCKET) throw new Error(`at most ${MAX_PER_SOCKET} terminals per page; close one first`);
    const refused = access?.refuse(socket, req.session);
    if (refused) throw new Error(refused);
    if (access && !access.limit(socket, 'console')) throw new Error('too many terminals opened; wait a little and try again');
    const { title, container, tty } = await app.consoles.terminal(req.session, req.target, { cols: req.cols, rows: req.rows });
    const id = `t${randomBytes(6).toString('hex')}`;
    const open: Open = { session: req.session, stream: tty.stream, resize: tty.resize };
    mine.set(id, open);
    all.set(id, open);
    tty.stream.on('data', (chunk: Buffer) => socket.emit('term:output', { id, data: chunk.toString('utf8') }));
    void tty.exit.then((code) => {
      mine.delete(id);
      all.delete(id);
      socket.emit('term:exit', { id, code });
    });
    return { id, title, container };
  };

  io.on('connection', (socket: Socket) => {
    const mine = new Map<string, Open>();
    let throttledAt = 0;
    socket.on('term:open', (payload: unknown, ack?: unknown) => {
      const reply: Ack = typeof ack === 'function' ? (ack as Ack) : () => {};
      openTerminal(socket, mine, payload).then(
        (opened) => reply(ok(opened)),
        (e: Error) => reply(failed(e.message)),
      );
    });
    socket.on('term:input', (payload: unknown) => {
      const r = terminalInputSchema.safeParse(payload);
      const open = r.success ? mine.get(r.data.id) : undefined;
      if (!open) return;
      // Over the limit (a script, not a typist): the input is dropped and the terminal says so once a second.
      if (access && !access.limit(socket, 'terminal')) {
        const now = Date.now();
        if (now - throttledAt > 1000) socket.emit('term:output', { id: r.data!.id, data: '\r\n[flowlab: input is arriving too fast; some was dropped]\r\n' });
        throttledAt = now;
        return;
      }
      access?.worked(open.session);
      open.stream.write(r.data!.data);
    });
    socket.on('term:resize', (payload: unknown) => {
      const r = terminalResizeSchema.safeParse(payload);
      if (r.success) void mine.get(r.data.id)?.resize(r.data.cols, r.data.rows);
    });
    socket.on('term:close', (payload: unknown, ack?: unknown) => {
      const reply: Ack = typeof ack === 'function' ? (ack as Ack) : () => {};
      const r = terminalCloseSchema.safeParse(payload);
      if (!r.success) return reply(failed('expected { "id": "<terminal id>" }'));
      mine.get(r.data.id)?.stream.end();
      reply(ok());
    });
    socket.on('disconnect', () => {
      for (const [id, t] of mine) {
        t.stream.end();
        all.delete(id);
      }
      mine.clear();
    });
  });

  return {
    close: () => {
      for (const t of all.values()) t.stream.end();
      all.clear();
    },
    open: () => all.size,
  };
}
