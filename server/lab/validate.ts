// `flowlab validate` and `up` run the same checks: the schema, then what the schema cannot see
// (references between parts, cycles, subnets, ports, images, what a lab must never ask for).
import type { z } from 'zod';
import { FAULT_TYPES, NETNS_FAULTS } from './fault-schema.ts';
import { contains, hostAt, overlaps, parseCidr, type Cidr } from './ipv4.ts';
import { labImage } from './lab-images.ts';
import { dependencyCycle, servicesOf, type ServiceModel } from './model.ts';
import { describeValue, didYouMean, type Problem, type YamlPath } from './problems.ts';
import { ALLOWED_CAPS, KNOWN_DRIVER_OPTS, KNOWN_KEYS, labSchema, type Fault, type Lab } from './schema.ts';
import { readLabSource, type LabSource } from './source.ts';
import { parseProbeTarget, parseReference, referencesIn } from './targets.ts';
import { has, own } from '../util/lookup.ts';
import { faultRequirements, REQUIREMENT_WHY, unmet, type Requirement } from './requirements.ts';

export interface ValidateContext {
  /** Image references present on the daemon, or undefined when Docker could not be asked. */
  localImages?: ReadonlySet<string>;
  /** The kernel features of the engine labs would run on (false: known missing), and where it is. */
  features?: Partial<Record<Requirement, boolean | undefined>>;
  engine?: string;
}

export interface LabCheck {
  file: string;
  lab?: Lab;
  problems: Problem[];
}

export const RESERVED_SERVICE_NAMES = ['host', 'gateway', 'docker-dns', 'lab-dns', 'unknown'];
export const RESERVED_NETWORK_NAMES = ['bridge', 'host', 'none', 'default', 'ingress', 'docker-gwbridge'];

const FORBIDDEN_SERVICE_KEYS: Record<string, string> = {
  privileged: 'a privileged container controls the whole Docker host',
  volumes: 'volumes and host mounts reach outside the lab',
  volumes_from: 'volumes reach outside the lab',
  devices: 'devices belong to the host',
  pid: 'sharing a PID namespace reaches outside the container',
  ipc: 'sharing an IPC namespace reaches outside the container',
  userns_mode: 'the user namespace is set by Flowlab',
  security_opt: 'security options are set by Flowlab',
  cgroup_parent: 'cgroups are set by Flowlab',
  sysctls: 'kernel settings are changed by faults, not by lab files',
  container_name: 'Flowlab names containers fl-<session>-<service>',
  build: 'lab images are built by `flowlab images build`: use `image: toolbox` or an image present locally',
  cap_drop: 'Flowlab drops every capability and adds back only what the lab needs (cap_add)',
};

export function validateLabText(file: string, text: string, ctx: ValidateContext = {}): LabCheck {
  const source = readLabSource(file, text);
  if (source.data === undefined) return { file, problems: source.problems };
  const problems = [...source.problems];
  const data = source.data as Record<string, unknown>;

  const forbidden = new Set<string>();
  const services = data.services;
  if (services && typeof services === 'object' && !Array.isArray(services)) {
    for (const [name, svc] of Object.entries(services as Record<string, unknown>)) {
      if (!svc || typeof svc !== 'object') continue;
      for (const key of Object.keys(svc)) {
        const why = FORBIDDEN_SERVICE_KEYS[key];
        if (why) {
          forbidden.add(`services.${name}.${key}`);
          problems.push(source.problem('error', ['services', name], `"${key}" is not allowed in a lab: ${why}`, key));
        }
      }
    }
  }

  const parsed = labSchema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...issueProblems(issue, [], source, data, forbidden));
    return { file, problems: dedupe(problems) };
  }
  const lab = parsed.data;
  problems.push(...checkLab(lab, source, ctx));
  const hasError = problems.some((p) => p.severity === 'error');
  return { file, ...(hasError ? {} : { lab }), problems: dedupe(problems) };
}

