import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { constraintsOf, leaderOf, meets, nodesOf, parseConstraint, placeable, placementOf } from './nodes.ts';
import { validateLabText } from './validate.ts';

const nodes = nodesOf({
  nodes: { 'manager-1': { role: 'manager' }, 'worker-1': { labels: { zone: 'a' } }, 'worker-2': { labels: { zone: 'b', ssd: true } } },
});

describe('nodes and placement constraints', () => {
  it('reads nodes in file order, workers by default, label values as text', () => {
    expect(nodes).toEqual([
      { name: 'manager-1', role: 'manager', labels: {} },
      { name: 'worker-1', role: 'worker', labels: { zone: 'a' } },
      { name: 'worker-2', role: 'worker', labels: { zone: 'b', ssd: 'true' } },
    ]);
    expect(leaderOf(nodes)?.name).toBe('manager-1');
    expect(nodesOf({})).toEqual([]);
  });

  it('reads the constraint forms swarm takes, spaces or not', () => {
    expect(parseConstraint('node.hostname == worker-1')).toMatchObject({ attribute: 'hostname', op: '==', value: 'worker-1' });
    expect(parseConstraint('node.role!=manager')).toMatchObject({ attribute: 'role', op: '!=', value: 'manager' });
    expect(parseConstraint(' node.labels.zone == b ')).toMatchObject({ attribute: 'label', label: 'zone', op: '==', value: 'b', text: 'node.labels.zone == b' });
    expect(parseConstraint('node.platform.os == linux')).toBeUndefined();
    expect(parseConstraint('hostname == a')).toBeUndefined();
  });

  it('matches as swarm does: every constraint must hold, a missing label equals nothing', () => {
    const on = (...texts: string[]) => placeable(texts.map((t) => parseConstraint(t)!), nodes).map((n) => n.name);
    expect(on('node.role == worker')).toEqual(['worker-1', 'worker-2']);
    expect(on('node.role == worker', 'node.labels.zone == b')).toEqual(['worker-2']);
    expect(on('node.labels.zone != a')).toEqual(['manager-1', 'worker-2']);
    expect(on('node.labels.zone == c')).toEqual([]);
    expect(on()).toEqual(['manager-1', 'worker-1', 'worker-2']);
    expect(meets(nodes[0]!, parseConstraint('node.hostname == manager-1')!)).toBe(true);
    expect(constraintsOf({ image: 'x', deploy: { placement: { constraints: ['node.role == manager', 'bogus'] } } }).map((c) => c.text)).toEqual(['node.role == manager']);
  });
});

const base = `id: nodes-lab
title: Nodes
summary: Three nodes.
level: intermediate
network: overlay
minutes: 5
briefing: A ticket.
nodes:
  manager-1: { role: manager }
  worker-1: { labels: { zone: a } }
  worker-2: {}
networks:
  mesh: { driver: overlay, attachable: true }
services:
  web:
    image: toolbox
    networks: [mesh]
    deploy: { replicas: 2, placement: { constraints: ["node.role == worker"] } }
  client: { image: toolbox, networks: [mesh], node: worker-1 }
`;
const ctx = { localImages: new Set(['flowlab/toolbox:latest']) };
const check = (edit: (lab: Record<string, any>) => void = () => {}) => {
  const data = parse(base);
  edit(data);
  return validateLabText('lab.yaml', stringify(data), ctx).problems.map((p) => `${p.severity} ${p.path}: ${p.message}`);
};

describe('validating a lab with nodes', () => {
  it('takes the lab as written, and places its services as the constraints and node: say', () => {
    expect(check()).toEqual([]);
    const lab = validateLabText('lab.yaml', base, ctx).lab!;
    expect(placementOf(lab)).toEqual({ web: ['worker-1', 'worker-2'], client: ['worker-1'] });
    expect(placementOf({ ...lab, nodes: undefined })).toEqual({});
  });

  it('says which node a plain container lacks, and which node name was meant', () => {
    expect(check((l) => delete l.services.client.node)).toEqual([expect.stringMatching(/^error services\.client: a plain container in a lab with nodes runs on one of them; expected node: <one of manager-1, worker-1, worker-2>/)]);
    expect(check((l) => (l.services.client.node = 'worker-3'))).toEqual([expect.stringMatching(/^error services\.client\.node: unknown node "worker-3" \(did you mean "worker-1"\?\); expected one of: manager-1, worker-1, worker-2/)]);
    expect(check((l) => (l.services.web.node = 'worker-1'))).toEqual([expect.stringMatching(/a swarm service places itself; expected deploy\.placement\.constraints: \["node\.hostname == worker-1"\]/)]);
    expect(check((l) => (l.nodes.web = {}))).toEqual([expect.stringMatching(/^error nodes\.web: node "web" has the name of a service: the graph and the flows name both; expected a node name no service has/)]);
  });

  it('warns of a constraint no node meets, and of a hostname no node has', () => {
    expect(check((l) => (l.services.web.deploy.placement.constraints = ['node.labels.zone == c']))).toEqual([expect.stringMatching(/^warning services\.web\.deploy\.placement: no node meets every constraint \(node\.labels\.zone == c\): "web" would run 0 tasks, each pending; the nodes are manager-1 \(manager\), worker-1 \(worker, zone=a\), worker-2 \(worker\)/)]);
    const problems = check((l) => (l.services.web.deploy.placement.constraints = ['node.hostname == worker-9']));
    expect(problems).toContainEqual(expect.stringMatching(/^warning services\.web\.deploy\.placement\.constraints\[0\]: no node is named "worker-9" \(did you mean "worker-1"\?\)/));
    expect(check((l) => (l.services.web.deploy.placement.constraints = ['node.os == linux']))).toEqual([expect.stringMatching(/^error services\.web\.deploy\.placement\.constraints\[0\]: expected a placement constraint like "node\.hostname == worker-1"/)]);
  });

  it('needs a manager, overlay networks only, no published ports, at most five nodes', () => {
    expect(check((l) => (l.nodes['manager-1'].role = 'worker'))).toContainEqual(expect.stringMatching(/^error nodes: a swarm needs a manager/));
    expect(check((l) => (l.networks.side = { driver: 'bridge' }))).toContainEqual(expect.stringMatching(/^error networks\.side: network "side" would be a bridge on one node only/));
    expect(check((l) => (l.services.client.ports = ['auto:80']))).toContainEqual(expect.stringMatching(/^error services\.client\.ports: a lab with nodes publishes no ports/));
    expect(check((l) => (l.network = 'bridge'))).toContainEqual(expect.stringMatching(/^error network: a lab with nodes is an overlay lab/));
    expect(check((l) => Object.assign(l.nodes, { a: null, b: null, c: null }))).toEqual([expect.stringMatching(/^error nodes: expected at most 5 nodes/)]);
    expect(check((l) => (l.nodes['worker-1'].colour = 'red'))).toEqual([expect.stringMatching(/^error nodes\.worker-1\.colour: unknown key "colour"; expected one of: role, labels/)]);
  });

  it('refuses node: and constraints in a lab without nodes', () => {
    const problems = check((l) => delete l.nodes);
    expect(problems).toContainEqual(expect.stringMatching(/^error services\.client\.node: "node: worker-1" needs the lab's own nodes/));
    expect(problems).toContainEqual(expect.stringMatching(/^error services\.web\.deploy\.placement: placement constraints need the lab's own nodes/));
  });
});
