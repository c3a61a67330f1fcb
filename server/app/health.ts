// The pool's health as the sessions feel it. Every engine is pinged (every 5 s in a server); one
// that stops answering is `down`, and its ready sessions are `engine-lost` — never `ready` over an
// engine nobody can reach. Each engine that answers has its sessions checked against the labelled
// containers there:
//   - all there and running: well (an engine-lost session is ready again);
//   - none there: the engine lost them (replaced, wiped) — the session is ended, saying so;
//   - there but every one stopped: the engine restarted (dockerd stops every container, and they
//     stay stopped) — the session is brought back: containers started in order, each ready, its
//     faults applied again, its captures started again; or, where that fails, `broken`, with why.
// One engine's trouble is its own: the others are checked all the same, and nothing here throws.
import { answersWithin } from '../docker/connect.ts';
import { LABEL } from '../docker/labels.ts';
import { PoolWatch, type EngineHealth } from '../engines/watch.ts';
import { startAndWait } from '../fault/common.ts';
import { Faults } from '../fault/faults.ts';
import { FaultStore } from '../store/faults.ts';
import { leaderOf } from '../lab/nodes.ts';
import { LiveSession } from '../session/live.ts';
import type { DockerRuntime } from '../docker/runtime.ts';
import type { EngineRegistry } from '../engines/registry.ts';
import type { SessionEngine } from '../session/engine.ts';
import type { SessionRecord } from '../store/sessions.ts';

/** What the health of the pool is checked with: the app's engines, sessions, and local connection. */
interface Pool {
  engines: EngineRegistry;
  engine: SessionEngine;
  docker: DockerRuntime;
}

export type HealthEvent =
  | { kind: 'engine'; engine: string; state: EngineHealth; text: string }
  | { kind: 'session'; engine: string; session: string; state: 'engine-lost' | 'ready' | 'broken' | 'ended'; text: string };

/** Roles of the containers a lab is made of (helpers and captures are made again when needed). */
// A lab with nodes has its node containers on the engine (what runs inside them is the nodes' to list).
const LAB_ROLES = new Set(['service', 'resolver', 'node']);
/** Flowlab's own containers of a lab, which neither a fault nor the learner stops: stopped, the engine did it. */
const WITNESS_ROLES = new Set(['resolver', 'capture', 'traffic']);
const PING_MS = 3000;
const RECONCILE_MS = 10_000;
/** Faults that leave their service stopped on purpose. */
const STOPPING_FAULTS = new Set(['stop', 'kill', 'port-conflict']);

export class PoolHealth {
  readonly watch: PoolWatch;
  private readonly listeners: ((e: HealthEvent) => void)[] = [];
  /** Sessions being brought back now (a check does not start a second recovery). */
  private readonly recovering = new Set<string>();
  /** Sessions this process could not bring back: broken until restarted, not tried every round. */
  private readonly unrecoverable = new Set<string>();
  private timer?: NodeJS.Timeout;
  private checking?: Promise<void>;

  constructor(
    private readonly app: Pool,
    opts: { slowMs?: number } = {},
  ) {
    this.watch = new PoolWatch(app.engines, (engine, state, text) => this.engineChanged(engine, state, text), opts.slowMs, () => answersWithin(app.docker.ping(), PING_MS));
  }

  on(listener: (e: HealthEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  private emit(e: HealthEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A listener's trouble is not the pool's.
      }
    }
  }

