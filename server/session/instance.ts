// Who owns a session: this process (an "instance") and how another process can tell whether it
// is still alive, even after the pid has been reused.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface Instance {
  id: string;
  pid: number;
  host: string;
  /** The process's start time as the kernel counts it, to tell a reused pid apart. */
  start: string | null;
}

export function newHexId(bytes = 4): string {
  return randomBytes(bytes).toString('hex');
}

function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime) comes after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * A new instance of Flowlab in this process: each app (a CLI command, a server) is one, so a
 * server that shuts down tears down what it started and nothing another app in the process did.
 */
export function newInstance(): Instance {
  return { id: newHexId(6), pid: process.pid, host: hostname(), start: processStart(process.pid) };
}

/** Whether the process that owns a session still runs. On another host we cannot tell: alive. */
export function ownerAlive(owner: { pid: number; host: string; start: string | null }): boolean {
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (owner.start === null) return true;
  return processStart(owner.pid) === owner.start;
}
