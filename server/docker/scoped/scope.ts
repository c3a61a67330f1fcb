// What a console's API knows about its session, and the little it reads from Docker to decide.
// The routes see the engine only through `ScopeEngine`, so the whole allow/deny policy runs
// against an in-memory engine in unit tests.
import { LABEL, objectName } from '../labels.ts';
import { REF } from './patterns.ts';
import { notFound, refuse } from './refusal.ts';
import { own } from '../../util/lookup.ts';

export interface ScopePolicy {
  session: string;
  /** Labels every object the console creates gets (session, scenario, owner, registry). */
  labels: Record<string, string>;
  /** Image short names and references that may run, short name -> reference. */
  images: Record<string, string>;
  /** Host ports the session may publish. */
  hostPorts: number[];
  limits: { memoryBytes: number; nanoCpus: number; pidsLimit: number };
  /** Roles the console may look at but never change (its own machinery). */
  protectedRoles: string[];
  /** The console's own network: nothing else may join it. */
  consoleNetwork: string;
  /** Whether the lab uses Docker's default bridge (then new containers may join it). */
  defaultBridge: boolean;
  /** Short names of Flowlab's own containers in the session (captures, resolver, console, helpers): never a learner's. */
  reservedNames: string[];
  /** The lab's services and their aliases per network (full network name), to re-create one under its name. */
  services: Record<string, Record<string, string[]>>;
  /** Capabilities a container the console runs has (on top of none: the rest are dropped). */
  baseCaps: string[];
  /** A lab service re-created under its name gets the capabilities the lab gives it, no more. */
  serviceCaps: Record<string, string[]>;
  /** The DNS servers a container on each lab network uses (the lab's resolver), full network name. */
  dns: Record<string, string[]>;
  /** Whether an address is inside one of the lab's subnets. */
  labAddress(ip: string): boolean;
  /** Records an action the learner took, as a docker command. */
  record(command: string): void;
  /** Records a docker command the learner typed in the console; the handle marks it as having changed the lab. */
  typed?(command: string): number;
  /** A request of the typed command `handle` changed the lab. */
  typedChanged?(handle: number): void;
  /** Something in the lab changed (a container started, was removed, joined a network). */
  changed?(): void;
  /**
   * The lab has its own nodes: the swarm is the lab's, so its nodes are shown as they are, and a
   * node's availability and labels may be changed (never its role, nor its membership).
   */
  ownNodes?: boolean;
}

/** The reads the policy makes (DockerRuntime has them all). */
export interface ScopeEngine {
  inspectContainer(ref: string): Promise<{ id: string; name: string; labels: Record<string, string>; networkMode: string } | undefined>;
  inspectNetwork(ref: string): Promise<{ id: string; name: string; labels: Record<string, string> } | undefined>;
  listServices(labels: Record<string, string>): Promise<{ id: string; name: string; labels: Record<string, string> }[]>;
  serviceSpec(ref: string): Promise<unknown>;
  /** The swarm's nodes, for a lab with its own (its console may change their availability and labels). */
  listNodes?(): Promise<{ id: string; hostname: string; role: 'manager' | 'worker'; availability: string; labels: Record<string, string> }[]>;
}

/** How far `container:` sharing is followed: Docker itself resolves one step, labs use one or two. */
const MAX_SHARING_DEPTH = 4;

/** Docker's own networks, shown as context (with only this session's members). */
export const CONTEXT_NETWORKS = ['bridge', 'host', 'none'];
/** What a container, network or service reference may look like: a name or an id (prefix). */

export interface Found {
  id: string;
  name: string;
  labels: Record<string, string>;
}

/** Lookups of this session's objects: another session's are answered "no such …". */
export class Scope {
  constructor(
    readonly policy: ScopePolicy,
    readonly engine: ScopeEngine,
  ) {}

  get session(): string {
    return this.policy.session;
  }

  /**
   * The lab image a name stands for (`toolbox`, `toolbox:latest`, or a lab image's full
   * reference; a digest after @ is ignored): one of the lab's images, or undefined.
   */
  image(name: string): string | undefined {
    const images = this.policy.images;
    const bare = name.split('@')[0]!;
    return own(images, bare) ?? own(images, bare.replace(/:latest$/, '')) ?? (Object.values(images).includes(bare) ? bare : undefined);
  }

