// Every session's docker console: a container with the real docker CLI, on a network of its own,
// whose DOCKER_HOST is a Docker API scoped to that session, served by this process — never the
// real engine's socket. On the host, the scoped API listens on the console network's gateway
// address; when Flowlab itself runs in a container, that container joins the console network and
// the scoped API listens on its address there. On another engine than Flowlab's, the console has
// no network at all, and its CLI reaches the scoped API through the relay (relay.ts).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { objectName, sessionLabels } from '../docker/labels.ts';
import { dockerFailed } from '../docker/errors.ts';
import type { DockerApi, Upstream } from '../docker/types.ts';
import { ScopedApi, SECRET_HEADER, SESSION_HEADER } from '../docker/scoped/proxy.ts';
import type { ScopePolicy } from '../docker/scoped/scope.ts';
import type { ContainerSpec } from '../docker/specs.ts';
import { hostAt, parseCidr } from '../lab/ipv4.ts';
import { CONSOLE_REF, TOOLBOX_REF, imageRef } from '../lab/lab-images.ts';
import { servicesOf } from '../lab/model.ts';
import { leaseSubnet, SUBNET_ATTEMPTS } from '../session/allocate.ts';
import type { SessionHost } from '../session/host.ts';
import type { SessionStore } from '../store/sessions.ts';
import type { LiveSession } from '../session/live.ts';
import { baseContainer, captureName, DEFAULT_CAPS, HOST_HELPER, LIMITS, RESOLVER_NAME, trafficName } from '../session/plan.ts';
import { bounded, has } from '../util/lookup.ts';
import { FlowlabError } from '../util/errors.ts';
import { LOCAL_ENGINE } from '../protocol/engines.ts';
import { RELAY_DOCKER_HOST, relayConsole, type Relay } from './relay.ts';

export const CONSOLE_NAME = 'console';
export const CONSOLE_API_PORT = 2375;

export interface ConsoleInfo {
  session: string;
  /** The console container: `docker exec -it <container> bash` opens it. */
  container: string;
  /** What the console's docker CLI talks to. */
  docker_host: string;
  /** False when another Flowlab process already serves this console's API. */
  served_here: boolean;
}

interface Running {
  info: ConsoleInfo;
  server?: Server;
  /** On another engine: the exec relaying the console's CLI to this process. */
  relay?: Relay;
  /** Flowlab's own container when it joined the console network to serve it. */
  joined?: { network: string; container: string };
}

/** The container this process runs in, when it runs in one (FLOWLAB_CONTAINER names it). */
async function selfContainer(rt: DockerApi): Promise<string | undefined> {
  const named = process.env.FLOWLAB_CONTAINER;
  if (named) return named;
  if (!existsSync('/.dockerenv')) return undefined;
  const st = await rt.inspectContainer(hostname()).catch(() => undefined);
  return st?.running ? st.name : undefined;
}

/** What the consoles need from where sessions run: the sessions themselves, and the host's door. */
export interface ConsoleHost extends Pick<SessionHost, 'docker' | 'settings' | 'background'> {
  readonly store: SessionStore;
  /** A session that is ready, to act on. */
  live(session: string): LiveSession;
}

export class Consoles {
  private readonly running = new Map<string, Promise<Running>>();
  private readonly refreshing = new Map<string, { again: boolean }>();
  private readonly servedHere = new Set<string>();
  /** Console subnets whose gateway a stale listener holds: never handed out again by this process. */
  private readonly heldSubnets = new Set<string>();

  constructor(private readonly host: ConsoleHost) {}

  /** The session's console, made (with its scoped API) on first use. */
  async ensure(session: string): Promise<ConsoleInfo> {
    let r = this.running.get(session);
    // Served by another process last time: that process may be gone, so try serving it here again.
    if (r) r = r.then((x) => (x.info.served_here ? x : (this.running.delete(session), this.ensureRunning(session))));
    else r = this.ensureRunning(session);
    return r.then((x) => x.info);
  }

