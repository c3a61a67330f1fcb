// The lab as a graph (cytoscape): networks, services with their address and aliases on each
// network, the Docker host with its published ports, Docker's embedded DNS and the lab resolver —
// and the live flows on top, their state shown by line style and arrow shape as well as colour.
// The layout is computed once and kept (and saved when a node is dragged), so updates never move
// what the learner is looking at. Labels are sized for a projector; zoom and fit are buttons too.
// An edge bends around network boxes it does not belong to (route.ts). A service is drawn as the
// lab designs it until the learner has looked at it (the inspector, docker inspect) or has been
// graded: a fault's live traces are theirs to find, then shown, marked where they differ.
// A lab with nodes draws each node as a box holding the containers and tasks the lab places on
// it, and between two nodes the VXLAN tunnel that carried a flow from one to the other.
import cytoscape, { type Core, type EdgeSingular, type ElementDefinition, type NodeSingular } from 'cytoscape';
import type { Difference, FlowEdge } from '../protocol.ts';
import type { Topology } from '../protocol.ts';
import { bend, controlPoint, crossings, samples, type Box } from './route.ts';

type Service = Topology['services'][number];

export type EdgeState = 'ok' | 'refused' | 'timeout' | 'reset' | 'nxdomain' | 'servfail' | 'http-error' | 'other';

/** One legend for the graph and the flow log: colour, dash and arrow for each state. */
export const STATES: { state: EdgeState; label: string; colour: string; line: 'solid' | 'dashed' | 'dotted'; arrow: string }[] = [
  { state: 'ok', label: 'answered / established', colour: '#2b8a3e', line: 'solid', arrow: 'triangle' },
  { state: 'refused', label: 'refused', colour: '#c92a2a', line: 'dashed', arrow: 'tee' },
  { state: 'timeout', label: 'timeout / no answer', colour: '#e67700', line: 'dotted', arrow: 'circle' },
  { state: 'reset', label: 'reset', colour: '#862e9c', line: 'dashed', arrow: 'square' },
  { state: 'nxdomain', label: 'NXDOMAIN', colour: '#c92a2a', line: 'dotted', arrow: 'tee' },
  { state: 'servfail', label: 'SERVFAIL', colour: '#e67700', line: 'dashed', arrow: 'diamond' },
  { state: 'http-error', label: 'HTTP 4xx / 5xx', colour: '#a61e4d', line: 'solid', arrow: 'tee' },
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
  if (/^http-[45]/.test(o)) return 'http-error';
  if (o === 'no-response' || o.endsWith(' incomplete')) return 'timeout';
  return 'other';
}

export const nodeId = {
  service: (name: string) => `svc:${name}`,
  network: (name: string) => `net:${name}`,
  /** One of a lab's Docker nodes (a box). */
  node: (name: string) => `node:${name}`,
  /** A swarm service's task on one node, when the service runs on several. */
  task: (service: string, node: string) => `task:${service}@${node}`,
  peer: (name: string) => (name === 'host' ? 'host' : name === 'docker-dns' ? 'docker-dns' : name === 'lab-dns' ? 'lab-dns' : `svc:${name}`),
};

/** An edge's HTTP as a line per request: `GET /api/v2/orders — 200 ×14, 404 ×9` (the three busiest). */
export function httpMix(http: FlowEdge['http']): string {
  if (!http?.length) return '';
  const total = (h: NonNullable<FlowEdge['http']>[number]) => Object.values(h.outcomes).reduce((a, b) => a + b, 0);
  return [...http]
    .sort((a, b) => total(b) - total(a))
    .slice(0, 3)
    .map((h) => `${h.request} — ${Object.entries(h.outcomes).sort((a, b) => b[1] - a[1]).map(([o, n]) => `${o} ×${n}`).join(', ')}`)
    .join('\n');
}

/** The worst answer an edge's HTTP got, as an outcome (`http-404`, `no-response`), if any was not a success. */
function worstHttp(http: FlowEdge['http']): string | undefined {
  const outcomes = (http ?? []).flatMap((h) => Object.keys(h.outcomes));
  const bad = outcomes.filter((o) => !/^[23]\d\d$/.test(o));
  const cut = bad.find((o) => o.endsWith(' incomplete'));
  if (cut) return cut;
  if (bad.length === 0) return undefined;
  const o = bad.sort()[0]!;
  return /^\d+$/.test(o) ? `http-${o}` : o;
}

