// The engine of a lab with nodes, as everything above the Docker layer sees it: one DockerApi over
// the swarm of the session's nodes. Swarm, networks, services and images go to the leader (the
// manager that made the swarm); a container goes to the node its spec names (flowlab.node), or to
// the node of the container whose namespace it joins (a capture, a helper); a container already
// there is found on whichever node holds it. So probes, faults, captures and the topology work on
// a lab with nodes as on any other, unchanged.
import { dockerFailed } from './errors.ts';
import { LABEL } from './labels.ts';
import type { ContainerSpec, EndpointSpec, NetworkSpec, SwarmServiceSpec } from './specs.ts';
import type { StartPriority } from './start-gate.ts';
import type { ActionSink, ContainerState, DockerApi, EngineInfo, ExecPipe, ExecResult, ExecStream, LabelFilter, NetworkDetails, NetworkSummary, NodeChange, NodeState, ObjectSummary, ServiceState, TaskState, TtySession, Upstream } from './types.ts';
import type { Readable } from 'node:stream';

export class NodesRuntime implements DockerApi {
  constructor(
    /** Each node's engine, by the lab's name for the node. */
    readonly nodes: ReadonlyMap<string, DockerApi>,
    readonly leader: string,
    /** Which node holds a container, by name and by id: shared by every scoped copy. */
    private readonly where: Map<string, string> = new Map(),
  ) {
    if (!nodes.has(leader)) throw new Error(`the leader "${leader}" is not one of the nodes: ${[...nodes.keys()].join(', ')}`);
  }

  private get lead(): DockerApi {
    return this.nodes.get(this.leader)!;
  }

  /** The engine of a node by the lab's name for it. */
  node(name: string): DockerApi {
    const rt = this.nodes.get(name);
    if (!rt) throw new Error(`no node "${name}"; expected one of: ${[...this.nodes.keys()].join(', ')}`);
    return rt;
  }

  scoped(sink: ActionSink | undefined, opts: { revealsFault?: boolean } = {}): NodesRuntime {
    return new NodesRuntime(new Map([...this.nodes].map(([name, rt]) => [name, rt.scoped(sink, opts)])), this.leader, this.where);
  }

  /** The node holding a container: remembered, or asked of every node (the leader when none has it, so its 404 is the answer). */
  async nodeOf(nameOrId: string): Promise<string> {
    const known = this.where.get(nameOrId);
    if (known) return known;
    const found = await Promise.all([...this.nodes].map(async ([name, rt]) => ((await rt.inspectContainer(nameOrId).catch(() => undefined)) ? name : undefined)));
    const name = found.find((n) => n !== undefined);
    if (name) this.where.set(nameOrId, name);
    return name ?? this.leader;
  }

  private async holder(nameOrId: string): Promise<DockerApi> {
    return this.node(await this.nodeOf(nameOrId));
  }

  /** Where a new container goes: the node its labels name, the node of the namespace it joins, or the leader. */
  private async placeFor(spec: ContainerSpec): Promise<string> {
    const named = spec.labels[LABEL.node];
    if (named && this.nodes.has(named)) return named;
    if (spec.network.kind === 'container') return this.nodeOf(spec.network.container);
    return this.leader;
  }

  info(): Promise<EngineInfo> {
    return this.lead.info();
  }
  ping(): Promise<void> {
    return this.lead.ping();
  }
  swarmInit(advertiseAddr: string): Promise<void> {
    return this.lead.swarmInit(advertiseAddr);
  }
  swarmJoinToken(role: 'manager' | 'worker'): Promise<string> {
    return this.lead.swarmJoinToken(role);
  }
  swarmJoin(manager: string, token: string, advertiseAddr: string): Promise<void> {
    return this.lead.swarmJoin(manager, token, advertiseAddr);
  }
  listNodes(): Promise<NodeState[]> {
    return this.lead.listNodes();
  }
  updateNode(nameOrId: string, change: NodeChange): Promise<void> {
    return this.lead.updateNode(nameOrId, change);
  }

  imageInfo(ref: string) {
    return this.lead.imageInfo(ref);
  }
  imageRefs(): Promise<Set<string>> {
    return this.lead.imageRefs();
  }
  pullImage(ref: string, timeoutMs?: number): Promise<void> {
    return this.lead.pullImage(ref, timeoutMs);
  }
  removeImage(ref: string): Promise<void> {
    return this.lead.removeImage(ref);
  }
  buildImage(dir: string, tag: string, opts: { buildArgs: Record<string, string>; labels: Record<string, string>; onLine?: (line: string) => void }): Promise<void> {
    return this.lead.buildImage(dir, tag, opts);
  }
  importImage(tar: Readable, ref: string): Promise<void> {
    return this.lead.importImage(tar, ref);
  }
  saveImage(ref: string): Promise<Readable> {
    return this.lead.saveImage(ref);
  }
  loadImage(tar: Readable, what: { ref: string; engine: string }): Promise<void> {
    return this.lead.loadImage(tar, what);
  }

