// How Flowlab reaches a Docker engine: a unix socket, TCP with TLS client certificates (the
// files of Docker's DOCKER_CERT_PATH), or ssh (dockerode's transport, the ssh agent's keys, the
// host key checked against known_hosts).
// What is wrong with an address or its certificates is said before anything connects.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { FlowlabError } from '../util/errors.ts';
import { hostVerifier, knownHostsFile } from './known-hosts.ts';
import { LABEL } from './labels.ts';
import type { EngineFacts } from '../protocol/engines.ts';

export interface EngineAddress {
  url: string;
  /** For tcp://: the folder holding ca.pem, cert.pem and key.pem. */
  tlsDir?: string;
}

export class EngineAddressError extends FlowlabError {
  constructor(message: string) {
    super(message, 'invalid');
    this.name = 'EngineAddressError';
  }
}

export const TLS_FILES = ['ca.pem', 'cert.pem', 'key.pem'] as const;

/** dockerode's options for an engine address, certificates read; a clear error for anything else. */
export function dockerOptions(a: EngineAddress): Docker.DockerOptions {
  let url: URL;
  try {
    url = new URL(a.url);
  } catch {
    throw new EngineAddressError(`expected an engine address like tcp://host:2376, ssh://user@host or unix:///var/run/docker.sock; found "${a.url}"`);
  }
  switch (url.protocol) {
    case 'unix:': {
      if (a.tlsDir) throw new EngineAddressError(`--tls-dir is for tcp:// engines; ${a.url} is a unix socket`);
      if (!url.pathname || url.pathname === '/') throw new EngineAddressError(`expected the socket's path after unix://, like unix:///var/run/docker.sock; found "${a.url}"`);
      return { socketPath: url.pathname };
    }
    case 'tcp:': {
      if (!url.hostname) throw new EngineAddressError(`expected a host after tcp://, like tcp://10.0.0.5:2376; found "${a.url}"`);
      if (!a.tlsDir) throw new EngineAddressError(`${a.url} needs TLS client certificates (--tls-dir DIR with ${TLS_FILES.join(', ')}): Docker's API without TLS is root on that machine for anyone who reaches the port`);
      return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 2376), protocol: 'https', ...readTls(a.tlsDir) };
    }
    case 'ssh:': {
      if (a.tlsDir) throw new EngineAddressError(`--tls-dir is for tcp:// engines; ${a.url} uses ssh (its keys come from your ssh agent)`);
      if (!url.hostname) throw new EngineAddressError(`expected ssh://user@host; found "${a.url}"`);
      if (!url.username) throw new EngineAddressError(`expected the user to log in as, like ssh://ubuntu@${url.hostname}; found "${a.url}"`);
      if (!process.env.SSH_AUTH_SOCK) throw new EngineAddressError(`${a.url} logs in with your ssh agent's keys, and SSH_AUTH_SOCK is not set; start an agent and add the key (eval "$(ssh-agent)"; ssh-add KEY)`);
      const host = url.hostname.replace(/^\[|\]$/g, '');
      const port = Number(url.port || 22);
      const verify = hostVerifier(host, port);
      if (!verify) throw new EngineAddressError(`the ssh host key of ${host}${port === 22 ? '' : `:${port}`} is not in ${knownHostsFile()}; expected it there, as ssh itself does: check its fingerprint, then add it with ssh-keyscan${port === 22 ? '' : ` -p ${port}`} ${host} >> ${knownHostsFile()}`);
      return {
        protocol: 'ssh',
        host,
        port,
        username: decodeURIComponent(url.username),
        sshOptions: { agent: process.env.SSH_AUTH_SOCK, hostVerifier: verify },
      } as Docker.DockerOptions;
    }
    default:
      throw new EngineAddressError(`expected tcp://, ssh:// or unix:// before the engine's address; found "${a.url}"`);
  }
}

function readTls(dir: string): { ca: string; cert: string; key: string } {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new EngineAddressError(`--tls-dir ${dir} is not a folder; expected one holding ${TLS_FILES.join(', ')} (what DOCKER_CERT_PATH holds)`);
  const missing = TLS_FILES.filter((f) => !statSync(join(dir, f), { throwIfNoEntry: false })?.isFile());
  if (missing.length) throw new EngineAddressError(`--tls-dir ${dir} has no ${missing.join(', ')}; expected ${TLS_FILES.join(', ')} (what DOCKER_CERT_PATH holds)`);
  const [ca, cert, key] = TLS_FILES.map((f) => readFileSync(join(dir, f), 'utf8'));
  const pem = (text: string, kind: RegExp, file: string) => {
    if (!kind.test(text)) throw new EngineAddressError(`${join(dir, file)} is not a PEM ${file === 'key.pem' ? 'private key' : 'certificate'}; expected a file starting with -----BEGIN ${file === 'key.pem' ? '… PRIVATE KEY' : 'CERTIFICATE'}-----`);
  };
  pem(ca!, /-----BEGIN CERTIFICATE-----/, 'ca.pem');
  pem(cert!, /-----BEGIN CERTIFICATE-----/, 'cert.pem');
  pem(key!, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'key.pem');
  return { ca: ca!, cert: cert!, key: key! };
}

/**
 * dockerode's ssh transport writes each request's address as `ssh:host:port/path` and parses it
 * with url.parse, which Node warns about (DEP0170) on a user's terminal, once per process, though
 * nothing is wrong: that one warning is left out, every other is said as before.
 */
let quietSsh = false;
function quietSshUrlWarning(): void {
  if (quietSsh) return;
  quietSsh = true;
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' && rest[0] ? (rest[0] as { code?: string }).code : rest[1];
    if (code === 'DEP0170' && String(warning).includes('ssh:')) return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}

/** A dockerode client for the engine at that address; with `timeoutMs`, a request that takes longer fails. */
export function dockerFor(a: EngineAddress, timeoutMs?: number): Docker {
  const options = dockerOptions(a);
  if (options.protocol === 'ssh') quietSshUrlWarning();
  // Over ssh, dockerode's timeout reaches for a socket the ssh channel is not: bound the call instead (answersWithin).
  return new Docker({ ...options, ...(timeoutMs && options.protocol !== 'ssh' ? { timeout: timeoutMs } : {}) });
}

/** `p`, or a failure saying the engine did not answer within `ms` (whatever transport it is on). */
export function answersWithin<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Asks the engine who it is; throws with Docker's own reason when it does not answer in time. */
export async function engineFacts(docker: Docker): Promise<EngineFacts> {
  const [version, info, managed] = await Promise.all([
    docker.version() as Promise<{ Version: string; ApiVersion: string; Os: string }>,
    docker.info() as Promise<{ NCPU: number; MemTotal: number; Containers: number; Swarm?: { LocalNodeState?: string } }>,
    docker.listContainers({ all: true, filters: { label: [`${LABEL.managed}=true`] } }),
  ]);
  return {
    version: version.Version,
    api: version.ApiVersion,
    os: version.Os,
    cpus: info.NCPU,
    memoryBytes: info.MemTotal,
    swarm: info.Swarm?.LocalNodeState === 'active',
    containers: info.Containers,
    managed: managed.length,
  };
}

/** Whether API version `have` is at least `want` ("1.41"). */
export function apiAtLeast(have: string, want: string): boolean {
  const [a, b] = [have, want].map((v) => v.split('.').map(Number));
  return a![0]! > b![0]! || (a![0] === b![0] && (a![1] ?? 0) >= (b![1] ?? 0));
}