  private ensureRunning(session: string): Promise<Running> {
    let r = this.running.get(session);
    if (!r) {
      const live = this.host.live(session);
      if (live.rec.state !== 'ready') throw new Error(`session ${session} is ${live.rec.state}; its console opens once it is ready`);
      r = this.start(live);
      this.running.set(session, r);
      r.catch(() => this.running.delete(session));
    }
    return r;
  }

  private policy(live: LiveSession, consoleNetwork: string): ScopePolicy {
    const images: Record<string, string> = { toolbox: TOOLBOX_REF, [TOOLBOX_REF]: TOOLBOX_REF };
    for (const s of Object.values(live.lab.services)) images[s.image] = imageRef(s.image);
    const plan = live.plan();
    const services: ScopePolicy['services'] = {};
    const dns: ScopePolicy['dns'] = {};
    const serviceCaps: ScopePolicy['serviceCaps'] = {};
    for (const s of plan.services) {
      const endpoints = s.container?.network.kind === 'networks' ? s.container.network.endpoints : [];
      services[s.name] = Object.fromEntries(endpoints.map((e) => [e.network, e.aliases]));
      serviceCaps[s.name] = s.container?.capAdd ?? s.swarm?.capAdd ?? DEFAULT_CAPS;
      for (const e of endpoints) if (s.container && s.container.dns.length > 0) dns[e.network] ??= s.container.dns;
      for (const n of s.swarm?.networks ?? []) if (s.swarm && s.swarm.dns.length > 0) dns[n.network] ??= s.swarm.dns;
    }
    return {
      session: live.id,
      labels: sessionLabels(live.ref(live.rec.owner), 'learner', 'learner'),
      images,
      hostPorts: [...new Set(plan.services.flatMap((s) => (s.container?.ports ?? []).map((p) => p.hostPort)))],
      limits: LIMITS,
      protectedRoles: ['capture', 'helper', 'console', 'resolver', 'traffic'],
      reservedNames: [RESOLVER_NAME, CONSOLE_NAME, HOST_HELPER, ...plan.services.flatMap((s) => [captureName(s.name), trafficName(s.name)])],
      consoleNetwork,
      defaultBridge: servicesOf(live.lab).some((m) => m.attachment.kind === 'default-bridge'),
      services,
      dns,
      // tcpdump, the tool a learner runs most, drops to its own user: that needs SETUID and SETGID.
      baseCaps: [...DEFAULT_CAPS, 'SETUID', 'SETGID'],
      serviceCaps,
      labAddress: (ip) => live.labAddress(ip),
      record: (command) => void live.record(command, { source: 'learner' }),
      typed: (command) => live.record(command, { source: 'learner', kind: 'command' }),
      typedChanged: (seq) => this.host.store.markChanged(live.id, seq),
      changed: () => this.changed(live.id),
      ownNodes: live.nodes().length > 0,
    };
  }

  /**
   * After the learner changed the lab: captures follow re-created services, the topology is read
   * again. Session background work (down calls it off and waits); changes close together share one
   * refresh, and a change made while one runs gets another after it.
   */
  private changed(session: string): void {
    const queued = this.refreshing.get(session);
    if (queued) {
      queued.again = true;
      return;
    }
    const state = { again: false };
    this.refreshing.set(session, state);
    this.host.background(session, async (signal) => {
      try {
        do {
          state.again = false;
          const rec = this.host.store.get(session);
          if (rec?.state !== 'ready' || signal.aborted) return;
          const live = this.host.live(session);
          await live.ensureSidecars(live.runtime(), signal);
          if (!signal.aborted) await live.refreshTopology();
        } while (state.again && !signal.aborted);
      } finally {
        this.refreshing.delete(session);
      }
    });
  }

