// What every command shares: the app, opened for the command and closed after it (background work
// finished first), whole-number options, and whether the process keeps serving after it.
import { openApp, type App } from '../app/app.ts';
import { CliError } from './output.ts';

export const intArg = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${name} must be a whole number, found "${v}"`, 2);
  return n;
};

export async function withApp<T>(fn: (app: App) => Promise<T>): Promise<T> {
  const app = openApp();
  try {
    return await fn(app);
  } finally {
    // What a command set going in the background (a capture starting, the topology following a
    // change made from the console) finishes before the process exits.
    await app.engine.settled().catch(() => undefined);
    app.close();
  }
}

let keepRunning = false;

/** The command keeps serving after it returns (`serve`): the process does not exit. */
export function serving(): void {
  keepRunning = true;
}

export function keepsRunning(): boolean {
  return keepRunning;
}