/** Edge labels, the smallest text on the graph (nodes are larger). */
const SMALLEST_LABEL_PX = 13;

/** What the graph shows of a service: as it runs once revealed, as designed before. */
function shownAs(s: Service, revealed: ReadonlySet<string>): { mode: string; networks: Service['networks']; ports: Service['ports']; deviates: Set<string> } {
  const d = s.designed;
  if (!d) return { mode: s.network_mode, networks: s.networks, ports: s.ports, deviates: new Set() };
  if (revealed.has(s.name)) {
    // Live, with the places it differs from the design marked.
    const deviates = new Set<string>();
    const own = (net: string) => (s.networks[net]?.aliases ?? []).filter((a) => a !== s.name && a !== s.container && !/^[0-9a-f]{12}$/.test(a)).sort().join(',');
    for (const net of new Set([...Object.keys(s.networks), ...Object.keys(d.networks)])) {
      if (!(net in d.networks) || !(net in s.networks) || own(net) !== [...(d.networks[net] ?? [])].sort().join(',')) deviates.add(net);
    }
    if (s.network_mode !== d.network_mode && (s.network_mode === 'host' || d.network_mode === 'host')) deviates.add('host');
    const ports = (ps: Service['ports']) => ps.map((p) => `${p.host_ip}:${p.host_port}:${p.container_port}/${p.proto}`).sort().join(' ');
    if (ports(s.ports) !== ports(d.ports)) deviates.add('ports');
    return { mode: s.network_mode, networks: s.networks, ports: s.ports, deviates };
  }
  const networks = Object.fromEntries(Object.entries(d.networks).map(([net, aliases]) => [net, { ip: s.networks[net]?.ip ?? '', aliases }]));
  return { mode: d.network_mode, networks, ports: d.ports, deviates: new Set() };
}

/** A network's name and subnet; the driver, internal and the MTU only when they are not a bridge's defaults (the inspector has them all). */
function networkLabel(n: Topology['networks'][number]): string {
  const extra = [n.driver !== 'bridge' ? n.driver : '', n.internal ? 'internal' : '', n.mtu !== 1500 ? `mtu ${n.mtu}` : ''].filter(Boolean);
  return `${n.name}\n${n.subnet}${extra.length ? ` · ${extra.join(' · ')}` : ''}`;
}

