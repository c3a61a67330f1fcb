// Faults on a lab's own nodes: the swarm's underlay closed or narrowed at one node (tagged iptables
// rules and the MTU of the node's underlay interface, in the node's own namespace), a node drained,
// powered off, or given a wrong label. The node containers are infrastructure: these run in them
// through the session's engine, never through a learner's console.
import { LABEL } from '../../docker/labels.ts';
import type { LiveSession } from '../../session/live.ts';
import { cmd } from '../common.ts';
import { FaultError, type FaultContext, type FaultImpl, type FaultOf } from '../types.ts';

/** What the swarm labels each task's container with. */
const SWARM_TASK_LABEL = 'com.docker.swarm.task.id';

/** The node's interface on the underlay (its only network). */
const UNDERLAY_IFACE = 'eth0';

/** Removes every rule tagged `tag`; fine when there is none. */
const dropTagged = (tag: string) => `iptables -w -S | grep -F -- '${tag}' | sed 's/^-A /-D /' | while read -r rule; do eval iptables -w $rule; done; true`;

const PORTS: Record<FaultOf<'underlay-block'>['port'], { port: number; protos: ('tcp' | 'udp')[]; what: string }> = {
  '4789/udp': { port: 4789, protos: ['udp'], what: "the overlay's data plane (VXLAN, 4789/udp)" },
  '7946': { port: 7946, protos: ['tcp', 'udp'], what: "the swarm's gossip (7946, tcp and udp)" },
  '7946/tcp': { port: 7946, protos: ['tcp'], what: "the swarm's gossip over tcp (7946/tcp)" },
  '7946/udp': { port: 7946, protos: ['udp'], what: "the swarm's gossip over udp (7946/udp)" },
  '2377/tcp': { port: 2377, protos: ['tcp'], what: "the managers' control plane (2377/tcp)" },
};

/** The underlay address of a node, as its container has it on the session's engine. */
async function underlayIp(live: LiveSession, node: string): Promise<string> {
  const st = await live.engineRuntime().inspectContainer(live.nodeContainer(node));
  const ip = Object.values(st?.networks ?? {})[0]?.ip;
  if (!ip) throw new FaultError(`node "${node}" has no underlay address (its container is ${st ? st.status : 'gone'})`, 'conflict');
  return ip;
}

/**
 * Gossip blocked takes effect when the other nodes notice the node is gone from the overlay's
 * peers (memberlist's failure detection, some seconds): until then the lab would show nothing.
 * Waits for it, as another node sees each of the lab's networks.
 */
async function gossipLost(ctx: FaultContext, node: string, peer: string | undefined): Promise<void> {
  const observer = peer ?? ctx.live.nodes().find((n) => n.name !== node)!.name;
  const ip = await underlayIp(ctx.live, node);
  const networks = Object.keys(ctx.live.lab.networks).map((n) => ctx.live.networkName(n));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const views = await Promise.all(networks.map((n) => ctx.live.inNode(observer, `docker network inspect --verbose --format '{{range .Peers}}{{.IP}} {{end}}' ${n}`)));
    if (views.every((v) => v.exitCode === 0 && !v.stdout.split(/\s+/).includes(ip))) return;
    if (Date.now() > deadline) throw new FaultError(`${observer} still counts ${node} among the overlay's peers 60 s after its gossip port was closed`, 'unavailable');
    await new Promise((r) => setTimeout(r, 500));
  }
}

function blockRules(f: FaultOf<'underlay-block'>, peerIp: string | undefined, tag: string): string[] {
  const p = PORTS[f.port];
  return p.protos.flatMap((proto) => [
    `iptables -w -I INPUT -i ${UNDERLAY_IFACE} -p ${proto} --dport ${p.port}${peerIp ? ` -s ${peerIp}` : ''} -m comment --comment ${tag} -j DROP`,
    `iptables -w -I OUTPUT -o ${UNDERLAY_IFACE} -p ${proto} --dport ${p.port}${peerIp ? ` -d ${peerIp}` : ''} -m comment --comment ${tag} -j DROP`,
  ]);
}

async function inNode(ctx: FaultContext, node: string, script: string, what: string): Promise<string> {
  const r = await ctx.live.inNode(node, script, { revealsFault: true });
  if (r.exitCode !== 0) throw new FaultError(`${what} on node ${node} failed: ${(r.stderr || r.stdout).trim()}`, 'conflict');
  return r.stdout;
}

