// Faults inside a service's network namespace, made with iptables and tc from a short-lived
// helper that shares the namespace. Every iptables rule carries the comment
// flowlab:<session>:<fault id>, so revert removes exactly those; Docker's own chains are never touched.
import type { LiveSession } from '../../session/live.ts';
import { cmd, netnsScript } from '../common.ts';
import { FaultError, type FaultContext, type FaultImpl } from '../types.ts';

const helper = (live: LiveSession, service: string, script: string) =>
  cmd('docker', 'run', '--rm', '--network', `container:${live.containerName(service)}`, '--cap-add', 'NET_ADMIN', 'flowlab/toolbox:latest', 'sh', '-c', script);

/** Removes every rule tagged `tag`, in filter and mangle tables; fine when there is none. */
const dropTagged = (tag: string) =>
  `for t in filter mangle; do iptables -w -t $t -S | grep -F -- '${tag}' | sed 's/^-A /-D /' | while read -r rule; do eval iptables -w -t $t $rule; done; done; true`;

/** The address a peer service has on the networks it shares with `service`. */
async function peerAddresses(live: LiveSession, service: string, peer: string): Promise<string[]> {
  const rt = live.docker;
  const [a, b] = await Promise.all([rt.inspectContainer(live.containerName(service)), rt.inspectContainer(live.containerName(peer))]);
  const shared = Object.keys(b?.networks ?? {}).filter((n) => a?.networks[n]);
  const ips = shared.map((n) => b!.networks[n]!.ip).filter(Boolean);
  if (ips.length === 0) throw new FaultError(`"${peer}" shares no network with "${service}"; expected a peer it can reach`);
  return ips;
}

function iptablesRules(f: { action: 'drop' | 'reject'; direction: 'in' | 'out'; proto: 'tcp' | 'udp' | 'icmp' | 'all'; port?: number | undefined }, peers: string[], tag: string): string[] {
  if (f.port !== undefined && (f.proto === 'icmp' || f.proto === 'all')) throw new FaultError(`a firewall on port ${f.port} needs proto tcp or udp, found ${f.proto}`);
  const chain = f.direction === 'in' ? 'INPUT' : 'OUTPUT';
  const iface = f.direction === 'in' ? '! -i lo' : '! -o lo';
  const proto = f.proto === 'all' ? '' : `-p ${f.proto}`;
  const port = f.port !== undefined ? `--dport ${f.port}` : '';
  const target = f.action === 'drop' ? '-j DROP' : f.proto === 'tcp' ? '-j REJECT --reject-with tcp-reset' : '-j REJECT';
  const who = peers.length > 0 ? peers.map((ip) => (f.direction === 'in' ? `-s ${ip}` : `-d ${ip}`)) : [''];
  return who.map((w) => ['iptables -w -I', chain, iface, proto, port, w, `-m comment --comment ${tag}`, target].filter(Boolean).join(' '));
}

export const firewall: FaultImpl<'firewall'> = {
  describe: (f, live, tag) => {
    const rules = iptablesRules(f, f.peer ? [`<${f.peer}'s address>`] : [], tag);
    return {
      summary: `a firewall rule in ${f.service} ${f.action}s ${f.direction === 'in' ? 'incoming' : 'outgoing'} ${f.proto === 'all' ? '' : `${f.proto} `}traffic${f.port !== undefined ? ` on port ${f.port}` : ''}${f.peer ? ` ${f.direction === 'in' ? 'from' : 'to'} ${f.peer}` : ''}`,
      service: f.service,
      params: { action: f.action, direction: f.direction, proto: f.proto, ...(f.port !== undefined ? { port: f.port } : {}), ...(f.peer ? { peer: f.peer } : {}) },
      cause: [helper(live, f.service, rules.join('; '))],
      undo: [helper(live, f.service, dropTagged(tag))],
      reveal: [helper(live, f.service, 'iptables -S'), 'tcpdump in the namespace: SYNs without answers'],
    };
  },
  async apply(f, ctx) {
    const peers = f.peer ? await peerAddresses(ctx.live, f.service, f.peer) : [];
    await netnsScript(ctx.live, f.service, `set -e; ${iptablesRules(f, peers, ctx.tag).join('; ')}`, 'adding the firewall rule');
  },
  async revert(f, ctx) {
    await netnsScript(ctx.live, f.service, dropTagged(ctx.tag), 'removing the firewall rule');
  },
  holds: (f, ctx) => tagged(ctx, f.service),
};

