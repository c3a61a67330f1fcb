// Fault types and their parameters. The type names and parameter names are a contract: lab
// files and `flowlab fault <session> apply <type> key=value` use the same ones.
import { z } from 'zod';

const svc = z.string().min(1);
const net = z.string().min(1);
const node = z.string().min(1);
/** The underlay ports a swarm needs between its nodes. */
export const UNDERLAY_PORTS = ['4789/udp', '7946', '7946/tcp', '7946/udp', '2377/tcp'] as const;
const port = z.number().int().min(1).max(65535);
const rate = z.string().regex(/^\d+(\.\d+)?(bit|kbit|mbit|gbit)$/, 'a rate like 256kbit or 1mbit');
const delay = z.string().regex(/^\d+(ms|s)$/, 'a delay like 200ms');
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
/** An IPv4 address, or a reference to a lab container's (`${svc.ip}`, `${svc.ips.net}`). */
const address = z.string().refine((v) => IPV4.test(v) || /^\$\{[a-z][a-z0-9-]*\.(ip|ips\.[a-z][a-z0-9-]*)\}$/.test(v), 'an IPv4 address like 10.88.3.7, or ${<service>.ip}');

const fault = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.strictObject({ type: z.literal(type), ...shape });

export const FAULT_SCHEMAS = [
  fault('stop', { service: svc }),
  fault('pause', { service: svc }),
  fault('kill', { service: svc }),
  fault('disconnect', { service: svc, network: net }),
  /** Moves `service` off `network` and onto `to`. */
  fault('wrong-network', { service: svc, network: net, to: net }),
  fault('drop-alias', { service: svc, network: net, alias: z.string().min(1) }),
  /** `service` also claims `alias` on `network`, which another service already answers to. */
  fault('alias-collision', { service: svc, network: net, alias: z.string().min(1) }),
  fault('bind-loopback', { service: svc, port }),
  /** The published `port` is re-mapped to container port `to`, where nothing listens. */
  fault('port-mismatch', { service: svc, port, to: port }),
  fault('unpublish', { service: svc, port }),
  fault('port-conflict', { service: svc, port }),
  fault('firewall', {
    service: svc,
    action: z.enum(['drop', 'reject']).default('drop'),
    direction: z.enum(['in', 'out']).default('in'),
    proto: z.enum(['tcp', 'udp', 'icmp', 'all']).default('tcp'),
    port: port.optional(),
    peer: svc.optional(),
  }),
  fault('packet-loss', { service: svc, probability: z.number().gt(0).max(1), direction: z.enum(['in', 'out']).default('in') }),
  fault('bandwidth', { service: svc, rate }),
  fault('mtu', { service: svc, mtu: z.number().int().min(68).max(9000), network: net.optional() }),
  fault('icc-off', { network: net }),
  fault('internal-network', { network: net }),
  fault('non-attachable', { network: net }),
  /** A swarm service scaled down to `replicas` tasks. */
  fault('replicas', { service: svc, replicas: z.number().int().min(1).max(8) }),
  fault('endpoint-mode', { service: svc, mode: z.enum(['vip', 'dnsrr']) }),
  fault('host-mode', { service: svc }),
  fault('dns-upstream-down', {}),
  fault('dns-override', { service: svc, server: address.optional() }),
  /** `address` may name a lab container's address: `${canary.ips.mesh}`. */
  fault('hosts-override', { service: svc, name: z.string().min(1), address }),
  fault('dns-search', { service: svc, search: z.union([z.string(), z.array(z.string())]), ndots: z.number().int().min(0).max(15).optional() }),
  fault('latency', { service: svc, delay, jitter: delay.optional() }),
  /**
   * In a lab with nodes: a port of the swarm's underlay closed at `node` (to and from `peer` only,
   * when given): 4789/udp carries the overlay's data (VXLAN), 7946 its gossip (tcp and udp), 2377/tcp
   * the managers' control plane.
   */
  fault('underlay-block', { node, peer: node.optional(), port: z.enum(UNDERLAY_PORTS) }),
  /** The underlay's MTU at `node` set below what the overlay's 1450 plus VXLAN's 50 bytes need. */
  fault('underlay-mtu', { node, mtu: z.number().int().min(576).max(1499) }),
  fault('node-drain', { node }),
  /** The node's machine stops (its engine and every container on it). */
  fault('node-down', { node }),
  /** A node label set to a wrong value (or removed, without `value`). */
  fault('node-label', { node, label: z.string().min(1), value: z.string().optional() }),
] as const;

export const FAULT_TYPES = FAULT_SCHEMAS.map((s) => s.shape.type.value);
export type FaultType = (typeof FAULT_TYPES)[number];

/** Faults that change a network namespace with tc or iptables: never on a host-network service. */
export const NETNS_FAULTS: ReadonlySet<string> = new Set(['firewall', 'packet-loss', 'bandwidth', 'mtu', 'latency']);
/** Faults on a lab's own nodes: only in a lab with nodes. */
export const NODE_FAULTS: ReadonlySet<string> = new Set(['underlay-block', 'underlay-mtu', 'node-drain', 'node-down', 'node-label']);
/** Faults that need the kernel's netem queueing discipline. */
export const NETEM_FAULTS: ReadonlySet<string> = new Set(['latency']);
