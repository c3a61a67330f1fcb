// What the Docker layer hands up: plain records of containers, networks, execs and the engine,
// in Flowlab's shape rather than the Engine API's; the action log's entries; and DockerApi, the
// engine as the layers above see it.
import type { Duplex, PassThrough, Readable } from 'node:stream';
import type { ContainerSpec, EndpointSpec, NetworkSpec, PublishedPort, SwarmServiceSpec } from './specs.ts';
import type { StartPriority } from './start-gate.ts';

export interface Action {
  command: string;
  /** Shown to a learner only after grading: it would give away the injected fault. */
  revealsFault: boolean;
}
export type ActionSink = (action: Action) => void;

export interface EndpointState {
  ip: string;
  aliases: string[];
  networkId: string;
  gateway: string;
}

export interface ContainerState {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  running: boolean;
  paused: boolean;
  status: string;
  /** When it last started (ISO), to tell a restarted container from the one a sidecar joined. */
  startedAt: string;
  exitCode: number;
  health?: 'starting' | 'healthy' | 'unhealthy' | 'none';
  networkMode: string;
  networks: Record<string, EndpointState>;
  ports: PublishedPort[];
  /** How it was run: what the fix checks and the security tests look at. */
  host: {
    privileged: boolean;
    capAdd: string[];
    capDrop: string[];
    readOnly: boolean;
    securityOpt: string[];
    init: boolean;
    memoryBytes: number;
    nanoCpus: number;
    pidsLimit: number;
    dns: string[];
    dnsSearch: string[];
    extraHosts: string[];
    mounts: { type: string; source: string; destination: string }[];
    tmpfs: string[];
  };
}

export interface ObjectSummary {
  id: string;
  name: string;
  labels: Record<string, string>;
}

export interface NetworkSummary extends ObjectSummary {
  driver: string;
  subnets: string[];
}

export interface NetworkDetails extends NetworkSummary {
  gateways: string[];
  internal: boolean;
  attachable: boolean;
  options: Record<string, string>;
  /** With a lab's nodes, each container's node (an overlay's containers are listed node by node). */
  containers: { id: string; name: string; ipv4: string; node?: string }[];
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface EngineInfo {
  serverVersion: string;
  apiVersion: string;
  swarm: string;
  swarmNodeAddr: string;
  memTotal: number;
  ncpu: number;
  os: string;
}

/** Labels to filter by: `{ 'flowlab.session': 'abc' }`. */
export type LabelFilter = Record<string, string>;

export interface ServiceState {
  replicas: number;
  endpointMode: string;
  networks: string[];
  /** A rolling update (or its rollback) still replacing tasks. */
  updating: boolean;
}

export interface TaskState {
  state: string;
  desired: string;
  container?: string;
  /** The swarm node's id it was given to (none while pending). */
  node?: string;
  error?: string;
}

/** A swarm node as its manager sees it. */
export interface NodeState {
  id: string;
  hostname: string;
  role: 'manager' | 'worker';
  availability: 'active' | 'pause' | 'drain';
  /** ready, down, unknown, disconnected. */
  state: string;
  labels: Record<string, string>;
  addr: string;
}

/** What `docker node update` changes. */
export interface NodeChange {
  availability?: 'active' | 'pause' | 'drain';
  /** Labels set (a value) or removed (null). */
  labels?: Record<string, string | null>;
}

export interface ExecStream {
  stdout: PassThrough;
  stderr: PassThrough;
  exit: Promise<void>;
  stop(): void;
}

/** Where an engine's API is, for a proxy that forwards to it: a socket, or host and port (with TLS client certificates). */
export interface Upstream {
  /** A connection made on demand (a lab node's engine, reached through its container). */
  dial?: () => Promise<Duplex>;
  socketPath?: string;
  host?: string;
  port?: number;
  tls?: { ca: string; cert: string; key: string };
}

export interface ExecPipe extends ExecStream {
  stdin: NodeJS.WritableStream;
}

export interface TtySession {
  stream: NodeJS.ReadWriteStream;
  resize(cols: number, rows: number): Promise<void>;
  exit: Promise<number>;
}

/**
 * The Docker engine as everything above this layer sees it: the session's runtime, a fault's,
 * a probe's. DockerRuntime is the real one; a test of pure logic may hand in another.
 */
export interface DockerApi {
  /** The same engine, recording every change into `sink` (a session's action log). */
  scoped(sink: ActionSink | undefined, opts?: { revealsFault?: boolean }): DockerApi;
  info(): Promise<EngineInfo>;
  ping(): Promise<void>;
  swarmInit(advertiseAddr: string): Promise<void>;
  /** The token a node joins this swarm's managers with, or its workers. */
  swarmJoinToken(role: 'manager' | 'worker'): Promise<string>;
  swarmJoin(manager: string, token: string, advertiseAddr: string): Promise<void>;
  listNodes(): Promise<NodeState[]>;
  updateNode(nameOrId: string, change: NodeChange): Promise<void>;

