// `flowlab validate` and `up` run the same checks: the schema, then what the schema cannot see
// (references between parts, cycles, subnets, ports, images, what a lab must never ask for).
import type { z } from 'zod';
import { FAULT_TYPES } from './fault-schema.ts';
import { servicesOf } from './model.ts';
import { describeValue, didYouMean, type Problem, type YamlPath } from './problems.ts';
import { KNOWN_KEYS, labSchema, type Lab } from './schema.ts';
import { readLabSource, type LabSource } from './source.ts';
import type { EngineFeatures } from './requirements.ts';
import type { LabChecks } from './checks/context.ts';
import { checkRequirements } from './checks/engine.ts';
import { checkGrading } from './checks/grading.ts';
import { checkNetworks } from './checks/networks.ts';
import { checkNodes } from './checks/nodes.ts';
import { checkServices } from './checks/services.ts';

export interface ValidateContext {
  /** Image references present on the daemon, or undefined when Docker could not be asked. */
  localImages?: ReadonlySet<string>;
  /** The kernel features of the engine labs would run on (false: known missing), and where it is. */
  features?: EngineFeatures;
  engine?: string;
}

export interface LabCheck {
  file: string;
  lab?: Lab;
  problems: Problem[];
}


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
  if (path.length === 2 && path[0] === 'nodes') return KNOWN_KEYS.node;
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
  const models = servicesOf(lab);
  const c: LabChecks = {
    lab,
    ctx,
    models,
    serviceNames: models.map((m) => m.name),
    networkNames: Object.keys(lab.networks),
    byName: new Map(models.map((m) => [m.name, m])),
    subnets: [],
    error: (path, message, key) => problems.push(source.problem('error', path, message, key)),
    warn: (path, message, key) => problems.push(source.problem('warning', path, message, key)),
  };
  checkRequirements(c);
  checkNetworks(c);
  checkServices(c);
  checkNodes(c);
  checkGrading(c);
  return problems;
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

export { faultIssues } from './checks/grading.ts';