  /** Checks every `everyMs` until stopped (0: never); a ping slower than `slowMs` is slow. */
  start(everyMs = 5000, slowMs?: number): void {
    if (slowMs !== undefined) this.watch.slowMs = slowMs;
    if (everyMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.check(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * One round: every engine pinged, then the sessions of each that answers checked. A round
   * already running is waited for. Without `recover` (a short-lived command), a session whose
   * engine restarted is marked broken instead of brought back.
   */
  check(opts: { recover?: boolean } = {}): Promise<void> {
    this.checking ??= this.round(opts.recover ?? true).finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async round(recover: boolean): Promise<void> {
    await this.watch.check().catch(() => undefined);
    // An engine that answers a ping and hangs on a listing holds up no one but itself.
    await Promise.all(this.app.engines.names().filter((n) => this.watch.state(n) !== 'down').map((n) => answersWithin(this.reconcile(n, recover), RECONCILE_MS).catch(() => undefined)));
  }

  private engineChanged(engine: string, state: EngineHealth, text: string): void {
    this.emit({ kind: 'engine', engine, state, text });
    if (state !== 'down') return;
    const why = text.replace(/^the Docker engine does not answer \((.*)\): .*$/, '$1');
    for (const rec of this.readyOn(engine)) this.trouble(rec, engine, 'engine-lost', `engine ${engine} does not answer (${why})`);
  }

  private readyOn(engine: string): SessionRecord[] {
    return this.app.engine.store.list(['ready']).filter((r) => r.engine === engine);
  }

  /** Each ready session of an engine that answers, against the containers labelled with it there. */
  async reconcile(engine: string, recover = true): Promise<void> {
    const sessions = this.readyOn(engine).filter((r) => !this.recovering.has(r.id) && !this.unrecoverable.has(r.id));
    if (sessions.length === 0) return;
    const rt = this.app.engine.runtimeOf(engine);
    const all = await rt.listContainers({ [LABEL.managed]: 'true', [LABEL.registry]: this.app.engine.registryPath });
    for (const rec of sessions) {
      const lab = all.filter((c) => c.labels[LABEL.session] === rec.id && LAB_ROLES.has(c.labels[LABEL.role] ?? ''));
      const expected = (rec.topology?.services ?? []).filter((s) => s.kind === 'container').length;
      if (lab.length === 0) {
        // A lab of swarm services only has no container of its own to miss (swarm restarts its tasks).
        // A short-lived command only says; a server ends it (after looking again: a down may be on its way).
        if (expected > 0 && recover) await this.gone(rec, engine);
        else if (rec.trouble?.kind === 'engine-lost') this.well(rec, engine);
      } else if (this.restarted(rec, lab, all)) {
        if (!recover) {
          this.trouble(rec, engine, 'broken', `every container of it is stopped on engine ${engine} (the engine restarted); a running Flowlab server brings it back`);
          continue;
        }
        this.recovering.add(rec.id);
        void this.recover(rec, engine)
          .catch(() => undefined)
          .finally(() => this.recovering.delete(rec.id));
      } else if (rec.trouble?.kind === 'engine-lost') {
        this.well(rec, engine);
      }
    }
  }

  /**
   * Whether the engine stopped this lab (it restarted), rather than a fault or the learner: every
   * container of it stopped, one of them not by an applied fault, and Flowlab's own containers of
   * it stopped too (its resolver and capture sidecars, which no learner may stop) — or the engine
   * was seen down meanwhile. A lab of host-network services only has none of those: it is brought
   * back after its engine was seen down, not after a restart too quick to be seen.
   */
  private restarted(rec: SessionRecord, lab: { state: string; labels: Record<string, string> }[], all: { state: string; labels: Record<string, string> }[]): boolean {
    const stopped = (c: { state: string }) => c.state !== 'running' && c.state !== 'paused';
    if (!lab.every(stopped)) return false;
    const meant = new Set(new FaultStore(this.app.engine.db).list(rec.id).filter((f) => f.state === 'applied' && STOPPING_FAULTS.has(f.type)).map((f) => String(f.params.service)));
    if (lab.every((c) => meant.has(c.labels[LABEL.name] ?? ''))) return false;
    if (rec.trouble?.kind === 'engine-lost') return true;
    const witnesses = all.filter((c) => c.labels[LABEL.session] === rec.id && WITNESS_ROLES.has(c.labels[LABEL.role] ?? ''));
    return witnesses.length > 0 && witnesses.every(stopped);
  }

  private trouble(rec: SessionRecord, engine: string, kind: 'engine-lost' | 'broken', reason: string): void {
    this.app.engine.store.setTrouble(rec.id, kind, reason);
    this.emit({ kind: 'session', engine, session: rec.id, state: kind, text: `session ${rec.id} (${rec.scenario}) is ${kind}: ${reason}` });
  }

  private well(rec: SessionRecord, engine: string): void {
    this.app.engine.store.clearTrouble(rec.id);
    this.emit({ kind: 'session', engine, session: rec.id, state: 'ready', text: `session ${rec.id} (${rec.scenario}) is ready again: engine ${engine} answers and its lab is as it was` });
  }

  private async gone(rec: SessionRecord, engine: string): Promise<void> {
    // Looked at again: a session being ended (or just ended) by anyone is theirs, not gone.
    await new Promise((r) => setTimeout(r, 1000));
    const now = this.app.engine.store.get(rec.id);
    if (now?.state !== 'ready') return;
    const still = await this.app.engine.runtimeOf(engine).listContainers({ [LABEL.managed]: 'true', [LABEL.session]: rec.id });
    if (still.length > 0 || this.app.engine.store.get(rec.id)?.state !== 'ready') return;
    const reason = `its containers were gone from engine ${engine} when it answered again`;
    await this.app.engine.teardown(rec.id, engine).catch(() => undefined);
    this.app.engine.store.markEnded(rec.id, 'ended', reason);
    this.emit({ kind: 'session', engine, session: rec.id, state: 'ended', text: `session ${rec.id} (${rec.scenario}) ended: ${reason}` });
  }

  /** Brings back a session whose engine restarted: its nodes (a lab with nodes), its resolver, then its services, faults, captures. */
  async recover(rec: SessionRecord, engine: string): Promise<void> {
    const store = this.app.engine.store;
    try {
      const live = new LiveSession(this.app.engine, rec);
      // A lab with nodes: its machines first — the leader (the swarm's raft), then the others.
      const nodes = live.nodes().map((n) => n.name);
      const leader = leaderOf(live.nodes())?.name;
      if (leader) await live.restartNode(leader);
      await Promise.all(nodes.filter((n) => n !== leader).map((n) => live.restartNode(n)));
      const rt = live.runtime();
      const resolver = live.plan().resolver;
      if (resolver) await rt.startContainer(resolver.name);
      // Services that share another's network namespace start after it.
      const services = live.plan().services.filter((s) => s.container);
      const owners = services.filter((s) => s.container!.network.kind !== 'container');
      await Promise.all(owners.map((s) => startAndWait(live, rt, s.name)));
      await Promise.all(services.filter((s) => !owners.includes(s)).map((s) => startAndWait(live, rt, s.name)));
      // A swarm task stopped with its engine exits cleanly: it completed, and its restart policy
      // (on failure) starts no other. Its service gets new tasks.
      for (const s of live.plan().services.filter((x) => x.swarm)) {
        const info = await rt.serviceInfo(s.swarm!.name);
        const meant = (await rt.serviceTasks(s.swarm!.name)).filter((t) => t.desired === 'running').length;
        if (info && meant < info.replicas) await rt.restartServiceTasks(s.swarm!.name);
      }
      const again = await new Faults(live).restore();
      await live.ensureSidecars(rt);
      await live.settle();
      store.clearTrouble(rec.id);
      this.emit({ kind: 'session', engine, session: rec.id, state: 'ready', text: `session ${rec.id} (${rec.scenario}) was brought back after engine ${engine} restarted: containers started${again.length ? `, ${again.length} fault${again.length === 1 ? '' : 's'} applied again` : ''}, captures running` });
    } catch (e) {
      this.unrecoverable.add(rec.id);
      if (store.get(rec.id)?.state !== 'ready') return;
      this.trouble(rec, engine, 'broken', `engine ${engine} restarted and the lab could not be brought back: ${(e as Error).message.split('\n')[0]}`);
    }
  }
}