function topologyElements(t: Topology, revealed: ReadonlySet<string>): ElementDefinition[] {
  const els: ElementDefinition[] = [
    { data: { id: 'host', label: 'Docker host\n127.0.0.1', kind: 'host' }, classes: 'host' },
    { data: { id: 'docker-dns', label: "Docker's DNS\n127.0.0.11", kind: 'dns' }, classes: 'dns' },
  ];
  if (t.resolver) els.push({ data: { id: 'lab-dns', label: `lab resolver\n${Object.values(t.resolver.ips).join(', ')}`, kind: 'dns' }, classes: 'dns' });
  for (const n of t.networks) {
    els.push({ data: { id: nodeId.network(n.name), label: networkLabel(n), kind: 'network', name: n.name }, classes: 'network' });
  }
  for (const n of t.nodes ?? []) {
    const labels = Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(' ');
    els.push({ data: { id: nodeId.node(n.name), label: `${n.name} · ${n.role}${labels ? ` · ${labels}` : ''}\n${n.address}`, kind: 'node', name: n.name }, classes: 'lab-node' });
  }
  for (const s of t.services) {
    const shown = shownAs(s, revealed);
    const label = s.kind === 'swarm-service' ? `${s.name}\n×${s.replicas ?? 1} swarm` : shown.mode === 'host' ? `${s.name}\nhost network` : s.name;
    // On one node: inside its box. On several (a swarm service): beside them, a task in each box.
    const on = (s.nodes ?? []).filter((n) => t.nodes?.some((x) => x.name === n));
    const parent = on.length === 1 ? { parent: nodeId.node(on[0]!) } : {};
    els.push({ data: { id: nodeId.service(s.name), label, kind: 'service', name: s.name, revealed: revealed.has(s.name) ? 'yes' : 'no', ...parent }, classes: 'service' });
    if (on.length > 1) {
      for (const n of on) {
        els.push({ data: { id: nodeId.task(s.name, n), label: `${s.name} task`, kind: 'service', name: s.name, parent: nodeId.node(n) }, classes: 'task' });
        els.push({ data: { id: `place:${s.name}@${n}`, source: nodeId.service(s.name), target: nodeId.task(s.name, n), label: '', kind: 'place', bend: 0 }, classes: 'place' });
      }
    }
    const differs = (what: string) => (shown.deviates.has(what) ? ' ≠ design' : '');
    for (const [net, e] of Object.entries(shown.networks)) {
      if (!t.networks.some((n) => n.name === net)) continue;
      // Docker gives every container its name and short id as aliases: the label keeps the lab's own.
      const own = e.aliases.filter((a) => a !== s.name && a !== s.container && !/^[0-9a-f]{12}$/.test(a));
      const aliases = own.length ? ` (${own.join(', ')})` : '';
      els.push({ data: { id: `att:${s.name}:${net}`, source: nodeId.service(s.name), target: nodeId.network(net), label: `${e.ip}${aliases}${differs(net)}`, kind: 'attach', bend: 0, network: net, aliases: own.join(',') }, classes: shown.deviates.has(net) ? 'attach deviates' : 'attach' });
    }
    if (shown.mode === 'host') els.push({ data: { id: `att:${s.name}:host`, source: nodeId.service(s.name), target: 'host', label: `host network${differs('host')}`, kind: 'attach', bend: 0 }, classes: shown.deviates.has('host') ? 'attach deviates' : 'attach' });
    for (const p of shown.ports) {
      els.push({ data: { id: `pub:${s.name}:${p.host_port}:${p.container_port}`, source: 'host', target: nodeId.service(s.name), label: `${p.host_ip}:${p.host_port} → ${p.container_port}/${p.proto}${differs('ports')}`, kind: 'publish', bend: 0 }, classes: shown.deviates.has('ports') ? 'publish deviates' : 'publish' });
    }
  }
  return els;
}

export interface GraphEvents {
  select(kind: 'service' | 'network' | 'flow' | 'host' | 'dns' | 'node', id: string, data: Record<string, unknown>): void;
}

export class LabGraph {
  readonly cy: Core;
  private readonly storageKey: string;

  private revealed: ReadonlySet<string>;
  /** The learner zoomed or panned: a resize keeps their view instead of fitting the lab again. */
  private moved = false;
  private readonly observer: ResizeObserver;

