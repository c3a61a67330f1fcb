// An ssh engine is only as safe as the check of its host key: whoever answers in its place with
// another key would be handed Docker's API, which is root there. Docker's own ssh transport asks
// OpenSSH, which checks ~/.ssh/known_hosts; dockerode's (ssh2) checks nothing unless told. So
// Flowlab checks the same file OpenSSH does — plain and hashed names, [host]:port for other ports —
// and an engine whose key is not there is refused with the command that puts it there.
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** OpenSSH's file, or FLOWLAB_KNOWN_HOSTS. */
export function knownHostsFile(): string {
  return process.env.FLOWLAB_KNOWN_HOSTS || join(homedir(), '.ssh', 'known_hosts');
}

/** The name known_hosts writes for a host: `host`, or `[host]:port` for a port other than 22. */
const entryName = (host: string, port: number) => (port === 22 ? host : `[${host}]:${port}`);

function nameMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return field.split(',').some((n) => n === name);
}

/** The base64 key blobs known_hosts holds for a host (revoked and CA lines left out). */
export function knownKeys(text: string, host: string, port: number): string[] {
  const name = entryName(host, port);
  const keys: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('@')) continue;
    const [names, , blob] = line.split(/\s+/);
    if (names && blob && nameMatches(names, name)) keys.push(blob);
  }
  return keys;
}

/**
 * ssh2's host check for an engine: true only for a key known_hosts holds for it. Undefined when
 * the file knows no key for it at all (the caller says how to add one).
 */
export function hostVerifier(host: string, port: number, file = knownHostsFile()): ((key: Buffer) => boolean) | undefined {
  const keys = existsSync(file) ? knownKeys(readFileSync(file, 'utf8'), host, port) : [];
  if (keys.length === 0) return undefined;
  return (key: Buffer) => keys.includes(key.toString('base64'));
}