  /** The session's console network: the one it has, or a new one on a free subnet. */
  private async consoleNetwork(live: LiveSession, rt: DockerApi): Promise<{ name: string; subnet: string; gateway?: string }> {
    const netName = objectName(live.id, CONSOLE_NAME);
    let net = await rt.inspectNetwork(netName);
    for (let attempt = 1; !net; attempt++) {
      const taken = [...(await rt.listNetworks()).flatMap((n) => n.subnets), ...this.heldSubnets];
      const subnet = leaseSubnet(live.id, this.host.store, this.host.settings, taken, attempt > 1);
      try {
        // Internal: no way out of it but the scoped API.
        await rt.createNetwork({ name: netName, driver: 'bridge', subnet, internal: true, attachable: false, options: {}, labels: sessionLabels(live.ref(live.rec.owner), CONSOLE_NAME, 'console') });
      } catch (e) {
        // Another Flowlab (another data directory) took that subnet a moment ago: pick again.
        this.host.store.releaseLease(live.id, 'subnet', subnet);
        if (attempt >= SUBNET_ATTEMPTS || !dockerFailed(e, 'subnet-overlap')) throw e;
        continue;
      }
      net = await rt.inspectNetwork(netName);
    }
    const subnet = net?.subnets[0];
    if (!net || !subnet) throw new Error(`the console network ${netName} has no subnet`);
    return { name: netName, subnet, ...(net.gateways[0] ? { gateway: net.gateways[0] } : {}) };
  }

