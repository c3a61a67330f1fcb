// Every action, also written as the docker CLI command that does the same thing: what the
// "what Docker did" panel and `--verbose` show, and what a trainer can paste into a shell.
import type { ContainerSpec, EndpointSpec, HealthcheckSpec, NetworkSpec, SwarmServiceSpec } from './specs.ts';
import type { NodeChange } from './types.ts';
import { securityOpt } from './encode.ts';

export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(args: string[]): string {
  return args.map(shellQuote).join(' ');
}

const labelArgs = (labels: Record<string, string>) => Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
const each = (flag: string, values: string[]) => values.flatMap((v) => [flag, v]);
const ms = (n: number | undefined) => (n === undefined ? undefined : n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`);

function healthArgs(h: HealthcheckSpec | undefined): string[] {
  if (!h) return [];
  if (h.test[0] === 'NONE') return ['--no-healthcheck'];
  const cmd = h.test[0] === 'CMD-SHELL' ? h.test[1] ?? '' : h.test.slice(1).join(' ');
  const out = ['--health-cmd', cmd];
  if (h.intervalMs !== undefined) out.push('--health-interval', ms(h.intervalMs)!);
  if (h.timeoutMs !== undefined) out.push('--health-timeout', ms(h.timeoutMs)!);
  if (h.retries !== undefined) out.push('--health-retries', String(h.retries));
  if (h.startPeriodMs !== undefined) out.push('--health-start-period', ms(h.startPeriodMs)!);
  return out;
}

export function networkCreate(spec: NetworkSpec): string {
  return commandLine(networkCreateArgs(spec));
}

export function networkCreateArgs(spec: NetworkSpec): string[] {
  return [
    'docker', 'network', 'create', '--driver', spec.driver,
    ...(spec.subnet ? ['--subnet', spec.subnet] : []),
    ...(spec.gateway ? ['--gateway', spec.gateway] : []),
    ...(spec.internal ? ['--internal'] : []),
    ...(spec.attachable ? ['--attachable'] : []),
    ...Object.entries(spec.options).flatMap(([k, v]) => ['--opt', `${k}=${v}`]),
    ...labelArgs(spec.labels),
    spec.name,
  ];
}

function endpointArgs(e: EndpointSpec): string[] {
  return [...each('--network-alias', e.aliases), ...(e.ipv4Address ? ['--ip', e.ipv4Address] : [])];
}

export function containerCreate(spec: ContainerSpec): string {
  return commandLine(containerCreateArgs(spec));
}

export function containerCreateArgs(spec: ContainerSpec): string[] {
  const net = spec.network;
  const networkArgs =
    net.kind === 'networks'
      ? net.endpoints[0] ? ['--network', net.endpoints[0].network, ...endpointArgs(net.endpoints[0])] : []
      : net.kind === 'container' ? ['--network', `container:${net.container}`]
      : net.kind === 'default-bridge' ? ['--network', 'bridge']
      : ['--network', net.kind];
  return [
    'docker', 'create', '--name', spec.name,
    ...(spec.nestedEngine ? ['--hostname', spec.nestedEngine.hostname] : []),
    ...networkArgs,
    ...spec.ports.flatMap((p) => ['--publish', `${p.hostIp}:${p.hostPort}:${p.containerPort}/${p.proto}`]),
    ...spec.exposed.flatMap((p) => ['--expose', `${p.port}/${p.proto}`]),
    ...each('--dns', spec.dns),
    ...each('--dns-search', spec.dnsSearch),
    ...each('--dns-option', spec.dnsOptions),
    ...each('--add-host', spec.extraHosts),
    ...each('--env', spec.env),
    ...healthArgs(spec.healthcheck),
    ...each('--cap-drop', spec.capDrop),
    ...each('--cap-add', spec.capAdd),
    ...each('--security-opt', securityOpt(spec)),
    ...(spec.readOnly ? ['--read-only'] : []),
    ...Object.entries(spec.tmpfs).flatMap(([path, opts]) => ['--tmpfs', opts ? `${path}:${opts}` : path]),
    '--memory', `${Math.round(spec.memoryBytes / 1024 / 1024)}m`,
    '--cpus', String(spec.nanoCpus / 1e9),
    '--pids-limit', String(spec.pidsLimit),
    ...(spec.init ? ['--init'] : []),
    ...labelArgs(spec.labels),
    spec.image,
    ...(spec.command ?? []),
  ];
}

export function networkConnect(network: string, container: string, e: Omit<EndpointSpec, 'network'>): string {
  return commandLine(networkConnectArgs(network, container, e));
}

export function networkConnectArgs(network: string, container: string, e: Omit<EndpointSpec, 'network'>): string[] {
  return ['docker', 'network', 'connect', ...each('--alias', e.aliases), ...(e.ipv4Address ? ['--ip', e.ipv4Address] : []), network, container];
}

export function serviceCreate(spec: SwarmServiceSpec): string {
  return commandLine([
    'docker', 'service', 'create', '--detach', '--name', spec.name,
    '--replicas', String(spec.replicas),
    '--endpoint-mode', spec.endpointMode,
    ...each('--constraint', spec.constraints ?? []),
    ...spec.networks.map((n) => (n.aliases.length > 0 ? `--network=name=${n.network},${n.aliases.map((a) => `alias=${a}`).join(',')}` : `--network=${n.network}`)),
    ...each('--dns', spec.dns),
    ...each('--dns-option', spec.dnsOptions),
    ...each('--env', spec.env),
    ...healthArgs(spec.healthcheck),
    ...each('--cap-drop', spec.capDrop),
    ...each('--cap-add', spec.capAdd),
    ...(spec.readOnly ? ['--read-only'] : []),
    ...Object.keys(spec.tmpfs).flatMap((path) => ['--mount', `type=tmpfs,destination=${path}`]),
    '--limit-memory', `${Math.round(spec.memoryBytes / 1024 / 1024)}m`,
    '--limit-cpu', String(spec.nanoCpus / 1e9),
    '--limit-pids', String(spec.pidsLimit),
    '--init',
    ...labelArgs(spec.labels),
    ...each('--container-label', Object.entries(spec.labels).map(([k, v]) => `${k}=${v}`)),
    spec.image,
    ...(spec.command ?? []),
  ]);
}

export function nodeUpdate(node: string, change: NodeChange): string {
  return commandLine([
    'docker', 'node', 'update',
    ...(change.availability ? ['--availability', change.availability] : []),
    ...Object.entries(change.labels ?? {}).flatMap(([k, v]) => (v === null ? ['--label-rm', k] : ['--label-add', `${k}=${v}`])),
    node,
  ]);
}

export const simple = {
  start: (name: string) => commandLine(['docker', 'start', name]),
  removeContainer: (name: string) => commandLine(['docker', 'rm', '--force', name]),
  removeNetwork: (name: string) => commandLine(['docker', 'network', 'rm', name]),
  removeService: (name: string) => commandLine(['docker', 'service', 'rm', name]),
  exec: (container: string, cmd: string[]) => commandLine(['docker', 'exec', container, ...cmd]),
  swarmInit: (addr: string) => commandLine(['docker', 'swarm', 'init', '--advertise-addr', addr]),
  swarmJoin: (manager: string, addr: string) => commandLine(['docker', 'swarm', 'join', '--advertise-addr', addr, '--token', '<token>', `${manager}:2377`]),
  build: (tag: string, dir: string, args: Record<string, string>) =>
    commandLine(['docker', 'build', '--tag', tag, ...Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]), dir]),
  importImage: (ref: string) => `tar -C <rootfs> -c . | ${commandLine(['docker', 'import', '-', ref])}`,
  shipImage: (ref: string, engine: string) => `${commandLine(['docker', 'save', ref])} | ${commandLine(['docker', '--context', engine, 'load'])}`,
};
