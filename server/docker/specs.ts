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

export interface ContainerSpec {
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
  capAdd: string[];
  capDrop: string[];
  readOnly: boolean;
  tmpfs: Record<string, string>;
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
  init: boolean;
}

export interface SwarmServiceSpec {
  name: string;
  image: string;
  command?: string[];
  env: string[];
  labels: Record<string, string>;
  networks: EndpointSpec[];
  replicas: number;
  endpointMode: 'vip' | 'dnsrr';
  dns: string[];
  capAdd: string[];
  capDrop: string[];
  readOnly: boolean;
  tmpfs: Record<string, string>;
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
  healthcheck?: HealthcheckSpec;
}