  constructor(container: HTMLElement, private topology: Topology, events: GraphEvents, revealed: Iterable<string> = []) {
    this.storageKey = `flowlab.layout.${topology.session}`;
    this.revealed = new Set(revealed);
    this.cy = cytoscape({
      container,
      elements: topologyElements(topology, this.revealed),
      wheelSensitivity: 0.3,
      minZoom: 0.3,
      maxZoom: 3,
      style: [
        { selector: 'node', style: { label: 'data(label)', 'text-wrap': 'wrap', 'font-size': 16, 'text-valign': 'center', 'text-halign': 'center', color: '#1b1f24', 'border-width': 1.5, 'border-color': '#868e96' } },
        { selector: 'node.service', style: { shape: 'round-rectangle', width: 150, height: 58, 'background-color': '#e7f5ff', 'border-color': '#1c7ed6', 'font-weight': 600 } },
        { selector: 'node.network', style: { shape: 'rectangle', width: 200, height: 52, 'font-size': 14, 'background-color': '#f1f3f5', 'border-style': 'dashed' } },
        { selector: 'node.host', style: { shape: 'round-rectangle', width: 160, height: 58, 'background-color': '#fff4e6', 'border-color': '#e8590c' } },
        { selector: 'node.dns', style: { shape: 'ellipse', width: 160, height: 58, 'font-size': 14, 'background-color': '#f3f0ff', 'border-color': '#7048e8' } },
        { selector: 'node.peer', style: { shape: 'ellipse', width: 130, height: 48, 'background-color': '#fff', 'border-style': 'dotted' } },
        { selector: 'node.lab-node', style: { shape: 'round-rectangle', 'background-color': '#f8f9fa', 'background-opacity': 0.6, 'border-color': '#495057', 'border-width': 2, 'text-valign': 'top', 'text-halign': 'center', 'text-margin-y': -4, 'font-size': 15, 'font-weight': 600, padding: '22px' } },
        { selector: 'node.task', style: { shape: 'round-rectangle', width: 120, height: 40, 'font-size': 14, 'background-color': '#e7f5ff', 'border-color': '#1c7ed6', 'border-style': 'dashed' } },
        { selector: 'edge.place', style: { 'line-color': '#74c0fc', 'line-style': 'dotted', width: 1.5, 'curve-style': 'straight' } },
        { selector: 'edge.tunnel', style: { width: 8, 'line-color': '#ced4da', 'line-opacity': 0.7, 'curve-style': 'unbundled-bezier', 'control-point-distances': 'data(bend)', 'control-point-weights': 0.5, 'font-size': SMALLEST_LABEL_PX, color: '#343a40', 'text-rotation': 'none', 'text-margin-y': 14 } },
        ...STATES.map((s) => ({ selector: `edge.tunnel.${s.state}`, style: { 'line-color': s.colour, 'line-style': s.line, 'line-opacity': 0.5 } as cytoscape.Css.Edge })),
        { selector: 'node:selected', style: { 'border-width': 3, 'border-color': '#000' } },
        { selector: 'edge', style: { width: 2, 'curve-style': 'unbundled-bezier', 'control-point-distances': 'data(bend)', 'control-point-weights': 0.5, 'font-size': SMALLEST_LABEL_PX, label: 'data(label)', 'text-rotation': 'autorotate', 'text-background-color': '#fff', 'text-background-opacity': 0.85, 'text-background-padding': '2px' } },
        { selector: 'edge.attach', style: { 'line-color': '#adb5bd', 'text-rotation': 'none' } },
        { selector: 'edge.deviates', style: { color: '#a4161a', 'line-color': '#e8590c', 'line-style': 'dashed' } },
        { selector: 'edge.publish', style: { 'line-color': '#e8590c', 'target-arrow-shape': 'triangle', 'target-arrow-color': '#e8590c', 'line-style': 'solid' } },
        ...STATES.map((s) => ({
          selector: `edge.flow.${s.state}`,
          style: { 'line-color': s.colour, 'target-arrow-color': s.colour, 'target-arrow-shape': s.arrow, 'line-style': s.line, width: 2.5 } as cytoscape.Css.Edge,
        })),
        { selector: 'edge.flow.pulse', style: { width: 6 } },
        // What a working lab shows and this one does not: a pale dashed edge saying so.
        { selector: 'edge.ghost', style: { width: 3, 'line-color': '#adb5bd', 'line-style': 'dashed', 'line-dash-pattern': [8, 6], 'target-arrow-shape': 'triangle-backcurve', 'target-arrow-color': '#adb5bd', color: '#862e9c', 'font-style': 'italic', 'text-rotation': 'none', 'text-wrap': 'wrap', 'text-max-width': '240px', 'z-index-compare': 'manual', 'z-index': 20 } },
        { selector: 'edge:selected', style: { width: 4, 'line-color': '#000' } },
      ] as cytoscape.StylesheetStyle[],
    });
    this.layout();
    this.route();
    this.describe();
    this.cy.on('dragfree', 'node', () => {
      this.route();
      this.describe();
      this.save();
    });
    this.cy.on('zoom pan', (e) => {
      // Only what the learner does counts, not the fits the graph does itself.
      if (e.originalEvent || this.userMove) this.moved = true;
    });
    this.observer = new ResizeObserver(() => {
      this.cy.resize();
      if (!this.moved) this.fit();
    });
    this.observer.observe(container);
    this.cy.on('tap', 'node, edge', (e) => {
      const d = e.target.data() as Record<string, unknown> & { kind: string; id: string };
      if (d.kind === 'service') events.select('service', String(d.name), d);
      else if (d.kind === 'network') events.select('network', String(d.name), d);
      else if (d.kind === 'flow') events.select('flow', String(d.id), d);
      else if (d.kind === 'host') events.select('host', 'host', d);
      else if (d.kind === 'dns') events.select('dns', d.id, d);
      else if (d.kind === 'node') events.select('node', String(d.name), d);
    });
  }

