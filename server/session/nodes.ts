// A lab's own swarm: its node containers started on the session's engine, each one's dockerd
// waited for, the lab images loaded into every node (no registry: docker save | docker load), the
// swarm initialised on the leader and joined by the others at their underlay addresses, node labels
// set. What comes out is the session's engine for everything above: a NodesRuntime.
import type { DockerRuntime } from '../docker/runtime.ts';
import { NodesRuntime } from '../docker/nodes-runtime.ts';
import type { StartPriority } from '../docker/start-gate.ts';
import type { DockerApi } from '../docker/types.ts';
import { sendImages } from '../images/ship.ts';
import { leaderOf, nodesOf } from '../lab/nodes.ts';
import type { Lab } from '../lab/schema.ts';
import { nodeContainerName, type NodesPlan } from './node-plan.ts';
import { SessionError } from './errors.ts';

/** How long a node's dockerd may take to answer, and its swarm to show every node ready. */
const NODE_READY_MS = 60_000;

/** The session's engine for a lab with nodes: each node's engine reached through its container on `outer`. */
export function nodesRuntime(outer: DockerRuntime, session: string, lab: Lab, startsAtOnce: number): NodesRuntime {
  const nodes = nodesOf(lab);
  const leader = leaderOf(nodes);
  if (!leader) throw new SessionError(`lab "${lab.id}" has nodes but no manager among them`, 'invalid');
  return new NodesRuntime(new Map(nodes.map((n) => [n.name, outer.inside(nodeContainerName(session, n.name), startsAtOnce)])), leader.name);
}

export interface NodesUp {
  progress: (line: string) => void;
  check: () => void;
  priority: StartPriority;
  signal?: AbortSignal;
  /** The images every node gets (the lab's and the toolbox). */
  images: readonly string[];
}

/**
 * Starts the node containers (the underlay exists already) and makes their swarm; `nodes` is the
 * session's NodesRuntime over them, `outer` the session's engine recording into its action log.
 */
export async function startNodes(outer: DockerApi, plan: NodesPlan, nodes: NodesRuntime, opts: NodesUp): Promise<void> {
  const names = plan.nodes.map((n) => n.name).join(', ');
  opts.progress(`starting ${plan.nodes.length} node(s): ${names}`);
  await Promise.all(
    plan.nodes.map(async (n) => {
      await outer.createContainer(n.container);
      await outer.startContainer(n.container.name, opts.priority, opts.signal);
    }),
  );
  await Promise.all(plan.nodes.map((n) => answers(outer, nodes.node(n.name), n.container.name)));
  opts.check();
  opts.progress(`loading ${opts.images.join(', ')} into every node`);
  await sendImages(outer, plan.nodes.map((n) => ({ rt: nodes.node(n.name), engine: n.container.name })), opts.images);
  opts.check();
  const lead = nodes.node(plan.leader.name);
  opts.progress(`making the swarm: ${plan.leader.name} initialises it at ${plan.leader.ip}`);
  await lead.swarmInit(plan.leader.ip);
  const [managerToken, workerToken] = await Promise.all([lead.swarmJoinToken('manager'), lead.swarmJoinToken('worker')]);
  const others = plan.nodes.filter((n) => n !== plan.leader);
  // Managers join one at a time (each changes the raft quorum); workers all at once.
  for (const n of others.filter((x) => x.role === 'manager')) await nodes.node(n.name).swarmJoin(plan.leader.ip, managerToken, n.ip);
  await Promise.all(others.filter((x) => x.role === 'worker').map((n) => nodes.node(n.name).swarmJoin(plan.leader.ip, workerToken, n.ip)));
  await allReady(lead, plan);
  await Promise.all(plan.nodes.filter((n) => Object.keys(n.labels).length > 0).map((n) => lead.updateNode(n.name, { labels: n.labels })));
  opts.check();
}

/** Waits until a node's dockerd answers through its container. */
async function answers(outer: DockerApi, node: DockerApi, container: string): Promise<void> {
  const deadline = Date.now() + NODE_READY_MS;
  for (;;) {
    try {
      await node.ping();
      return;
    } catch (e) {
      const st = await outer.inspectContainer(container);
      if (!st?.running || Date.now() > deadline) {
        const logs = await outer.logs(container, 20);
        throw new SessionError(`node ${container} ${st?.running ? `did not answer within ${NODE_READY_MS / 1000} s` : `stopped (exit code ${st?.exitCode ?? '?'})`}: ${(e as Error).message}\n${logs}`, 'unavailable');
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Waits until the leader sees every node of the plan ready. */
async function allReady(lead: DockerApi, plan: NodesPlan): Promise<void> {
  const deadline = Date.now() + NODE_READY_MS;
  for (;;) {
    const ready = new Set((await lead.listNodes()).filter((n) => n.state === 'ready').map((n) => n.hostname));
    const missing = plan.nodes.filter((n) => !ready.has(n.name)).map((n) => n.name);
    if (missing.length === 0) return;
    if (Date.now() > deadline) throw new SessionError(`the swarm did not show ${missing.join(', ')} ready within ${NODE_READY_MS / 1000} s`, 'unavailable');
    await new Promise((r) => setTimeout(r, 200));
  }
}
