// Who an address is, in the lab's words: a service, host, docker-dns, lab-dns, gateway, or
// "unknown <ip>". Built from what Docker says now, so it follows the topology when faults move
// services around.

export interface AddressBookData {
  /** address -> service name (or lab-dns) */
  names: Record<string, string>;
  gateways: string[];
  /** Services that resolve through Docker's embedded DNS (so their queries to lab-dns are forwards). */
  embeddedDns: string[];
  /** Services with a capture sidecar: a flow between two of them is reported once, by its initiator. */
  captured: string[];
  /** `service/port/proto` published on the host: traffic to them from a gateway comes from the host. */
  published: string[];
}

export const DOCKER_DNS = '127.0.0.11';

export class AddressBook {
  private readonly names: Map<string, string>;
  private readonly gateways: Set<string>;
  readonly embeddedDns: Set<string>;
  readonly captured: Set<string>;
  private readonly published: Set<string>;

  constructor(data: AddressBookData) {
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

  /** Every address that belongs to the lab (for the traffic rule). */
  labAddresses(): Set<string> {
    return new Set([...this.names.keys(), ...this.gateways]);
  }
}