/** Each problem once, in file order. */
function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems
    .filter((p) => {
      const k = `${p.line}:${p.column}:${p.message}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => a.line - b.line || a.column - b.column);
}

// ---- schema issues -> problems -------------------------------------------------------------

type Issue = z.core.$ZodIssue;

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let cur = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

function knownKeysAt(path: YamlPath): readonly string[] | undefined {
  if (path.length === 0) return KNOWN_KEYS.lab;
  if (path.length === 2 && path[0] === 'services') return KNOWN_KEYS.service;
  if (path.length === 2 && path[0] === 'networks') return KNOWN_KEYS.network;
  return undefined;
}

const isDefaultMessage = (m: string) => /^(Invalid|Too (small|big)|Expected|Unrecognized)/.test(m);

function issueProblems(issue: Issue, base: YamlPath, source: LabSource, data: unknown, forbidden: Set<string>): Problem[] {
  const path = [...base, ...(issue.path as (string | number)[])];
  const found = describeValue(valueAt(data, path));
  const at = (message: string, key?: string) => source.problem('error', path, message, key);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(path);
      return issue.keys
        .filter((k) => !forbidden.has([...path, k].join('.')))
        .map((k) => at(`unknown key "${k}"${didYouMean(k, known ?? [])}${known ? `; expected one of: ${known.join(', ')}` : ''}`, k));
    }
    case 'invalid_type':
      if (issue.expected === 'undefined') return [at(`unexpected value ${found}`)];
      return [at(`expected ${article(issue.expected)}, found ${found === 'nothing' ? 'nothing (a required key is missing)' : found}`)];
    case 'invalid_value': {
      const values = issue.values.map(String);
      const raw = valueAt(data, path);
      const hint = typeof raw === 'string' ? didYouMean(raw, values) : '';
      return [at(`expected one of ${values.join(', ')}, found ${found}${hint}`)];
    }
    case 'invalid_union': {
      if ('note' in issue && issue.note === 'No matching discriminator') {
        const raw = valueAt(data, path);
        const types = path[path.length - 1] === 'type' ? [...FAULT_TYPES] : ((issue as { options?: unknown[] }).options ?? []).map(String);
        const hint = typeof raw === 'string' ? didYouMean(raw, types) : '';
        return [at(`expected a fault type (${types.join(', ')}), found ${found}${hint}`)];
      }
      const branches = issue.errors;
      const matched = branches.filter((b) => b.some((i) => i.path.length > 0 || i.code !== 'invalid_type'));
      if (matched.length > 0) {
        const best = matched.reduce((a, b) => (b.length < a.length ? b : a));
        return best.flatMap((i) => issueProblems(i, path, source, data, forbidden));
      }
      const expected = [...new Set(branches.flatMap((b) => b.map((i) => (i.code === 'invalid_type' ? article(i.expected) : i.message))))];
      return [at(`expected ${expected.join(' or ')}, found ${found}`)];
    }
    case 'too_small':
    case 'too_big':
    case 'invalid_format':
    case 'custom':
      return [at(isDefaultMessage(issue.message) ? `${issue.message}, found ${found}` : `expected ${issue.message}, found ${found}`)];
    default:
      return [at(`${issue.message}, found ${found}`)];
  }
}

function article(type: string): string {
  const names: Record<string, string> = { object: 'a mapping', array: 'a list', string: 'a text', number: 'a number', boolean: 'true or false', record: 'a mapping', null: 'null' };
  return names[type] ?? type;
}

// ---- checks the schema cannot express --------------------------------------------------------

function checkLab(lab: Lab, source: LabSource, ctx: ValidateContext): Problem[] {
  const problems: Problem[] = [];
  const error = (path: YamlPath, message: string, key?: string) => problems.push(source.problem('error', path, message, key));
  const warn = (path: YamlPath, message: string, key?: string) => problems.push(source.problem('warning', path, message, key));
  checkRequirements(lab, ctx, warn);
  const models = servicesOf(lab);
  const serviceNames = models.map((m) => m.name);
  const networkNames = Object.keys(lab.networks);
  const byName = new Map(models.map((m) => [m.name, m]));

  for (const name of serviceNames) {
    if (RESERVED_SERVICE_NAMES.includes(name)) error(['services'], `service name "${name}" is reserved (it names ${name === 'host' ? 'the Docker host in probes' : 'a part of every lab'}); choose another`, name);
  }
  for (const name of networkNames) {
    if (RESERVED_NETWORK_NAMES.includes(name)) error(['networks'], `network name "${name}" is reserved by Docker; choose another`, name);
  }

  // Subnets: each network's own, and no two overlapping.
  const subnets: { name: string; cidr: Cidr }[] = [];
  for (const [name, def] of Object.entries(lab.networks)) {
    const opts = def?.driver_opts ?? {};
    for (const [key, value] of Object.entries(opts)) {
      const path: YamlPath = ['networks', name, 'driver_opts'];
      if (!(KNOWN_DRIVER_OPTS as readonly string[]).includes(key)) {
        error(path, `unknown driver option "${key}"${didYouMean(key, KNOWN_DRIVER_OPTS)}; expected one of: ${KNOWN_DRIVER_OPTS.join(', ')}`, key);
      } else if (key.endsWith('.mtu') && !(Number.isInteger(Number(value)) && Number(value) >= 68 && Number(value) <= 9000)) {
        error([...path, key], `expected an MTU from 68 to 9000, found ${describeValue(value)}`);
      } else if ((key.endsWith('enable_icc') || key.endsWith('enable_ip_masquerade')) && !['true', 'false'].includes(String(value))) {
        error([...path, key], `expected "true" or "false", found ${describeValue(value)}`);
      }
    }
    if (def?.driver === 'overlay' && opts['com.docker.network.bridge.enable_icc'] !== undefined) {
      error(['networks', name, 'driver_opts'], 'enable_icc is a bridge option; an overlay network ignores it');
    }
    const subnet = def?.ipam?.config[0]?.subnet;
    if (!subnet) continue;
    const cidr = parseCidr(subnet);
    const path: YamlPath = ['networks', name, 'ipam', 'config', 0, 'subnet'];
    if (cidr.prefix > 29) error(path, `expected a subnet of /29 or larger (room for the lab's containers and resolver), found /${cidr.prefix}`);
    const clash = subnets.find((s) => overlaps(s.cidr, cidr));
    if (clash) error(path, `subnet ${subnet} overlaps network "${clash.name}"'s subnet; expected subnets that do not overlap`);
    subnets.push({ name, cidr });
    const gw = def.ipam?.config[0]?.gateway;
    if (gw && !contains(cidr, gw)) error(['networks', name, 'ipam', 'config', 0, 'gateway'], `gateway ${gw} is outside subnet ${subnet}`);
  }
  const subnetOf = (network: string) => subnets.find((s) => s.name === network)?.cidr;

  // Services.
  const aliasOwners = new Map<string, string>();
  const fixedHostPorts = new Map<string, string>();
  for (const m of models) {
    const sp: YamlPath = ['services', m.name];
    const def = m.def;
    checkImage(def.image, ctx, (msg, sev) => (sev === 'error' ? error : warn)([...sp, 'image'], msg));

    if (def.network_mode && def.networks) error(sp, `"network_mode: ${def.network_mode}" and "networks" cannot both be set (Docker refuses it); expected one of them`, 'networks');
    const a = m.attachment;
    if (a.kind === 'service') {
      if (a.service === m.name) error([...sp, 'network_mode'], 'a service cannot share its own network namespace');
      else if (!byName.has(a.service)) error([...sp, 'network_mode'], `unknown service "${a.service}"${didYouMean(a.service, serviceNames)}; expected one of: ${serviceNames.join(', ')}`);
    }
    if (a.kind === 'networks') {
      a.networks.forEach((n, i) => {
        const np: YamlPath = Array.isArray(def.networks) ? [...sp, 'networks', i] : [...sp, 'networks'];
        if (!has(lab.networks, n.network)) {
          const msg = `unknown network "${n.network}"${didYouMean(n.network, networkNames)}; expected one of the lab's networks: ${networkNames.join(', ') || '(none defined: add it under networks:)'}`;
          if (Array.isArray(def.networks)) error(np, msg);
          else error(np, msg, n.network);
          return;
        }
        if (n.ipv4Address) {
          const cidr = subnetOf(n.network);
          const ap = [...sp, 'networks', n.network, 'ipv4_address'];
          if (!cidr) error(ap, `a fixed ipv4_address needs a fixed subnet: add ipam.config[0].subnet to network "${n.network}"`);
          else if (!contains(cidr, n.ipv4Address)) error(ap, `${n.ipv4Address} is outside network "${n.network}"'s subnet`);
          else if ([hostAt(cidr, 0), hostAt(cidr, 1), hostAt(cidr, -1), hostAt(cidr, -2)].includes(n.ipv4Address)) {
            error(ap, `${n.ipv4Address} is reserved (network, gateway, broadcast or the lab resolver, which takes ${hostAt(cidr, -2)}); expected another address`);
          }
        }
        for (const alias of n.aliases) {
          const key = `${n.network}/${alias}`;
          const owner = aliasOwners.get(key);
          if (owner && owner !== m.name) warn([...sp, 'networks', n.network, 'aliases'], `alias "${alias}" is also claimed by "${owner}" on network "${n.network}": Docker answers with both addresses in random order`);
          aliasOwners.set(key, m.name);
        }
      });
    }

    (def.depends_on && Array.isArray(def.depends_on) ? def.depends_on : Object.keys(def.depends_on ?? {})).forEach((dep, i) => {
      const dp: YamlPath = Array.isArray(def.depends_on) ? [...sp, 'depends_on', i] : [...sp, 'depends_on'];
      if (dep === m.name) error(dp, `"${m.name}" cannot depend on itself`, Array.isArray(def.depends_on) ? undefined : dep);
      else if (!byName.has(dep)) error(dp, `unknown service "${dep}"${didYouMean(dep, serviceNames)}; expected one of: ${serviceNames.join(', ')}`, Array.isArray(def.depends_on) ? undefined : dep);
    });

    m.ports.forEach((p, i) => {
      const pp: YamlPath = [...sp, 'ports', i];
      if (p.containerPort < 1 || p.containerPort > 65535) error(pp, `expected a container port from 1 to 65535, found ${p.containerPort}`);
      if (p.hostPort !== 'auto') {
        if (p.hostPort < 1 || p.hostPort > 65535) error(pp, `expected a host port from 1 to 65535 or auto, found ${p.hostPort}`);
        const key = `${p.hostIp}:${p.hostPort}/${p.proto}`;
        const other = fixedHostPorts.get(key);
        if (other) error(pp, `host port ${p.hostPort}/${p.proto} is already published by "${other}"; expected each host port once (or auto)`);
        fixedHostPorts.set(key, m.name);
        if (a.kind !== 'host') warn(pp, `fixed host port ${p.hostPort}: two sessions of this lab cannot run at once; "auto:${p.containerPort}" picks a free port per session`);
      }
      if (p.hostIp !== '127.0.0.1' && !p.hostIp.startsWith('127.')) warn(pp, `published on ${p.hostIp}: reachable from outside this machine; labs publish on 127.0.0.1`);
    });
    (def.expose ?? []).forEach((e, i) => {
      const n = Number(String(e).split('/')[0]);
      if (n < 1 || n > 65535) error([...sp, 'expose', i], `expected a port from 1 to 65535, found ${n}`);
    });
    if (a.kind === 'host' && m.ports.length > 0) {
      warn([...sp, 'ports'], 'published ports are discarded in host network mode (Docker ignores them): the service binds the host\'s ports directly');
    }
    if ((a.kind === 'host' || a.kind === 'none') && def.dns) warn([...sp, 'dns'], `dns is ignored with network_mode ${a.kind}`);

    (def.cap_add ?? []).forEach((cap, i) => {
      const c = cap.toUpperCase().replace(/^CAP_/, '');
      const cp: YamlPath = [...sp, 'cap_add', i];
      if (a.kind === 'host') error(cp, `a host-network service gets no capabilities (it would act on the host's own network); found cap_add ${cap}`);
      else if (!(ALLOWED_CAPS as readonly string[]).includes(c)) {
        error(cp, `capability ${cap} is not allowed in a lab${c === 'ALL' || c.startsWith('SYS_') || c.startsWith('MAC_') || c === 'BPF' ? ' (it reaches outside the container)' : ''}; expected one of: ${ALLOWED_CAPS.join(', ')}${didYouMean(c, ALLOWED_CAPS)}`);
      }
    });

    if (def.deploy) {
      if (lab.network !== 'overlay') error([...sp, 'deploy'], `deploy makes a swarm service, which needs an overlay lab; expected network: overlay at the top, found network: ${lab.network}`);
      if (a.kind !== 'networks') error([...sp, 'deploy'], 'a swarm service needs networks: (overlay networks), not network_mode');
      else for (const n of a.networks) {
        if (own(lab.networks, n.network) && own(lab.networks, n.network)?.driver !== 'overlay') error([...sp, 'networks'], `swarm service on network "${n.network}", which is not an overlay network; expected driver: overlay`);
      }
      if (def.healthcheck?.test !== undefined) warn([...sp, 'healthcheck'], 'swarm services are waited for until their tasks run; the healthcheck is passed to the tasks');
    } else if (a.kind === 'networks') {
      for (const n of a.networks) {
        const nd = own(lab.networks, n.network);
        if (nd?.driver === 'overlay' && nd.attachable !== true) {
          error([...sp, 'networks'], `container "${m.name}" joins overlay network "${n.network}", which is not attachable; expected attachable: true on the network (or deploy: to make it a swarm service)`);
        }
      }
    }
    if (def.healthcheck && !def.healthcheck.disable) {
      const t = def.healthcheck.test;
      if (Array.isArray(t) && !['CMD', 'CMD-SHELL', 'NONE'].includes(t[0]!)) {
        error([...sp, 'healthcheck', 'test', 0], `expected "CMD", "CMD-SHELL" or "NONE" first, found "${t[0]}"`);
      }
    }
    for (const [i, server] of (Array.isArray(def.dns) ? def.dns : def.dns ? [def.dns] : []).entries()) {
      const dp: YamlPath = Array.isArray(def.dns) ? [...sp, 'dns', i] : [...sp, 'dns'];
      if (!isLabLocal(server, subnets)) error(dp, `dns server ${server} is outside the lab: queries would leave this machine; expected an address inside one of the lab's fixed subnets or 127.0.0.0/8`);
    }
  }

  const cycle = dependencyCycle(models);
  if (cycle) error(['services', cycle[0]!], `dependency cycle: ${cycle.join(' -> ')}; expected services that can start in some order`, 'depends_on');

  // Network kinds the lab teaches.
  const drivers = Object.values(lab.networks).map((n) => n?.driver ?? 'bridge');
  if (lab.network === 'overlay' && !drivers.includes('overlay')) error(['network'], 'an overlay lab needs at least one network with driver: overlay');
  if (lab.network === 'host' && !models.some((m) => m.attachment.kind === 'host')) warn(['network'], 'a host lab usually has a service with network_mode: host');

  for (const [name, value] of Object.entries(lab.resolver?.records ?? {})) {
    for (const ip of Array.isArray(value) ? value : [value]) {
      if (!isLabLocal(ip, subnets)) warn(['resolver', 'records', name], `${name} answers ${ip}, outside the lab's fixed subnets: probes to it would leave this machine`);
    }
  }

  // Variants, faults, answers.
  const causeIds = (lab.diagnosis?.causes ?? []).map((c) => c.id);
  const dupCause = causeIds.find((c, i) => causeIds.indexOf(c) !== i);
  if (dupCause) error(['diagnosis', 'causes'], `cause id "${dupCause}" is used twice; expected unique ids`);
  const variantIds = lab.variants.map((v) => v.id);
  lab.variants.forEach((v, i) => {
    if (variantIds.indexOf(v.id) !== i) error(['variants', i, 'id'], `variant id "${v.id}" is used twice; expected unique ids`);
    v.faults.forEach((f, j) => checkFault(f, ['variants', i, 'faults', j]));
    checkAnswer(v.answer, ['variants', i, 'answer']);
  });
  lab.faults.forEach((f, j) => checkFault(f, ['faults', j]));
  if (lab.answer) checkAnswer(lab.answer, ['answer']);
  if (lab.variants.length > 0 && lab.answer) error(['answer'], 'a lab with variants keeps each answer in its variant; expected no top-level answer');
  if (lab.diagnosis && lab.variants.length === 0 && !lab.answer) warn(['diagnosis'], 'a diagnosis without variants or an answer cannot be graded; add variants (or answer:)');

  function checkAnswer(ans: { cause: string; culprit: string }, path: YamlPath) {
    if (lab.diagnosis && !causeIds.includes(ans.cause)) {
      error([...path, 'cause'], `unknown cause "${ans.cause}"${didYouMean(ans.cause, causeIds)}; expected one of diagnosis.causes: ${causeIds.join(', ')}`);
    }
    if (!isCulprit(ans.culprit)) {
      error([...path, 'culprit'], `unknown culprit "${ans.culprit}"; expected a service (${serviceNames.join(', ')}), a network (${networkNames.join(', ') || 'none'}), lab-dns, or a flow like "api->db:5432/tcp"`);
    }
  }
  function isCulprit(c: string): boolean {
    if (byName.has(c) || has(lab.networks, c) || c === 'lab-dns' || c === 'host') return true;
    const flow = /^([a-z][a-z0-9-]*)->([a-z][a-z0-9-]*)(:\d{1,5}(\/(tcp|udp))?)?$/.exec(c);
    return !!flow && [flow[1], flow[2]].every((s) => byName.has(s!) || s === 'host' || s === 'lab-dns');
  }
  function checkFault(f: Fault, path: YamlPath) {
    for (const issue of faultIssues(lab, f)) (issue.severity === 'error' ? error : warn)([...path, issue.key], issue.message);
  }

  // Probes and fix checks.
  const checkProbe = (from: string, to: string, path: YamlPath) => {
    if (from !== 'host' && !byName.has(from)) {
      error([...path, 'from'], `unknown probe source "${from}"${didYouMean(from, [...serviceNames, 'host'])}; expected host or a service: ${serviceNames.join(', ')}`);
    }
    for (const message of referenceIssues(lab, to)) error([...path, 'to'], message);
    const plain = parseProbeTarget(to.replace(/\$\{[^}]*\}/g, '1'));
    if (plain && 'host' in plain && /^\d+\.\d+\.\d+\.\d+$/.test(plain.host) && !isLabLocal(plain.host, subnets)) {
      error([...path, 'to'], `probe target ${plain.host} is outside the lab; expected a lab name, a lab address or localhost`);
    }
  };
  lab.probes.forEach((p, i) => checkProbe(p.from, p.to, ['probes', i]));
  (lab.fix?.expect ?? []).forEach((p, i) => checkProbe(p.from, p.to, ['fix', 'expect', i]));

  lab.solution.forEach((step, i) => {
    const sp: YamlPath = ['solution', i];
    for (const v of step.variant === undefined ? [] : Array.isArray(step.variant) ? step.variant : [step.variant]) {
      if (!variantIds.includes(v)) error([...sp, 'variant'], `unknown variant "${v}"${didYouMean(v, variantIds)}; expected one of: ${variantIds.join(', ') || '(the lab has no variants)'}`);
    }
    const target = 'exec' in step ? step.exec.service : 'recreate' in step ? step.recreate.service : 'connect' in step ? step.connect.service : 'disconnect' in step ? step.disconnect.service : undefined;
    if (target !== undefined && !byName.has(target)) error(sp, `unknown service "${target}"${didYouMean(target, serviceNames)}; expected one of: ${serviceNames.join(', ')}`);
    const net = 'connect' in step ? step.connect.network : 'disconnect' in step ? step.disconnect.network : undefined;
    if (net !== undefined && !has(lab.networks, net)) error(sp, `unknown network "${net}"; expected one of: ${networkNames.join(', ')}`);
    if ('console' in step && !/^docker\s/.test(step.console)) error([...sp, 'console'], `expected a docker CLI command starting with "docker ", found "${step.console}"`);
  });

  return problems;
}

