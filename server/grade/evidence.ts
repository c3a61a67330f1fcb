// Does a piece of evidence really show the fault? Judged on its content — the refused connect
// to the right port, the NXDOMAIN for the dropped alias — never on its mere presence.
import type { Fault } from '../lab/schema.ts';
import { parseProbeTarget, parseReference } from '../lab/targets.ts';
import { httpOutcome } from '../flow/http.ts';
import type { FlowEvent } from '../protocol/flow.ts';
import type { ProbeResult } from '../protocol/probe.ts';
import { own } from '../util/lookup.ts';

export type EvidenceItem = { kind: 'probe'; probe: ProbeResult } | { kind: 'event'; event: FlowEvent };

/** What the grader knows of the lab as planned: names, addresses, published ports, membership. */
export interface LabFacts {
  /** service -> every name it answers to (its own and its aliases) */
  names: Record<string, string[]>;
  /** service -> its addresses */
  ips: Record<string, string[]>;
  /** service -> host ports published for it, with the container port */
  hostPorts: Record<string, { hostPort: number; containerPort: number }[]>;
  /** network -> services planned on it */
  members: Record<string, string[]>;
  /** In a lab with nodes: service -> the nodes it may run on (a container's node, a swarm service's placeable nodes) */
  placed?: Record<string, string[]>;
  /** In a lab with nodes: service -> the node labels its placement constraints read */
  constrainedBy?: Record<string, string[]>;
}

const FAILED = ['refused', 'timeout', 'reset', 'empty-reply', 'not-http', 'nxdomain', 'servfail', 'no-route', 'error'];

/** The service a probe target host means, if any. */
function serviceOf(host: string, port: number | undefined, from: string, facts: LabFacts): string | undefined {
  for (const [svc, names] of Object.entries(facts.names)) if (names.includes(host) || facts.ips[svc]?.includes(host)) return svc;
  if (from === 'host' && (host === 'localhost' || host.startsWith('127.')) && port !== undefined) {
    for (const [svc, ports] of Object.entries(facts.hostPorts)) if (ports.some((p) => p.hostPort === port)) return svc;
  }
  return undefined;
}

interface Observation {
  from: string;
  to?: string;
  /** The name asked or connected to, as written. */
  name?: string;
  port?: number;
  /** The container port a published host port leads to. */
  containerPort?: number;
  viaHost: boolean;
  kind: 'dns' | 'tcp' | 'udp' | 'http' | 'spread' | 'icmp' | 'mtu';
  outcome: string;
  answers: string[];
  latencyMs: number | null;
  dstAddr?: string;
}

function observe(item: EvidenceItem, facts: LabFacts): Observation | undefined {
  if (item.kind === 'probe') {
    const p = item.probe;
    const t = parseProbeTarget(p.target);
    if (!t) return undefined;
    const host = t.kind === 'dns' ? t.name : t.host;
    const port = 'port' in t ? t.port : undefined;
    const to = serviceOf(host, port, p.from, facts);
    const viaHost = p.from === 'host' && to !== undefined && (host === 'localhost' || host.startsWith('127.'));
    const containerPort = viaHost ? own(facts.hostPorts, to!)?.find((h) => h.hostPort === port)?.containerPort : port;
    return { from: p.from, ...(to ? { to } : {}), name: host, ...(port !== undefined ? { port } : {}), ...(containerPort !== undefined ? { containerPort } : {}), viaHost, kind: t.kind, outcome: p.status, answers: p.answers, latencyMs: p.latency_ms };
  }
  const e = item.event;
  switch (e.type) {
    case 'dns.answer':
      return { from: e.client, ...(Object.keys(facts.names).find((s) => facts.names[s]!.includes(e.name.replace(/\.$/, ''))) ? { to: Object.keys(facts.names).find((s) => facts.names[s]!.includes(e.name.replace(/\.$/, ''))) } : {}), name: e.name.replace(/\.$/, ''), viaHost: false, kind: 'dns', outcome: e.rcode === 'NOERROR' ? 'ok' : e.rcode === 'NXDOMAIN' ? 'nxdomain' : e.rcode === 'TIMEOUT' ? 'timeout' : 'servfail', answers: e.answers, latencyMs: e.latency_ms };
    case 'dns.query':
    case 'dns.forward':
      return { from: e.client, name: e.name.replace(/\.$/, ''), viaHost: false, kind: 'dns', outcome: 'asked', answers: [], latencyMs: null };
    case 'tcp.connect':
      return { from: e.src, to: e.dst, ...(e.dst_port !== undefined ? { port: e.dst_port, containerPort: e.dst_port } : {}), viaHost: e.src === 'host', kind: 'tcp', outcome: e.outcome === 'established' ? 'ok' : e.outcome === 'reset-later' ? 'reset' : e.outcome, answers: [], latencyMs: e.latency_ms, dstAddr: e.dst_addr };
    case 'http.exchange':
      // As an http probe says it: ok for 2xx and 3xx, http-<status> otherwise, timeout or reset when none came.
      return { from: e.src, to: e.dst, ...(e.dst_port !== undefined ? { port: e.dst_port, containerPort: e.dst_port } : {}), viaHost: e.src === 'host', kind: 'http', outcome: httpOutcome(e.status, e.outcome), answers: e.status !== null ? [String(e.status)] : [], latencyMs: e.latency_ms, dstAddr: e.dst_addr };
    case 'udp.exchange':
      return { from: e.src, to: e.dst, ...(e.dst_port !== undefined ? { port: e.dst_port, containerPort: e.dst_port } : {}), viaHost: false, kind: 'udp', outcome: e.outcome === 'answered' ? 'ok' : e.outcome === 'unanswered' ? 'timeout' : 'refused', answers: [], latencyMs: e.latency_ms };
    case 'icmp.frag-needed':
      return { from: e.dst, to: e.src, viaHost: false, kind: 'mtu', outcome: 'too-big', answers: [String(e.mtu)], latencyMs: null };
    case 'icmp.unreachable':
      return { from: e.dst, to: e.src, viaHost: false, kind: 'icmp', outcome: 'no-route', answers: [], latencyMs: null };
  }
}