  private userMove = false;

  /** The zoom buttons: by a step around the middle, or back to the whole lab. */
  zoom(by: number): void {
    this.userMove = true;
    const z = Math.min(this.cy.maxZoom(), Math.max(this.cy.minZoom(), this.cy.zoom() * by));
    this.cy.zoom({ level: z, renderedPosition: { x: this.cy.width() / 2, y: this.cy.height() / 2 } });
    this.userMove = false;
    this.describe();
  }

  fit(): void {
    this.cy.fit(undefined, 24);
    this.moved = false;
    this.describe();
  }

  /** Each edge's bend: none unless a network box it does not belong to is in the way. */
  private route(): void {
    // Network boxes, and in a lab with nodes the node boxes: an edge passes neither unless it is theirs.
    const networks = this.cy.nodes('.network, .lab-node');
    const boxes = new Map(networks.map((n) => [n.id(), n.boundingBox({ includeLabels: false }) as Box]));
    const pairs = new Map<string, number>();
    this.cy.batch(() => {
      // A tunnel keeps the arc it was given (over the boxes between its two nodes).
      this.cy.edges().not('.tunnel').forEach((e) => {
        const avoid = [...boxes.entries()].filter(([id]) => !this.belongs(e, id)).map(([, b]) => b);
        // Parallel flows between the same two nodes fan out a little.
        const pair = [e.source().id(), e.target().id()].sort().join('|');
        const nth = pairs.get(pair) ?? 0;
        pairs.set(pair, nth + 1);
        const fan = e.hasClass('flow') ? (nth % 2 ? -1 : 1) * Math.ceil(nth / 2) * 18 : 0;
        e.data('bend', bend(e.source().position(), e.target().position(), avoid, fan));
      });
    });
  }

  /** The networks an edge may cross: its own (an attachment's), or the ones both ends of a flow are on. */
  private belongs(e: EdgeSingular, network: string): boolean {
    if (e.source().id() === network || e.target().id() === network) return true;
    // A node box holds its ends: an edge from or to what is inside it starts or ends there.
    if (network.startsWith('node:')) return [e.source(), e.target()].some((n) => n.parent().first().id() === network);
    if (!e.hasClass('flow')) return false;
    const on = (node: string) => this.cy.edges(`.attach[source = "${node}"]`).targets().map((n) => n.id());
    const a = on(e.source().id());
    return a.includes(network) && on(e.target().id()).includes(network);
  }