/** What is wrong with the `${...}` references in a text: each must name a service, its port or network. */
function referenceIssues(lab: Lab, text: string): string[] {
  const byName = new Map(servicesOf(lab).map((m) => [m.name, m]));
  const out: string[] = [];
  for (const raw of referencesIn(text)) {
    const ref = parseReference(raw);
    if (!ref) {
      out.push(`cannot read \${${raw}}; expected \${<service>.ports.<port>}, \${<service>.ip} or \${<service>.ips.<network>}`);
      continue;
    }
    const target = byName.get(ref.service);
    if (!target) out.push(`\${${raw}} names unknown service "${ref.service}"${didYouMean(ref.service, [...byName.keys()])}; expected one of: ${[...byName.keys()].join(', ')}`);
    else if (ref.kind === 'port' && !target.ports.some((p) => p.containerPort === ref.containerPort && p.proto === ref.proto)) {
      out.push(`\${${raw}}: "${ref.service}" does not publish ${ref.containerPort}/${ref.proto}; expected one of its ports: ${target.ports.map((p) => `${p.containerPort}/${p.proto}`).join(', ') || '(none)'}`);
    } else if (ref.kind === 'ip' && ref.network && !has(lab.networks, ref.network)) {
      out.push(`\${${raw}} names unknown network "${ref.network}"; expected one of: ${Object.keys(lab.networks).join(', ')}`);
    } else if (ref.kind === 'ip' && target.swarm) {
      out.push(`\${${raw}}: "${ref.service}" is a swarm service, whose tasks come and go; expected a container's address`);
    }
  }
  return out;
}

