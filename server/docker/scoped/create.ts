// `docker create` / `docker run` from the console. The container config the learner's CLI sent
// has passed its strict shape; the config forwarded is built here, field by field, from those
// values and the session's rules: the lab's images and networks, its host ports on 127.0.0.1,
// every capability dropped but the lab's, its limits, its labels. Nothing else reaches Docker.
import { randomBytes } from 'node:crypto';
import { commandLine } from '../cli.ts';
import { LABEL, NAME_PREFIX, objectPrefix } from '../labels.ts';
import { LAB_DNS_OPTIONS } from '../specs.ts';
import type { Forward } from './forward.ts';
import { Refusal, refuse } from './refusal.ts';
import { bounded } from '../../util/lookup.ts';
import type { Scope } from './scope.ts';
import type { CreateBody, EndpointBody } from './shapes.ts';

/** Capabilities a learner may add to what the lab gives: enough to use tc, iptables and tcpdump inside the lab. */
export const LEARNER_CAPS = ['NET_ADMIN', 'NET_RAW'];
const LOG_DRIVERS = ['', 'json-file', 'local', 'none'];
const MAX_SHM = 64 * 1024 * 1024;

interface BuiltEndpoint {
  Aliases: string[];
  IPAMConfig?: { IPv4Address: string };
}

/** An endpoint may carry aliases and a lab address; nothing that reaches further (the shape refused the rest). */
export function endpoint(scope: Scope, e: EndpointBody | null | undefined): BuiltEndpoint {
  const ip = e?.IPAMConfig?.IPv4Address;
  if (ip && !scope.policy.labAddress(ip)) throw refuse(`the address ${ip} is outside this lab's subnets`);
  return { Aliases: [...(e?.Aliases ?? [])], ...(ip ? { IPAMConfig: { IPv4Address: ip } } : {}) };
}

/** The capabilities a learner asked for, in Docker's spelling: LEARNER_CAPS, or ones the object already had. */
export function capabilities(given: readonly string[] | null | undefined, had: readonly string[] = []): string[] {
  const caps = (given ?? []).map((x) => x.toUpperCase().replace(/^CAP_/, ''));
  const tooMuch = caps.filter((x) => !LEARNER_CAPS.includes(x) && !had.includes(x));
  if (tooMuch.length > 0) throw refuse(`capabilities beyond ${LEARNER_CAPS.join(' and ')} (${tooMuch.map((c) => bounded(c, 24)).join(', ')}) reach outside the container`);
  return caps;
}

