// The lab as a graph (cytoscape): networks, services with their address and aliases on each
// network, the Docker host with its published ports, Docker's embedded DNS and the lab resolver —
// and the live flows on top, their state shown by line style and arrow shape as well as colour.
// The layout is computed once and kept (and saved when a node is dragged), so updates never move
// what the learner is looking at.
import cytoscape, { type Core, type ElementDefinition, type NodeSingular } from 'cytoscape';
import type { FlowEdge } from '../protocol.ts';
import type { Topology } from '../protocol.ts';

export type EdgeState = 'ok' | 'refused' | 'timeout' | 'reset' | 'nxdomain' | 'servfail' | 'other';

/** One legend for the graph and the flow log: colour, dash and arrow for each state. */
export const STATES: { state: EdgeState; label: string; colour: string; line: 'solid' | 'dashed' | 'dotted'; arrow: string }[] = [
  { state: 'ok', label: 'answered / established', colour: '#2b8a3e', line: 'solid', arrow: 'triangle' },
  { state: 'refused', label: 'refused', colour: '#c92a2a', line: 'dashed', arrow: 'tee' },
  { state: 'timeout', label: 'timeout / no answer', colour: '#e67700', line: 'dotted', arrow: 'circle' },
  { state: 'reset', label: 'reset', colour: '#862e9c', line: 'dashed', arrow: 'square' },
  { state: 'nxdomain', label: 'NXDOMAIN', colour: '#c92a2a', line: 'dotted', arrow: 'tee' },
  { state: 'servfail', label: 'SERVFAIL', colour: '#e67700', line: 'dashed', arrow: 'diamond' },
  { state: 'other', label: 'other', colour: '#495057', line: 'solid', arrow: 'vee' },
];

export function stateOf(outcome: string): EdgeState {
  const o = outcome.toLowerCase();
  if (['established', 'answered', 'noerror', 'ok'].includes(o) || /^http-[23]/.test(o)) return 'ok';
  if (o === 'refused' || o === 'no-route' || o === 'unreachable') return 'refused';
  if (o === 'timeout' || o === 'unanswered') return 'timeout';
  if (o.startsWith('reset') || o === 'empty-reply') return 'reset';
  if (o === 'nxdomain') return 'nxdomain';
  if (o === 'servfail') return 'servfail';
  return 'other';
}

export const nodeId = {
  service: (name: string) => `svc:${name}`,
  network: (name: string) => `net:${name}`,
  peer: (name: string) => (name === 'host' ? 'host' : name === 'docker-dns' ? 'docker-dns' : name === 'lab-dns' ? 'lab-dns' : `svc:${name}`),
};

function topologyElements(t: Topology): ElementDefinition[] {
  const els: ElementDefinition[] = [
    { data: { id: 'host', label: 'Docker host\n127.0.0.1', kind: 'host' }, classes: 'host' },
    { data: { id: 'docker-dns', label: "Docker's DNS\n127.0.0.11", kind: 'dns' }, classes: 'dns' },
  ];
  if (t.resolver) els.push({ data: { id: 'lab-dns', label: `lab resolver\n${Object.values(t.resolver.ips).join(', ')}`, kind: 'dns' }, classes: 'dns' });
  for (const n of t.networks) {
    els.push({ data: { id: nodeId.network(n.name), label: `${n.name}\n${n.driver} ${n.subnet}${n.gateway ? ` gw ${n.gateway}` : ''}${n.internal ? ' internal' : ''} mtu ${n.mtu}`, kind: 'network', name: n.name }, classes: 'network' });
  }
  for (const s of t.services) {
    const label = s.kind === 'swarm-service' ? `${s.name}\n×${s.replicas ?? 1} swarm` : s.network_mode === 'host' ? `${s.name}\nhost network` : s.name;
    els.push({ data: { id: nodeId.service(s.name), label, kind: 'service', name: s.name }, classes: 'service' });
    for (const [net, e] of Object.entries(s.networks)) {
      if (!t.networks.some((n) => n.name === net)) continue;
      // Docker gives every container its name and short id as aliases: the label keeps the lab's own.
      const own = e.aliases.filter((a) => a !== s.name && a !== s.container && !/^[0-9a-f]{12}$/.test(a));
      const aliases = own.length ? ` (${own.join(', ')})` : '';
      els.push({ data: { id: `att:${s.name}:${net}`, source: nodeId.service(s.name), target: nodeId.network(net), label: `${e.ip}${aliases}`, kind: 'attach' }, classes: 'attach' });
    }
    if (s.network_mode === 'host') els.push({ data: { id: `att:${s.name}:host`, source: nodeId.service(s.name), target: 'host', label: 'host network', kind: 'attach' }, classes: 'attach' });
    for (const p of s.ports) {
      els.push({ data: { id: `pub:${s.name}:${p.host_port}:${p.container_port}`, source: 'host', target: nodeId.service(s.name), label: `${p.host_ip}:${p.host_port} → ${p.container_port}/${p.proto}`, kind: 'publish' }, classes: 'publish' });
    }
  }
  return els;
}