/** A literal address, or the addresses a `${svc.ip}` / `${svc.ips.net}` reference may stand for. */
function addressesMeant(address: string, facts: LabFacts): string[] {
  const ref = /^\$\{([^}]*)\}$/.exec(address)?.[1];
  const parsed = ref ? parseReference(ref) : undefined;
  return parsed?.kind === 'ip' ? (facts.ips[parsed.service] ?? []) : [address];
}

const failed = (o: Observation) => FAILED.includes(o.outcome);
const placedOn = (facts: LabFacts, service: string | undefined) => (service ? (facts.placed?.[service] ?? []) : []);
/** A flow between a service on `node` and one elsewhere (on `peer`, when given): it crosses that node's underlay. */
const crosses = (facts: LabFacts, o: Observation, node: string, peer: string | undefined) => {
  const [a, b] = [placedOn(facts, o.from), placedOn(facts, o.to)];
  const across = (here: string[], there: string[]) => here.includes(node) && there.some((n) => n !== node && (peer === undefined || n === peer));
  return across(a, b) || across(b, a);
};
const onNetwork = (facts: LabFacts, network: string, service: string | undefined) => !!service && (facts.members[network] ?? []).includes(service);

/** Whether `item` shows `fault` (given the lab's facts). */
export function evidenceShows(fault: Fault, item: EvidenceItem, facts: LabFacts): boolean {
  const o = observe(item, facts);
  if (!o) return false;
  switch (fault.type) {
    case 'bind-loopback':
      return o.to === fault.service && o.containerPort === fault.port && ['refused', 'empty-reply', 'reset'].includes(o.outcome);
    case 'port-mismatch':
      return (o.viaHost && o.to === fault.service && ['empty-reply', 'reset', 'refused'].includes(o.outcome)) || (o.from === 'host' && o.to === fault.service && o.port === fault.to && o.outcome === 'refused');
    case 'unpublish':
      return o.from === 'host' && o.viaHost && o.to === fault.service && o.outcome === 'refused';
    case 'port-conflict':
      return o.to === fault.service && failed(o);
    case 'stop':
    case 'kill':
    case 'host-mode':
      return o.to === fault.service && ['nxdomain', 'refused', 'timeout', 'no-route', 'empty-reply', 'reset'].includes(o.outcome);
    case 'pause':
      return (o.to === fault.service && o.outcome === 'timeout') || (o.from === fault.service && o.outcome === 'error');
    case 'disconnect':
    case 'wrong-network':
      return failed(o) && ['nxdomain', 'timeout', 'servfail', 'no-route'].includes(o.outcome) && ((o.from === fault.service && onNetwork(facts, fault.network, o.to)) || (o.to === fault.service && onNetwork(facts, fault.network, o.from)));
    case 'drop-alias':
      return o.name === fault.alias && ['nxdomain', 'servfail'].includes(o.outcome);
    case 'alias-collision':
      return (o.kind === 'dns' && o.name === fault.alias && o.outcome === 'ok' && o.answers.length >= 2) || (o.name === fault.alias && o.kind !== 'dns' && o.outcome === 'refused');
    case 'firewall': {
      const outcome = fault.action === 'drop' ? 'timeout' : fault.proto === 'tcp' ? ['refused', 'reset', 'empty-reply'] : ['refused', 'timeout'];
      const matchesOutcome = Array.isArray(outcome) ? outcome.includes(o.outcome) : o.outcome === outcome;
      const portOk = fault.port === undefined || o.containerPort === fault.port || o.port === fault.port;
      const peerOk = (other: string | undefined) => fault.peer === undefined || other === fault.peer;
      return matchesOutcome && portOk && (fault.direction === 'in' ? o.to === fault.service && peerOk(o.from) : o.from === fault.service && peerOk(o.to));
    }
    case 'packet-loss':
      return (o.to === fault.service || o.from === fault.service) && o.outcome === 'timeout';
    case 'bandwidth':
      return o.to === fault.service && (o.outcome === 'timeout' || (o.latencyMs ?? 0) > 1000);
    case 'latency': {
      const ms = Number(/^(\d+)/.exec(fault.delay)?.[1] ?? 0) * (fault.delay.endsWith('ms') ? 1 : 1000);
      return (o.to === fault.service || o.from === fault.service) && (o.latencyMs ?? 0) >= ms * 0.8;
    }
    case 'mtu':
      return (o.from === fault.service && o.outcome === 'too-big') || (o.to === fault.service && o.kind === 'mtu' && o.outcome === 'timeout') || (item.kind === 'event' && item.event.type === 'icmp.frag-needed');
    case 'icc-off':
      return onNetwork(facts, fault.network, o.from) && onNetwork(facts, fault.network, o.to) && o.outcome === 'timeout';
    case 'internal-network':
      return (o.from === 'host' && onNetwork(facts, fault.network, o.to) && failed(o)) || (onNetwork(facts, fault.network, o.from) && o.kind === 'dns' && o.to === undefined && ['servfail', 'timeout', 'nxdomain'].includes(o.outcome));
    case 'non-attachable':
      return onNetwork(facts, fault.network, o.from) && ['nxdomain', 'servfail', 'timeout', 'no-route'].includes(o.outcome);
    case 'endpoint-mode':
      return o.kind === 'dns' && o.to === fault.service && o.outcome === 'ok' && (fault.mode === 'vip' ? o.answers.length === 1 : o.answers.length >= 2);
    case 'dns-upstream-down':
      return o.kind === 'dns' && o.to === undefined && ['timeout', 'servfail'].includes(o.outcome);
    case 'dns-override':
      return o.from === fault.service && o.kind === 'dns' && ['timeout', 'servfail'].includes(o.outcome);
    case 'hosts-override':
      return o.from === fault.service && ((o.name === fault.name && o.kind !== 'dns' && (failed(o) || o.outcome === 'one-backend')) || (!!o.dstAddr && addressesMeant(fault.address, facts).includes(o.dstAddr)));
    case 'replicas':
      return o.to === fault.service && (o.outcome === 'one-backend' || (o.kind === 'dns' && o.outcome === 'ok' && o.answers.length <= fault.replicas));
    case 'dns-search':
      return o.from === fault.service && ([fault.search].flat().some((d) => (o.name ?? '').endsWith(`.${d}`)) || (o.kind !== 'dns' && o.outcome === 'timeout'));
    case 'underlay-block':
      // The data plane blocked: connections across time out; gossip blocked: names of tasks on the other side are missing.
      return crosses(facts, o, fault.node, fault.peer) && (o.outcome === 'timeout' || (fault.port !== '4789/udp' && ['nxdomain', 'one-backend'].includes(o.outcome)));
    case 'underlay-mtu':
      return crosses(facts, o, fault.node, undefined) && ['timeout', 'too-big'].includes(o.outcome);
    case 'node-down':
    case 'node-drain':
      return placedOn(facts, o.to).includes(fault.node) && (failed(o) || o.outcome === 'one-backend');
    case 'node-label':
      return !!o.to && (facts.constrainedBy?.[o.to] ?? []).includes(fault.label) && failed(o);
  }
}
