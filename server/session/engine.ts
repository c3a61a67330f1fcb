// Sessions: bring a lab up on the Docker daemon, tear it down, and (through sweep.ts) remove what
// dead sessions left. Everything Docker holds for a session is found by its labels, never from memory.
import { resolve } from 'node:path';
import type { Settings } from '../config.ts';
import { LABEL, type SessionRef } from '../docker/labels.ts';
import { dockerFailed } from '../docker/errors.ts';
import { DockerRuntime } from '../docker/runtime.ts';
import { shipLabImages } from '../images/ship.ts';
import { LOCAL_ENGINE } from '../protocol/engines.ts';
import type { Action, ActionSink, DockerApi } from '../docker/types.ts';
import type { StartPriority } from '../docker/start-gate.ts';
import { kernelFeatures } from '../env/kernel.ts';
import { ensureLabImages } from '../images/build.ts';
import { labRequirements, REQUIREMENT_WHY, unmet, type EngineFeatures } from '../lab/requirements.ts';
import type { CatalogueEntry } from '../lab/catalogue.ts';
import type { Lab, Variant } from '../lab/schema.ts';
import type { SessionSummary, Topology } from '../protocol/session.ts';
import type { Db } from '../store/db.ts';
import type { FaultRecord } from '../store/faults.ts';
import { ProgressStore } from '../store/progress.ts';
import { SessionStore, type SessionRecord } from '../store/sessions.ts';
import { allocate, portFreeHere, SUBNET_ATTEMPTS, type PortCheck } from './allocate.ts';
import { newHexId, newInstance, type Instance } from './instance.ts';
import { capturePoints, planLab, trafficSources, type LabPlan } from './plan.ts';
import type { SessionHost, TrafficCalls } from './host.ts';
import { LiveSession } from './live.ts';
import { startServices } from './start-services.ts';
import type { NodesRuntime } from '../docker/nodes-runtime.ts';
import { hasNodes } from '../lab/nodes.ts';
import { CONSOLE_REF, labImageRefs } from '../lab/lab-images.ts';
import { planNodes, type NodesPlan } from './node-plan.ts';
import { nodesRuntime, startNodes } from './nodes.ts';
import { sweepDead, type DownReport, type SweepReport } from './sweep.ts';
import { settleAll } from '../util/settle.ts';
import { revealedServices } from './reveal.ts';
import { describeTopology } from './topology.ts';
import { chooseVariant, randomSeed } from './variant.ts';
import { SessionError } from './errors.ts';


export interface UpOptions {
  seed?: number;
  /** The learner's display name (a local profile, made on first use). */
  learner?: string;
  initSwarm?: boolean;
  progress?: (line: string) => void;
  /** How far `up` has come, as it goes (for a learner waiting on it). */
  steps?: (step: UpStep) => void;
  /** Aborts a running `up`; what it built so far is removed. */
  signal?: AbortSignal;
  /**
   * The session outlives this process (`flowlab up`): it lives until `flowlab down`. Otherwise
   * it lives while this process does (a server), and a sweep removes it once the process is gone.
   */
  detached?: boolean;
  /** The engine of the pool the lab goes on (default: local). */
  engine?: string;
  /**
   * A start that expects to claim a warm session (a workshop's, within its room): told when the
   * store has answered, and asked, when it had none left, whether a start on demand may go on.
   */
  claim?: { answered(claimed: boolean): void; coldAllowed(): boolean };
  /**
   * Made for its lab's warm pool: brought up healthy (captures running, no fault, no learner),
   * its containers started after every other start waiting at the engine's gate; a claim breaks it.
   */
  warm?: boolean;
}

/** A stage of `up`: networks made, services ready one by one, the lab's faults applied. */
export interface UpStep {
  stage: 'networks' | 'services' | 'faults' | 'ready';
  networks: number;
  servicesReady: number;
  servicesTotal: number;
}

export type { DownReport, SweepReport } from './sweep.ts';

/** What layers above the session engine plug in (faults live above it). */
export interface EngineHooks {
  /** Runs once every service is ready, before the session is: applies the lab's faults. */
  afterReady?: (live: LiveSession, variant: Variant | undefined) => Promise<void>;
  /** Runs before a session's objects are removed (the console stops serving it). */
  beforeTeardown?: (session: string) => Promise<void>;
  /** Sweep found a fault a dead process was applying or reverting in a live session. */
  settleFault?: (live: LiveSession, fault: FaultRecord) => Promise<void>;
  /** The lab's own traffic from one service (probes live above the session engine). */
  trafficCalls?: (live: LiveSession, source: string) => TrafficCalls;
}

