// A running session, for what acts on it after `up`: probes, faults, and later the console and
// the grader. Everything is looked up on the daemon by name and label; the registry gives the
// lab, its allocation and the action log.
import type { StartPriority } from '../docker/start-gate.ts';
import type { ContainerSpec, EndpointSpec } from '../docker/specs.ts';
import { LABEL, objectName, type SessionRef } from '../docker/labels.ts';
import { listeningSockets, SOCKET_TABLES_SCRIPT, socketsFromScript, type ListeningSocket } from '../docker/netns.ts';
import type { Settings } from '../config.ts';
import { dockerFailed } from '../docker/errors.ts';
import type { DockerApi, ExecResult } from '../docker/types.ts';
import { contains, hostAt, parseCidr } from '../lab/ipv4.ts';
import { didYouMean } from '../lab/problems.ts';
import { IPV4_RE } from '../lab/schema.ts';
import { interpolate } from '../lab/targets.ts';
import type { ServiceModel } from '../lab/model.ts';
import { nodesOf, type NodeModel } from '../lab/nodes.ts';
import { nodeContainerName } from './node-plan.ts';
import { NodesRuntime } from '../docker/nodes-runtime.ts';
import type { ActionKind, Topology } from '../protocol/session.ts';
import type { Db } from '../store/db.ts';
import type { SessionRecord } from '../store/sessions.ts';
import type { SessionHost } from './host.ts';
import type { EngineFeatures } from '../lab/requirements.ts';
import { captureContainer, captureName, capturedNodes, capturedServices, capturePoints, helperContainer, trafficContainer, trafficSources, HOST_HELPER, planLab, RESOLVER_NAME, type LabPlan, type PlannedService } from './plan.ts';
import { waitContainerReady } from './readiness.ts';
import { describeTopology } from './topology.ts';
import { has } from '../util/lookup.ts';
import { FlowlabError, type ErrorKind } from '../util/errors.ts';

/** Swarm task states on the way to running. */
const MOVING_TASK_STATES = new Set(['new', 'allocated', 'assigned', 'accepted', 'preparing', 'ready', 'starting']);
/** What lab-capture writes to its log once its capture socket is open. */
const CAPTURING = 'lab-capture: capturing every interface';

export class LiveSessionError extends FlowlabError {
  override name = 'LiveSessionError';
  constructor(message: string, kind: ErrorKind = 'conflict') {
    super(message, kind);
  }
}

export class LiveSession {
  private hostHelperName?: Promise<string>;

  constructor(
    private readonly host: SessionHost,
    readonly rec: SessionRecord,
  ) {}

  /** The Docker engine the session's lab lives on — for a lab with nodes, their swarm (records nothing; `runtime()` records). */
  get docker(): DockerApi {
    return this.host.labRuntime(this.rec);
  }

  /** The registry's database, for the stores a feature keeps its records in. */
  get db(): Db {
    return this.host.db;
  }

  get settings(): Settings {
    return this.host.settings;
  }

  /** The instance (process) acting on the session now: the owner of what it makes. */
  get instanceId(): string {
    return this.host.instanceId;
  }

  claimInstance(): void {
    this.host.claimInstance();
  }

  /** Records an action in the session's log (what the learner or a check did, as a docker command). */
  record(command: string, opts: { revealsFault?: boolean; source?: 'flowlab' | 'learner'; kind?: ActionKind } = {}): number {
    return this.host.store.appendAction(this.id, command, opts.revealsFault ?? false, opts.source, opts.kind);
  }

  /** Work this session does in the background: `down` calls it off and waits for it. */
  background(work: (signal: AbortSignal) => Promise<unknown>, onError?: (e: Error) => void): void {
    this.host.background(this.id, work, onError);
  }

  /** What the kernel of this session's engine offers (netem, IPVS). */
  featuresOfEngine(): Promise<EngineFeatures> {
    return this.host.featuresOf(this.rec.engine);
  }