export interface GraphEvents {
  select(kind: 'service' | 'network' | 'flow' | 'host' | 'dns', id: string, data: Record<string, unknown>): void;
}

export class LabGraph {
  readonly cy: Core;
  private readonly storageKey: string;

  constructor(container: HTMLElement, private topology: Topology, events: GraphEvents) {
    this.storageKey = `flowlab.layout.${topology.session}`;
    this.cy = cytoscape({
      container,
      elements: topologyElements(topology),
      wheelSensitivity: 0.3,
      minZoom: 0.3,
      maxZoom: 2.5,
      style: [
        { selector: 'node', style: { label: 'data(label)', 'text-wrap': 'wrap', 'font-size': 11, 'text-valign': 'center', 'text-halign': 'center', color: '#1b1f24', 'border-width': 1, 'border-color': '#868e96' } },
        { selector: 'node.service', style: { shape: 'round-rectangle', width: 110, height: 44, 'background-color': '#e7f5ff', 'border-color': '#1c7ed6' } },
        { selector: 'node.network', style: { shape: 'rectangle', width: 200, height: 38, 'background-color': '#f1f3f5', 'border-style': 'dashed' } },
        { selector: 'node.host', style: { shape: 'round-rectangle', width: 120, height: 44, 'background-color': '#fff4e6', 'border-color': '#e8590c' } },
        { selector: 'node.dns', style: { shape: 'ellipse', width: 120, height: 44, 'background-color': '#f3f0ff', 'border-color': '#7048e8' } },
        { selector: 'node.peer', style: { shape: 'ellipse', width: 100, height: 36, 'background-color': '#fff', 'border-style': 'dotted' } },
        { selector: 'node:selected', style: { 'border-width': 3, 'border-color': '#000' } },
        { selector: 'edge', style: { width: 1.5, 'curve-style': 'bezier', 'font-size': 9, label: 'data(label)', 'text-rotation': 'autorotate', 'text-background-color': '#fff', 'text-background-opacity': 0.8, 'text-background-padding': '1px' } },
        { selector: 'edge.attach', style: { 'line-color': '#adb5bd', 'text-rotation': 'none' } },
        { selector: 'edge.publish', style: { 'line-color': '#e8590c', 'target-arrow-shape': 'triangle', 'target-arrow-color': '#e8590c', 'line-style': 'solid' } },
        ...STATES.map((s) => ({
          selector: `edge.flow.${s.state}`,
          style: { 'line-color': s.colour, 'target-arrow-color': s.colour, 'target-arrow-shape': s.arrow, 'line-style': s.line, width: 2.5 } as cytoscape.Css.Edge,
        })),
        { selector: 'edge.flow.pulse', style: { width: 6 } },
        { selector: 'edge:selected', style: { width: 4, 'line-color': '#000' } },
      ] as cytoscape.StylesheetStyle[],
    });
    this.layout();
    this.describe();
    this.cy.on('dragfree', 'node', () => this.save());
    this.cy.on('tap', 'node, edge', (e) => {
      const d = e.target.data() as Record<string, unknown> & { kind: string; id: string };
      if (d.kind === 'service') events.select('service', String(d.name), d);
      else if (d.kind === 'network') events.select('network', String(d.name), d);
      else if (d.kind === 'flow') events.select('flow', String(d.id), d);
      else if (d.kind === 'host') events.select('host', 'host', d);
      else if (d.kind === 'dns') events.select('dns', d.id, d);
    });
  }

