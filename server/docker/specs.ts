// What the layers above ask the Docker layer to create, in Docker's own terms.

export interface NetworkSpec {
  name: string;
  driver: 'bridge' | 'overlay';
  subnet?: string;
  gateway?: string;
  internal: boolean;
  attachable: boolean;
  options: Record<string, string>;
  labels: Record<string, string>;
}

/**
 * The resolver options a lab container on a lab network gets when nothing else says. With none,
 * Docker copies the options of its engine host's /etc/resolv.conf, and where those name `ndots`
 * (a dockerd in a container has `ndots:0`) Docker's embedded DNS answers a short name no lab
 * network knows with an empty answer itself instead of asking the lab resolver: `dig db` said
 * NOERROR on one engine and NXDOMAIN on another. `attempts:2` is glibc's default, so it changes
 * nothing inside the container; it keeps each engine host's options out of the lab.
 */
export const LAB_DNS_OPTIONS: readonly string[] = ['attempts:2'];

export interface EndpointSpec {
  network: string;
  aliases: string[];
  ipv4Address?: string;
}

export type NetworkMode =
  | { kind: 'networks'; endpoints: EndpointSpec[] }
  | { kind: 'default-bridge' }
  | { kind: 'host' }
  | { kind: 'none' }
  | { kind: 'container'; container: string };

export interface PublishedPort {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

export interface HealthcheckSpec {
  test: string[];
  intervalMs?: number;
  timeoutMs?: number;
  retries?: number;
  startPeriodMs?: number;
}

/** What every lab container or task gets: its privileges, limits and writable paths. */
export interface RunLimits {
  capAdd: string[];
  capDrop: string[];
  readOnly: boolean;
  tmpfs: Record<string, string>;
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
}

export interface ContainerSpec extends RunLimits {
  name: string;
  image: string;
  command?: string[];
  env: string[];
  labels: Record<string, string>;
  network: NetworkMode;
  ports: PublishedPort[];
  /** Container ports to expose without publishing, like `--expose`. */
  exposed: { port: number; proto: 'tcp' | 'udp' }[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  extraHosts: string[];
  healthcheck?: HealthcheckSpec;
  init: boolean;
  /**
   * A Docker engine runs in it (a lab's node): infrastructure, never a lab container. It gets no
   * seccomp or AppArmor profile and may gain privileges (dockerd runs containers); its hostname is
   * the node's name. Every lab container stays under the usual lock-down.
   */
  nestedEngine?: { hostname: string };
}

export interface SwarmServiceSpec extends RunLimits {
  name: string;
  image: string;
  command?: string[];
  env: string[];
  labels: Record<string, string>;
  networks: EndpointSpec[];
  replicas: number;
  endpointMode: 'vip' | 'dnsrr';
  /** Placement constraints, as `docker service create --constraint` takes them. */
  constraints?: string[];
  dns: string[];
  dnsOptions: string[];
  healthcheck?: HealthcheckSpec;
}