  /** Networks in a row, services above and below the networks they are on, the host and DNS aside. */
  private layout(): void {
    const saved = this.saved();
    const t = this.topology;
    if (t.nodes?.length) return this.place(this.nodesLayout(), saved);
    const nets = t.networks.map((n) => n.name);
    // Gaps between network boxes leave room for edges to pass between them.
    const netX = (i: number) => 150 + i * 300;
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
      pos[nodeId.service(s.name)] = { x: x + (row % 2 ? 90 : 0), y: above ? 150 - row * 80 : 370 + row * 80 };
    });
    // The host and DNS in a column beside the last network, level with the rows.
    const right = netX(Math.max(nets.length - 1, 0)) + 250;
    pos.host = { x: right, y: 150 };
    pos['docker-dns'] = { x: right, y: 260 };
    pos['lab-dns'] = { x: right, y: 370 };
    this.place(pos, saved);
  }

  /**
   * A lab with nodes: the node boxes in a row, each holding its containers and tasks; a swarm
   * service that runs on several nodes below them; the overlay networks in a row at the bottom.
   */
  private nodesLayout(): Record<string, { x: number; y: number }> {
    const t = this.topology;
    const pos: Record<string, { x: number; y: number }> = {};
    // Each box two containers wide at most, side by side with room between them for the tunnels.
    let left = 60;
    let deepest = 0;
    let width = 140;
    for (const n of t.nodes ?? []) {
      const inside = this.cy.getElementById(nodeId.node(n.name)).children();
      const across = Math.min(Math.max(inside.length, 1), 2);
      const x0 = left + 80;
      inside.forEach((c, k) => {
        pos[c.id()] = { x: x0 + (k % 2) * 165, y: 110 + Math.floor(k / 2) * 80 };
        deepest = Math.max(deepest, Math.floor(k / 2));
      });
      width = x0 + (across - 1) * 165;
      left += across * 165 + 110;
    }
    const spread = (i: number, count: number) => 140 + (count > 1 ? (i * (width - 140)) / (count - 1) : (width - 140) / 2);
    const middleY = 110 + deepest * 80 + 150;
    const beside = this.cy.nodes('.service').filter((n) => !n.isChild());
    beside.forEach((n, i) => {
      pos[n.id()] = { x: spread(i, beside.length), y: middleY };
    });
    const netY = middleY + (beside.length ? 130 : 0);
    t.networks.forEach((n, i) => (pos[nodeId.network(n.name)] = { x: spread(i, t.networks.length), y: netY }));
    const right = width + 300;
    pos.host = { x: right, y: 110 };
    pos['docker-dns'] = { x: right, y: 220 };
    pos['lab-dns'] = { x: right, y: 330 };
    return pos;
  }

  /** Puts each node where the learner left it, or where the layout says; a box follows what it holds. */
  private place(pos: Record<string, { x: number; y: number }>, saved: Record<string, { x: number; y: number }>): void {
    this.cy.nodes().forEach((n) => {
      if (n.isParent()) return;
      const p = saved[n.id()] ?? pos[n.id()];
      if (p) n.position(p);
    });
    this.cy.fit(undefined, 24);
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
      if (!n.isParent()) out[n.id()] = { ...n.position() };
    });
    localStorage.setItem(this.storageKey, JSON.stringify(out));
  }

  /** The topology changed (a container re-created, a network connected), or the learner has seen more of it: same layout, new facts. */
  setTopology(t: Topology, revealed: Iterable<string> = this.revealed): void {
    this.topology = t;
    this.revealed = new Set(revealed);
    const want = topologyElements(t, this.revealed);
    const ids = new Set(want.map((e) => e.data.id!));
    this.cy.batch(() => {
      this.cy.elements('.attach, .publish, .place').filter((e) => !ids.has(e.id())).remove();
      for (const e of want) {
        const have = this.cy.getElementById(e.data.id!);
        if (have.nonempty()) {
          have.data(e.data);
          if (e.classes) have.classes(e.classes as string);
        } else this.cy.add(e);
      }
    });
    this.route();
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
    box.dataset.zoom = this.cy.zoom().toFixed(2);
    // The smallest label as drawn on screen, in CSS pixels.
    box.dataset.labelPx = (SMALLEST_LABEL_PX * this.cy.zoom()).toFixed(1);
    // Attachments as drawn (service network aliases), and how many drawn edges cross a network box they do not belong to.
    box.dataset.attachments = this.cy
      .edges('.attach')
      .map((e) => `${String(e.source().data('name'))}@${String(e.data('network') ?? 'host')}${e.data('aliases') ? `(${String(e.data('aliases'))})` : ''}${e.hasClass('deviates') ? '!' : ''}`)
      .sort()
      .join(' ');
    box.dataset.crossings = String(this.drawnCrossings());
    box.dataset.flows = this.cy
      .edges('.flow')
      .map((e) => `${String(e.data('src'))}->${String(e.data('dst'))} ${String(e.data('proto'))}/${String(e.data('what'))} ${String(e.data('state'))}${e.data('crossed') ? ` across ${String(e.data('crossed'))}` : ''}`)
      .sort()
      .join('; ');
    // Where each flow edge can be clicked on screen (a point of it no node covers, in the graph's pixels).
    const covered = this.cy.nodes().map((n) => n.renderedBoundingBox());
    box.dataset.flowAt = JSON.stringify(
      Object.fromEntries(
        this.cy.edges('.flow').map((e) => {
          const a = e.renderedSourceEndpoint();
          const b = e.renderedTargetEndpoint();
          const c = e.renderedControlPoints?.()?.[0] ?? { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
          const at = (t: number) => ({ x: (1 - t) ** 2 * a.x + 2 * (1 - t) * t * c.x + t ** 2 * b.x, y: (1 - t) ** 2 * a.y + 2 * (1 - t) * t * c.y + t ** 2 * b.y });
          const free = [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.1, 0.9].map(at).find((p) => !covered.some((r) => p.x >= r.x1 && p.x <= r.x2 && p.y >= r.y1 && p.y <= r.y2));
          return [`${String(e.data('src'))}->${String(e.data('dst'))} ${String(e.data('proto'))}/${String(e.data('what'))}`, free ? [Math.round(free.x), Math.round(free.y)] : null];
        }),
      ),
    );
    // What the HTTP edges say of their requests.
    box.dataset.http = this.cy
      .edges('.flow')
      .filter((e) => Boolean(e.data('http')))
      .map((e) => `${String(e.data('src'))}->${String(e.data('dst'))}: ${String(e.data('http')).split('\n').join(' | ')}`)
      .sort()
      .join('; ');
    box.dataset.ghosts = this.cy
      .edges('.ghost')
      .map((e) => `${String(e.data('from'))}->${String(e.data('to'))} ${String(e.data('what'))} ${String(e.data('observed'))}`)
      .sort()
      .join('; ');
    // A lab with nodes: what each box holds, and the tunnels drawn between boxes.
    box.dataset.boxes = this.cy
      .nodes('.lab-node')
      .map((n) => `${String(n.data('name'))}[${n.children().map((c) => (c.hasClass('task') ? `${String(c.data('name'))}:task` : String(c.data('name')))).sort().join(',')}]`)
      .sort()
      .join(' ');
    box.dataset.tunnels = this.cy
      .edges('.tunnel')
      .map((e) => `${String(e.data('between'))} ${String(e.data('state'))}${e.data('vni') !== undefined ? ` vni ${String(e.data('vni'))}` : ''}`)
      .sort()
      .join('; ');
  }

  /** Edges whose drawn curve (Cytoscape's own control points) passes through a network box it does not belong to. */
  drawnCrossings(): number {
    const boxes = this.cy.nodes('.network').map((n) => [n.id(), n.boundingBox({ includeLabels: false }) as Box] as const);
    return this.cy.edges().filter((e) => {
      const avoid = boxes.filter(([id]) => !this.belongs(e, id)).map(([, b]) => b);
      if (avoid.length === 0) return false;
      const a = e.sourceEndpoint();
      const b = e.targetEndpoint();
      const cps = e.controlPoints();
      const c = cps?.[0] ?? controlPoint(a, b, 0);
      return crossings(samples(a, c, b), avoid) > 0;
    }).length;
  }

  private ensurePeer(id: string, name: string): void {
    if (this.cy.getElementById(id).nonempty()) return;
    const n = this.cy.add({ data: { id, label: name, kind: 'service', name }, classes: 'peer' }) as unknown as NodeSingular;
    const bb = this.cy.elements().boundingBox();
    n.position({ x: bb.x1 + 40, y: bb.y2 + 60 });
  }

  /**
   * The tunnel between two nodes that carried a flow from one to the other: one per pair of
   * nodes, in the state of the last flow it carried.
   */
  private tunnel(crossed: NonNullable<FlowEdge['crossed']>, state: EdgeState): void {
    const a = this.cy.getElementById(nodeId.node(crossed.from));
    const b = this.cy.getElementById(nodeId.node(crossed.to));
    if (a.empty() || b.empty()) return;
    const order = (this.topology.nodes ?? []).map((n) => n.name);
    const [first, second] = [crossed.from, crossed.to].sort((x, y) => order.indexOf(x) - order.indexOf(y));
    const between = `${first}|${second}`;
    const id = `tunnel:${between}`;
    const vni = crossed.vni ?? this.cy.getElementById(id).data('vni');
    // Boxes stand in a row: a tunnel past the boxes between its two nodes arcs over them.
    const over = order.indexOf(second!) - order.indexOf(first!) - 1;
    const data = { id, source: nodeId.node(first!), target: nodeId.node(second!), label: `VXLAN${vni !== undefined ? ` ${vni}` : ''} · 4789/udp`, kind: 'tunnel', between, state, bend: -240 * over, ...(vni !== undefined ? { vni } : {}) };
    const e = this.cy.getElementById(id);
    if (e.empty()) this.cy.add({ data, classes: `tunnel ${state}` });
    else {
      e.data(data);
      e.classes(`tunnel ${state}`);
    }
  }

  /** Flow edges from the live capture (or a probe's result): one edge per (src, dst, what). */
  flow(edge: Pick<FlowEdge, 'key' | 'kind' | 'src' | 'dst' | 'what' | 'count' | 'last_outcome' | 'crossed' | 'http' | 'answers'> & Partial<Pick<FlowEdge, 'first_seen' | 'last_seen'>>, pulse = true): void {
    const src = nodeId.peer(edge.src);
    const dst = nodeId.peer(edge.dst);
    if (src === dst) return;
    this.ensurePeer(src, edge.src);
    this.ensurePeer(dst, edge.dst);
    const id = `flow:${edge.key}`;
    const state = stateOf(edge.last_outcome);
    const across = edge.crossed ? `${edge.crossed.from}→${edge.crossed.to}` : '';
    // An edge that carried HTTP says how its requests were answered; its state is the worst answer's.
    const mix = httpMix(edge.http);
    const worst = worstHttp(edge.http);
    const shownState = worst && state === 'ok' ? stateOf(worst) : state;
    const head = edge.kind === 'dns' ? `dns ${edge.what} ${edge.last_outcome}${edge.answers?.length ? ` → ${edge.answers.slice(0, 3).join(', ')}${edge.answers.length > 3 ? ', …' : ''}` : ''}` : `${edge.kind}/${edge.what} ${edge.last_outcome}`;
    const label = `${head}${across ? ` · ${across}` : ''}${mix ? `\n${mix}` : ''}`;
    const data = { id, key: edge.key, source: src, target: dst, label, kind: 'flow', state: shownState, outcome: edge.last_outcome, what: edge.what, proto: edge.kind, count: edge.count, src: edge.src, dst: edge.dst, crossed: across, http: mix, first_seen: edge.first_seen ?? '', last_seen: edge.last_seen ?? '' };
    if (edge.crossed) this.tunnel(edge.crossed, state);
    let e = this.cy.getElementById(id);
    if (e.empty()) {
      e = this.cy.add({ data: { ...data, bend: 0 }, classes: `flow ${shownState}` });
      this.route();
    } else {
      e.data(data);
      e.classes(`flow ${shownState}`);
    }
    this.describe();
    if (pulse) {
      e.addClass('pulse');
      setTimeout(() => e.removeClass('pulse'), 600);
    }
  }

  /** Takes every flow edge and tunnel off the graph (the timeline draws the flows as they were at a moment instead). */
  clearFlows(): void {
    this.cy.batch(() => this.cy.edges('.flow, .tunnel').remove());
    this.describe();
  }

  /**
   * Ghost edges: each flow a working lab shows that this one does not (now), with what was
   * expected, what is seen instead and since when. Replaces the ones drawn before.
   */
  ghosts(diffs: Difference[], time: (iso: string) => string): void {
    const want = new Map<string, ElementDefinition>();
    for (const d of diffs) {
      const src = nodeId.peer(d.from);
      const dst = d.kind === 'dns' ? 'docker-dns' : nodeId.peer(d.to);
      if (this.cy.getElementById(src).empty() || this.cy.getElementById(dst).empty() || src === dst) continue;
      const id = `ghost:${d.edge}|${d.what}`;
      const observed = d.observed === 'missing' ? 'not seen' : `${d.observed} since ${d.since ? time(d.since) : '?'}`;
      const label = `${d.what}: expected ${d.expect.join(' or ')} — ${observed}`;
      want.set(id, { data: { id, source: src, target: dst, label, kind: 'ghost', bend: 0, from: d.from, to: d.to, what: d.what, observed: d.observed }, classes: 'ghost' });
    }
    this.cy.batch(() => {
      this.cy.edges('.ghost').filter((e) => !want.has(e.id())).remove();
      for (const [id, el] of want) {
        const have = this.cy.getElementById(id);
        if (have.nonempty()) have.data(el.data);
        else this.cy.add(el);
      }
    });
    this.route();
    this.describe();
  }

  destroy(): void {
    this.observer.disconnect();
    this.cy.destroy();
  }
}
