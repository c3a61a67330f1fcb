// A lab's own nodes as Docker objects on the session's engine: one engine-node container per
// node, on an underlay network of the session's own (internal: nothing leaves it, the nodes reach
// only each other). Pure, like plan.ts.
import type { ContainerSpec, NetworkSpec } from '../docker/specs.ts';
import { LABEL, objectName, sessionLabels, type SessionRef } from '../docker/labels.ts';
import { hostAt, parseCidr } from '../lab/ipv4.ts';
import { ENGINE_NODE_REF } from '../lab/lab-images.ts';
import { leaderOf, nodesOf, type NodeModel } from '../lab/nodes.ts';
import type { Lab } from '../lab/schema.ts';
import type { Allocation } from '../store/sessions.ts';
import { baseContainer } from './plan.ts';

/** The underlay's key in a session's allocation (never a lab network's name: those have no dot). */
export const UNDERLAY_KEY = '.underlay';
export const UNDERLAY_NAME = 'underlay';

/**
 * What each node container may take of its engine: its dockerd and the lab containers inside it
 * (each under its own lab limits). A node is infrastructure, never a learner's shell.
 */
export const NODE_LIMITS = { memoryBytes: 1024 * 1024 * 1024, nanoCpus: 1.5e9, pidsLimit: 4096 };

export interface PlannedNode extends NodeModel {
  /** Its address on the underlay: what the swarm advertises, where VXLAN leaves from. */
  ip: string;
  container: ContainerSpec;
}

export interface NodesPlan {
  underlay: NetworkSpec;
  nodes: PlannedNode[];
  leader: PlannedNode;
}

/** Docker's name of a node's container: the node's name with `.node`, which no service name can be. */
export function nodeContainerName(session: string, node: string): string {
  return objectName(session, `${node}.node`);
}

export function planNodes(lab: Lab, ref: SessionRef, alloc: Allocation): NodesPlan | undefined {
  const models = nodesOf(lab);
  const lead = leaderOf(models);
  const subnet = alloc.subnets[UNDERLAY_KEY];
  if (models.length === 0 || !lead) return undefined;
  if (!subnet) throw new Error(`session ${ref.session} has nodes but no underlay subnet in its allocation`);
  const cidr = parseCidr(subnet);
  const underlay: NetworkSpec = {
    name: objectName(ref.session, UNDERLAY_NAME),
    driver: 'bridge',
    subnet,
    internal: true,
    attachable: false,
    options: {},
    labels: sessionLabels(ref, UNDERLAY_NAME, 'network'),
  };
  const nodes = models.map((n, i): PlannedNode => {
    const ip = hostAt(cidr, 10 + i);
    return {
      ...n,
      ip,
      container: {
        ...baseContainer(nodeContainerName(ref.session, n.name), ENGINE_NODE_REF, { ...sessionLabels(ref, n.name, 'node'), [LABEL.node]: n.name }),
        network: { kind: 'networks', endpoints: [{ network: underlay.name, aliases: [n.name], ipv4Address: ip }] },
        // Not --privileged (refused where root lacks CAP_SYS_RESOURCE): every capability but that one.
        capAdd: ['ALL'],
        capDrop: ['SYS_RESOURCE'],
        readOnly: false,
        init: false,
        tmpfs: { '/run': '', '/tmp': '' },
        ...NODE_LIMITS,
        nestedEngine: { hostname: n.name },
        // No resolver in the node (see the image's entrypoint): its engine asks no registry, and
        // nothing in the lab resolves outside it.
        env: ['FLOWLAB_NODE_DNS=none'],
        command: ['--log-level=warn'],
      },
    };
  });
  return { underlay, nodes, leader: nodes.find((n) => n.name === lead.name)! };
}