export async function rewriteCreate(scope: Scope, requestedName: string | undefined, spec: CreateBody): Promise<Forward> {
  const policy = scope.policy;
  const prefix = objectPrefix(policy.session);
  let name = (requestedName ?? '').replace(/^\//, '');
  if (name.startsWith(NAME_PREFIX) && !name.startsWith(prefix)) {
    throw refuse(`names starting with fl- belong to Flowlab's labs; ${name} is not one of this lab's (name yours without the fl- prefix)`);
  }
  // Every name is fl-<session>-<name>: a name never collides with another session's.
  name = name ? (name.startsWith(prefix) ? name : `${prefix}${name}`) : `${prefix}run-${randomBytes(3).toString('hex')}`;
  const existing = await scope.engine.inspectContainer(name).catch(() => undefined);
  if (existing && !scope.owns(existing.labels)) throw refuse(`the name ${name} is taken`);
  const short = name.slice(prefix.length);
  if (policy.reservedNames.includes(short)) throw refuse(`${short} is the name of one of Flowlab's own containers in this lab; name yours otherwise`);
  const serviceAliases = Object.hasOwn(policy.services, short) ? policy.services[short] : undefined;

  const image = scope.image(spec.Image);
  if (!image) throw refuse(`only the lab images run here (${Object.keys(policy.images).filter((k) => !k.includes('/')).join(', ')}), not ${bounded(spec.Image, 60)}`);

  const host = spec.HostConfig ?? {};
  const caps = capabilities(host.CapAdd);
  const secOpts = (host.SecurityOpt ?? []).filter((o) => !/^no-new-privileges(:true|=true)?$/.test(o));
  if (secOpts.length > 0) throw refuse(`security options are set by Flowlab (${secOpts.map((o) => bounded(o, 40)).join(', ')})`);
  const logType = host.LogConfig?.Type ?? '';
  if (!LOG_DRIVERS.includes(logType)) throw refuse(`the ${bounded(logType, 24)} log driver sends logs off this lab`);
  const logOpts = Object.keys(host.LogConfig?.Config ?? {}).filter((k) => !['max-size', 'max-file'].includes(k));
  if (logOpts.length > 0) throw refuse(`log options are set by Flowlab (${logOpts.map((o) => bounded(o, 24)).join(', ')})`);
  for (const d of host.Dns ?? []) {
    if (!/^127\./.test(d) && !policy.labAddress(d)) throw refuse(`the DNS server ${bounded(d, 40)} is outside the lab: lookups would leave this machine`);
  }

  // Networks: one of this session's, a container of this session, none, or the default bridge when the lab uses it.
  const given = Object.entries(spec.NetworkingConfig?.EndpointsConfig ?? {});
  if (given.length > 1) throw new Refusal(400, 'a container joins one network when it is created; join the others with docker network connect');
  const mode = host.NetworkMode ?? '';
  let networkMode: string;
  const endpoints: Record<string, BuiltEndpoint> = {};
  if (mode === 'host') throw refuse("the host's network is the Docker host's own");
  if (mode.startsWith('container:')) {
    if (given.length > 0) throw new Refusal(400, 'a container sharing another\'s network namespace joins no network of its own');
    if (Object.keys(host.PortBindings ?? {}).length > 0) throw new Refusal(400, "a container sharing another's network namespace publishes no ports of its own");
    networkMode = `container:${(await scope.sharedNamespace(mode.slice('container:'.length))).id}`;
  } else if (mode === 'none') {
    if (given.length > 0) throw new Refusal(400, 'a container on network none joins no other network');
    networkMode = 'none';
  } else {
    const [endpointNet, cfg] = given[0] ?? [];
    const e = endpointNet === undefined ? undefined : await scope.joinable(endpointNet, 'container');
    const wanted = mode === '' || mode === 'default' ? endpointNet ?? (policy.defaultBridge ? 'bridge' : undefined) : mode;
    if (!wanted) throw refuse("pick one of this lab's networks (--network), a container's (--network container:<name>), or none");
    const n = await scope.joinable(wanted, 'container');
    if (e && e.id !== n.id) throw new Refusal(400, `the endpoint given (${e.name}) is not the network the container joins (${n.name})`);
    networkMode = n.name;
    endpoints[n.name] = endpoint(scope, cfg);
  }
  // A lab service re-created under its name answers to its names again, as Compose would do.
  if (serviceAliases) {
    for (const [net, e] of Object.entries(endpoints)) {
      if (net !== 'bridge') e.Aliases = [...new Set([...e.Aliases, short, ...(serviceAliases[net] ?? [])])];
    }
  }

  // Published ports: on 127.0.0.1, and only the host ports this session owns.
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const [port, binds] of Object.entries(host.PortBindings ?? {})) {
    for (const b of binds ?? []) {
      const ip = b.HostIp ?? '';
      if (ip !== '' && !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip)) throw refuse(`ports are published on 127.0.0.1 here, not ${bounded(ip, 40)}`);
      const hostPort = b.HostPort ?? '';
      if (hostPort !== '' && hostPort !== '0' && !policy.hostPorts.includes(Number(hostPort))) {
        throw refuse(`host port ${hostPort} is not this lab's; it may publish ${policy.hostPorts.join(', ') || 'no fixed port'} (or let Docker pick one)`);
      }
      (bindings[port] ??= []).push({ HostIp: ip || '127.0.0.1', HostPort: hostPort === '0' ? '' : hostPort });
    }
  }

  const userLabels = spec.Labels ?? {};
  if (Object.keys(userLabels).some((k) => k.startsWith('flowlab.'))) throw refuse("flowlab.* labels are Flowlab's to set");
  const labels = { ...userLabels, ...policy.labels, [LABEL.name]: short, [LABEL.role]: serviceAliases ? 'service' : 'learner' };

  const { memoryBytes, nanoCpus, pidsLimit } = policy.limits;
  const capped = (v: number | null | undefined, max: number) => (typeof v === 'number' && v > 0 ? Math.min(v, max) : max);
  const memory = capped(host.Memory, memoryBytes);
  const shared = networkMode.startsWith('container:');
  const dns = shared ? [] : (host.Dns ?? []).length > 0 ? host.Dns! : (policy.dns[networkMode] ?? ['127.0.0.1']);
  const capAdd = [...new Set([...(serviceAliases ? (policy.serviceCaps[short] ?? policy.baseCaps) : policy.baseCaps), ...caps])];

  const hostConfig = {
    NetworkMode: networkMode,
    PortBindings: bindings,
    RestartPolicy: { Name: host.RestartPolicy?.Name || 'no', MaximumRetryCount: host.RestartPolicy?.MaximumRetryCount ?? 0 },
    AutoRemove: host.AutoRemove ?? false,
    CapAdd: capAdd,
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
    Privileged: false,
    ...(shared ? {} : { Dns: dns, DnsOptions: (host.DnsOptions ?? []).length > 0 ? host.DnsOptions! : [...LAB_DNS_OPTIONS], DnsSearch: host.DnsSearch ?? [], ExtraHosts: host.ExtraHosts ?? [] }),
    LogConfig: logType === 'none' ? { Type: 'none', Config: {} } : { Type: logType || 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } },
    OomScoreAdj: host.OomScoreAdj ?? 0,
    ReadonlyRootfs: host.ReadonlyRootfs ?? false,
    ShmSize: Math.min(host.ShmSize ?? 0, MAX_SHM),
    ...(host.ConsoleSize ? { ConsoleSize: host.ConsoleSize } : {}),
    IpcMode: host.IpcMode || 'private',
    ...(host.CgroupnsMode ? { CgroupnsMode: host.CgroupnsMode } : {}),
    Memory: memory,
    MemorySwap: memory,
    NanoCpus: capped(host.NanoCpus, nanoCpus),
    PidsLimit: capped(host.PidsLimit, pidsLimit),
    ...(typeof host.Init === 'boolean' ? { Init: host.Init } : {}),
  };
  const body = {
    ...(spec.Hostname && !shared ? { Hostname: spec.Hostname } : {}),
    ...(spec.Domainname && !shared ? { Domainname: spec.Domainname } : {}),
    ...(spec.User ? { User: spec.User } : {}),
    AttachStdin: spec.AttachStdin ?? false,
    AttachStdout: spec.AttachStdout ?? false,
    AttachStderr: spec.AttachStderr ?? false,
    Tty: spec.Tty ?? false,
    OpenStdin: spec.OpenStdin ?? false,
    StdinOnce: spec.StdinOnce ?? false,
    ExposedPorts: Object.fromEntries(Object.keys({ ...(spec.ExposedPorts ?? {}), ...bindings }).map((k) => [k, {}])),
    Env: spec.Env ?? [],
    ...(spec.Cmd ? { Cmd: spec.Cmd } : {}),
    ...(spec.Entrypoint ? { Entrypoint: spec.Entrypoint } : {}),
    ...(spec.Healthcheck ? { Healthcheck: spec.Healthcheck } : {}),
    Image: image,
    ...(spec.WorkingDir ? { WorkingDir: spec.WorkingDir } : {}),
    Labels: labels,
    ...(spec.StopSignal ? { StopSignal: spec.StopSignal } : {}),
    ...(typeof spec.StopTimeout === 'number' ? { StopTimeout: spec.StopTimeout } : {}),
    HostConfig: hostConfig,
    NetworkingConfig: { EndpointsConfig: endpoints },
  };
  return { method: 'POST', path: '/containers/create', query: { name }, body, record: createCommand(name, body), changed: true };
}

