// What a lab grades and proves: causes, variants and their answers, faults, probes and fix checks,
// solution steps — each naming services, networks and variants the lab has.
import { NETNS_FAULTS, NODE_FAULTS } from '../fault-schema.ts';
import { nodesOf } from '../nodes.ts';
import { servicesOf } from '../model.ts';
import { didYouMean, type YamlPath } from '../problems.ts';
import { durationMs, MIN_TRAFFIC_EVERY_MS, type Fault, type Lab } from '../schema.ts';
import { parseProbeTarget, parseReference, referencesIn } from '../targets.ts';
import { has, own } from '../../util/lookup.ts';
import { isLabLocal, type LabChecks } from './context.ts';

export function checkGrading(c: LabChecks): void {
  const { lab, error, warn, serviceNames, networkNames, byName, subnets } = c;
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
      const nodes = Object.keys(lab.nodes ?? {});
      error([...path, 'culprit'], `unknown culprit "${ans.culprit}"; expected a service (${serviceNames.join(', ')}), a network (${networkNames.join(', ') || 'none'}), ${nodes.length ? `a node (${nodes.join(', ')}), ` : ''}lab-dns, or a flow like "api->db:5432/tcp"`);
    }
  }
  function isCulprit(c: string): boolean {
    if (byName.has(c) || has(lab.networks, c) || has(lab.nodes ?? {}, c) || c === 'lab-dns' || c === 'host') return true;
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
  // The apps' own traffic: from a service (as the app would), at a pace a lab can carry.
  lab.traffic.forEach((t, i) => {
    const tp: YamlPath = ['traffic', i];
    if (t.from === 'host') error([...tp, 'from'], `traffic is what a lab's apps send by themselves; expected a service: ${serviceNames.join(', ')}, found host (a probe can come from host)`);
    else checkProbe(t.from, t.to, tp);
    const every = durationMs(t.every);
    if (every < MIN_TRAFFIC_EVERY_MS) error([...tp, 'every'], `expected an interval of at least ${MIN_TRAFFIC_EVERY_MS}ms, found ${t.every}: traffic that fast would bury what the learner does`);
    if (t.jitter !== undefined && durationMs(t.jitter) >= every) warn([...tp, 'jitter'], `jitter ${t.jitter} is not shorter than every ${t.every}: calls may come twice as far apart; expected less than ${t.every}`);
  });
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
  const nodeNames = Object.keys(lab.nodes ?? {});
  if (NODE_FAULTS.has(f.type)) {
    if (nodeNames.length === 0) error('type', `${f.type} acts on the lab's own nodes; expected a lab with nodes: (this one runs on its engine alone)`);
    for (const key of ['node', 'peer'] as const) {
      const n = key in f ? (f as Record<string, unknown>)[key] : undefined;
      if (nodeNames.length > 0 && typeof n === 'string' && !nodeNames.includes(n)) error(key, `unknown node "${n}"${didYouMean(n, nodeNames)}; expected one of: ${nodeNames.join(', ')}`);
    }
    if (f.type === 'underlay-block' && f.peer === f.node) error('peer', `a node's underlay to itself is not blocked; expected another node than "${f.node}"`);
    if (f.type === 'node-label' && nodesOf(lab).find((n) => n.name === f.node)?.labels[f.label] === f.value) error('value', `node "${f.node}" already has ${f.label}=${f.value}; expected a wrong value (or none, to remove it)`);
  } else if ('peer' in f && f.peer !== undefined && !byName.has(f.peer)) error('peer', `unknown service "${f.peer}"; expected one of: ${serviceNames.join(', ')}`);
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
