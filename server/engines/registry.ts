// The pool of Docker engines labs run on: "local" (where DOCKER_HOST points, or the default
// socket) and the engines a trainer adds by name. Adding one checks everything before anything is
// stored: the address, the certificates, that the engine answers, and its API version.
import { resolve } from 'node:path';
import { answersWithin, apiAtLeast, dockerFor, engineFacts, type EngineAddress } from '../docker/connect.ts';
import { LOCAL_ENGINE, type EngineFacts, type EngineStatus } from '../protocol/engines.ts';
import { reasonOf } from '../docker/errors.ts';
import { dockerEndpoint, DockerRuntime } from '../docker/runtime.ts';
import type { Db } from '../store/db.ts';
import { EngineStore } from '../store/engines.ts';
import { FlowlabError, type ErrorKind } from '../util/errors.ts';

/** Docker 20.10's API: what every part of Flowlab is written against. */
export const MIN_API = '1.41';
const ENGINE_NAME_RE = /^[a-z][a-z0-9-]{0,30}$/;
/** How long an engine may take to answer when it is added; listed, 3 s (a hung engine shows down quickly). */
const ANSWER_MS = 8000;
const LIST_ANSWER_MS = 3000;

export class EngineError extends FlowlabError {
  constructor(message: string, kind: ErrorKind = 'invalid') {
    super(message, kind);
    this.name = 'EngineError';
  }
}


export class EngineRegistry {
  private readonly runtimes = new Map<string, { url: string; rt: DockerRuntime }>();

  constructor(
    private readonly db: Db,
    private readonly gates: {
      /** Container starts an engine is asked for at once until its CPUs are known. */
      startsAtOnce?: number;
      /** The size was given (FLOWLAB_DOCKER_STARTS): every engine keeps it. */
      fixed?: boolean;
      /** The local engine's connection, when the app has one already. */
      local?: DockerRuntime;
    } = {},
  ) {}

  /** The connection to an engine of the pool (kept while its address is the same). */
  runtime(name: string): DockerRuntime {
    if (name === LOCAL_ENGINE && this.gates.local) return this.gates.local;
    const address = this.address(name);
    const kept = this.runtimes.get(name);
    if (kept && kept.url === address.url) return kept.rt;
    const rt = DockerRuntime.at(address, this.gates.startsAtOnce ?? 0);
    this.runtimes.set(name, { url: address.url, rt });
    return rt;
  }

  private get store(): EngineStore {
    return new EngineStore(this.db);
  }

  /** Where an engine is, by name; "local" included. */
  address(name: string): EngineAddress {
    if (name === LOCAL_ENGINE) return { url: dockerEndpoint() };
    const row = this.store.get(name);
    if (!row) throw new EngineError(`no engine named "${name}"; the engines are: ${this.names().join(', ')}`, 'not-found');
    return { url: row.url, ...(row.tls_dir ? { tlsDir: row.tls_dir } : {}) };
  }

  names(): string[] {
    return [LOCAL_ENGINE, ...this.store.list().map((r) => r.name)];
  }

  /**
   * Adds an engine once its address and certificates are right and it answers with API
   * MIN_API or later; otherwise says what was expected, and stores nothing.
   */
  async add(name: string, url: string, tlsDir?: string): Promise<EngineStatus> {
    if (!ENGINE_NAME_RE.test(name)) throw new EngineError(`expected an engine name of lower-case letters, digits and dashes, starting with a letter (like "node-2"); found "${name}"`);
    if (name === LOCAL_ENGINE || this.store.get(name)) throw new EngineError(`an engine named "${name}" is already in the pool (${this.address(name).url}); pick another name or remove it first`, 'conflict');
    const address: EngineAddress = { url, ...(tlsDir ? { tlsDir: resolve(tlsDir) } : {}) };
    const docker = dockerFor(address, ANSWER_MS);
    let facts: EngineFacts;
    try {
      facts = await answersWithin(engineFacts(docker), ANSWER_MS);
    } catch (e) {
      throw new EngineError(`engine "${name}" at ${url} did not answer: ${reasonOf(e)}; expected a Docker engine listening there${address.tlsDir ? ' that trusts the certificates in ' + address.tlsDir : ''}`, 'unavailable');
    }
    if (!apiAtLeast(facts.api, MIN_API)) throw new EngineError(`engine "${name}" at ${url} speaks Docker API ${facts.api} (Docker ${facts.version}); expected ${MIN_API} or later (Docker 20.10 or later)`);
    this.store.add({ name, url, tls_dir: address.tlsDir ?? null, added_at: Date.now() });
    return { name, url, state: 'up', drained: false, sessions: 0, facts, error: null };
  }