/** Whether a rule tagged for this fault is still in the service's namespace. */
async function tagged(ctx: FaultContext, service: string): Promise<boolean> {
  const out = await netnsScript(ctx.live, service, 'iptables -w -S; iptables -w -t mangle -S', 'reading the firewall rules');
  return out.includes(ctx.tag);
}

async function qdisc(ctx: FaultContext, service: string, kind: string): Promise<boolean> {
  return (await netnsScript(ctx.live, service, 'tc qdisc show', 'reading the queueing disciplines')).split('\n').some((l) => l.startsWith(`qdisc ${kind} `));
}

export const packetLoss: FaultImpl<'packet-loss'> = {
  describe: (f, live, tag) => ({
    summary: `${Math.round(f.probability * 100)}% of ${f.direction === 'in' ? 'incoming' : 'outgoing'} packets of ${f.service} are dropped at random`,
    service: f.service,
    params: { probability: f.probability, direction: f.direction },
    cause: [helper(live, f.service, lossRule(f, tag))],
    undo: [helper(live, f.service, dropTagged(tag))],
    reveal: [helper(live, f.service, 'iptables -S'), cmd('docker', 'exec', live.containerName(f.service), 'ping', '-c', '20', '<peer>')],
  }),
  async apply(f, ctx) {
    await netnsScript(ctx.live, f.service, lossRule(f, ctx.tag), 'adding the packet-loss rule');
  },
  async revert(f, ctx) {
    await netnsScript(ctx.live, f.service, dropTagged(ctx.tag), 'removing the packet-loss rule');
  },
  holds: (f, ctx) => tagged(ctx, f.service),
};

function lossRule(f: { probability: number; direction: 'in' | 'out' }, tag: string): string {
  const chain = f.direction === 'in' ? 'INPUT ! -i lo' : 'OUTPUT ! -o lo';
  return `iptables -w -I ${chain} -m statistic --mode random --probability ${f.probability} -m comment --comment ${tag} -j DROP`;
}

/** Every interface of the namespace but loopback. */
const EACH_IFACE = `for i in $(ls /sys/class/net); do [ "$i" = lo ] && continue;`;

export const bandwidth: FaultImpl<'bandwidth'> = {
  describe: (f, live) => ({
    summary: `${f.service}'s outgoing traffic is limited to ${f.rate}`,
    service: f.service,
    params: { rate: f.rate },
    cause: [helper(live, f.service, `tc qdisc replace dev eth0 root tbf rate ${f.rate} burst 32kbit latency 400ms`)],
    undo: [helper(live, f.service, 'tc qdisc del dev eth0 root')],
    reveal: [helper(live, f.service, 'tc qdisc show')],
  }),
  async apply(f, ctx) {
    await netnsScript(ctx.live, f.service, `set -e; ${EACH_IFACE} tc qdisc replace dev "$i" root tbf rate ${f.rate} burst 32kbit latency 400ms; done`, 'limiting the bandwidth');
  },
  async revert(f, ctx) {
    await netnsScript(ctx.live, f.service, `${EACH_IFACE} tc qdisc del dev "$i" root 2>/dev/null; done; true`, 'removing the bandwidth limit');
  },
  holds: (f, ctx) => qdisc(ctx, f.service, 'tbf'),
};

