// Running a command from a bench: to its end, with its output, or failing with its last words.
import { spawn } from 'node:child_process';

/** Runs a command and collects what it printed (stdout and stderr together). */
export function runTo(argv: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ code: number; out: string }> {
  return new Promise((res, rej) => {
    const child = spawn(argv[0]!, argv.slice(1), { ...(opts.cwd ? { cwd: opts.cwd } : {}), env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', rej);
    child.on('close', (code) => res({ code: code ?? 1, out }));
  });
}

/** Runs a command that must succeed; its failure says what it printed. */
export async function run(argv: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<void> {
  const r = await runTo(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.slice(0, 4).join(' ')}... exited ${r.code}: ${r.out.trim().slice(-2000)}`);
}