  owns(labels: Record<string, string> | undefined): boolean {
    return labels?.[LABEL.session] === this.policy.session;
  }

  /** A container of this session by id, name, or the lab's short name (`web` for fl-<s>-web). */
  async container(ref: string): Promise<Found & { networkMode: string }> {
    if (!REF.test(ref)) throw notFound('container', ref);
    // The lab's short name first: `db` is also a prefix of every container id starting with db.
    for (const candidate of [objectName(this.session, ref.replace(/^\//, '')), ref]) {
      const st = await this.engine.inspectContainer(candidate).catch(() => undefined);
      if (st && this.owns(st.labels)) return st;
    }
    throw notFound('container', ref);
  }

  /** A container the learner may change: not Flowlab's machinery. */
  async changeable(ref: string): Promise<Found & { networkMode: string }> {
    const c = await this.container(ref);
    const role = c.labels[LABEL.role] ?? '';
    if (this.policy.protectedRoles.includes(role)) throw refuse(`${c.name} is part of Flowlab's own machinery (${role}); look at it, but leave it be`);
    return c;
  }

  async network(ref: string): Promise<Found & { context: boolean }> {
    if (!REF.test(ref)) throw notFound('network', ref);
    for (const candidate of [objectName(this.session, ref), ref]) {
      const n = await this.engine.inspectNetwork(candidate).catch(() => undefined);
      if (!n) continue;
      if (this.owns(n.labels)) return { ...n, context: false };
      if (CONTEXT_NETWORKS.includes(n.name)) return { ...n, context: true };
    }
    throw notFound('network', ref);
  }

  /** A lab network a container or service may join: not Docker's own (but the default bridge of a lab that uses it), not the console's. */
  async joinable(ref: string, what: string): Promise<Found> {
    const n = await this.network(ref);
    if (n.name === this.policy.consoleNetwork) throw refuse(`the console's own network takes no other ${what}`);
    if (n.context && !(n.name === 'bridge' && this.policy.defaultBridge)) throw refuse(`the ${n.name} network is shown for context only; ${what}s cannot join it here`);
    return n;
  }

  /** One of the lab's own nodes, by id (or prefix) or hostname. */
  async node(ref: string): Promise<{ id: string; hostname: string; role: 'manager' | 'worker'; availability: string; labels: Record<string, string> }> {
    if (!this.policy.ownNodes || !this.engine.listNodes || !REF.test(ref)) throw notFound('node', ref);
    const found = (await this.engine.listNodes()).find((n) => n.id === ref || n.hostname === ref || (ref.length >= 3 && n.id.startsWith(ref)));
    if (!found) throw notFound('node', ref);
    return found;
  }

  async services(): Promise<Found[]> {
    return this.engine.listServices({ [LABEL.session]: this.session });
  }

  async service(ref: string): Promise<Found> {
    if (!REF.test(ref)) throw notFound('service', ref);
    const found = (await this.services()).find((s) => s.id === ref || s.id.startsWith(ref) || s.name === ref || s.name === objectName(this.session, ref));
    if (!found) throw notFound('service', ref);
    return found;
  }

  /**
   * The network namespace a `container:<ref>` mode would share, followed to its owner. The
   * host's own (a host-network service, or Flowlab's host probe helper) is never shared: there a
   * capability reaches the host's firewall and a capture sees every lab on the host. A chain of
   * shared namespaces deeper than any lab makes is refused rather than followed further.
   */
  async sharedNamespace(ref: string, depth = 0): Promise<Found> {
    const target = await this.container(ref);
    if (target.labels[LABEL.role] === 'console') throw refuse("the console's network namespace is its own");
    if (target.networkMode === 'host') throw refuse(`${target.name} runs on the Docker host's own network; sharing its namespace would reach the host's firewall and every lab's traffic`);
    const inner = /^container:(.+)$/.exec(target.networkMode);
    if (inner) {
      if (depth >= MAX_SHARING_DEPTH) throw refuse(`${target.name} shares a namespace through more than ${MAX_SHARING_DEPTH} containers; share the namespace's owner instead`);
      await this.sharedNamespace(inner[1]!, depth + 1);
    }
    return target;
  }
}
