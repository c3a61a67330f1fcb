// Listening sockets of a container, read from the host's /proc for one of its processes: no
// exec, no daemon call, any bind address. Only where this process shares the host's /proc
// (not on Docker Desktop, not inside a container); callers fall back to asking inside.
import { readFile } from 'node:fs/promises';

const FILES = [
  ['tcp', 'tcp', '0A', false],
  ['tcp6', 'tcp', '0A', true],
  ['udp', 'udp', '07', false],
  ['udp6', 'udp', '07', true],
] as const;

export interface ListeningSocket {
  /** The bound address: 0.0.0.0, 127.0.0.1, ::, ... */
  addr: string;
  port: number;
  proto: 'tcp' | 'udp';
}

function hexAddress(hex: string, v6: boolean): string {
  if (!v6) {
    const n = parseInt(hex, 16);
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
  }
  // Four little-endian 32-bit words.
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => (w.match(/../g) ?? []).reverse());
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(parseInt(`${bytes[i]}${bytes[i + 1]}`, 16).toString(16));
  const s = groups.join(':');
  return s === '0:0:0:0:0:0:0:0' ? '::' : s === '0:0:0:0:0:0:0:1' ? '::1' : s;
}

/**
 * Whether process `pid` of this machine's /proc is the container's: its cgroup names the
 * container's id. A pid an engine reports is its host's; on another engine, or from inside a
 * container, the same number here is some other process (whose sockets say nothing of the lab).
 */
export async function procIsContainers(pid: number, containerId: string): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/cgroup`, 'utf8')).includes(containerId);
  } catch {
    return false;
  }
}

/** Every listening socket in the namespace of process `pid`; undefined when /proc/<pid> cannot be read. */
export async function listeningSockets(pid: number): Promise<ListeningSocket[] | undefined> {
  const texts: Partial<Record<SocketFile, string>> = {};
  for (const [file, , , v6] of FILES) {
    try {
      texts[file] = await readFile(`/proc/${pid}/net/${file}`, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && v6) continue; // no IPv6 in that netns
      return undefined;
    }
  }
  return socketsOf(texts);
}

type SocketFile = (typeof FILES)[number][0];

/** The listening sockets in the texts of /proc/net/{tcp,tcp6,udp,udp6} (read here, or inside). */
export function socketsOf(texts: Partial<Record<SocketFile, string>>): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  for (const [file, proto, state, v6] of FILES) {
    for (const line of (texts[file] ?? '').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== state || !f[1]) continue;
      const [addr, port] = f[1].split(':');
      out.push({ addr: hexAddress(addr ?? '', v6), port: parseInt(port ?? '0', 16), proto });
    }
  }
  return out;
}

/** A shell script that prints /proc/net's socket tables, each after a `== <file>` line (read inside a namespace). */
export const SOCKET_TABLES_SCRIPT = 'for f in tcp tcp6 udp udp6; do echo "== $f"; cat /proc/net/$f 2>/dev/null; done';

/** What SOCKET_TABLES_SCRIPT printed, as the sockets it lists. */
export function socketsFromScript(out: string): ListeningSocket[] {
  const texts: Partial<Record<SocketFile, string>> = {};
  for (const part of out.split(/^== /m).slice(1)) {
    const nl = part.indexOf('\n');
    const file = part.slice(0, nl).trim() as SocketFile;
    if (FILES.some(([f]) => f === file)) texts[file] = part.slice(nl + 1);
  }
  return socketsOf(texts);
}

/** `8080/tcp`, `53/udp`...; undefined when /proc/<pid> cannot be read (gone, or not visible). */
export async function listeningPorts(pid: number): Promise<Set<string> | undefined> {
  const sockets = await listeningSockets(pid);
  return sockets && new Set(sockets.map((s) => `${s.port}/${s.proto}`));
}