  createNetwork(spec: NetworkSpec): Promise<string> {
    return this.lead.createNetwork(spec);
  }
  removeNetwork(nameOrId: string): Promise<void> {
    return this.lead.removeNetwork(nameOrId);
  }
  listNetworks(labels?: LabelFilter): Promise<NetworkSummary[]> {
    return this.lead.listNetworks(labels);
  }
  async connect(network: string, container: string, endpoint: Omit<EndpointSpec, 'network'>): Promise<void> {
    return (await this.holder(container)).connect(network, container, endpoint);
  }
  async disconnect(network: string, container: string): Promise<void> {
    return (await this.holder(container)).disconnect(network, container);
  }
  async inspectNetwork(nameOrId: string): Promise<NetworkDetails | undefined> {
    // An overlay network lists only the containers of the node asked: every node is asked.
    const all = await Promise.all([...this.nodes].map(async ([node, rt]) => ({ node, net: await rt.inspectNetwork(nameOrId).catch(() => undefined) })));
    const first = all.find((n) => n.net !== undefined)?.net;
    if (!first) return undefined;
    const seen = new Set<string>();
    const containers = all.flatMap(({ node, net }) => (net?.containers ?? []).map((c) => ({ ...c, node }))).filter((c) => !seen.has(c.id) && seen.add(c.id));
    return { ...first, containers };
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const node = await this.placeFor(spec);
    const id = await this.node(node).createContainer(spec);
    this.where.set(spec.name, node);
    this.where.set(id, node);
    return id;
  }
  async startContainer(nameOrId: string, priority?: StartPriority, signal?: AbortSignal): Promise<void> {
    return (await this.holder(nameOrId)).startContainer(nameOrId, priority, signal);
  }
  async stopContainer(nameOrId: string, timeoutS?: number): Promise<void> {
    return (await this.holder(nameOrId)).stopContainer(nameOrId, timeoutS);
  }
  async killContainer(nameOrId: string): Promise<void> {
    return (await this.holder(nameOrId)).killContainer(nameOrId);
  }
  async pauseContainer(nameOrId: string): Promise<void> {
    return (await this.holder(nameOrId)).pauseContainer(nameOrId);
  }
  async unpauseContainer(nameOrId: string): Promise<void> {
    return (await this.holder(nameOrId)).unpauseContainer(nameOrId);
  }
  async removeContainer(nameOrId: string): Promise<void> {
    await (await this.holder(nameOrId)).removeContainer(nameOrId);
    this.where.delete(nameOrId);
  }
  /** Undefined too when its node is down: nothing of it can be reached. */
  async inspectContainer(nameOrId: string): Promise<ContainerState | undefined> {
    try {
      return await (await this.holder(nameOrId)).inspectContainer(nameOrId);
    } catch (e) {
      if (dockerFailed(e, 'node-unreachable')) return undefined;
      throw e;
    }
  }
  async containerPid(nameOrId: string): Promise<number | undefined> {
    return (await this.holder(nameOrId)).containerPid(nameOrId);
  }
  async listContainers(labels: LabelFilter): Promise<(ObjectSummary & { state: string })[]> {
    const lists = await Promise.all(
      [...this.nodes].map(async ([node, rt]) => {
        // A node that is down (its machine stopped) holds nothing anyone can reach now.
        const list = await rt.listContainers(labels).catch((e: unknown) => {
          if (dockerFailed(e, 'node-unreachable')) return [];
          throw e;
        });
        for (const c of list) {
          this.where.set(c.id, node);
          this.where.set(c.name, node);
        }
        return list;
      }),
    );
    return lists.flat();
  }
  async logs(nameOrId: string, tail?: number): Promise<string> {
    return (await this.holder(nameOrId)).logs(nameOrId, tail);
  }
  async runToCompletion(spec: ContainerSpec, timeoutMs: number): Promise<ExecResult> {
    return this.node(await this.placeFor(spec)).runToCompletion(spec, timeoutMs);
  }
  async exec(nameOrId: string, cmd: string[], opts?: { timeoutMs?: number; record?: boolean }): Promise<ExecResult> {
    return (await this.holder(nameOrId)).exec(nameOrId, cmd, opts);
  }
  async execStream(nameOrId: string, cmd: string[]): Promise<ExecStream> {
    return (await this.holder(nameOrId)).execStream(nameOrId, cmd);
  }
  async execPipe(nameOrId: string, cmd: string[]): Promise<ExecPipe> {
    return (await this.holder(nameOrId)).execPipe(nameOrId, cmd);
  }
  async execTty(nameOrId: string, cmd: string[], size: { cols: number; rows: number }): Promise<TtySession> {
    return (await this.holder(nameOrId)).execTty(nameOrId, cmd, size);
  }
  /** The leader's engine, dialled through its node container: what the console forwards to. */
  upstream(): Promise<Upstream | undefined> {
    return this.lead.upstream();
  }

  createService(spec: SwarmServiceSpec): Promise<string> {
    return this.lead.createService(spec);
  }
  removeService(nameOrId: string): Promise<void> {
    return this.lead.removeService(nameOrId);
  }
  scaleService(nameOrId: string, replicas: number): Promise<void> {
    return this.lead.scaleService(nameOrId, replicas);
  }
  restartServiceTasks(nameOrId: string): Promise<void> {
    return this.lead.restartServiceTasks(nameOrId);
  }
  setEndpointMode(nameOrId: string, mode: 'vip' | 'dnsrr'): Promise<void> {
    return this.lead.setEndpointMode(nameOrId, mode);
  }
  setServiceNetworks(nameOrId: string, networks: EndpointSpec[], command: string): Promise<void> {
    return this.lead.setServiceNetworks(nameOrId, networks, command);
  }
  serviceInfo(nameOrId: string): Promise<ServiceState | undefined> {
    return this.lead.serviceInfo(nameOrId);
  }
  serviceSpec(nameOrId: string): Promise<unknown> {
    return this.lead.serviceSpec(nameOrId);
  }
  listServices(labels: LabelFilter): Promise<ObjectSummary[]> {
    return this.lead.listServices(labels);
  }
  serviceTasks(service: string): Promise<TaskState[]> {
    return this.lead.serviceTasks(service);
  }
}
