// Listening sockets of a container, read from the host's /proc for one of its processes: no
// exec, no daemon call, any bind address. Only where this process shares the host's /proc
// (not on Docker Desktop, not inside a container); callers fall back to asking inside.
import { readFile } from 'node:fs/promises';

const FILES = [
  ['tcp', 'tcp', '0A'],
  ['tcp6', 'tcp', '0A'],
  ['udp', 'udp', '07'],
  ['udp6', 'udp', '07'],
] as const;

/** `8080/tcp`, `53/udp`...; undefined when /proc/<pid> cannot be read (gone, or not visible). */
export async function listeningPorts(pid: number): Promise<Set<string> | undefined> {
  const out = new Set<string>();
  for (const [file, proto, state] of FILES) {
    let text: string;
    try {
      text = await readFile(`/proc/${pid}/net/${file}`, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && file.endsWith('6')) continue; // no IPv6 in that netns
      return undefined;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === state && f[1]) out.add(`${parseInt(f[1].split(':')[1] ?? '0', 16)}/${proto}`);
    }
  }
  return out;
}