/** What a learner or trainer can do about a session in trouble. */
export function troubleTodo(rec: SessionRecord): string {
  return rec.trouble?.kind === 'engine-lost'
    ? `it comes back by itself when engine ${rec.engine} answers again; or end it and start the lab again (on another engine)`
    : 'restart the lab to start it again';
}

export class SessionEngine implements SessionHost {
  readonly store: SessionStore;
  hooks: EngineHooks = {};

  trafficCalls(live: LiveSession, source: string): TrafficCalls {
    return this.hooks.trafficCalls?.(live, source) ?? { calls: [], pings: false };
  }
  readonly instance: Instance;
  private readonly inFlight = new Map<string, Promise<unknown>>();
  /**
   * Work a session still does in the background (starting its captures, following a change made
   * from the console), and how to call it off: `down` stops and waits for all of it first.
   */
  private readonly pending = new Map<string, Set<{ done: Promise<unknown>; stop: AbortController }>>();

  /** Resolves once every session's background work is done (a CLI waits for it before exiting). */
  async settled(session?: string): Promise<void> {
    const work = [...this.pending.entries()].filter(([id]) => !session || id === session).flatMap(([, set]) => [...set].map((p) => p.done));
    await Promise.all(work);
  }

  /**
   * Runs work that belongs to a session in the background. Its failures are reported to
   * `onError`, never thrown; `down` aborts its signal and waits for it before removing anything.
   */
  background(session: string, work: (signal: AbortSignal) => Promise<unknown>, onError?: (e: Error) => void): void {
    const stop = new AbortController();
    const entry: { done: Promise<unknown>; stop: AbortController } = { done: Promise.resolve(), stop };
    const set = this.pending.get(session) ?? new Set();
    this.pending.set(session, set);
    entry.done = work(stop.signal)
      .catch((e: Error) => {
        if (!stop.signal.aborted) onError?.(e);
      })
      .finally(() => {
        set.delete(entry);
        if (set.size === 0 && this.pending.get(session) === set) this.pending.delete(session);
      });
    set.add(entry);
  }

  /** Calls off a session's background work and waits for what already runs to finish. */
  private async quiesce(session: string): Promise<void> {
    for (const p of this.pending.get(session) ?? []) p.stop.abort();
    await this.settled(session);
  }

  constructor(
    readonly settings: Settings,
    readonly db: Db,
    readonly docker: DockerRuntime = DockerRuntime.withStartLimit(settings.dockerStarts),
    instance: Instance = newInstance(),
  ) {
    this.store = new SessionStore(db);
    this.instance = instance;
  }

  /** The engines of the pool besides local, and what each kernel offers (set by the app). */
  pool?: { names(): string[]; runtime(engine: string): DockerRuntime; features?(engine: string): Promise<EngineFeatures> };

  /** What an engine's kernel offers: asked of it (the app's pool), or this machine's for local. */
  async featuresOf(engine: string): Promise<EngineFeatures> {
    if (this.pool?.features) return this.pool.features(engine);
    return engine === LOCAL_ENGINE ? kernelFeatures() : {};
  }

  /** Each session with nodes: the one connection to its swarm (reused: every node connection costs an exec to open). */
  private readonly nodeRuntimes = new Map<string, NodesRuntime>();

  /** What a session's lab objects live on: its engine, or for a lab with nodes, the swarm of its nodes. */
  labRuntime(rec: Pick<SessionRecord, 'id' | 'engine' | 'lab'>): DockerApi {
    if (!hasNodes(rec.lab)) return this.runtimeOf(rec.engine);
    let rt = this.nodeRuntimes.get(rec.id);
    if (!rt) {
      rt = nodesRuntime(this.runtimeOf(rec.engine), rec.id, rec.lab, this.settings.dockerStarts);
      this.nodeRuntimes.set(rec.id, rt);
    }
    return rt;
  }

