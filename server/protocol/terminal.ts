// Terminals in the browser (xterm.js over socket.io): the session's docker console, or a shell in
// one of its services. Nothing else is ever offered.
import { z } from 'zod';
import { SESSION_ID_RE } from './session-id.ts';

const id = z.string().regex(/^t[0-9a-f]{12}$/);
const size = { cols: z.number().int().min(10).max(500), rows: z.number().int().min(4).max(200) };

export const terminalOpenSchema = z.strictObject({
  session: z.string().regex(SESSION_ID_RE),
  /** `console`, or the name of one of the lab's services. */
  target: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
  ...size,
});
export const terminalInputSchema = z.strictObject({ id, data: z.string().max(64 * 1024) });
export const terminalResizeSchema = z.strictObject({ id, ...size });
export const terminalCloseSchema = z.strictObject({ id });

/** `term:output` from the server. */
export interface TerminalOutput {
  id: string;
  data: string;
}
/** `term:exit` from the server: the shell ended (or the session went away). */
export interface TerminalExit {
  id: string;
  code: number;
}
export interface TerminalOpened {
  id: string;
  /** What the tab says: "docker console" or "shell in web". */
  title: string;
  /** The container the terminal runs in. */
  container: string;
}
