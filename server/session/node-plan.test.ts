import { describe, expect, it } from 'vitest';
import { containerCreate } from '../docker/cli.ts';
import { LABEL } from '../docker/labels.ts';
import { validateLabText } from '../lab/validate.ts';
import { nodeContainerName, planNodes, UNDERLAY_KEY } from './node-plan.ts';
import { footprint, LIMITS, NODE_OVERHEAD_BYTES, planLab } from './plan.ts';

const ref = { session: '3f2a09c1', scenario: 'nodes-lab', owner: 'abc123', registry: '/data' };
const text = `id: nodes-lab
title: Nodes
summary: Three nodes.
level: intermediate
network: overlay
minutes: 5
briefing: A ticket.
nodes:
  worker-1: { labels: { zone: a } }
  manager-1: { role: manager }
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
const lab = validateLabText('lab.yaml', text, { localImages: new Set(['flowlab/toolbox:latest']) }).lab!;
const alloc = { subnets: { mesh: '10.88.3.0/24', [UNDERLAY_KEY]: '10.88.9.0/24' }, hostPorts: {} };

describe('planNodes', () => {
  const plan = planNodes(lab, ref, alloc)!;

  it('gives each node a container on the session\'s own internal underlay, at a fixed address', () => {
    expect(plan.underlay).toMatchObject({ name: 'fl-3f2a09c1-underlay', driver: 'bridge', subnet: '10.88.9.0/24', internal: true });
    expect(plan.nodes.map((n) => [n.name, n.role, n.ip, n.container.name])).toEqual([
      ['worker-1', 'worker', '10.88.9.10', 'fl-3f2a09c1-worker-1.node'],
      ['manager-1', 'manager', '10.88.9.11', 'fl-3f2a09c1-manager-1.node'],
      ['worker-2', 'worker', '10.88.9.12', 'fl-3f2a09c1-worker-2.node'],
    ]);
    expect(plan.leader.name).toBe('manager-1');
    expect(nodeContainerName('3f2a09c1', 'worker-2')).toBe('fl-3f2a09c1-worker-2.node');
  });

  it('runs an engine node: not privileged, every capability but SYS_RESOURCE, no profiles, limits, no host mount, labelled', () => {
    const c = plan.nodes[0]!.container;
    const cmd = containerCreate(c);
    expect(cmd).toContain('--cap-add ALL --security-opt seccomp=unconfined --security-opt apparmor=unconfined');
    expect(cmd).toContain('--cap-drop SYS_RESOURCE');
    expect(cmd).toContain('--hostname worker-1');
    expect(cmd).toMatch(/--memory 1024m .*--pids-limit 4096/);
    expect(cmd).not.toMatch(/--privileged|--volume|-v |docker\.sock/);
    expect(c.labels).toMatchObject({ [LABEL.managed]: 'true', [LABEL.session]: '3f2a09c1', [LABEL.scenario]: 'nodes-lab', [LABEL.role]: 'node', [LABEL.node]: 'worker-1' });
    expect(c.env).toContain('FLOWLAB_NODE_DNS=none');
  });

  it('is nothing for a lab without nodes', () => {
    expect(planNodes({ ...lab, nodes: undefined }, ref, alloc)).toBeUndefined();
  });
});

describe('footprint of a lab with nodes', () => {
  it('counts each node container, its engine and its underlay capture besides the lab containers inside', () => {
    const inside = 1 + 2 + 1 + 1; // resolver, web's two tasks, client, client's capture
    expect(footprint(lab)).toEqual({ containers: inside + 3 + 3, memoryBytes: (inside + 3) * LIMITS.memoryBytes + 3 * NODE_OVERHEAD_BYTES });
    expect(footprint({ ...lab, capture: false }).containers).toBe(inside - 1 + 3);
  });
});

describe('planLab in a lab with nodes', () => {
  const plan = planLab(lab, ref, alloc);
  it('puts each plain container on its node, the resolver on the leader, and passes constraints to swarm', () => {
    expect(plan.services.find((s) => s.name === 'client')!.container!.labels[LABEL.node]).toBe('worker-1');
    expect(plan.resolver!.labels[LABEL.node]).toBe('manager-1');
    const web = plan.services.find((s) => s.name === 'web')!.swarm!;
    expect(web.constraints).toEqual(['node.role == worker']);
  });
});