  /** The connection to an engine: local's is `docker`. */
  runtimeOf(engine: string): DockerRuntime {
    if (engine === LOCAL_ENGINE) return this.docker;
    if (!this.pool) throw new SessionError(`no engine named "${engine}": this process knows only the local engine`, 'not-found');
    return this.pool.runtime(engine);
  }

  get instanceId(): string {
    return this.instance.id;
  }

  /** The registry as labels name it: the data directory's path, or FLOWLAB_REGISTRY_NAME. */
  get registryPath(): string {
    return this.settings.registryName ?? resolve(this.settings.dataDir);
  }

  private ref(session: string, scenario: string): SessionRef {
    return { session, scenario, owner: this.instance.id, registry: this.registryPath };
  }

  private claimed = false;

  /** Records this process in the registry before it makes Docker objects (sweep asks after it). */
  claimInstance(): void {
    if (this.claimed) return;
    this.store.registerInstance(this.instance);
    this.claimed = true;
  }

  /** A session that is up, to probe it, break it or repair it. */
  live(session: string): LiveSession {
    const rec = this.store.get(session);
    if (!rec) throw new SessionError(`unknown session "${session}"; expected one of: ${this.store.list(['ready']).map((s) => s.id).join(', ') || '(no live sessions)'}`, 'not-found');
    if (rec.state !== 'ready') throw new SessionError(`session ${session} is ${rec.state}, not ready`);
    if (rec.warmAt !== null) throw new SessionError(`session ${session} is warm: it waits in the pool of ${rec.scenario}, not yet anyone's; start that lab to claim one`, 'unavailable');
    if (rec.trouble) throw new SessionError(`session ${session} is ${rec.trouble.kind}: ${rec.trouble.reason}; ${troubleTodo(rec)}`, 'unavailable');
    return new LiveSession(this, rec);
  }

  /** Called for every Docker action, after it is recorded (for --verbose and live views). */
  onAction?: (session: string, action: Action) => void;

  recorder(session: string): ActionSink {
    return (a) => {
      this.store.appendAction(session, a.command, a.revealsFault);
      this.onAction?.(session, a);
    };
  }

  private newSessionId(): string {
    for (;;) {
      const id = newHexId(4);
      if (!this.store.get(id)) return id;
    }
  }

  // ---- up --------------------------------------------------------------------------------

  async up(entry: CatalogueEntry, opts: UpOptions = {}): Promise<Topology> {
    const { lab } = entry;
    const progress = opts.progress ?? (() => {});
    const engine = opts.engine ?? LOCAL_ENGINE;
    const rt = this.runtimeOf(engine);
    // The lab resolver runs from the toolbox, so every lab needs the lab images: built here, sent to another engine.
    // A lab with nodes makes its own swarm inside them: its engine needs the engine node's image, not swarm mode.
    const nodes = hasNodes(lab);
    if (engine === LOCAL_ENGINE) await ensureLabImages(this.docker, progress, { nodes });
    else await shipLabImages(this.docker, rt, engine, progress, { nodes });
    if (!nodes && (lab.network === 'overlay' || Object.values(lab.networks).some((n) => n?.driver === 'overlay'))) await this.ensureSwarm(rt, opts.initSwarm ?? this.settings.initSwarm, progress);

    const seed = opts.seed ?? randomSeed();
    // A warm session has no variant until it is claimed: the lab's own needs are checked.
    const variant = opts.warm ? undefined : chooseVariant(lab, seed);
    const features = await this.featuresOf(engine);
    for (const need of unmet(labRequirements(lab, variant), features)) {
      throw new SessionError(`lab "${lab.id}" cannot run on engine ${engine}: ${REQUIREMENT_WHY[need]}, and its kernel does not have it`, 'unavailable');
    }
    const session = this.newSessionId();
    const inst = this.instance;
    this.claimInstance();
    const warm = opts.warm ?? false;
    this.store.create({
      id: session, scenario: lab.id, labFile: entry.file, seed: warm ? 0 : seed, variant: variant?.id ?? null,
      owner: inst.id, ownerPid: inst.pid, ownerHost: inst.host, ownerStart: inst.start, lab, detached: opts.detached ?? false, engine, warm,
    });
    if (opts.learner) new ProgressStore(this.db).setSessionLearner(session, opts.learner);
    const work = this.build(session, lab, seed, opts, progress);
    this.inFlight.set(session, work);
    try {
      return await work;
    } finally {
      this.inFlight.delete(session);
    }
  }