  /**
   * An engine's start gate is as wide as it has CPUs (at least 2): a container start costs most
   * of a CPU-second there (see StartGate). Unless FLOWLAB_DOCKER_STARTS gave every engine one size.
   */
  private sizeGate(name: string, cpus: number): void {
    if (this.gates.fixed || !(cpus > 0)) return;
    this.runtime(name).starts.resize(Math.max(2, cpus));
  }

  /** Throws unless the engine answers a ping within 3 s. */
  async ping(name: string): Promise<void> {
    const local = name === LOCAL_ENGINE ? this.gates.local : undefined;
    await answersWithin(local ? local.ping() : dockerFor(this.address(name), 3000).ping(), 3000);
  }

  /** Every engine with what it says of itself now (an engine that does not answer is down, with why). */
  async list(): Promise<EngineStatus[]> {
    const live = this.store.liveSessions();
    const rows = [{ name: LOCAL_ENGINE, url: dockerEndpoint(), drained_at: this.store.localDrainedAt() }, ...this.store.list()];
    return Promise.all(
      rows.map(async (r) => {
        const base = { name: r.name, url: r.url, drained: r.drained_at !== null, sessions: live[r.name] ?? 0 };
        try {
          // local through the app's own connection: DOCKER_HOST may be any address Docker's client takes.
          const local = r.name === LOCAL_ENGINE ? this.gates.local : undefined;
          const facts = await answersWithin(local ? local.facts() : engineFacts(dockerFor(this.address(r.name), LIST_ANSWER_MS)), LIST_ANSWER_MS);
          this.sizeGate(r.name, facts.cpus);
          return { ...base, state: 'up' as const, facts, error: null };
        } catch (e) {
          return { ...base, state: 'down' as const, facts: null, error: reasonOf(e) };
        }
      }),
    );
  }

  /** Whether an engine of the pool is drained. */
  drained(name: string): boolean {
    this.address(name);
    return (name === LOCAL_ENGINE ? this.store.localDrainedAt() : this.store.get(name)?.drained_at ?? null) !== null;
  }

  /** Throws unless the engine is in the pool and takes new labs (not drained). */
  takesLabs(name: string): void {
    if (this.drained(name)) throw new EngineError(`engine "${name}" is drained: it keeps its labs and takes no new ones; undrain it (flowlab engines undrain ${name}) or pick another engine`, 'conflict');
  }

  /** Takes an engine out of the pool; refused while it holds sessions unless they were ended first. */
  remove(name: string): void {
    if (name === LOCAL_ENGINE) throw new EngineError('the local engine is where Flowlab finds Docker (DOCKER_HOST); it cannot be removed', 'conflict');
    this.address(name);
    const n = this.store.liveSessions()[name] ?? 0;
    if (n > 0) throw new EngineError(`engine "${name}" holds ${n} session${n === 1 ? '' : 's'}; end them first (flowlab engines rm ${name} --force does), or drain it`, 'conflict');
    this.store.remove(name);
    this.runtimes.delete(name);
  }

  /** A drained engine keeps its labs and takes no new ones. */
  drain(name: string, drained = true): void {
    this.address(name);
    if (name === LOCAL_ENGINE) this.store.setLocalDrained(drained);
    else this.store.setDrained(name, drained);
  }

  /** The sessions not ended on an engine (what `rm --force` ends first). */
  sessionsOn(name: string): string[] {
    return this.store.sessionsOn(name);
  }
}