export const underlayBlock: FaultImpl<'underlay-block'> = {
  describe: (f, live, tag) => ({
    summary: `${PORTS[f.port].what} is blocked at node ${f.node}${f.peer ? `, to and from ${f.peer}` : ''}`,
    node: f.node,
    params: { port: f.port, ...(f.peer ? { peer: f.peer } : {}) },
    cause: [cmd('docker', 'exec', live.nodeContainer(f.node), 'sh', '-c', blockRules(f, f.peer ? `<${f.peer}'s address>` : undefined, tag).join('; '))],
    undo: [cmd('docker', 'exec', live.nodeContainer(f.node), 'sh', '-c', dropTagged(tag))],
    reveal: [
      `on node ${f.node}: iptables -S INPUT; iptables -S OUTPUT`,
      `on node ${f.node}: tcpdump -ni ${UNDERLAY_IFACE} port ${PORTS[f.port].port} (packets leave, no answer comes back)`,
      'docker node ls (gossip blocked: the node is Down or its tasks are not found from the others)',
    ],
  }),
  async apply(f, ctx) {
    const peerIp = f.peer ? await underlayIp(ctx.live, f.peer) : undefined;
    await inNode(ctx, f.node, `set -e; ${blockRules(f, peerIp, ctx.tag).join('; ')}`, 'blocking the underlay port');
    if (PORTS[f.port].port === 7946) await gossipLost(ctx, f.node, f.peer);
  },
  async revert(f, ctx) {
    await inNode(ctx, f.node, dropTagged(ctx.tag), 'removing the underlay block');
  },
  holds: (f, ctx) => hurts(ctx, f.node),
};

/**
 * Whether a fault in a node's underlay still hurts the lab: its rules are there and the node still
 * runs tasks of the lab's swarm services. A learner cannot mend a node's network (that is the
 * machine's, never a learner's shell): moving the swarm's work off the node — draining it, placing
 * the service elsewhere — until the network is mended is the operator's fix. (A plain container
 * stays where it was started; what it shows is the symptom, not something to move.)
 */
async function hurts(ctx: FaultContext, node: string): Promise<boolean> {
  if (!(await inNode(ctx, node, 'iptables -w -S', 'reading the firewall')).includes(ctx.tag)) return false;
  const there = await ctx.live.onNode(node).listContainers({ [LABEL.session]: ctx.live.id, [LABEL.role]: 'service' });
  return there.some((c) => c.state === 'running' && SWARM_TASK_LABEL in c.labels);
}

/**
 * A narrow underlay at a node, as a VPN or cloud network with a small MTU that drops fragments:
 * the node's underlay interface set to `mtu`, VXLAN packets larger than `mtu` dropped going out
 * and coming in, and fragments too. (A veth never drops a large packet
 * itself, and VXLAN leaves DF unset: without the rules the kernel would fragment and nothing break.)
 */
function narrowRules(mtu: number, tag: string): string[] {
  return [
    `iptables -w -I OUTPUT -o ${UNDERLAY_IFACE} -f -m comment --comment ${tag} -j DROP`,
    `iptables -w -I INPUT -i ${UNDERLAY_IFACE} -f -m comment --comment ${tag} -j DROP`,
    `iptables -w -I INPUT -i ${UNDERLAY_IFACE} -p udp --dport 4789 -m length --length ${mtu + 1}:65535 -m comment --comment ${tag} -j DROP`,
    // Netfilter sees an outgoing packet before the kernel cuts it into fragments (or a large send before it is segmented).
    `iptables -w -I OUTPUT -o ${UNDERLAY_IFACE} -p udp --dport 4789 -m length --length ${mtu + 1}:65535 -m comment --comment ${tag} -j DROP`,
  ];
}

export const underlayMtu: FaultImpl<'underlay-mtu'> = {
  describe: (f, live, tag) => ({
    summary: `the underlay at node ${f.node} carries at most ${f.mtu} bytes a packet and drops fragments: VXLAN packets of a full 1450-byte overlay frame (1500 bytes) no longer cross it`,
    node: f.node,
    params: { mtu: f.mtu },
    cause: [cmd('docker', 'exec', live.nodeContainer(f.node), 'sh', '-c', [`ip link set dev ${UNDERLAY_IFACE} mtu ${f.mtu}`, ...narrowRules(f.mtu, tag)].join('; '))],
    undo: [cmd('docker', 'exec', live.nodeContainer(f.node), 'sh', '-c', `ip link set dev ${UNDERLAY_IFACE} mtu 1500; ${dropTagged(tag)}`)],
    reveal: [`on node ${f.node}: ip link show ${UNDERLAY_IFACE}`, 'docker network inspect <overlay> (the overlay MTU is 1450: 1500 with VXLAN)', 'ping -M do -s 1400 <a container on another node> (no answer; -s 1300 answers)'],
  }),
  async apply(f, ctx) {
    const before = Number((await inNode(ctx, f.node, `cat /sys/class/net/${UNDERLAY_IFACE}/mtu`, 'reading the underlay MTU')).trim());
    await inNode(ctx, f.node, `set -e; ip link set dev ${UNDERLAY_IFACE} mtu ${f.mtu}; ${narrowRules(f.mtu, ctx.tag).join('; ')}`, 'narrowing the underlay');
    return { mtu: Number.isInteger(before) && before > 0 ? before : 1500 };
  },
  async revert(f, ctx, undo) {
    const mtu = (undo as { mtu?: number } | undefined)?.mtu ?? 1500;
    await inNode(ctx, f.node, `ip link set dev ${UNDERLAY_IFACE} mtu ${mtu}; ${dropTagged(ctx.tag)}`, 'restoring the underlay');
  },
  holds: (f, ctx) => hurts(ctx, f.node),
};