  /**
   * Serves the scoped API on `address`, or finds who already does. A listener there may be
   * another Flowlab process serving this very console (fine), or one left from a network that
   * was removed (a stale console process, another Flowlab): it must never answer this console.
   */
  private async serve(api: ScopedApi, address: string, session: string, secret: string): Promise<'here' | 'elsewhere' | 'held'> {
    const listened = await new Promise<boolean>((resolve, reject) => {
      api.server.once('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EADDRINUSE') resolve(false);
        else reject(new Error(`the console API for session ${session} cannot listen on ${address}:${CONSOLE_API_PORT}: ${e.message}`));
      });
      api.server.listen(CONSOLE_API_PORT, address, () => resolve(true));
    });
    if (listened) return 'here';
    const answer = await fetch(`http://${address}:${CONSOLE_API_PORT}/_ping`, { headers: { [SECRET_HEADER]: secret, [SESSION_HEADER]: session }, signal: AbortSignal.timeout(3000) }).catch(() => undefined);
    return answer?.status === 200 ? 'elsewhere' : 'held';
  }

  /**
   * The console of a lab on another engine: no network, its CLI relayed through `docker exec` on
   * that engine to a scoped API on this machine's loopback that forwards to that engine.
   */
  private async startRelayed(live: LiveSession): Promise<Running> {
    const upstream = await upstreamOf(live);
    const rt = live.runtime();
    const secret = this.host.store.consoleSecret(live.id, () => randomBytes(24).toString('hex'));
    const name = objectName(live.id, CONSOLE_NAME);
    const api = new ScopedApi(live.docker, this.policy(live, name), secret, upstream);
    await new Promise<void>((resolve, reject) => {
      api.server.once('error', reject);
      api.server.listen(0, '127.0.0.1', () => {
        api.server.off('error', reject);
        resolve();
      });
    });
    try {
      const existing = await rt.inspectContainer(name);
      if (!existing?.running) {
        if (existing) await rt.removeContainer(name);
        await rt.createContainer(consoleContainer(live, undefined, RELAY_DOCKER_HOST));
        await rt.startContainer(name, 'interactive');
      }
      await this.giveCredentials(live, name, secret);
      const relay = await relayConsole(live.docker, name, (api.server.address() as AddressInfo).port);
      // The relay ends with its container (or engine): the next use starts it again.
      const mine = this.running.get(live.id);
      void relay.done.then(() => {
        if (mine && this.running.get(live.id) === mine) void this.close(live.id);
      });
      this.servedHere.add(live.id);
      return { info: { session: live.id, container: name, docker_host: RELAY_DOCKER_HOST, served_here: true }, server: api.server, relay };
    } catch (e) {
      api.server.close();
      throw e;
    }
  }

  private async start(live: LiveSession): Promise<Running> {
    // A lab with nodes: its console runs in the leader node, which nothing on this machine can reach but through the engine.
    if (live.rec.engine !== LOCAL_ENGINE || live.nodes().length > 0) return this.startRelayed(live);
    const rt = live.runtime();
    const secret = this.host.store.consoleSecret(live.id, () => randomBytes(24).toString('hex'));
    const name = objectName(live.id, CONSOLE_NAME);
    for (let attempt = 1; ; attempt++) {
      const net = await this.consoleNetwork(live, rt);
      // Where the scoped API listens: the gateway (on the host), or our own address on the network.
      // Docker gives a bridge network the first address of its subnet when none is set.
      let address = net.gateway ?? hostAt(parseCidr(net.subnet), 1);
      let joined: Running['joined'];
      const self = await selfContainer(this.host.docker);
      if (self) {
        const st = await this.host.docker.inspectContainer(self);
        if (!st?.networks[net.name]) await this.host.docker.connect(net.name, self, { aliases: [] });
        const ip = (await this.host.docker.inspectContainer(self))?.networks[net.name]?.ip;
        if (!ip) throw new Error(`Flowlab's container ${self} joined ${net.name} but has no address on it`);
        address = ip;
        joined = { network: net.name, container: self };
      }
      const api = new ScopedApi(this.host.docker, this.policy(live, net.name), secret, await upstreamOf(live));
      const served = await this.serve(api, address, live.id, secret);
      if (served === 'held') {
        // Not handed out: the console (if any) and its network go, and another subnet is picked.
        this.heldSubnets.add(net.subnet);
        if (joined) await this.host.docker.disconnect(joined.network, joined.container).catch(() => undefined);
        await rt.removeContainer(name);
        await rt.removeNetwork(net.name);
        this.host.store.releaseLease(live.id, 'subnet', net.subnet);
        if (attempt >= SUBNET_ATTEMPTS) throw new Error(`session ${live.id}'s console found ${address}:${CONSOLE_API_PORT} held by another listener on each of ${attempt} console networks; a stale Flowlab process may still hold them (stop it, or set FLOWLAB_SUBNET_POOL)`);
        continue;
      }
      try {
        return await this.setUpContainer(live, { name, address, net: net.name, secret, here: served === 'here', api, ...(joined ? { joined } : {}) });
      } catch (e) {
        // Served by nobody once this fails: a listener left open would answer the next attempt as "elsewhere".
        if (served === 'here') api.server.close();
        throw e;
      }
    }
  }

  /** The console container, on its network, given the CLI settings for the API just served. */
  private async setUpContainer(live: LiveSession, c: { name: string; address: string; net: string; secret: string; here: boolean; api: ScopedApi; joined?: Running['joined'] }): Promise<Running> {
    const rt = live.runtime();
    const { name, net, secret, here, api, joined } = c;
    const dockerHost = `tcp://${c.address}:${CONSOLE_API_PORT}`;
    const existing = await rt.inspectContainer(name);
    const stale = existing && (!existing.running || !existing.networks[net]);
    if (!existing || stale) {
      if (existing) await rt.removeContainer(name);
      await rt.createContainer(consoleContainer(live, net, dockerHost));
      await rt.startContainer(name, 'interactive');
    }
    await this.giveCredentials(live, name, secret);
    if (here) this.servedHere.add(live.id);
    return { info: { session: live.id, container: name, docker_host: dockerHost, served_here: here }, ...(here ? { server: api.server } : {}), ...(joined ? { joined } : {}) };
  }

  /**
   * The secret goes to the CLI's config.json on a tmpfs: never in an image, the environment, or
   * the action log.
   */
  private async giveCredentials(live: LiveSession, name: string, secret: string): Promise<void> {
    const config = JSON.stringify({ HttpHeaders: { [SECRET_HEADER]: secret, [SESSION_HEADER]: live.id }, detachKeys: 'ctrl-p,ctrl-q' });
    const wrote = await live.docker.exec(name, ['sh', '-c', 'umask 077 && mkdir -p /run/docker && printf %s "$1" > /run/docker/config.json', 'sh', config]);
    if (wrote.exitCode !== 0) throw new Error(`the console ${name} could not be given its credentials: ${wrote.stderr.trim()}`);
  }

  /**
   * A terminal for a learner: the session's docker console, or a shell in one of its services
   * (recorded as the `docker exec -it` it is). Nothing else is ever opened.
   */
  async terminal(session: string, target: string, size: { cols: number; rows: number }): Promise<{ title: string; container: string; tty: Awaited<ReturnType<DockerApi['execTty']>> }> {
    const rec = this.host.store.get(session);
    if (!rec) throw new Error(`unknown session "${session}"`);
    if (rec.state !== 'ready') throw new Error(`session ${session} is ${rec.state}; terminals open once it is ready`);
    if (target === CONSOLE_NAME) {
      const { container } = await this.ensure(session);
      const live = this.host.live(session);
      live.record(`flowlab console ${session}`, { source: 'learner', kind: 'shell' });
      return { title: `docker console · ${live.lab.title}`, container, tty: await live.docker.execTty(container, ['bash', '-l'], size) };
    }
    const live = this.host.live(session);
    if (!has(live.lab.services, target)) throw new Error(`"${bounded(target, 40)}" is not a service of this lab; expected console or one of: ${Object.keys(live.lab.services).join(', ')}`);
    const ns = await live.namespaceOf(target);
    if (!ns.running) throw new Error(`${target} is not running (${ns.state}); start it from the docker console first`);
    live.record(`docker exec -it ${ns.container} sh`, { source: 'learner', kind: 'shell' });
    const shell = ['sh', '-c', 'if command -v bash >/dev/null; then exec bash -l; else exec sh -l; fi'];
    return { title: `shell in ${target}`, container: ns.container, tty: await live.docker.execTty(ns.container, shell, size) };
  }

  /** Whether this process serves the session's console API now. */
  serving(session: string): boolean {
    return this.servedHere.has(session);
  }

  /** Stops serving a session's console (before its teardown); with no argument, every one. */
  async close(session?: string): Promise<void> {
    const which = session ? [session] : [...this.running.keys()];
    await Promise.all(
      which.map(async (id) => {
        const r = await this.running.get(id)?.catch(() => undefined);
        this.running.delete(id);
        this.servedHere.delete(id);
        await r?.relay?.stop();
        if (r?.server) {
          r.server.closeAllConnections();
          await new Promise<void>((resolve) => r.server!.close(() => resolve()));
        }
        if (r?.joined) await this.host.docker.disconnect(r.joined.network, r.joined.container).catch(() => undefined);
      }),
    );
  }
}