  get id(): string {
    return this.rec.id;
  }

  get lab() {
    return this.rec.lab;
  }

  get topology(): Topology {
    return this.rec.topology!;
  }

  /**
   * Fills in `${...}` references (in probe targets, solution steps and fault parameters): host
   * ports from what the session was given (kept for its whole life, even while a fault stops the
   * service), addresses from its live topology.
   */
  resolveRefs(text: string): string {
    const topo = this.topology;
    return interpolate(text, (ref) => {
      if (!has(this.lab.services, ref.service)) return undefined;
      if (ref.kind === 'port') {
        const planned = this.planned(ref.service).container?.ports.find((p) => p.containerPort === ref.containerPort && p.proto === ref.proto);
        return planned?.hostPort.toString();
      }
      const svc = topo.services.find((s) => s.name === ref.service);
      const nets = Object.entries(svc?.networks ?? {});
      return (ref.network ? svc?.networks[ref.network]?.ip : nets[0]?.[1].ip) || undefined;
    });
  }

  /** Whether an address is inside one of this session's subnets. */
  labAddress(ip: string): boolean {
    const subnets = Object.values(this.rec.allocation?.subnets ?? {}).map(parseCidr);
    return IPV4_RE.test(ip) && subnets.some((c) => contains(c, ip));
  }

  /**
   * Whether an address can be one of this session's containers': inside a subnet, and neither its
   * network, broadcast or gateway address (the gateway is the Docker host's own, on that bridge).
   */
  containerAddress(ip: string): boolean {
    if (!this.labAddress(ip)) return false;
    const gateways = new Set(this.topology.networks.map((n) => n.gateway).filter(Boolean));
    return Object.values(this.rec.allocation?.subnets ?? {}).map(parseCidr).every((c) => {
      if (!contains(c, ip)) return true;
      return ip !== hostAt(c, 0) && ip !== hostAt(c, -1) && ip !== hostAt(c, 1) && !gateways.has(ip);
    });
  }

  /**
   * The host loopback ports that are this session's: its published ports, and the ports its
   * services on the host's network listen on (as the lab says, or as a fault moved them there).
   */
  hostPorts(): number[] {
    const plan = this.plan();
    const onHost = new Set(this.topology.services.filter((s) => s.network_mode === 'host').map((s) => s.name));
    return [...new Set([
      ...plan.services.flatMap((s) => (s.container?.ports ?? []).map((p) => p.hostPort)),
      ...plan.services.filter((s) => s.model.attachment.kind === 'host' || onHost.has(s.name)).flatMap((s) => [...s.model.listens.map((l) => l.port), ...s.model.ports.map((p) => p.containerPort)]),
    ])].sort((a, b) => a - b);
  }

  /** Labels for objects made now: the session's own, owned by this process (for helpers). */
  ref(owner = this.host.instanceId): SessionRef {
    return { session: this.id, scenario: this.rec.scenario, owner, registry: this.host.registryPath };
  }

  /** The session's engine itself, recording into its action log: for a lab with nodes, where the node containers run. */
  engineRuntime(opts: { revealsFault?: boolean } = {}): DockerApi {
    return this.host.runtimeOf(this.rec.engine).scoped(this.host.recorder(this.id), opts);
  }

  /** The lab's nodes (none for a lab that runs on its engine alone). */
  nodes(): NodeModel[] {
    return nodesOf(this.lab);
  }

  /** Docker's name of a node's container on the session's engine. */
  nodeContainer(node: string): string {
    const names = this.nodes().map((n) => n.name);
    if (!names.includes(node)) throw new LiveSessionError(`unknown node "${node}"${didYouMean(node, names)}; expected one of: ${names.join(', ') || '(this lab has no nodes)'}`, 'invalid');
    return nodeContainerName(this.id, node);
  }