  /**
   * Takes a warm session of the lab on one of `engines` — made from this very lab definition —
   * for this start: it gets the seed's variant, its faults applied as a cold start would apply
   * them, its learner, and is ready. Undefined when no such session waits (start one on demand).
   * Two claims never get the same session: the store hands each out once.
   */
  async claim(entry: CatalogueEntry, engines: string[], opts: UpOptions & { seed: number }, taken?: (claimed: boolean) => void): Promise<Topology | undefined> {
    const { lab } = entry;
    const variant = chooseVariant(lab, opts.seed);
    this.claimInstance();
    const session = this.store.claimWarm({ scenario: lab.id, lab, engines, seed: opts.seed, variant: variant?.id ?? null, owner: this.instance, detached: opts.detached ?? false });
    taken?.(session !== undefined);
    if (!session) return undefined;
    if (opts.learner) new ProgressStore(this.db).setSessionLearner(session, opts.learner);
    const work = this.finishClaim(session, lab, opts.seed, opts);
    this.inFlight.set(session, work);
    try {
      return await work;
    } finally {
      this.inFlight.delete(session);
    }
  }

  private async finishClaim(session: string, lab: Lab, seed: number, opts: UpOptions): Promise<Topology> {
    const rec = this.store.get(session)!;
    const progress = opts.progress ?? (() => {});
    const n = rec.topology?.services.length ?? 0;
    const step = { networks: rec.topology?.networks.length ?? 0, servicesReady: n, servicesTotal: n };
    const check = () => {
      if (opts.signal?.aborted) throw new SessionError(`bringing up session ${session} was interrupted`);
    };
    try {
      progress(`session ${session}: claimed warm from its pool on engine ${rec.engine}`);
      const topology = await this.breakAsDrawn(session, lab, seed, { ...rec.topology!, seed }, () => opts.steps?.({ stage: 'faults', ...step }), progress, check);
      this.store.markReady(session, topology);
      progress(`session ${session}: ready`);
      opts.steps?.({ stage: 'ready', ...step });
      // A fault that re-created a service left it without its capture (made again here, as a cold
      // start makes them after its faults); replacing one shows which service the fault touched.
      this.startCaptures(session, this.labRuntime(rec).scoped(this.recorder(session), { revealsFault: true }), progress, 'background');
      return topology;
    } catch (e) {
      const reason = (e as Error).message;
      progress(`session ${session}: failed, removing it: ${reason.split('\n')[0]}`);
      await this.teardown(session).catch(() => undefined);
      this.store.markEnded(session, 'failed', reason);
      throw e instanceof SessionError ? e : new SessionError(`lab "${lab.id}" did not come up: ${reason}`);
    }
  }

