// Who an address is, in the lab's words: a service, host, docker-dns, lab-dns, gateway, or
// "unknown <ip>". Built from what Docker says now, so it follows the topology when faults move
// services around.

export interface AddressBookData {
  /** address -> service name (or lab-dns) */
  names: Record<string, string>;
  gateways: string[];
  /** Services that resolve through Docker's embedded DNS (so their queries to lab-dns are forwards). */
  embeddedDns: string[];
  /**
   * Capture points: services with a capture sidecar, and nodes whose underlay is captured (a lab
   * with nodes). A flow is reported once, by its initiator's capture or its initiator's node's.
   */
  captured: string[];
  /** `service/port/proto` published on the host: traffic to them from a gateway comes from the host. */
  published: string[];
  /** A lab with nodes: each node's underlay address -> the node (where VXLAN leaves from and arrives). */
  underlay?: Record<string, string>;
  /** A lab with nodes: each lab address -> the node its container runs on. */
  placed?: Record<string, string>;
}

export const DOCKER_DNS = '127.0.0.11';

export class AddressBook {
  private readonly names: Map<string, string>;
  private readonly gateways: Set<string>;
  readonly embeddedDns: Set<string>;
  readonly captured: Set<string>;
  private readonly published: Set<string>;
  private readonly underlay: Map<string, string>;
  private readonly placed: Map<string, string>;

  constructor(data: AddressBookData) {
    this.underlay = new Map(Object.entries(data.underlay ?? {}));
    this.placed = new Map(Object.entries(data.placed ?? {}));
    this.names = new Map(Object.entries(data.names));
    this.gateways = new Set(data.gateways);
    this.embeddedDns = new Set(data.embeddedDns);
    this.captured = new Set(data.captured);
    this.published = new Set(data.published);
  }

  /** The name of `ip` as seen from inside `local`'s network namespace. */
  name(ip: string, local: string): string {
    const known = this.names.get(ip);
    if (known) return known;
    if (ip === DOCKER_DNS) return 'docker-dns';
    if (ip.startsWith('127.') || ip === '::1') return local;
    if (this.gateways.has(ip)) return 'gateway';
    return `unknown ${ip}`;
  }

  knows(ip: string): boolean {
    return this.names.has(ip) || ip === DOCKER_DNS || ip.startsWith('127.') || ip === '::1' || this.gateways.has(ip);
  }

  isGateway(ip: string): boolean {
    return this.gateways.has(ip);
  }

  isPublished(service: string, port: number, proto: 'tcp' | 'udp'): boolean {
    return this.published.has(`${service}/${port}/${proto}`);
  }

  /** The node at an underlay address (a VXLAN packet's outer source or destination). */
  nodeAt(underlayIp: string): string | undefined {
    return this.underlay.get(underlayIp);
  }

  /** The underlay address of a node. */
  addressOf(node: string): string | undefined {
    for (const [ip, n] of this.underlay) if (n === node) return ip;
    return undefined;
  }

  /** The node the container with a lab address runs on (a lab with nodes). */
  nodeOf(ip: string): string | undefined {
    return this.placed.get(ip);
  }

  /** Every address that belongs to the lab (for the traffic rule). */
  labAddresses(): Set<string> {
    return new Set([...this.names.keys(), ...this.gateways]);
  }
}