/** What is wrong with a fault for this lab (unknown service, a netns fault on the host's network...). */
export function faultIssues(lab: Lab, f: Fault): { key: string; severity: 'error' | 'warning'; message: string }[] {
  const out: { key: string; severity: 'error' | 'warning'; message: string }[] = [];
  const error = (key: string, message: string) => out.push({ key, severity: 'error', message });
  const models = servicesOf(lab);
  const byName = new Map(models.map((m) => [m.name, m]));
  const serviceNames = models.map((m) => m.name);
  const networkNames = Object.keys(lab.networks);
  const svc = 'service' in f ? f.service : undefined;
  if (svc !== undefined && !byName.has(svc)) error('service', `unknown service "${svc}"${didYouMean(svc, serviceNames)}; expected one of: ${serviceNames.join(', ')}`);
  for (const key of ['network', 'to'] as const) {
    const net = key in f ? (f as Record<string, unknown>)[key] : undefined;
    if (typeof net === 'string' && !has(lab.networks, net)) error(key, `unknown network "${net}"${didYouMean(net, networkNames)}; expected one of: ${networkNames.join(', ')}`);
  }
  if ('peer' in f && f.peer !== undefined && !byName.has(f.peer)) error('peer', `unknown service "${f.peer}"; expected one of: ${serviceNames.join(', ')}`);
  const model = svc === undefined ? undefined : byName.get(svc);
  if (model && NETNS_FAULTS.has(f.type) && model.attachment.kind === 'host') {
    error('type', `a ${f.type} fault on host-network service "${svc}" would change the Docker host itself; expected a bridged service`);
  }
  if (model && f.type === 'bind-loopback' && !model.listens.some((l) => l.port === f.port)) {
    out.push({ key: 'port', severity: 'warning', message: `"${svc}" neither publishes nor exposes port ${f.port}` });
  }
  if (model && (f.type === 'port-mismatch' || f.type === 'unpublish' || f.type === 'port-conflict') && !model.ports.some((p) => p.containerPort === f.port)) {
    error('port', `"${svc}" does not publish container port ${f.port}; expected one of: ${model.ports.map((p) => p.containerPort).join(', ') || '(none)'}`);
  }
  if (f.type === 'hosts-override') for (const message of referenceIssues(lab, f.address)) error('address', message);
  if (model && (f.type === 'endpoint-mode' || f.type === 'replicas') && !model.swarm) error('service', `${f.type} needs a swarm service: expected a service with deploy:, found "${svc}" without it`);
  const planned = model?.def.deploy?.replicas ?? 1;
  if (model?.swarm && f.type === 'replicas' && f.replicas >= planned) {
    error('replicas', `replicas takes "${svc}" below the ${planned} it runs with; expected fewer, found ${f.replicas}`);
  }
  if (f.type === 'firewall' && f.port !== undefined && (f.proto === 'icmp' || f.proto === 'all')) error('port', `a firewall on a port needs proto tcp or udp, found ${f.proto}`);
  const netDef = 'network' in f && typeof f.network === 'string' ? own(lab.networks, f.network) : undefined;
  if ((f.type === 'icc-off' || f.type === 'internal-network') && (netDef?.driver ?? 'bridge') !== 'bridge') error('network', `${f.type} needs a bridge network, found driver ${netDef?.driver}`);
  if (f.type === 'non-attachable' && netDef?.driver !== 'overlay') error('network', `non-attachable needs an overlay network, found driver ${netDef?.driver ?? 'bridge'}`);
  return out;
}