  /** The engine of one of the lab's nodes (its own containers and the swarm's tasks there). */
  onNode(node: string): DockerApi {
    this.nodeContainer(node);
    const swarm = this.docker;
    if (!(swarm instanceof NodesRuntime)) throw new LiveSessionError(`session ${this.id} runs on its engine alone: it has no node "${node}"`, 'invalid');
    return swarm.node(node);
  }

  /**
   * Brings a stopped node back (its machine stopped: a node-down fault, or the session's engine
   * restarted): its container started, its engine back in the swarm with its storage and swarm
   * state, the lab's own containers on it started again (swarm tasks are the swarm's to place).
   */
  async restartNode(node: string, opts: { revealsFault?: boolean } = {}): Promise<void> {
    const outer = this.engineRuntime(opts);
    const container = this.nodeContainer(node);
    const st = await outer.inspectContainer(container);
    if (!st) throw new LiveSessionError(`node ${node}'s container is gone; the lab cannot get it back: restart the lab`, 'conflict');
    if (!st.running) await outer.startContainer(container, 'interactive');
    const rt = this.runtime(opts);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ready = (await rt.listNodes().catch(() => [])).find((n) => n.hostname === node)?.state === 'ready';
      if (ready) break;
      if (Date.now() > deadline) throw new LiveSessionError(`node ${node} did not rejoin its swarm within 60 s`, 'unavailable');
      await new Promise((r) => setTimeout(r, 250));
    }
    const mine = await rt.listContainers({ [LABEL.session]: this.id, [LABEL.node]: node });
    for (const c of mine.filter((x) => x.state !== 'running' && ['service', 'resolver'].includes(x.labels[LABEL.role] ?? ''))) await rt.startContainer(c.name, 'interactive');
  }

  /** Runs a script in a node's own namespace (its underlay interface, its firewall): infrastructure, never a learner's. */
  async inNode(node: string, script: string, opts: { revealsFault?: boolean; timeoutMs?: number } = {}): Promise<ExecResult> {
    return this.engineRuntime(opts).exec(this.nodeContainer(node), ['sh', '-c', script], { timeoutMs: opts.timeoutMs ?? 20_000, record: true });
  }

  /** The Docker layer, recording into this session's action log. */
  runtime(opts: { revealsFault?: boolean } = {}): DockerApi {
    return this.docker.scoped(this.host.recorder(this.id), opts);
  }

  /** The lab's Docker objects as `up` made them (same names, subnets and host ports). */
  plan(): LabPlan {
    if (!this.rec.allocation) throw new LiveSessionError(`session ${this.id} has no recorded allocation; it was started by an older Flowlab`);
    return planLab(this.lab, this.ref(this.rec.owner), this.rec.allocation);
  }

  planned(service: string): PlannedService {
    const s = this.plan().services.find((p) => p.name === service);
    if (!s) {
      const names = this.plan().services.map((p) => p.name);
      throw new LiveSessionError(`unknown service "${service}"${didYouMean(service, names)}; expected one of: ${names.join(', ')}`);
    }
    return s;
  }

  service(name: string): ServiceModel {
    return this.planned(name).model;
  }

  /** Docker's name for one of the lab's networks. */
  networkName(network: string): string {
    return objectName(this.id, network);
  }

  containerName(service: string): string {
    return service === RESOLVER_NAME ? objectName(this.id, RESOLVER_NAME) : objectName(this.id, service);
  }

  /** The container a service's network namespace lives in: its own, or a running swarm task. */
  async namespaceOf(service: string): Promise<{ container: string; running: boolean; state: string }> {
    const p = this.planned(service);
    const rt = this.docker;
    if (p.swarm) {
      const tasks = await rt.serviceTasks(p.swarm.name);
      const task = tasks.find((t) => t.state === 'running' && t.container);
      return task ? { container: task.container!, running: true, state: 'running' } : { container: p.swarm.name, running: false, state: 'no running task' };
    }
    const st = await rt.inspectContainer(p.container!.name);
    if (!st) return { container: p.container!.name, running: false, state: 'gone' };
    return { container: st.name, running: st.running && !st.paused, state: st.paused ? 'paused' : st.status };
  }

  /** How a service's sockets listen now (address and port), read from outside the container. */
  async listening(service: string): Promise<ListeningSocket[]> {
    const ns = await this.namespaceOf(service);
    if (!ns.running) return [];
    const pid = await this.docker.containerPid(ns.container);
    const sockets = pid === undefined ? undefined : await listeningSockets(pid);
    if (sockets) return sockets;
    // Not in this machine's /proc (another engine, or Flowlab in a container): read inside its namespace.
    if (this.service(service).attachment.kind === 'host') throw new LiveSessionError(`cannot read "${service}"'s sockets from here: it uses its engine's host network, and Flowlab reads that host's /proc only on the local engine`);
    const r = await this.inNamespace(service, SOCKET_TABLES_SCRIPT, { caps: [] });
    if (r.exitCode !== 0) throw new LiveSessionError(`cannot read "${service}"'s sockets: ${(r.stderr || r.stdout).trim()}`);
    return socketsFromScript(r.stdout);
  }

  /**
   * How a service sees the lab from inside, for the inspector: its addresses, its resolver
   * configuration and its listening sockets (read from /proc, as `listening` does).
   */
  async inside(service: string): Promise<{ container: string; state: string; resolvConf: string | null; addresses: string | null; listening: string | null }> {
    const ns = await this.namespaceOf(service);
    if (!ns.running) return { container: ns.container, state: ns.state, resolvConf: null, addresses: null, listening: null };
    const read = async (cmd: string[]) => {
      const r = await this.docker.exec(ns.container, cmd, { timeoutMs: 5000 }).catch((e: Error) => ({ exitCode: 1, stdout: '', stderr: e.message }));
      return r.exitCode === 0 ? r.stdout : `(${(r.stderr || 'not available').trim()})`;
    };
    const sockets = this.listening(service).then(
      (list) => list.map((l) => `${l.proto} ${l.addr.includes(':') ? `[${l.addr}]` : l.addr}:${l.port}`).join('\n'),
      (e: Error) => `(${e.message})`,
    );
    const [resolvConf, addresses, listening] = await Promise.all([read(['cat', '/etc/resolv.conf']), read(['ip', '-br', 'addr']), sockets]);
    return { container: ns.container, state: ns.state, resolvConf, addresses, listening };
  }

  /**
   * Runs a script in a short-lived toolbox container that shares the service's network namespace
   * (`docker run --rm --network container:<c> --cap-add NET_ADMIN ...`): how tc and iptables
   * reach a lab's netns without touching the host.
   */
  async inNamespace(service: string, script: string, opts: { revealsFault?: boolean; caps?: string[]; timeoutMs?: number } = {}): Promise<ExecResult> {
    const ns = await this.namespaceOf(service);
    if (!ns.running) throw new LiveSessionError(`service "${service}" is not running (${ns.state}); its network namespace cannot be reached`);
    if (this.service(service).attachment.kind === 'host') {
      throw new LiveSessionError(`service "${service}" uses the host's network: Flowlab never changes the Docker host's own network`);
    }
    this.host.claimInstance();
    const spec = helperContainer(this.ref(), 'netns', { kind: 'container', container: ns.container }, opts.caps ?? ['NET_ADMIN'], ['sh', '-c', script]);
    return this.runtime(opts).runToCompletion(spec, opts.timeoutMs ?? 20_000);
  }

  /** A long-lived helper on the host's network (no capabilities), for probes `from: host`. */
  hostHelper(): Promise<string> {
    this.hostHelperName ??= (async () => {
      const rt = this.docker;
      const existing = (await rt.listContainers({ [LABEL.session]: this.id, [LABEL.name]: HOST_HELPER, [LABEL.role]: 'helper' })).find((c) => c.state === 'running');
      if (existing) return existing.name;
      this.host.claimInstance();
      const spec = helperContainer(this.ref(), HOST_HELPER, { kind: 'host' }, [], ['sleep', 'infinity']);
      const quiet = rt.scoped(undefined);
      await quiet.createContainer(spec);
      await quiet.startContainer(spec.name, 'interactive');
      return spec.name;
    })().catch((e) => {
      this.hostHelperName = undefined;
      throw e;
    });
    return this.hostHelperName;
  }

  /**
   * Replaces a service's container with one made from its planned spec, changed by `modify`
   * (what `docker rm -f` then `docker run` with other options does), keeping its addresses.
   */
  async recreateService(service: string, modify: (spec: ContainerSpec) => void, opts: { revealsFault?: boolean; wait?: boolean; runtime?: DockerApi } = {}): Promise<void> {
    const planned = this.planned(service);
    if (!planned.container) throw new LiveSessionError(`"${service}" is a swarm service; it is updated, not re-created`);
    const rt = opts.runtime ?? this.runtime(opts);
    const spec = structuredClone(planned.container);
    const current = await rt.inspectContainer(spec.name);
    if (spec.network.kind === 'networks' && current) {
      // Same addresses as before, so nothing but the intended change differs.
      spec.network.endpoints = spec.network.endpoints.map((e): EndpointSpec => {
        const ip = current.networks[e.network]?.ip;
        return ip && !e.ipv4Address ? { ...e, ipv4Address: ip } : e;
      });
    }
    modify(spec);
    await rt.removeContainer(spec.name);
    await rt.createContainer(spec);
    await rt.startContainer(spec.name);
    if (opts.wait !== false) await waitContainerReady(rt, { ...planned, container: spec }, spec.name, this.host.settings.readyTimeoutMs);
    if (this.rec.state === 'ready') await this.ensureSidecars(rt);
  }

  /**
   * Makes sure every captured service has a capture sidecar in its current network namespace, and
   * in a lab with nodes every node's underlay too: a sidecar joins the namespace of the container
   * as it was, so a re-created or restarted service (or node) needs a new one. `signal` calls off
   * starts still waiting for their turn (the lab is going).
   */
  async ensureSidecars(rt: DockerApi = this.runtime(), signal?: AbortSignal, priority: StartPriority = 'background'): Promise<void> {
    const ring = this.host.settings.captureRingBytes;
    const engine = capturedNodes(this.lab).length > 0 ? this.engineRuntime() : undefined;
    await Promise.all([
      ...capturedServices(this.lab).map((service) => this.keepBeside(rt, this.containerName(service), captureContainer(this.ref(this.rec.owner), service, ring), priority, signal)),
      // A node's underlay is captured on the session's engine, in the node container's namespace.
      ...capturedNodes(this.lab).map((node) => this.keepBeside(engine!, this.nodeContainer(node), captureContainer(this.ref(this.rec.owner), `${node}.node`, ring), priority, signal)),
    ]);
    await this.ensureTraffic(rt, signal, priority);
  }

  /**
   * Makes sure the lab's own traffic runs from each of its sources, in the namespace the service
   * has now (its container, or a running task of a swarm service): made again when the service
   * was re-created or restarted, or its task replaced.
   */
  async ensureTraffic(rt: DockerApi = this.runtime(), signal?: AbortSignal, priority: StartPriority = 'background'): Promise<void> {
    await Promise.all(
      trafficSources(this.lab).map(async (source) => {
        const ns = await this.namespaceOf(source);
        if (!ns.running) return;
        const { calls, pings } = this.host.trafficCalls?.(this, source) ?? { calls: [], pings: false };
        if (calls.length === 0) return;
        await this.keepBeside(rt, ns.container, trafficContainer(this.ref(this.rec.owner), source, ns.container, calls, pings), priority, signal);
      }),
    );
  }

  /**
   * A sidecar (`spec`, which joins the namespace of `watched`) running in that container's
   * namespace as it is now: made again when the container was re-created or restarted since
   * (a sidecar keeps the namespace it joined). Nothing while the container is not running.
   */
  private async keepBeside(on: DockerApi, watched: string, spec: ContainerSpec, priority: StartPriority, signal?: AbortSignal): Promise<void> {
    const target = await on.inspectContainer(watched);
    if (!target?.running) return;
    const cur = await on.inspectContainer(spec.name);
    const joined = cur?.networkMode === `container:${watched}` || cur?.networkMode === `container:${target.id}`;
    if (cur?.running && joined && cur.startedAt >= target.startedAt) return;
    if (cur) await on.removeContainer(spec.name);
    try {
      await on.createContainer(spec);
    } catch (e) {
      if (dockerFailed(e, 'name-taken')) return; // another process just made it
      throw e;
    }
    await on.startContainer(spec.name, priority, signal);
  }

  /**
   * Waits until the lab stands still: no swarm service in the middle of a rolling update, each
   * running the tasks it asks for, and every captured service with its capture running. Until
   * then a probe may show a change on its way rather than the lab as it is.
   */
  async settle(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const rt = this.docker;
    for (;;) {
      const waiting: string[] = [];
      for (const s of this.plan().services) {
        if (!s.swarm) continue;
        const info = await rt.serviceInfo(s.swarm.name);
        if (!info) continue;
        const tasks = (await rt.serviceTasks(s.swarm.name)).filter((t) => t.desired === 'running');
        const running = tasks.filter((t) => t.state === 'running').length;
        // A task that cannot be placed stays pending, and one that keeps failing fails: the lab as it is.
        const stuck = tasks.some((t) => ['pending', 'failed', 'rejected'].includes(t.state));
        if (info.updating) waiting.push(`${s.name} is being updated`);
        else if (tasks.some((t) => MOVING_TASK_STATES.has(t.state))) waiting.push(`${s.name} has tasks starting`);
        else if (running < info.replicas && !stuck) waiting.push(`${s.name} runs ${running} of ${info.replicas} tasks`);
      }
      for (const point of capturePoints(this.lab)) {
        const node = this.isNode(point);
        const watched = await (node ? this.engineRuntime() : rt).inspectContainer(node ? this.nodeContainer(point) : this.containerName(point));
        if (watched?.running && !(await this.capturing(point))) waiting.push(`${node ? `node ${point}'s underlay` : point}'s capture is not capturing yet`);
      }
      if (waiting.length === 0) return;
      if (Date.now() > deadline) throw new LiveSessionError(`the lab did not settle within ${timeoutMs / 1000} s: ${waiting.join('; ')}`, 'unavailable');
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  /** Whether a capture point is one of the lab's nodes (its underlay) rather than a service. */
  isNode(point: string): boolean {
    return this.nodes().some((n) => n.name === point);
  }

  /**
   * The capture sidecar of a capture point — a service, or a node's underlay — when it has one
   * running, with the engine it runs on (a node's is the session's own engine).
   */
  async captureOf(point: string): Promise<{ container: string; on: DockerApi } | undefined> {
    const node = this.isNode(point);
    const container = objectName(this.id, captureName(node ? `${point}.node` : point));
    const on = node ? this.engineRuntime() : this.docker;
    const st = await on.inspectContainer(container);
    return st?.running && st.labels[LABEL.role] === 'capture' ? { container, on } : undefined;
  }

  /** Whether the capture sidecar of a capture point has its socket open: it says so in its log once it has. */
  async capturing(point: string): Promise<boolean> {
    const cap = await this.captureOf(point);
    return cap !== undefined && (await cap.on.logs(cap.container, 50)).includes(CAPTURING);
  }

  async refreshTopology(): Promise<Topology> {
    const topo = await describeTopology(this.docker, this.id, this.lab, this.rec.seed, this.plan(), this.rec.engine, this.rec.allocation ?? undefined);
    this.host.store.setTopology(this.id, topo);
    this.rec.topology = topo;
    return topo;
  }
}
