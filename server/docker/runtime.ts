// The one place that talks to Docker. Every call has the same shape: record the equivalent docker
// CLI command, call, and turn a failure into a DockerError that says what was being done.
// Outcomes that are already true ("already removed", "already started") are success.
import type { Duplex, Readable } from 'node:stream';
import Docker from 'dockerode';
import { filesUnder } from '../util/files.ts';
import * as cli from './cli.ts';
import { decodeContainer, decodeNetwork } from './decode.ts';
import { containerCreateOptions, endpointConfig, serviceCreateOptions } from './encode.ts';
import { DockerError, dockerFailed, reasonOf, statusOf } from './errors.ts';
import { dockerFor, engineFacts, type EngineAddress } from './connect.ts';
import type { EngineFacts } from '../protocol/engines.ts';
import type { ContainerSpec, EndpointSpec, NetworkSpec, SwarmServiceSpec } from './specs.ts';
import { StartGate, type StartPriority } from './start-gate.ts';
import { procIsContainers } from './netns.ts';
import { demuxBuffer, execCollect, execFollow, execPipe, execTerminal, followProgress } from './streams.ts';
import type { ActionSink, ContainerState, DockerApi, EngineInfo, ExecPipe, ExecResult, ExecStream, LabelFilter, NetworkDetails, NetworkSummary, NodeChange, NodeState, ObjectSummary, TaskState, TtySession, Upstream } from './types.ts';
import { dialInside, dockerInside } from './nested.ts';

const labelFilters = (labels: LabelFilter) => ({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) });

/** FLOWLAB_TRACE=1 prints every Docker call with its duration, for finding what is slow. */
const TRACE = process.env.FLOWLAB_TRACE === '1';