export const latency: FaultImpl<'latency'> = {
  describe: (f, live) => ({
    summary: `${f.service}'s outgoing packets are delayed by ${f.delay}${f.jitter ? ` ± ${f.jitter}` : ''}`,
    service: f.service,
    params: { delay: f.delay, ...(f.jitter ? { jitter: f.jitter } : {}) },
    cause: [helper(live, f.service, `tc qdisc replace dev eth0 root netem delay ${f.delay}${f.jitter ? ` ${f.jitter}` : ''}`)],
    undo: [helper(live, f.service, 'tc qdisc del dev eth0 root')],
    reveal: [helper(live, f.service, 'tc qdisc show'), cmd('docker', 'exec', live.containerName(f.service), 'ping', '-c', '3', '<peer>')],
  }),
  async apply(f, ctx) {
    await netnsScript(ctx.live, f.service, `set -e; ${EACH_IFACE} tc qdisc replace dev "$i" root netem delay ${f.delay}${f.jitter ? ` ${f.jitter}` : ''}; done`, 'adding the delay');
  },
  async revert(f, ctx) {
    await netnsScript(ctx.live, f.service, `${EACH_IFACE} tc qdisc del dev "$i" root 2>/dev/null; done; true`, 'removing the delay');
  },
  holds: (f, ctx) => qdisc(ctx, f.service, 'netem'),
};

/** The interface a service has on a network (by its address there), or its first one. */
async function interfaceFor(ctx: FaultContext, service: string, network?: string): Promise<{ iface: string; mtu: number }> {
  const st = await ctx.rt.inspectContainer(ctx.live.containerName(service));
  const ip = network ? st?.networks[ctx.live.networkName(network)]?.ip : undefined;
  if (network && !ip) throw new FaultError(`"${service}" is not on network "${network}"`);
  const out = await netnsScript(ctx.live, service, `for i in $(ls /sys/class/net); do [ "$i" = lo ] && continue; echo "$i $(cat /sys/class/net/$i/mtu) $(ip -o -4 addr show dev $i | awk '{print $4}' | cut -d/ -f1 | tr '\\n' ' ')"; done`, 'reading the interfaces');
  const rows = out.trim().split('\n').map((l) => l.trim().split(/\s+/));
  const row = ip ? rows.find((r) => r.slice(2).includes(ip)) : rows.find((r) => r[0] === 'eth0') ?? rows[0];
  if (!row?.[0]) throw new FaultError(`found no interface in "${service}"${network ? ` for network "${network}"` : ''}`);
  return { iface: row[0], mtu: Number(row[1]) };
}

export const mtu: FaultImpl<'mtu'> = {
  describe: (f, live) => ({
    summary: `${f.service}'s interface${f.network ? ` on ${f.network}` : ''} has its MTU lowered to ${f.mtu}: larger packets are lost or refused`,
    service: f.service,
    ...(f.network ? { network: f.network } : {}),
    params: { mtu: f.mtu, ...(f.network ? { network: f.network } : {}) },
    cause: [helper(live, f.service, `ip link set dev eth0 mtu ${f.mtu}`)],
    undo: [helper(live, f.service, 'ip link set dev eth0 mtu 1500')],
    reveal: [cmd('docker', 'exec', live.containerName(f.service), 'ip', 'link'), cmd('docker', 'exec', live.containerName(f.service), 'ping', '-c', '1', '-M', 'do', '-s', '1400', '<peer>')],
  }),
  async apply(f, ctx) {
    const { iface, mtu: before } = await interfaceFor(ctx, f.service, f.network);
    await netnsScript(ctx.live, f.service, `ip link set dev ${iface} mtu ${f.mtu}`, 'lowering the MTU');
    return { iface, mtu: before };
  },
  async revert(f, ctx, undo) {
    const u = undo as { iface?: string; mtu?: number } | undefined;
    const { iface } = u?.iface ? { iface: u.iface } : await interfaceFor(ctx, f.service, f.network);
    const mtu = u?.mtu ?? 1500;
    await netnsScript(ctx.live, f.service, `ip link set dev ${iface} mtu ${mtu}`, 'restoring the MTU');
  },
  async holds(f, ctx, undo) {
    const u = undo as { iface?: string } | undefined;
    const { iface, mtu } = await interfaceFor(ctx, f.service, f.network).catch(() => ({ iface: u?.iface ?? 'eth0', mtu: 0 }));
    return iface === (u?.iface ?? iface) && mtu === f.mtu;
  },
};