/** Where the console's scoped API forwards: the session's engine, as its runtime reaches it. */
async function upstreamOf(live: LiveSession): Promise<Upstream> {
  const upstream = await live.docker.upstream();
  if (!upstream) throw new FlowlabError(`the docker console of a lab on engine ${live.rec.engine} is not available: that engine is reached over ssh, and the console's scoped API forwards to a socket or a TLS address only; open a shell in one of its services instead`, 'unavailable');
  return upstream;
}

/** The console container: on its network, or (relayed, `network` undefined) on none at all. */
function consoleContainer(live: LiveSession, network: string | undefined, dockerHost: string): ContainerSpec {
  return {
    ...baseContainer(objectName(live.id, CONSOLE_NAME), CONSOLE_REF, sessionLabels(live.ref(live.rec.owner), CONSOLE_NAME, 'console')),
    command: ['sleep', 'infinity'],
    env: [`DOCKER_HOST=${dockerHost}`, 'DOCKER_CONFIG=/run/docker', 'HOME=/tmp', 'TERM=xterm-256color', `FLOWLAB_SESSION=${live.id}`, `FLOWLAB_LAB=${live.lab.id}`],
    network: network ? { kind: 'networks', endpoints: [{ network, aliases: [] }] } : { kind: 'none' },
    // No DNS: the console reaches its scoped API by address (or its socket), and nothing else.
    dns: network ? ['127.0.0.1'] : [],
    tmpfs: { '/tmp': 'rw,size=16m,mode=1777', '/run': 'rw,size=1m,mode=755' },
  };
}