/** What the engine cannot run, said where the lab asks for it: `flowlab up` refuses it there. */
function checkRequirements(lab: Lab, ctx: ValidateContext, warn: (path: YamlPath, message: string) => void): void {
  if (!ctx.features) return;
  const features = ctx.features;
  const engine = ctx.engine ?? 'this machine';
  const say = (path: YamlPath, needs: Requirement[], what: string) => {
    for (const n of unmet(needs, features)) warn(path, `${REQUIREMENT_WHY[n]}, and the Docker engine at ${engine} has no ${n === 'netem' ? 'sch_netem' : 'IPVS'} in its kernel: flowlab up refuses ${what} there`);
  };
  for (const m of servicesOf(lab)) {
    if (m.swarm && (m.def.deploy?.endpoint_mode ?? 'vip') === 'vip') say(['services', m.name, ...(m.def.deploy?.endpoint_mode ? ['deploy', 'endpoint_mode'] : [])], ['ipvs'], 'this lab');
  }
  lab.faults.forEach((f, i) => say(['faults', i], faultRequirements(f), 'this lab'));
  lab.variants.forEach((v, j) => v.faults.forEach((f, i) => say(['variants', j, 'faults', i], faultRequirements(f), `variant ${v.id}`)));
}

function isLabLocal(ip: string, subnets: { cidr: Cidr }[]): boolean {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return ip === '::1';
  return ip.startsWith('127.') || subnets.some((s) => contains(s.cidr, ip));
}

function checkImage(image: string, ctx: ValidateContext, report: (msg: string, severity: 'error' | 'warning') => void): void {
  if (labImage(image)) return;
  if (ctx.localImages === undefined) {
    report(`cannot check image "${image}": Docker is not reachable; expected a lab image (toolbox) or an image present locally`, 'warning');
    return;
  }
  const ref = image.includes(':') || image.includes('@') ? image : `${image}:latest`;
  if (!ctx.localImages.has(ref) && !ctx.localImages.has(image)) {
    report(`image "${image}" is neither a lab image (toolbox) nor present locally (no registry can be reached to pull it); expected toolbox or a local image`, 'error');
  }
}

/** Duplicate lab ids across files. */
export function crossFileProblems(checks: LabCheck[]): Problem[] {
  const seen = new Map<string, string>();
  const problems: Problem[] = [];
  for (const c of checks) {
    if (!c.lab) continue;
    const first = seen.get(c.lab.id);
    if (first) {
      problems.push({ severity: 'error', file: c.file, line: 1, column: 1, path: 'id', message: `lab id "${c.lab.id}" is already used by ${first}; expected unique ids` });
    } else seen.set(c.lab.id, c.file);
  }
  return problems;
}

export type { ServiceModel };