export const nodeDrain: FaultImpl<'node-drain'> = {
  describe: (f) => ({
    summary: `node ${f.node} is drained: the swarm runs no task on it and moved its tasks to the other nodes`,
    node: f.node,
    params: {},
    cause: [cmd('docker', 'node', 'update', '--availability', 'drain', f.node)],
    undo: [cmd('docker', 'node', 'update', '--availability', 'active', f.node)],
    reveal: ['docker node ls', cmd('docker', 'node', 'inspect', '--format', '{{.Spec.Availability}}', f.node), 'docker service ps <service>'],
  }),
  async apply(f, ctx) {
    await ctx.rt.updateNode(f.node, { availability: 'drain' });
  },
  async revert(f, ctx) {
    await ctx.rt.updateNode(f.node, { availability: 'active' });
  },
  holds: async (f, ctx) => (await ctx.rt.listNodes()).find((n) => n.hostname === f.node)?.availability === 'drain',
};

export const nodeDown: FaultImpl<'node-down'> = {
  describe: (f, live) => ({
    summary: `node ${f.node} is down: its machine stopped, and every container on it with it`,
    node: f.node,
    params: {},
    cause: [cmd('docker', 'kill', live.nodeContainer(f.node))],
    undo: [cmd('docker', 'start', live.nodeContainer(f.node)), `docker start <the lab's containers on ${f.node}>`],
    reveal: ['docker node ls (STATUS Down)', 'docker service ps <service> (tasks moved, or "Shutdown")'],
  }),
  async apply(f, ctx) {
    await ctx.live.engineRuntime({ revealsFault: true }).killContainer(ctx.live.nodeContainer(f.node));
  },
  async revert(f, ctx) {
    await ctx.live.restartNode(f.node, { revealsFault: true }).catch((e: Error) => {
      throw new FaultError(e.message, 'unavailable');
    });
  },
  holds: async (f, ctx) => !(await ctx.live.engineRuntime().inspectContainer(ctx.live.nodeContainer(f.node)))?.running,
};

export const nodeLabel: FaultImpl<'node-label'> = {
  describe: (f) => ({
    summary: `node ${f.node}'s label ${f.label} ${f.value === undefined ? 'was removed' : `reads ${f.value}`}: services placed by it find no node that meets their constraint`,
    node: f.node,
    params: { label: f.label, ...(f.value !== undefined ? { value: f.value } : {}) },
    cause: [f.value === undefined ? cmd('docker', 'node', 'update', '--label-rm', f.label, f.node) : cmd('docker', 'node', 'update', '--label-add', `${f.label}=${f.value}`, f.node)],
    undo: [`docker node update --label-add ${f.label}=<the value the lab gives it> ${f.node}`],
    reveal: [cmd('docker', 'node', 'inspect', '--format', '{{json .Spec.Labels}}', f.node), 'docker service ps <service> (no suitable node)', cmd('docker', 'service', 'inspect', '--format', '{{json .Spec.TaskTemplate.Placement}}', '<service>')],
  }),
  async apply(f, ctx) {
    await ctx.rt.updateNode(f.node, { labels: { [f.label]: f.value ?? null } });
  },
  async revert(f, ctx) {
    const planned = ctx.live.nodes().find((n) => n.name === f.node)?.labels[f.label];
    await ctx.rt.updateNode(f.node, { labels: { [f.label]: planned ?? null } });
  },
  holds: async (f, ctx) => {
    const planned = ctx.live.nodes().find((n) => n.name === f.node)?.labels[f.label];
    return (await ctx.rt.listNodes()).find((n) => n.hostname === f.node)?.labels[f.label] !== planned;
  },
};
