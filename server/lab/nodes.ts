// A lab's own Docker nodes and where its services go on them: the nodes in canonical form, and
// Compose's placement constraints read and matched the way swarm matches them. Pure.
import { servicesOf } from './model.ts';
import { CONSTRAINT_RE, type Lab, type ServiceDef } from './schema.ts';

export type NodeRole = 'manager' | 'worker';

export interface NodeModel {
  name: string;
  role: NodeRole;
  labels: Record<string, string>;
}

export interface Constraint {
  /** As written, for messages. */
  text: string;
  attribute: 'hostname' | 'role' | 'label';
  /** The label's key, for `node.labels.<key>`. */
  label?: string;
  op: '==' | '!=';
  value: string;
}

/** The lab's nodes in file order; empty for a lab that runs on its engine alone. */
export function nodesOf(lab: Pick<Lab, 'nodes'>): NodeModel[] {
  return Object.entries(lab.nodes ?? {}).map(([name, def]) => ({
    name,
    role: def?.role ?? 'worker',
    labels: Object.fromEntries(Object.entries(def?.labels ?? {}).map(([k, v]) => [k, String(v)])),
  }));
}

export function hasNodes(lab: Pick<Lab, 'nodes'>): boolean {
  return Object.keys(lab.nodes ?? {}).length > 0;
}

/** The node that initialises the swarm and holds the lab's networks and services: the first manager. */
export function leaderOf(nodes: readonly NodeModel[]): NodeModel | undefined {
  return nodes.find((n) => n.role === 'manager');
}

export function parseConstraint(text: string): Constraint | undefined {
  const m = CONSTRAINT_RE.exec(text);
  if (!m) return undefined;
  const attribute = m[1] === 'hostname' ? 'hostname' : m[1] === 'role' ? 'role' : 'label';
  return { text: text.trim(), attribute, ...(attribute === 'label' ? { label: m[2]! } : {}), op: m[3] as '==' | '!=', value: m[4]! };
}

export function constraintsOf(def: ServiceDef): Constraint[] {
  return (def.deploy?.placement?.constraints ?? []).flatMap((t) => parseConstraint(t) ?? []);
}

/** Whether a node meets a constraint (a missing label is unequal to any value, as in swarm). */
export function meets(node: NodeModel, c: Constraint): boolean {
  const have = c.attribute === 'hostname' ? node.name : c.attribute === 'role' ? node.role : node.labels[c.label!];
  return c.op === '==' ? have === c.value : have !== c.value;
}

/** The nodes a service's tasks may run on: those meeting every constraint. */
export function placeable(constraints: readonly Constraint[], nodes: readonly NodeModel[]): NodeModel[] {
  return nodes.filter((n) => constraints.every((c) => meets(n, c)));
}

/**
 * Where the lab places each service among its nodes, as designed: a plain container's node, the
 * nodes a swarm service's constraints allow (empty for a lab without nodes).
 */
export function placementOf(lab: Lab): Record<string, string[]> {
  const nodes = nodesOf(lab);
  if (nodes.length === 0) return {};
  return Object.fromEntries(servicesOf(lab).map((m) => [m.name, m.swarm ? placeable(constraintsOf(m.def), nodes).map((n) => n.name) : m.def.node ? [m.def.node] : []]));
}