/** The docker command that makes the container just as it is forwarded. */
function createCommand(name: string, b: { Image: string; Cmd?: string[]; Entrypoint?: string[]; User?: string; HostConfig: Record<string, unknown>; NetworkingConfig: { EndpointsConfig: Record<string, BuiltEndpoint> } }): string {
  const h = b.HostConfig as { NetworkMode: string; PortBindings: Record<string, { HostIp: string; HostPort: string }[]>; CapAdd: string[]; Dns?: string[]; Memory: number; NanoCpus: number; PidsLimit: number; ReadonlyRootfs: boolean; AutoRemove: boolean };
  const [endpointNet, e] = Object.entries(b.NetworkingConfig.EndpointsConfig)[0] ?? [];
  return commandLine([
    'docker', 'create', '--name', name,
    '--network', endpointNet ?? h.NetworkMode,
    ...(e?.Aliases ?? []).flatMap((a) => ['--network-alias', a]),
    ...(e?.IPAMConfig ? ['--ip', e.IPAMConfig.IPv4Address] : []),
    ...Object.entries(h.PortBindings).flatMap(([k, bs]) => bs.flatMap((x) => ['--publish', `${x.HostIp}:${x.HostPort}:${k.replace(/\/tcp$/, '')}`])),
    '--cap-drop', 'ALL',
    ...h.CapAdd.flatMap((x) => ['--cap-add', x]),
    '--security-opt', 'no-new-privileges',
    ...(h.Dns ?? []).flatMap((x) => ['--dns', x]),
    '--memory', String(h.Memory), '--cpus', String(h.NanoCpus / 1e9), '--pids-limit', String(h.PidsLimit),
    ...(h.ReadonlyRootfs ? ['--read-only'] : []),
    ...(h.AutoRemove ? ['--rm'] : []),
    ...(b.User ? ['--user', b.User] : []),
    ...(b.Entrypoint && b.Entrypoint.length > 0 ? ['--entrypoint', b.Entrypoint[0]!] : []),
    b.Image,
    ...(b.Entrypoint ?? []).slice(1),
    ...(b.Cmd ?? []),
  ]);
}