  private async build(session: string, lab: Lab, seed: number, opts: UpOptions, progress: (l: string) => void): Promise<Topology> {
    const engine = opts.engine ?? LOCAL_ENGINE;
    const outer = this.runtimeOf(engine).scoped(this.recorder(session));
    // A lab with nodes: its networks and containers go into its swarm, once the nodes are up.
    let rt: DockerApi = outer;
    const ref = this.ref(session, lab.id);
    const priority = opts.warm ? 'warm' : 'lab';
    const check = () => {
      if (opts.signal?.aborted) throw new SessionError(`bringing up session ${session} was interrupted`);
    };
    try {
      let plan: LabPlan;
      let nodesPlan: NodesPlan | undefined;
      for (let attempt = 1; ; attempt++) {
        const dockerSubnets = (await outer.listNetworks()).flatMap((n) => n.subnets);
        const alloc = await allocate(lab, session, this.store, this.settings, dockerSubnets, attempt > 1, await this.portCheck(engine));
        this.store.setAllocation(session, alloc);
        plan = planLab(lab, ref, alloc);
        nodesPlan = planNodes(lab, ref, alloc);
        check();
        // On the session's engine: the lab's networks, or the nodes' underlay (the lab's are made inside the nodes).
        const here = nodesPlan ? [nodesPlan.underlay] : plan.networks.map((n) => n.spec);
        progress(`session ${session}: creating ${nodesPlan ? 'the nodes\' underlay network' : `${plan.networks.length} network(s)`}`);
        if (!nodesPlan) opts.steps?.({ stage: 'networks', networks: plan.networks.length, servicesReady: 0, servicesTotal: plan.services.length });
        const made = await Promise.allSettled(here.map((n) => outer.createNetwork(n)));
        const failed = made.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (!failed) break;
        const err = failed.reason as Error;
        if (attempt >= SUBNET_ATTEMPTS || !dockerFailed(err, 'subnet-overlap')) throw err;
        // Another Flowlab (another data directory) created a network on that subnet a moment
        // ago: give the subnets back and pick again, around it.
        progress(`session ${session}: a subnet was taken meanwhile; picking another`);
        await Promise.all(here.map((n) => outer.removeNetwork(n.name).catch(() => undefined)));
        this.store.releaseLeases(session);
      }
      check();
      if (nodesPlan) {
        const swarm = this.labRuntime({ id: session, engine, lab }) as NodesRuntime;
        await startNodes(outer, nodesPlan, swarm.scoped(this.recorder(session)), { progress: (l) => progress(`session ${session}: ${l}`), check, priority, ...(opts.signal ? { signal: opts.signal } : {}), images: [...labImageRefs(lab), CONSOLE_REF] });
        rt = swarm.scoped(this.recorder(session));
        progress(`session ${session}: creating ${plan.networks.length} network(s) in the swarm`);
        opts.steps?.({ stage: 'networks', networks: plan.networks.length, servicesReady: 0, servicesTotal: plan.services.length });
        await Promise.all(plan.networks.map((n) => rt.createNetwork(n.spec)));
        check();
      }

      let resolverStarted: Promise<void> = Promise.resolve();
      if (plan.resolver) {
        const spec = plan.resolver;
        const startResolver = async () => {
          await rt.createContainer(spec);
          await rt.startContainer(spec.name, priority, opts.signal);
        };
        if (plan.resolverOnDefaultBridge) {
          // Default-bridge services are given the resolver's address, which Docker picks at start.
          await startResolver();
          const state = await rt.inspectContainer(spec.name);
          const ip = state?.networks.bridge?.ip;
          if (!ip) throw new SessionError('the lab resolver got no address on the default bridge');
          for (const s of plan.services) if (s.container?.network.kind === 'default-bridge' && s.container.dns.length === 0) s.container.dns = [ip];
        } else {
          resolverStarted = startResolver();
        }
      }

      progress(`session ${session}: starting ${plan.services.length} service(s)`);
      const step = { networks: plan.networks.length, servicesReady: 0, servicesTotal: plan.services.length };
      opts.steps?.({ stage: 'services', ...step });
      const serviceReady = () => opts.steps?.({ stage: 'services', ...step, servicesReady: ++step.servicesReady });
      await Promise.all([resolverStarted, startServices(rt, plan, { check, progress, readyTimeoutMs: this.settings.readyTimeoutMs, serviceReady, priority, signal: opts.signal })]);
      check();
      let topology = await describeTopology(rt, session, lab, opts.warm ? 0 : seed, plan, engine, this.store.get(session)?.allocation ?? undefined);
      // A warm session is broken when it is claimed, as the claim's seed says.
      if (!opts.warm) topology = await this.breakAsDrawn(session, lab, seed, topology, () => opts.steps?.({ stage: 'faults', ...step }), progress, check);
      this.store.markReady(session, topology, opts.warm);
      progress(`session ${session}: ${opts.warm ? 'warm, waiting in its pool' : 'ready'}`);
      opts.steps?.({ stage: 'ready', ...step });
      this.startCaptures(session, rt, progress, opts.warm ? 'warm' : 'background');
      return topology;
    } catch (e) {
      const reason = (e as Error).message;
      progress(`session ${session}: failed, removing what was built: ${reason.split('\n')[0]}`);
      await this.teardown(session).catch(() => undefined);
      this.store.markEnded(session, 'failed', reason);
      throw e instanceof SessionError ? e : new SessionError(`lab "${lab.id}" did not come up: ${reason}`);
    }
  }