/** Where DOCKER_HOST (or the default socket) points, for messages. */
export function dockerEndpoint(): string {
  return process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

/**
 * Requests at once to one engine over ssh. Each opens an ssh connection of its own, and sshd
 * drops connections still logging in past its MaxStartups (10 by default): a lab torn down with
 * a dozen containers at once got "read ECONNRESET".
 */
const SSH_AT_ONCE = 6;
const sshQueues = new WeakMap<Docker, { running: number; waiting: (() => void)[] }>();

const overSsh = (docker: Docker): boolean => (docker as unknown as { modem?: { protocol?: string } }).modem?.protocol === 'ssh';

async function throughSsh<T>(docker: Docker, call: () => Promise<T>): Promise<T> {
  let q = sshQueues.get(docker);
  if (!q) sshQueues.set(docker, (q = { running: 0, waiting: [] }));
  const queue = q;
  if (queue.running >= SSH_AT_ONCE) await new Promise<void>((go) => queue.waiting.push(go));
  else queue.running++;
  try {
    return await call();
  } finally {
    const next = queue.waiting.shift();
    if (next) next();
    else queue.running--;
  }
}

export class DockerRuntime implements DockerApi {
  constructor(
    private readonly docker: Docker = new Docker(),
    private readonly sink?: ActionSink,
    private readonly revealsFault = false,
    /** Container starts go through it (shared by every scoped copy of this connection). */
    readonly starts: StartGate = new StartGate(0),
    /** For an engine inside a container (a lab's node): how a raw connection to it is made. */
    private readonly dial?: () => Promise<Duplex>,
  ) {}

  /** A connection to the engine at `address`, its container starts `atOnce` at a time (0 = no limit). */
  static at(address: EngineAddress, atOnce: number): DockerRuntime {
    return new DockerRuntime(dockerFor(address), undefined, false, new StartGate(atOnce));
  }

  /** A connection whose container starts go `atOnce` at a time (0 = no limit). */
  static withStartLimit(atOnce: number): DockerRuntime {
    return new DockerRuntime(new Docker(), undefined, false, new StartGate(atOnce));
  }

  /** The same connection, recording actions to `sink`. */
  scoped(sink: ActionSink | undefined, opts: { revealsFault?: boolean } = {}): DockerRuntime {
    return new DockerRuntime(this.docker, sink, opts.revealsFault ?? false, this.starts, this.dial);
  }

  /** A call that changes something: recorded as its docker CLI command first. */
  private async act<T>(command: string, what: string, call: () => Promise<T>, ok: (status: number | undefined) => boolean = () => false): Promise<T | undefined> {
    this.sink?.({ command, revealsFault: this.revealsFault });
    try {
      return await this.ask(what, call);
    } catch (e) {
      if (e instanceof DockerError && ok(e.status)) return undefined;
      throw e;
    }
  }

  /** A read where 404 means "there is none": undefined, never an error. */
  private async absentOn404<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.ask(what, call);
    } catch (e) {
      if (e instanceof DockerError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** A call that only reads. */
  private async ask<T>(what: string, call: () => Promise<T>): Promise<T> {
    const started = TRACE ? performance.now() : 0;
    try {
      return await (overSsh(this.docker) ? throughSsh(this.docker, call) : call());
    } catch (e) {
      throw new DockerError(`${what} failed: ${reasonOf(e)}`, statusOf(e));
    } finally {
      if (TRACE) process.stderr.write(`[docker ${(performance.now() - started).toFixed(0)} ms] ${what}\n`);
    }
  }

  // ---- engine ----

  /** What the engine says of itself (version, CPUs, memory, swarm, Flowlab containers). */
  facts(): Promise<EngineFacts> {
    return engineFacts(this.docker);
  }

  /**
   * Where this engine's API is, for a proxy that forwards to it (the docker console's scoped
   * API): its socket, or host and port with the TLS client certificates. None for ssh.
   */
  async upstream(): Promise<Upstream | undefined> {
    if (this.dial) return { dial: this.dial };
    const m = this.docker.modem as unknown as { socketPath?: unknown; getSocketPath(): Promise<string | undefined>; host?: string; port?: number | string; protocol?: string; ca?: string; cert?: string; key?: string };
    if (m.protocol === 'ssh') return undefined;
    // dockerode's default socket is found when first asked (a function until then).
    if (m.socketPath) return { socketPath: (await m.getSocketPath())! };
    if (!m.host) return undefined;
    const tls = m.protocol === 'https' && m.ca && m.cert && m.key ? { tls: { ca: m.ca, cert: m.cert, key: m.key } } : {};
    return { host: m.host, port: Number(m.port ?? 2375), ...tls };
  }

  async info(): Promise<EngineInfo> {
    return this.ask('asking the Docker engine for its info', async () => {
      const [info, version] = await Promise.all([this.docker.info(), this.docker.version()]);
      return {
        serverVersion: String(info.ServerVersion),
        apiVersion: String(version.ApiVersion),
        swarm: String(info.Swarm?.LocalNodeState ?? 'inactive'),
        swarmNodeAddr: String(info.Swarm?.NodeAddr ?? ''),
        memTotal: Number(info.MemTotal ?? 0),
        ncpu: Number(info.NCPU ?? 0),
        os: String(info.OperatingSystem ?? ''),
      };
    });
  }

  async ping(): Promise<void> {
    await this.ask(`reaching Docker at ${dockerEndpoint()}`, () => this.docker.ping());
  }

  async swarmInit(advertiseAddr: string): Promise<void> {
    await this.act(cli.simple.swarmInit(advertiseAddr), 'docker swarm init', () =>
      this.docker.swarmInit({ ListenAddr: '0.0.0.0:2377', AdvertiseAddr: advertiseAddr }),
    );
  }

  async swarmJoinToken(role: 'manager' | 'worker'): Promise<string> {
    const swarm = (await this.ask('docker swarm join-token', () => this.docker.swarmInspect())) as { JoinTokens?: { Manager?: string; Worker?: string } };
    const token = role === 'manager' ? swarm.JoinTokens?.Manager : swarm.JoinTokens?.Worker;
    if (!token) throw new DockerError(`docker swarm join-token ${role}: the engine gave no token (is it a swarm manager?)`, 503);
    return token;
  }

  async swarmJoin(manager: string, token: string, advertiseAddr: string): Promise<void> {
    await this.act(cli.simple.swarmJoin(manager, advertiseAddr), `docker swarm join ${manager}`, () =>
      this.docker.swarmJoin({ ListenAddr: '0.0.0.0:2377', AdvertiseAddr: advertiseAddr, RemoteAddrs: [`${manager}:2377`], JoinToken: token }),
    );
  }

  async listNodes(): Promise<NodeState[]> {
    const nodes = await this.ask('docker node ls', () => this.docker.listNodes());
    return nodes.map((n) => {
      const node = n as { ID: string; Spec?: { Role?: string; Availability?: string; Labels?: Record<string, string> }; Description?: { Hostname?: string }; Status?: { State?: string; Addr?: string } };
      return {
        id: node.ID,
        hostname: node.Description?.Hostname ?? '',
        role: node.Spec?.Role === 'manager' ? 'manager' : 'worker',
        availability: (node.Spec?.Availability ?? 'active') as NodeState['availability'],
        state: node.Status?.State ?? 'unknown',
        labels: node.Spec?.Labels ?? {},
        addr: node.Status?.Addr ?? '',
      };
    });
  }

  async updateNode(nameOrId: string, change: NodeChange): Promise<void> {
    await this.act(cli.nodeUpdate(nameOrId, change), `docker node update ${nameOrId}`, async () => {
      const node = this.docker.getNode(nameOrId);
      const info = (await node.inspect()) as { Version: { Index: number }; Spec: { Labels?: Record<string, string>; Availability?: string; Role?: string } };
      const spec = structuredClone(info.Spec);
      if (change.availability) spec.Availability = change.availability;
      const labels = { ...(spec.Labels ?? {}) };
      for (const [k, v] of Object.entries(change.labels ?? {})) {
        if (v === null) delete labels[k];
        else labels[k] = v;
      }
      spec.Labels = labels;
      await node.update({ _query: { version: info.Version.Index }, _body: spec } as unknown as object);
    });
  }

  /** The engine inside one of this engine's containers (a lab's node), its starts `atOnce` at a time. */
  inside(container: string, atOnce: number): DockerRuntime {
    return new DockerRuntime(dockerInside(this.docker, container), undefined, false, new StartGate(atOnce), () => dialInside(this.docker, container));
  }

  // ---- images ----

  async imageInfo(ref: string): Promise<{ id: string; labels: Record<string, string>; size: number } | undefined> {
    const img = await this.absentOn404(`docker image inspect ${ref}`, () => this.docker.getImage(ref).inspect());
    return img && { id: img.Id, labels: img.Config?.Labels ?? {}, size: img.Size };
  }

  async imageRefs(): Promise<Set<string>> {
    const images = await this.ask('docker image ls', () => this.docker.listImages());
    return new Set(images.flatMap((i) => i.RepoTags ?? []).concat(images.map((i) => i.Id)));
  }

  /** Pulls an image; fails fast where no registry can be reached. */
  async pullImage(ref: string, timeoutMs = 120_000): Promise<void> {
    await this.act(cli.commandLine(['docker', 'pull', ref]), `docker pull ${ref}`, async () => {
      const stream = await this.docker.pull(ref);
      const timer = setTimeout(() => (stream as NodeJS.ReadableStream & { destroy(e?: Error): void }).destroy(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
      try {
        await followProgress(this.docker, stream, (event) => {
          if (event.error) throw new Error(event.error);
        });
      } finally {
        clearTimeout(timer);
      }
    });
  }

  async removeImage(ref: string): Promise<void> {
    await this.act(cli.commandLine(['docker', 'image', 'rm', ref]), `docker image rm ${ref}`, () => this.docker.getImage(ref).remove(), (s) => s === 404);
  }

  /** Builds with the engine's builder; `onLine` gets the build's output line by line. */
  async buildImage(dir: string, tag: string, opts: { buildArgs: Record<string, string>; labels: Record<string, string>; onLine?: (line: string) => void }): Promise<void> {
    const files = filesUnder(dir);
    await this.act(cli.simple.build(tag, dir, opts.buildArgs), `building image ${tag}`, async () => {
      const stream = await this.docker.buildImage({ context: dir, src: files }, { t: tag, buildargs: opts.buildArgs, labels: opts.labels, rm: true, forcerm: true });
      await followProgress(this.docker, stream, (event) => {
        if (event.error) throw new Error(event.error);
        const text = event.stream ?? event.status;
        if (text) for (const line of String(text).split('\n')) if (line.trim()) opts.onLine?.(line);
      });
    });
  }

  async importImage(tar: Readable, ref: string): Promise<void> {
    const [repo, tag] = ref.split(':');
    await this.act(cli.simple.importImage(ref), `importing image ${ref}`, async () => {
      const stream = await this.docker.importImage(tar, { repo, tag });
      await followProgress(this.docker, stream, (event) => {
        if (event.error) throw new Error(event.error);
      });
    });
  }

  async saveImage(ref: string): Promise<Readable> {
    return (await this.docker.getImage(ref).get()) as unknown as Readable;
  }

  async loadImage(tar: Readable, what: { ref: string; engine: string }): Promise<void> {
    await this.act(cli.simple.shipImage(what.ref, what.engine), `loading image ${what.ref}`, async () => {
      const stream = await this.docker.loadImage(tar);
      await followProgress(this.docker, stream, (event) => {
        if (event.error) throw new Error(event.error);
      });
    });
  }

  // ---- networks ----

  async createNetwork(spec: NetworkSpec): Promise<string> {
    const res = await this.act(cli.networkCreate(spec), `docker network create ${spec.name}`, () =>
      this.docker.createNetwork({
        Name: spec.name,
        Driver: spec.driver,
        CheckDuplicate: true,
        Internal: spec.internal,
        Attachable: spec.attachable,
        Options: spec.options,
        Labels: spec.labels,
        IPAM: { Driver: 'default', Config: spec.subnet ? [{ Subnet: spec.subnet, ...(spec.gateway ? { Gateway: spec.gateway } : {}) }] : [] },
      }),
    );
    return res!.id;
  }

  async removeNetwork(nameOrId: string): Promise<void> {
    await this.act(cli.simple.removeNetwork(nameOrId), `docker network rm ${nameOrId}`, () => this.docker.getNetwork(nameOrId).remove(), (s) => s === 404);
  }

  async listNetworks(labels?: LabelFilter): Promise<NetworkSummary[]> {
    const nets = await this.ask('docker network ls', () => this.docker.listNetworks(labels ? { filters: labelFilters(labels) } : {}));
    return nets.map((n) => ({
      id: n.Id,
      name: n.Name,
      labels: n.Labels ?? {},
      driver: n.Driver,
      subnets: (n.IPAM?.Config ?? []).map((c) => c.Subnet).filter((s): s is string => !!s),
    }));
  }

  async connect(network: string, container: string, endpoint: Omit<EndpointSpec, 'network'>): Promise<void> {
    await this.act(cli.networkConnect(network, container, endpoint), `docker network connect ${network} ${container}`, () =>
      this.docker.getNetwork(network).connect({ Container: container, EndpointConfig: endpointConfig(endpoint) }),
    );
  }

  async disconnect(network: string, container: string): Promise<void> {
    await this.act(cli.commandLine(['docker', 'network', 'disconnect', '--force', network, container]), `docker network disconnect ${network} ${container}`, () =>
      this.docker.getNetwork(network).disconnect({ Container: container, Force: true }),
    );
  }

  async inspectNetwork(nameOrId: string): Promise<NetworkDetails | undefined> {
    const n = await this.absentOn404(`docker network inspect ${nameOrId}`, () => this.docker.getNetwork(nameOrId).inspect());
    return n && decodeNetwork(n);
  }

  // ---- containers ----

  async createContainer(spec: ContainerSpec): Promise<string> {
    const container = await this.act(cli.containerCreate(spec), `docker create ${spec.name}`, () => this.docker.createContainer(containerCreateOptions(spec)));
    const net = spec.network;
    if (net.kind === 'networks') {
      // API 1.41 takes one network at create time; the others are joined before start.
      for (const e of net.endpoints.slice(1)) await this.connect(e.network, spec.name, e);
    }
    return container!.id;
  }

  /**
   * `priority` orders this start among others waiting for the engine (see StartGate): 'lab' for
   * a lab's own containers, 'interactive' for what someone is waiting on, 'background' for
   * capture. `signal` calls the start off while it waits for its turn.
   */
  async startContainer(nameOrId: string, priority: StartPriority = 'lab', signal?: AbortSignal): Promise<void> {
    await this.starts.run(
      priority,
      () => this.act(cli.simple.start(nameOrId), `docker start ${nameOrId}`, () => this.docker.getContainer(nameOrId).start(), (s) => s === 304),
      signal,
    );
  }

  async stopContainer(nameOrId: string, timeoutS = 1): Promise<void> {
    await this.act(cli.commandLine(['docker', 'stop', '--time', String(timeoutS), nameOrId]), `docker stop ${nameOrId}`, () => this.docker.getContainer(nameOrId).stop({ t: timeoutS }), (s) => s === 304);
  }

  async killContainer(nameOrId: string): Promise<void> {
    await this.act(cli.commandLine(['docker', 'kill', nameOrId]), `docker kill ${nameOrId}`, () => this.docker.getContainer(nameOrId).kill(), (s) => s === 409);
  }

  async pauseContainer(nameOrId: string): Promise<void> {
    await this.act(cli.commandLine(['docker', 'pause', nameOrId]), `docker pause ${nameOrId}`, () => this.docker.getContainer(nameOrId).pause());
  }

  async unpauseContainer(nameOrId: string): Promise<void> {
    await this.act(cli.commandLine(['docker', 'unpause', nameOrId]), `docker unpause ${nameOrId}`, () => this.docker.getContainer(nameOrId).unpause(), (s) => s === 409);
  }

  /** Idempotent: gone is success, and so is a removal already under way once it is done. */
  async removeContainer(nameOrId: string): Promise<void> {
    try {
      await this.act(cli.simple.removeContainer(nameOrId), `docker rm --force ${nameOrId}`, () => this.docker.getContainer(nameOrId).remove({ force: true, v: true }), (s) => s === 404);
    } catch (e) {
      if (!dockerFailed(e, 'removal-in-progress')) throw e;
      const deadline = Date.now() + 30_000;
      while (await this.inspectContainer(nameOrId)) {
        if (Date.now() > deadline) throw new DockerError(`docker rm --force ${nameOrId}: another removal of it is still under way after 30 s`, 409);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async inspectContainer(nameOrId: string): Promise<ContainerState | undefined> {
    const c = await this.absentOn404(`docker inspect ${nameOrId}`, () => this.docker.getContainer(nameOrId).inspect());
    return c && decodeContainer(c);
  }

  /** The host pid of a running container's first process; undefined when it is not running or gone. A daemon failure is an error, not "stopped". */
  /**
   * The pid of a running container's first process in this machine's /proc — undefined when it
   * is not running, or when that pid here is not the container's (another engine's host, or
   * Flowlab inside a container): callers then ask inside the container.
   */
  async containerPid(nameOrId: string): Promise<number | undefined> {
    const info = await this.absentOn404(`docker inspect ${nameOrId}`, () => this.docker.getContainer(nameOrId).inspect());
    const pid = info?.State?.Running && info.State.Pid ? info.State.Pid : undefined;
    return pid !== undefined && (await procIsContainers(pid, info!.Id)) ? pid : undefined;
  }

  async listContainers(labels: LabelFilter): Promise<(ObjectSummary & { state: string })[]> {
    const list = await this.ask('docker ps', () => this.docker.listContainers({ all: true, filters: labelFilters(labels) }));
    return list.map((c) => ({ id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, ''), labels: c.Labels ?? {}, state: c.State }));
  }

  /** The host ports this engine's containers publish now, as `tcp/8080`. */
  async publishedPorts(): Promise<Set<string>> {
    const list = await this.ask('docker ps', () => this.docker.listContainers({ all: false }));
    return new Set(list.flatMap((c) => (c.Ports ?? []).filter((p) => p.PublicPort).map((p) => `${p.Type}/${p.PublicPort}`)));
  }

  async logs(nameOrId: string, tail = 20): Promise<string> {
    try {
      const buf = (await this.docker.getContainer(nameOrId).logs({ stdout: true, stderr: true, tail, follow: false })) as unknown as Buffer;
      return demuxBuffer(buf);
    } catch (e) {
      return `(no logs: ${reasonOf(e)})`;
    }
  }

  /**
   * Runs a container to completion (`docker run --rm`): its exit code and output. The container
   * is removed whatever happens.
   */
  async runToCompletion(spec: ContainerSpec, timeoutMs: number): Promise<ExecResult> {
    this.sink?.({ command: cli.containerCreate(spec).replace(/^docker create /, 'docker run --rm '), revealsFault: this.revealsFault });
    const quiet = this.scoped(undefined);
    try {
      await quiet.createContainer(spec);
      // Someone waits for the answer (a probe, a fault being applied): ahead of labs coming up.
      await quiet.startContainer(spec.name, 'interactive');
      const container = this.docker.getContainer(spec.name);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        container.wait().then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
      ]).finally(() => clearTimeout(timer));
      const state = await quiet.inspectContainer(spec.name);
      const out = await quiet.logs(spec.name, 10_000);
      return { exitCode: timedOut ? -1 : state?.exitCode ?? -1, stdout: out, stderr: '', timedOut };
    } finally {
      await quiet.removeContainer(spec.name).catch(() => undefined);
    }
  }

  /** Runs a command in a running container. Not recorded unless `record` is set. */
  async exec(nameOrId: string, cmd: string[], opts: { timeoutMs?: number; record?: boolean } = {}): Promise<ExecResult> {
    if (opts.record) this.sink?.({ command: cli.simple.exec(nameOrId, cmd), revealsFault: this.revealsFault });
    return this.ask(`docker exec ${nameOrId} ${cmd.join(' ')}`, () => execCollect(this.docker, nameOrId, cmd, opts.timeoutMs));
  }

  /**
   * Starts a long-running command in a container and hands back its standard output as a stream
   * (for a capture that follows live traffic). `stop()` closes it; `exit` resolves when it ends.
   */
  async execStream(nameOrId: string, cmd: string[]): Promise<ExecStream> {
    return this.ask(`docker exec ${nameOrId} ${cmd.join(' ')}`, () => execFollow(this.docker, nameOrId, cmd));
  }

  /** An exec whose stdin and stdout carry bytes both ways (`docker exec -i`); not recorded. */
  async execPipe(nameOrId: string, cmd: string[]): Promise<ExecPipe> {
    return this.ask(`docker exec -i ${nameOrId} ${cmd.join(' ')}`, () => execPipe(this.docker, nameOrId, cmd));
  }

  /** A shell-like exec with a terminal: what a learner types goes in, the terminal's output comes out. */
  async execTty(nameOrId: string, cmd: string[], size: { cols: number; rows: number }): Promise<TtySession> {
    return this.ask(`docker exec -it ${nameOrId} ${cmd.join(' ')}`, () => execTerminal(this.docker, nameOrId, cmd, size));
  }

  // ---- swarm services ----

  async createService(spec: SwarmServiceSpec): Promise<string> {
    const res = await this.act(cli.serviceCreate(spec), `docker service create ${spec.name}`, () =>
      this.docker.createService(serviceCreateOptions(spec)),
    );
    return (res as { id?: string; ID?: string }).id ?? (res as { ID: string }).ID;
  }

  async removeService(nameOrId: string): Promise<void> {
    await this.act(cli.simple.removeService(nameOrId), `docker service rm ${nameOrId}`, () => this.docker.getService(nameOrId).remove(), (s) => s === 404 || s === 503);
  }

  async scaleService(nameOrId: string, replicas: number): Promise<void> {
    await this.updateService(nameOrId, cli.commandLine(['docker', 'service', 'scale', '--detach', `${nameOrId}=${replicas}`]), (spec) => {
      spec.Mode = { Replicated: { Replicas: replicas } };
    });
  }

  async restartServiceTasks(nameOrId: string): Promise<void> {
    await this.updateService(nameOrId, cli.commandLine(['docker', 'service', 'update', '--detach', '--force', nameOrId]), (spec) => {
      const template = (spec.TaskTemplate ?? {}) as { ForceUpdate?: number };
      template.ForceUpdate = (template.ForceUpdate ?? 0) + 1;
      spec.TaskTemplate = template as Docker.ServiceSpec['TaskTemplate'];
    });
  }

  async setEndpointMode(nameOrId: string, mode: 'vip' | 'dnsrr'): Promise<void> {
    await this.updateService(nameOrId, cli.commandLine(['docker', 'service', 'update', '--detach', '--endpoint-mode', mode, nameOrId]), (spec) => {
      spec.EndpointSpec = { ...(spec.EndpointSpec ?? {}), Mode: mode };
    });
  }

  async setServiceNetworks(nameOrId: string, networks: EndpointSpec[], command: string): Promise<void> {
    await this.updateService(nameOrId, command, (spec) => {
      const template = (spec.TaskTemplate ?? {}) as { Networks?: { Target: string; Aliases?: string[] }[] };
      template.Networks = networks.map((n) => ({ Target: n.network, Aliases: n.aliases }));
      spec.TaskTemplate = template as Docker.ServiceSpec['TaskTemplate'];
    });
  }

  async serviceInfo(nameOrId: string): Promise<{ replicas: number; endpointMode: string; networks: string[]; updating: boolean } | undefined> {
    const svc = await this.absentOn404(`docker service inspect ${nameOrId}`, () => this.docker.getService(nameOrId).inspect() as Promise<{ Spec: Docker.ServiceSpec; UpdateStatus?: { State?: string } }>);
    if (!svc) return undefined;
    const spec = svc.Spec;
    const template = (spec.TaskTemplate ?? {}) as { Networks?: { Target: string }[] };
    return {
      replicas: spec.Mode?.Replicated?.Replicas ?? 0,
      endpointMode: spec.EndpointSpec?.Mode ?? 'vip',
      networks: (template.Networks ?? []).map((n) => n.Target),
      // A rolling update (or its rollback) still replacing tasks.
      updating: ['updating', 'rollback_started'].includes(svc.UpdateStatus?.State ?? ''),
    };
  }

  /** The service's spec as Docker holds it, changed by `modify` and written back (`docker service update`). */
  private async updateService(nameOrId: string, command: string, modify: (spec: Docker.ServiceSpec) => void): Promise<void> {
    await this.act(command, `docker service update ${nameOrId}`, async () => {
      const svc = this.docker.getService(nameOrId);
      const info = (await svc.inspect()) as { Version: { Index: number }; Spec: Docker.ServiceSpec };
      const spec = structuredClone(info.Spec);
      modify(spec);
      await svc.update({ _query: { version: info.Version.Index }, _body: spec } as unknown as Docker.ServiceSpec);
    });
  }

  async serviceSpec(nameOrId: string): Promise<Docker.ServiceSpec | undefined> {
    const svc = await this.absentOn404(`docker service inspect ${nameOrId}`, () => this.docker.getService(nameOrId).inspect() as Promise<{ Spec: Docker.ServiceSpec }>);
    return svc?.Spec;
  }

  async listServices(labels: LabelFilter): Promise<ObjectSummary[]> {
    try {
      const list = await this.docker.listServices({ filters: labelFilters(labels) });
      return list.map((s) => ({ id: s.ID!, name: s.Spec?.Name ?? '', labels: s.Spec?.Labels ?? {} }));
    } catch (e) {
      // Not a swarm manager: there are no services to list.
      if (statusOf(e) === 503) return [];
      throw new DockerError(`docker service ls failed: ${reasonOf(e)}`, statusOf(e));
    }
  }

  async serviceTasks(service: string): Promise<TaskState[]> {
    const tasks = await this.ask(`docker service ps ${service}`, () => this.docker.listTasks({ filters: { service: [service] } }));
    return tasks.map((t) => ({
      state: String(t.Status?.State ?? ''),
      desired: String(t.DesiredState ?? ''),
      ...(t.Status?.ContainerStatus?.ContainerID ? { container: t.Status.ContainerStatus.ContainerID } : {}),
      ...(t.NodeID ? { node: String(t.NodeID) } : {}),
      ...(t.Status?.Err ? { error: t.Status.Err } : {}),
    }));
  }
}