  imageInfo(ref: string): Promise<{ id: string; labels: Record<string, string>; size: number } | undefined>;
  imageRefs(): Promise<Set<string>>;
  pullImage(ref: string, timeoutMs?: number): Promise<void>;
  removeImage(ref: string): Promise<void>;
  buildImage(dir: string, tag: string, opts: { buildArgs: Record<string, string>; labels: Record<string, string>; onLine?: (line: string) => void }): Promise<void>;
  importImage(tar: Readable, ref: string): Promise<void>;
  /** `docker save <ref>`: the image as a tar stream. */
  saveImage(ref: string): Promise<Readable>;
  /** `docker load`: images from a `docker save` stream; `what` names the image and the engine it goes to, for the action log. */
  loadImage(tar: Readable, what: { ref: string; engine: string }): Promise<void>;

  createNetwork(spec: NetworkSpec): Promise<string>;
  removeNetwork(nameOrId: string): Promise<void>;
  listNetworks(labels?: LabelFilter): Promise<NetworkSummary[]>;
  connect(network: string, container: string, endpoint: Omit<EndpointSpec, 'network'>): Promise<void>;
  disconnect(network: string, container: string): Promise<void>;
  inspectNetwork(nameOrId: string): Promise<NetworkDetails | undefined>;

  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(nameOrId: string, priority?: StartPriority, signal?: AbortSignal): Promise<void>;
  stopContainer(nameOrId: string, timeoutS?: number): Promise<void>;
  killContainer(nameOrId: string): Promise<void>;
  pauseContainer(nameOrId: string): Promise<void>;
  unpauseContainer(nameOrId: string): Promise<void>;
  removeContainer(nameOrId: string): Promise<void>;
  inspectContainer(nameOrId: string): Promise<ContainerState | undefined>;
  containerPid(nameOrId: string): Promise<number | undefined>;
  listContainers(labels: LabelFilter): Promise<(ObjectSummary & { state: string })[]>;
  logs(nameOrId: string, tail?: number): Promise<string>;
  runToCompletion(spec: ContainerSpec, timeoutMs: number): Promise<ExecResult>;
  exec(nameOrId: string, cmd: string[], opts?: { timeoutMs?: number; record?: boolean }): Promise<ExecResult>;
  execStream(nameOrId: string, cmd: string[]): Promise<ExecStream>;
  execPipe(nameOrId: string, cmd: string[]): Promise<ExecPipe>;
  upstream(): Promise<Upstream | undefined>;
  execTty(nameOrId: string, cmd: string[], size: { cols: number; rows: number }): Promise<TtySession>;

  createService(spec: SwarmServiceSpec): Promise<string>;
  removeService(nameOrId: string): Promise<void>;
  scaleService(nameOrId: string, replicas: number): Promise<void>;
  /** Replaces every task of a service (`docker service update --force`): what brings back tasks that completed when their engine stopped. */
  restartServiceTasks(nameOrId: string): Promise<void>;
  setEndpointMode(nameOrId: string, mode: 'vip' | 'dnsrr'): Promise<void>;
  setServiceNetworks(nameOrId: string, networks: EndpointSpec[], command: string): Promise<void>;
  serviceInfo(nameOrId: string): Promise<ServiceState | undefined>;
  serviceSpec(nameOrId: string): Promise<unknown>;
  listServices(labels: LabelFilter): Promise<ObjectSummary[]>;
  serviceTasks(service: string): Promise<TaskState[]>;
}