  /** The lab's faults and its seed's variant's, applied once every service is ready (the afterReady hook). */
  private async breakAsDrawn(session: string, lab: Lab, seed: number, topology: Topology, stage: () => void, progress: (l: string) => void, check: () => void): Promise<Topology> {
    const variant = chooseVariant(lab, seed);
    if (!this.hooks.afterReady || (lab.faults.length === 0 && (variant?.faults.length ?? 0) === 0)) return topology;
    progress(`session ${session}: breaking it as the lab says`);
    stage();
    const live = new LiveSession(this, { ...this.store.get(session)!, topology });
    await this.hooks.afterReady(live, variant);
    check();
    return live.topology;
  }

  /** Capture starts once the lab is ready, so it never delays it. */
  private startCaptures(session: string, rt: DockerApi, progress: (l: string) => void, priority: StartPriority): void {
    const rec = this.store.get(session)!;
    if (capturePoints(rec.lab).length === 0 && trafficSources(rec.lab).length === 0) return;
    const live = new LiveSession(this, rec);
    this.background(session, (signal) => live.ensureSidecars(rt, signal, priority), (e) => progress(`session ${session}: capture did not start: ${e.message}`));
  }

  /** Host ports are free on this machine's host for the local engine; on another, where its containers do not publish them. */
  private async portCheck(engine: string): Promise<PortCheck> {
    if (engine === LOCAL_ENGINE) return portFreeHere;
    const taken = await this.runtimeOf(engine).publishedPorts();
    return async (port, proto) => !taken.has(`${proto}/${port}`);
  }

  private async ensureSwarm(rt: DockerRuntime, init: boolean, progress: (l: string) => void): Promise<void> {
    const info = await rt.info();
    if (info.swarm === 'active') return;
    if (!init) {
      throw new SessionError('this lab uses overlay networks, which need swarm mode, and swarm is inactive; run: docker swarm init --advertise-addr 127.0.0.1 (or pass --init-swarm, or set FLOWLAB_INIT_SWARM=1)');
    }
    progress('initialising swarm mode (docker swarm init --advertise-addr 127.0.0.1)');
    await rt.swarmInit('127.0.0.1');
  }

  // ---- down and sweep ----------------------------------------------------------------------

  /**
   * Removes every Docker object labelled with the session; idempotent. What another process made
   * for the session meanwhile (a helper, a capture sidecar) is found by listing again.
   */
  async teardown(session: string, engine?: string): Promise<DownReport> {
    await this.hooks.beforeTeardown?.(session).catch(() => undefined);
    const rec = this.store.get(session);
    const rt = this.runtimeOf(engine ?? rec?.engine ?? LOCAL_ENGINE).scoped(rec ? this.recorder(session) : undefined);
    const labels = { [LABEL.managed]: 'true', [LABEL.session]: session };
    const removed = { containers: new Set<string>(), services: new Set<string>() };
    for (let round = 0; round < 5; round++) {
      const [services, containers] = await Promise.all([rt.listServices(labels), rt.listContainers(labels)]);
      if (services.length + containers.length === 0) break;
      for (const s of services) removed.services.add(s.id);
      for (const c of containers) removed.containers.add(c.id);
      await settleAll([...services.map((s) => rt.removeService(s.id)), ...containers.map((c) => rt.removeContainer(c.id))]);
    }
    const networks = await rt.listNetworks(labels);
    await settleAll(networks.map((n) => this.removeNetworkPatiently(rt, n.id, removed.services.size > 0)));
    // A lab with nodes went with its node containers (the swarm and all in it lived inside them).
    this.nodeRuntimes.delete(session);
    return { session, removed: { containers: removed.containers.size, services: removed.services.size, networks: networks.length } };
  }