  /** Networks in a row, services above and below the networks they are on, the host and DNS aside. */
  private layout(): void {
    const saved = this.saved();
    const t = this.topology;
    const nets = t.networks.map((n) => n.name);
    const netX = (i: number) => 120 + i * 260;
    const pos: Record<string, { x: number; y: number }> = {};
    nets.forEach((n, i) => (pos[nodeId.network(n)] = { x: netX(i), y: 260 }));
    const columnCount: Record<string, number> = {};
    t.services.forEach((s, idx) => {
      const on = Object.keys(s.networks).filter((n) => nets.includes(n));
      const xs = on.map((n) => netX(nets.indexOf(n)));
      const x = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 120 + idx * 140;
      const key = String(Math.round(x));
      const k = (columnCount[key] = (columnCount[key] ?? 0) + 1) - 1;
      const above = k % 2 === 0;
      const row = Math.floor(k / 2);
      pos[nodeId.service(s.name)] = { x: x + (row % 2 ? 70 : 0), y: above ? 130 - row * 70 : 390 + row * 70 };
    });
    const right = netX(Math.max(nets.length, 1)) + 40;
    pos.host = { x: right, y: 60 };
    pos['docker-dns'] = { x: right, y: 260 };
    pos['lab-dns'] = { x: right, y: 420 };
    this.cy.nodes().forEach((n) => {
      const p = saved[n.id()] ?? pos[n.id()];
      if (p) n.position(p);
    });
    this.cy.fit(undefined, 30);
  }

  private saved(): Record<string, { x: number; y: number }> {
    try {
      return JSON.parse(localStorage.getItem(this.storageKey) ?? '{}') as Record<string, { x: number; y: number }>;
    } catch {
      return {};
    }
  }

  private save(): void {
    const out: Record<string, { x: number; y: number }> = {};
    this.cy.nodes().forEach((n) => {
      out[n.id()] = { ...n.position() };
    });
    localStorage.setItem(this.storageKey, JSON.stringify(out));
  }

  /** The topology changed (a container re-created, a network connected): same layout, new facts. */
  setTopology(t: Topology): void {
    this.topology = t;
    const want = topologyElements(t);
    const ids = new Set(want.map((e) => e.data.id!));
    this.cy.batch(() => {
      this.cy.elements('.attach, .publish').filter((e) => !ids.has(e.id())).remove();
      for (const e of want) {
        const have = this.cy.getElementById(e.data.id!);
        if (have.nonempty()) have.data(e.data);
        else this.cy.add(e);
      }
    });
    this.describe();
  }

  /**
   * What the graph shows, as text on its container (data-nodes, data-flows): the same facts for
   * assistive technology's summary and for tests that cannot read a canvas.
   */
  private describe(): void {
    const box = this.cy.container();
    if (!box) return;
    box.dataset.nodes = this.cy.nodes().map((n) => n.id()).sort().join(' ');
    box.dataset.flows = this.cy
      .edges('.flow')
      .map((e) => `${String(e.data('src'))}->${String(e.data('dst'))} ${String(e.data('proto'))}/${String(e.data('what'))} ${String(e.data('state'))}`)
      .sort()
      .join('; ');
  }

  private ensurePeer(id: string, name: string): void {
    if (this.cy.getElementById(id).nonempty()) return;
    const n = this.cy.add({ data: { id, label: name, kind: 'service', name }, classes: 'peer' }) as unknown as NodeSingular;
    const bb = this.cy.elements().boundingBox();
    n.position({ x: bb.x1 + 40, y: bb.y2 + 60 });
  }

  /** Flow edges from the live capture (or a probe's result): one edge per (src, dst, what). */
  flow(edge: Pick<FlowEdge, 'key' | 'kind' | 'src' | 'dst' | 'what' | 'count' | 'last_outcome'>, pulse = true): void {
    const src = nodeId.peer(edge.src);
    const dst = nodeId.peer(edge.dst);
    if (src === dst) return;
    this.ensurePeer(src, edge.src);
    this.ensurePeer(dst, edge.dst);
    const id = `flow:${edge.key}`;
    const state = stateOf(edge.last_outcome);
    const label = edge.kind === 'dns' ? `dns ${edge.what} ${edge.last_outcome}` : `${edge.kind}/${edge.what} ${edge.last_outcome}`;
    const data = { id, source: src, target: dst, label, kind: 'flow', state, outcome: edge.last_outcome, what: edge.what, proto: edge.kind, count: edge.count, src: edge.src, dst: edge.dst };
    let e = this.cy.getElementById(id);
    if (e.empty()) e = this.cy.add({ data, classes: `flow ${state}` });
    else {
      e.data(data);
      e.classes(`flow ${state}`);
    }
    this.describe();
    if (pulse) {
      e.addClass('pulse');
      setTimeout(() => e.removeClass('pulse'), 600);
    }
  }

  destroy(): void {
    this.cy.destroy();
  }
}
