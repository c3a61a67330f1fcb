// A lab's own nodes: roles, what may run across them (overlay networks only, no host ports), which
// node each plain container takes, and placement constraints some node can meet.
import { constraintsOf, hasNodes, nodesOf, parseConstraint, placeable } from '../nodes.ts';
import { didYouMean, type YamlPath } from '../problems.ts';
import type { LabChecks } from './context.ts';

export function checkNodes(c: LabChecks): void {
  const { lab, error, warn, models } = c;
  const nodes = nodesOf(lab);
  const names = nodes.map((n) => n.name);
  if (!hasNodes(lab)) {
    for (const m of models) {
      const sp: YamlPath = ['services', m.name];
      if (m.def.node !== undefined) error([...sp, 'node'], `"node: ${m.def.node}" needs the lab's own nodes; expected a nodes: section at the top naming "${m.def.node}", or no node:`);
      if (m.def.deploy?.placement?.constraints?.length) error([...sp, 'deploy', 'placement'], 'placement constraints need the lab\'s own nodes; expected a nodes: section at the top (the session\'s engine alone is one node)');
    }
    return;
  }
  for (const n of nodes) {
    if (models.some((m) => m.name === n.name)) error(['nodes', n.name], `node "${n.name}" has the name of a service: the graph and the flows name both; expected a node name no service has`);
  }
  if (!nodes.some((n) => n.role === 'manager')) error(['nodes'], `a swarm needs a manager; expected role: manager on one of: ${names.join(', ')}`);
  if (lab.network !== 'overlay') error(['network'], `a lab with nodes is an overlay lab; expected network: overlay, found network: ${lab.network}`);
  for (const [name, def] of Object.entries(lab.networks)) {
    if ((def?.driver ?? 'bridge') !== 'overlay') error(['networks', name], `network "${name}" would be a bridge on one node only; in a lab with nodes every network spans them: expected driver: overlay`);
  }
  for (const m of models) {
    const sp: YamlPath = ['services', m.name];
    const a = m.attachment;
    if (a.kind === 'host' || a.kind === 'default-bridge' || a.kind === 'none') {
      error(sp, `"${m.name}" is not on the lab's overlay networks (${a.kind === 'default-bridge' ? 'no networks: means the default bridge' : `network_mode: ${a.kind}`}); in a lab with nodes, expected networks: naming overlay networks`);
    }
    if (m.ports.length > 0) error([...sp, 'ports'], 'a lab with nodes publishes no ports: its nodes are engines inside the session\'s engine, not this machine; expected expose: for ports the lab\'s services reach');
    if (m.swarm) {
      if (m.def.node !== undefined) error([...sp, 'node'], `a swarm service places itself; expected deploy.placement.constraints: ["node.hostname == ${m.def.node}"], not node:`);
      const cons = m.def.deploy?.placement?.constraints ?? [];
      cons.forEach((text, i) => {
        const con = parseConstraint(text);
        if (con?.attribute === 'hostname' && !names.includes(con.value)) {
          warn([...sp, 'deploy', 'placement', 'constraints', i], `no node is named "${con.value}"${didYouMean(con.value, names)}: the lab's nodes are ${names.join(', ')}`);
        }
        if (con?.attribute === 'role' && con.value !== 'manager' && con.value !== 'worker') {
          warn([...sp, 'deploy', 'placement', 'constraints', i], `node.role is manager or worker; found "${con.value}"${didYouMean(con.value, ['manager', 'worker'])}`);
        }
      });
      const constraints = constraintsOf(m.def);
      if (constraints.length > 0 && placeable(constraints, nodes).length === 0) {
        warn([...sp, 'deploy', 'placement'], `no node meets every constraint (${constraints.map((x) => x.text).join(', ')}): "${m.name}" would run 0 tasks, each pending; the nodes are ${nodes.map((n) => `${n.name} (${[n.role, ...Object.entries(n.labels).map(([k, v]) => `${k}=${v}`)].join(', ')})`).join(', ')}`);
      }
    } else if (a.kind !== 'service') {
      if (m.def.node === undefined) error(sp, `a plain container in a lab with nodes runs on one of them; expected node: <one of ${names.join(', ')}>`);
      else if (!names.includes(m.def.node)) error([...sp, 'node'], `unknown node "${m.def.node}"${didYouMean(m.def.node, names)}; expected one of: ${names.join(', ')}`);
    } else if (m.def.node !== undefined) {
      error([...sp, 'node'], `"${m.name}" shares "${a.service}"'s network namespace, so it runs on that one's node; expected no node:`);
    }
  }
}
