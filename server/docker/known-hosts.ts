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

/** The base64 key blobs known_hosts holds for a host (CA lines left out), and those it revokes (for any host). */
export function knownKeys(text: string, host: string, port: number): string[] {
  return readKnownHosts(text, host, port).keys;
}

function readKnownHosts(text: string, host: string, port: number): { keys: string[]; revoked: Set<string> } {
  const name = entryName(host, port);
  const keys: string[] = [];
  const revoked = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('@revoked')) {
      const blob = line.split(/\s+/)[3];
      if (blob) revoked.add(blob);
      continue;
    }
    if (line.startsWith('@')) continue;
    const [names, , blob] = line.split(/\s+/);
    if (names && blob && nameMatches(names, name)) keys.push(blob);
  }
  return { keys: keys.filter((k) => !revoked.has(k)), revoked };
}

/**
 * ssh2's host check for an engine: true only for a key known_hosts holds for it. Undefined when
 * the file knows no key for it at all (the caller says how to add one).
 */
export function hostVerifier(host: string, port: number, file = knownHostsFile()): ((key: Buffer) => boolean) | undefined {
  const { keys, revoked } = existsSync(file) ? readKnownHosts(readFileSync(file, 'utf8'), host, port) : { keys: [], revoked: new Set<string>() };
  if (keys.length === 0) return undefined;
  return (key: Buffer) => !revoked.has(key.toString('base64')) && keys.includes(key.toString('base64'));
}