  /** Swarm tasks leave their networks a moment after the service is removed. */
  private async removeNetworkPatiently(rt: DockerRuntime, id: string, swarm: boolean): Promise<void> {
    const deadline = Date.now() + (swarm ? 20_000 : 5_000);
    for (;;) {
      try {
        await rt.removeNetwork(id);
        return;
      } catch (e) {
        if (Date.now() > deadline || !dockerFailed(e, 'in-use')) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async down(session: string): Promise<DownReport> {
    const rec = this.store.get(session);
    const flight = this.inFlight.get(session);
    if (flight) await flight.catch(() => undefined);
    // Background work (a capture waiting for its turn, a refresh after a console change) is called
    // off and waited for: nothing of it may create an object after the teardown listed them.
    await this.quiesce(session);
    let report: DownReport;
    try {
      report = await this.teardown(session);
    } catch (e) {
      // Never `ready` over half-removed objects: failed, and sweep removes what is left.
      if (rec && (rec.state === 'ready' || rec.state === 'starting')) this.store.markEnded(session, 'failed', `its teardown did not finish: ${(e as Error).message}; flowlab sweep removes what is left`);
      throw e;
    }
    if (!rec && report.removed.containers + report.removed.networks + report.removed.services === 0) {
      throw new SessionError(`unknown session "${session}"; expected one of: ${this.store.list(['starting', 'ready']).map((s) => s.id).join(', ') || '(no live sessions)'}`, 'not-found');
    }
    if (rec && rec.state !== 'ended' && rec.state !== 'failed') this.store.markEnded(session, 'ended');
    return report;
  }

  /** Every session this registry knows as live (orphans of other registries are sweep's). */
  async downAll(): Promise<DownReport[]> {
    return Promise.all(this.store.list(['starting', 'ready']).map((s) => this.down(s.id)));
  }

  /** Tears down what this process owns (on SIGINT/SIGTERM), within the deadline. */
  async shutdown(deadlineMs = 5000): Promise<void> {
    // A warm one only while it still waits: a `flowlab up` elsewhere may have claimed it since.
    const mine = this.store
      .list(['starting', 'ready'])
      .filter((s) => s.owner === this.instance.id && (s.warmAt === null || s.state === 'starting' || this.store.retireWarm(s.id, 'warm, never claimed: its server stopped')))
      .map((s) => s.id);
    const work = Promise.allSettled(mine.map((id) => this.teardown(id).then(() => this.store.markEnded(id, 'ended'))));
    await Promise.race([work, new Promise((r) => setTimeout(r, deadlineMs))]);
  }

  /**
   * Removes the objects of dead sessions: ended or failed ones, `starting` ones whose owner is
   * gone, and ones no registry knows. Never a live session, whichever instance owns it.
   */
  async sweep(): Promise<SweepReport> {
    const out: SweepReport = { removed: [], kept: [], failed: [] };
    // Every engine of the pool, by label; one that does not answer is reported and the others swept.
    for (const engine of this.pool?.names() ?? [LOCAL_ENGINE]) {
      try {
        const r = await sweepDead({
          docker: this.runtimeOf(engine),
          store: this.store,
          db: this.db,
          settings: this.settings,
          instance: this.instance,
          registryPath: this.registryPath,
          starting: (id) => this.inFlight.has(id),
          teardown: (id) => this.teardown(id, engine),
          settleFault: this.hooks.settleFault ? (rec, f) => this.hooks.settleFault!(new LiveSession(this, rec), f) : undefined,
        });
        out.removed.push(...r.removed);
        out.kept.push(...r.kept);
        out.failed.push(...r.failed);
      } catch (e) {
        if (engine === LOCAL_ENGINE) throw e;
        out.failed.push({ session: `(engine ${engine})`, error: `engine ${engine} could not be swept: ${(e as Error).message}` });
      }
    }
    return out;
  }

  // ---- status --------------------------------------------------------------------------------

  summary(rec: SessionRecord): SessionSummary {
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    return {
      session: rec.id,
      scenario: rec.scenario,
      title: rec.lab.title,
      state: rec.state === 'ready' && rec.trouble ? rec.trouble.kind : rec.state,
      seed: rec.seed,
      owner: rec.owner,
      engine: rec.engine,
      trouble: rec.state === 'ready' && rec.trouble ? { kind: rec.trouble.kind, reason: rec.trouble.reason, since: new Date(rec.trouble.since).toISOString(), todo: troubleTodo(rec) } : null,
      created_at: new Date(rec.createdAt).toISOString(),
      ready_at: iso(rec.readyAt),
      ended_at: iso(rec.endedAt),
      error: rec.error,
      topology: rec.topology,
      revealed: rec.topology ? revealedServices(rec.topology.services, this.store.learnerActions(rec.id), new ProgressStore(this.db).attempts(rec.id).length > 0) : [],
    };
  }

  status(session?: string): SessionSummary[] {
    if (session) {
      const rec = this.store.get(session);
      if (!rec) throw new SessionError(`unknown session "${session}"`, 'not-found');
      return [this.summary(rec)];
    }
    return this.store.list(['starting', 'ready']).filter((r) => r.warmAt === null).map((r) => this.summary(r));
  }
}

