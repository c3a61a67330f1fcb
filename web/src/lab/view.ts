// The lab view: briefing and timer, the topology graph with live flows, the inspector, the probe
// launcher, the flow log, "what Docker did", terminals, hints and the diagnosis.
import { EdgeTable, type Difference, type FlowDelta, type FlowEdge, type FlowEvent, type FlowSnapshot } from '../protocol.ts';
import type { ProbeResult } from '../protocol.ts';
import type { ActionEntry, LabView, SessionSummary, Topology } from '../protocol.ts';
import { api, ask, sock } from '../api.ts';
import { button, el, fill, formatTime } from '../dom.ts';
import { renderInline, renderMarkdown } from '../markdown.ts';
import { roomBanner } from './room.ts';
import { DiagnosisPanel } from './diagnosis.ts';
import { ConversationsPanel, bytes } from './conversations.ts';
import { FlowLog, describe as describeEvent } from './flowlog.ts';
import { Timeline } from './timeline.ts';
import { LabGraph, STATES } from './graph.ts';
import { Terminals } from './terminals.ts';
import { minutesSeconds } from '../time.ts';

type Inspected = { service: string; container: string; state: string; resolv_conf: string | null; addresses: string | null; listening: string | null };

export async function labPage(root: HTMLElement, sessionId: string, go: (hash: string) => void, opts: { workshop?: boolean } = {}): Promise<() => void> {
  const { session } = await api<{ session: SessionSummary | undefined }>('GET', `/api/sessions/${sessionId}`);
  if (!session) throw new Error(`session ${sessionId} is not known to this server`);
  // A lab its engine let down still opens: the banner says which engine and what to do.
  const opens = session.state === 'ready' || session.state === 'engine-lost' || session.state === 'broken';
  if (!opens || !session.topology) throw new Error(`session ${sessionId} is ${session.state}${session.error ? `: ${session.error}` : ''}`);
  const { lab } = await api<{ lab: LabView }>('GET', `/api/scenarios/${session.scenario}`);
  let topology: Topology = session.topology;
  /** Services whose live details the learner has seen: the graph shows them as they run. */
  let revealed = new Set(session.revealed);
  const cleanups: (() => void)[] = [];

  // ---- header: title, timer, restart / new seed / end ----
  const timer = el('span', { class: 'timer', 'aria-label': 'Time on this lab' });
  const started = Date.parse(session.ready_at ?? session.created_at);
  const tick = () => {
    const s = Math.max(0, Math.floor((Date.now() - started) / 1000));
    timer.textContent = `${minutesSeconds(s)}${lab.minutes ? ` / ~${lab.minutes} min` : ''}`;
  };
  tick();
  const clock = setInterval(tick, 1000);
  cleanups.push(() => clearInterval(clock));
  const restart = (newSeed: boolean) => async () => {
    if (!confirm(newSeed ? 'Start this lab over with a new seed (possibly another breakage)?' : 'Restart this lab as it was at the start?')) return;
    // In a workshop a full server queues the restart (no session yet): the workshop page shows the queue.
    const r = await api<{ session: Pick<Topology, 'session'> | null }>('POST', `/api/sessions/${sessionId}/restart`, { new_seed: newSeed });
    go(r.session ? `#/session/${r.session.session}` : '#/');
  };
  const labButtons = el(
    'div',
    { class: 'lab-buttons' },
    button('Restart lab', restart(false)),
    button('New seed', restart(true)),
    button('End lab', async () => {
      if (!confirm('End this lab? Everything it made is removed.')) return;
      await api('DELETE', `/api/sessions/${sessionId}`);
      go('#/');
    }, { 'data-end-lab': sessionId }),
  );
  // A long title is cut with an ellipsis (whole on hover): the buttons stay on the header's line.
  const header = el(
    'header',
    { class: 'lab-header' },
    el('a', { href: '#/', class: 'back' }, opts.workshop ? '← Workshop' : '← Labs'),
    el('h1', { title: lab.title }, lab.title),
    el('span', { class: 'badge', 'data-engine': session.engine, title: `runs on the Docker engine ${session.engine}` }, `${lab.network} · ${lab.level} · session ${sessionId} · engine ${session.engine}`),
    timer,
    labButtons,
  );

  // ---- briefing ----
  const briefing = el('section', { class: 'briefing', 'aria-label': 'Briefing' }, renderMarkdown(lab.briefing), lab.objectives.length ? el('div', { class: 'objectives' }, el('strong', {}, 'Objectives'), el('ul', {}, ...lab.objectives.map((o) => el('li', {}, renderInline(o))))) : null);

  // ---- inspector ----
  const inspector = el('section', { class: 'inspector', 'aria-label': 'Inspector', 'aria-live': 'polite' }, el('p', {}, 'Click a service, network or flow on the graph.'));
  const probes: ProbeResult[] = [];
  const log = new FlowLog(async (e) => {
    await api('POST', `/api/sessions/${sessionId}/pins`, { id: e.id });
    diagnosis.addEvidence({ id: e.id, label: `${e.type} ${e.src} → ${e.dst} ${describeEvent(e)}` });
  });
  const touching = (name: string) => {
    const ev = log.all().filter((e) => e.src === name || e.dst === name).slice(-8).reverse();
    const pr = probes.filter((p) => p.from === name || p.target.includes(name)).slice(-5).reverse();
    return el('div', {}, el('strong', {}, 'Recent flows'), el('ul', {}, ...ev.map((e) => el('li', {}, `${e.type} ${e.src} → ${e.dst} ${describeEvent(e)}`))), el('strong', {}, 'Probes'), el('ul', {}, ...pr.map((p) => el('li', {}, `${p.from} → ${p.target}: ${p.status}`))));
  };
  const inspect = async (kind: string, id: string, data: Record<string, unknown>) => {
    if (kind === 'service') {
      diagnosis.picked(id);
      if (!revealed.has(id)) {
        revealed = new Set([...revealed, id]);
        graph.setTopology(topology, revealed);
      }
      const svc = topology.services.find((s) => s.name === id);
      inspector.replaceChildren(el('h3', {}, `service ${id}`), el('p', {}, 'loading…'));
      const info = await api<Inspected>('GET', `/api/sessions/${sessionId}/services/${id}`).catch((e: Error) => ({ error: e.message }) as unknown as Inspected);
      fill(
        inspector,
        el('h3', {}, `service ${id}`),
        el('dl', {}, el('dt', {}, 'container'), el('dd', {}, info.container ?? svc?.container ?? ''), el('dt', {}, 'state'), el('dd', {}, info.state ?? '')),
        el('strong', {}, 'Networks'),
        el('ul', {}, ...Object.entries(svc?.networks ?? {}).map(([n, e]) => el('li', {}, `${n}: ${e.ip || '(per task)'}${e.aliases.length ? ` — aliases ${e.aliases.join(', ')}` : ''}`))),
        svc?.ports.length ? el('div', {}, el('strong', {}, 'Published'), el('ul', {}, ...svc.ports.map((p) => el('li', {}, `${p.host_ip}:${p.host_port} → ${p.container_port}/${p.proto}`)))) : null,
        el('strong', {}, 'Addresses (ip -br addr)'),
        el('pre', {}, info.addresses ?? '—'),
        el('strong', {}, '/etc/resolv.conf'),
        el('pre', {}, info.resolv_conf ?? '—'),
        el('strong', {}, 'Listening sockets'),
        el('pre', { 'data-listening': id }, info.listening ?? '—'),
        touching(id),
      );
    } else if (kind === 'network') {
      diagnosis.picked(id);
      const n = topology.networks.find((x) => x.name === id);
      const members = topology.services.filter((s) => id in s.networks);
      inspector.replaceChildren(
        el('h3', {}, `network ${id}`),
        el('dl', {}, el('dt', {}, 'Docker name'), el('dd', {}, n?.docker_name ?? ''), el('dt', {}, 'driver'), el('dd', {}, n?.driver ?? ''), el('dt', {}, 'subnet'), el('dd', {}, n?.subnet ?? ''), el('dt', {}, 'gateway'), el('dd', {}, n?.gateway || '—'), el('dt', {}, 'internal'), el('dd', {}, String(n?.internal)), el('dt', {}, 'MTU'), el('dd', {}, String(n?.mtu))),
        el('strong', {}, 'Members'),
        el('ul', {}, ...members.map((s) => el('li', {}, `${s.name} ${s.networks[id]?.ip ?? ''}`))),
      );
    } else if (kind === 'flow') {
      await showEdge(data as EdgeData);
    } else if (kind === 'node') {
      diagnosis.picked(id);
      const n = topology.nodes?.find((x) => x.name === id);
      const holds = topology.services.filter((s) => s.nodes?.includes(id)).map((s) => s.name);
      const crossed = log.all().filter((e) => e.crossed && (e.crossed.from === id || e.crossed.to === id)).slice(-8).reverse();
      inspector.replaceChildren(
        el('h3', {}, `node ${id}`),
        el('dl', {}, el('dt', {}, 'role'), el('dd', {}, n?.role ?? ''), el('dt', {}, 'labels'), el('dd', {}, Object.entries(n?.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || '—'), el('dt', {}, 'underlay address'), el('dd', {}, n?.address ?? ''), el('dt', {}, 'the lab places here'), el('dd', {}, holds.join(', ') || '—')),
        el('p', {}, 'As the lab designs it. What the swarm says now: ', el('code', {}, `docker node inspect ${id}`), ' and ', el('code', {}, `docker node ps ${id}`), ' in the docker console.'),
        el('strong', {}, 'Flows across it'),
        el('ul', {}, ...crossed.map((e) => el('li', {}, `${e.type} ${e.src} → ${e.dst} ${describeEvent(e)} (${e.crossed!.from} → ${e.crossed!.to})`))),
      );
    } else {
      inspector.replaceChildren(el('h3', {}, kind === 'host' ? 'the Docker host' : id), touching(id === 'host' ? 'host' : id));
    }
  };

  /** An edge's detail: both ends (names and addresses), counts, bytes each way, first and last seen, its last events, and the commands that show the same from a terminal. */
  type EdgeData = { key: string; src: string; dst: string; what: string; proto: string; outcome: string; count: number; first_seen: string; last_seen: string; http: string };
  const showEdge = async (d: EdgeData) => {
    const culprit = d.proto === 'dns' ? `${d.src}->${d.dst}` : `${d.src}->${d.dst}:${d.what}/${d.proto}`;
    diagnosis.picked(culprit);
    const port = Number(d.what);
    // The edge's own events: a lookup's answers; a connection's, and for TCP the HTTP it carried.
    const kinds = d.proto === 'udp' ? ['udp.'] : ['tcp.', 'http.'];
    const mine = (e: FlowEvent) => (d.proto === 'dns' ? e.type === 'dns.answer' && e.client === d.src && e.name === d.what : e.src === d.src && e.dst === d.dst && e.dst_port === port && kinds.some((k) => e.type.startsWith(k)));
    const events = log.shown().filter(mine);
    const addresses = (pick: (e: FlowEvent) => string) => [...new Set(events.map(pick).filter(Boolean))].join(', ') || '—';
    const svc = (name: string) => topology.services.find((s) => s.name === name);
    const dstAddr = events.at(-1)?.dst_addr ?? Object.values(svc(d.dst)?.networks ?? {})[0]?.ip ?? d.dst;
    const target = d.proto === 'dns' ? `dig ${d.what}` : d.proto === 'udp' ? `echo ping | socat -T 2 - UDP:${d.dst}:${d.what}` : /^http/.test(d.http) ? `curl -sS -m 5 http://${d.dst}:${d.what}${d.http.split('\n')[0]?.split(' ')[1] ?? '/'}` : `nc -vz -w 2 ${d.dst} ${d.what}`;
    const watch = d.proto === 'dns' ? `tcpdump -ni any port 53` : `tcpdump -ni any host ${dstAddr} and ${d.proto === 'udp' ? 'udp' : 'tcp'} port ${d.what}`;
    const convs = el('dd', { 'data-edge-bytes': '' }, 'loading…');
    inspector.replaceChildren(
      el(
        'div',
        { 'data-edge-detail': d.key },
        el('h3', {}, `flow ${d.src} → ${d.dst} ${d.proto === 'dns' ? `dns ${d.what}` : `${d.proto}/${d.what}`}`),
        el(
          'dl',
          {},
          el('dt', {}, 'from'), el('dd', {}, `${d.src} (${addresses((e) => e.src_addr)})`),
          el('dt', {}, 'to'), el('dd', {}, `${d.dst} (${addresses((e) => e.dst_addr)})`),
          el('dt', {}, 'seen'), el('dd', { 'data-edge-count': String(d.count) }, `${d.count} ${d.count === 1 ? 'time' : 'times'}; last: ${d.outcome}`),
          el('dt', {}, 'first seen'), el('dd', {}, d.first_seen ? formatTime(d.first_seen) : '—'),
          el('dt', {}, 'last seen'), el('dd', {}, d.last_seen ? formatTime(d.last_seen) : '—'),
          el('dt', {}, 'bytes each way'), convs,
        ),
        d.http ? el('div', {}, el('strong', {}, 'HTTP'), el('pre', {}, d.http)) : null,
        el('strong', {}, 'Last events'),
        el('ul', { 'data-edge-events': String(events.length) }, ...events.slice(-10).reverse().map((e) => el('li', {}, `${formatTime(e.time)} ${e.type} ${describeEvent(e)}${e.origin === 'traffic' ? ' (app)' : ''}`))),
        el('strong', {}, 'The same from a terminal'),
        el('p', {}, `In ${d.src}’s terminal: `, el('code', {}, target)),
        el('p', {}, 'Watch it in the docker console: ', el('code', { 'data-edge-command': '' }, `docker run --rm --network container:${d.src} --cap-add NET_RAW toolbox ${watch}`)),
      ),
    );
    if (d.proto === 'dns') return void convs.replaceChildren('— (lookups: see the flow log)');
    const rows = (await conversations.load()).filter((c) => c.proto === d.proto && c.from.name === d.src && c.to.name === d.dst && c.to.port === port);
    const sum = (f: (c: (typeof rows)[number]) => number) => rows.reduce((n, c) => n + f(c), 0);
    convs.replaceChildren(rows.length ? `${d.src} → ${d.dst}: ${sum((c) => c.packets_out)} packets, ${bytes(sum((c) => c.bytes_out))}; back: ${sum((c) => c.packets_back)} packets, ${bytes(sum((c) => c.bytes_back))} (${rows.length} ${rows.length === 1 ? 'connection' : 'connections'} the captures keep)` : 'none left in the captures');
    convs.dataset.edgeBytes = `${sum((c) => c.bytes_out)}/${sum((c) => c.bytes_back)}`;
  };

  // ---- graph + legend ----
  const graphBox = el('div', { class: 'graph', role: 'img', 'aria-label': 'Topology graph: the flow log below lists the same flows as text' });
  const graphTools = el('div', { class: 'graph-tools', role: 'toolbar', 'aria-label': 'Zoom the graph' });
  const legend = el('ul', { class: 'legend', 'aria-label': 'Legend' }, ...STATES.map((s) => el('li', {}, el('span', { class: 'swatch', style: `border-top: 3px ${s.line} ${s.colour}` }), s.label)), el('li', {}, el('span', { class: 'swatch', style: 'border-top: 3px solid #e8590c' }), 'published port'));

  // ---- probe launcher ----
  const fromSel = el('select', { 'aria-label': 'Probe from' }, el('option', { value: 'host' }, 'host'), ...topology.services.map((s) => el('option', { value: s.name }, s.name)));
  const suggestions = el('datalist', { id: 'probe-targets' }, ...lab.probes.map((p) => el('option', { value: p.to })), ...topology.services.map((s) => el('option', { value: `dns:${s.name}` })));
  const target = el('input', { list: 'probe-targets', placeholder: 'dns:web, tcp:db:5432, http://web:80/', 'aria-label': 'Probe target', required: true });
  const probeOut = el('ul', { class: 'probes', 'aria-live': 'polite', 'aria-label': 'Probe results' });
  const probeForm = el('form', { class: 'probe-launcher', 'aria-label': 'Run a probe' }, fromSel, target, el('button', { type: 'submit' }, 'Run probe'), suggestions);
  probeForm.addEventListener('submit', (e) => {
    e.preventDefault();
    void runProbe(fromSel.value, target.value.trim());
  });
  const runProbe = async (from: string, to: string) => {
    const li = el('li', {}, `${from} → ${to}: running…`);
    probeOut.prepend(li);
    try {
      const { result } = await api<{ result: ProbeResult }>('POST', `/api/sessions/${sessionId}/probes`, { from, target: to });
      probes.push(result);
      li.replaceChildren(el('strong', { 'data-probe-status': result.status }, result.status), ` ${from} → ${to} (${result.latency_ms} ms) `, el('code', {}, result.command), ' ', button('Keep as evidence', () => diagnosis.addEvidence({ id: result.id, label: `probe ${from} → ${to}: ${result.status}` })));
      const dst = probeDestination(topology, from, to);
      if (dst) {
        // Kept with the live edges: the graph redrawn (a reconnect, the timeline back to live) keeps it.
        const now = new Date().toISOString();
        const edge: FlowEdge = { key: `probe:${from}:${to}`, kind: dst.kind, src: from, dst: dst.name, what: dst.what, count: 1, last_outcome: result.status, first_seen: now, last_seen: now };
        liveEdges.set(edge.key, edge);
        if (timeline.moment === null) graph.flow(edge);
      }
    } catch (err) {
      li.replaceChildren(el('span', { class: 'error' }, `${from} → ${to}: ${(err as Error).message}`));
    }
  };

  // ---- what Docker did ----
  const actionsList = el('ol', { class: 'actions' });
  const loadActions = async () => {
    const { actions } = await api<{ actions: ActionEntry[] }>('GET', `/api/sessions/${sessionId}/actions`);
    actionsList.replaceChildren(...actions.map((a) => el('li', {}, el('code', {}, a.command), ' ', button('copy', () => navigator.clipboard?.writeText(a.command) ?? Promise.resolve(), { 'aria-label': `Copy ${a.command.slice(0, 40)}` }))));
  };
  const actionsPanel = el('section', { class: 'docker-did', 'aria-label': 'What Docker did' }, el('div', { class: 'toolbar' }, button('Refresh', loadActions)), actionsList);
  void loadActions();
  const actionsTimer = setInterval(() => void loadActions().catch(() => undefined), 10_000);
  cleanups.push(() => clearInterval(actionsTimer));

  // ---- terminals, diagnosis ----
  const terminals = new Terminals(sessionId, topology.services.map((s) => s.name));
  cleanups.push(() => terminals.destroy());
  const diagnosis = new DiagnosisPanel(sessionId, lab, () => {
    // Graded: every service may be seen as it runs now.
    revealed = new Set(topology.services.map((s) => s.name));
    graph.setTopology(topology, revealed);
  });

  /** Where the timeline goes, under the graph (it is made with the live flows below). */
  const timelineSlot = el('div', { class: 'timeline-slot' });

  // ---- bottom tabs ----
  const conversations = new ConversationsPanel(sessionId);
  const tabPanels: [string, string, HTMLElement][] = [
    ['flows', 'Flow log', log.root],
    ['conversations', 'Conversations', conversations.root],
    ['terminals', 'Terminals', terminals.root],
    ['docker', 'What Docker did', actionsPanel],
  ];
  const tabButtons = tabPanels.map(([id, label]) => el('button', { type: 'button', role: 'tab', 'data-tab': id, id: `tab-${id}`, 'aria-controls': `panel-${id}` }, label));
  const panels = tabPanels.map(([id, , node]) => el('div', { role: 'tabpanel', id: `panel-${id}`, 'aria-labelledby': `tab-${id}` }, node));
  const showTab = (id: string) => {
    tabPanels.forEach(([t], i) => {
      panels[i]!.hidden = t !== id;
      tabButtons[i]!.setAttribute('aria-selected', String(t === id));
    });
  };
  tabButtons.forEach((b, i) =>
    b.addEventListener('click', () => {
      showTab(tabPanels[i]![0]);
      if (tabPanels[i]![0] === 'conversations') void conversations.load();
    }),
  );
  showTab('flows');

  // In a workshop, the room reaches the learner here too; a lab that is gone stops its controls.
  const stopped = el('p', { class: 'notice error', role: 'alert', hidden: true, 'data-lab-stopped': '' });
  // Said again when the reason changes (the workshop ending, then ended): one state, the latest.
  const stop = (why: string) => {
    stopped.hidden = false;
    stopped.textContent = `This lab can no longer be probed, changed or graded: ${why}.`;
    for (const n of [probeForm, diagnosis.root, labButtons, terminals.root]) n.setAttribute('inert', '');
  };
  // The engine's trouble, said while it lasts: lost (it comes back by itself) or broken (Restart).
  const trouble = el('div', { class: 'trouble-banner', role: 'alert', 'data-trouble': '', hidden: true });
  const showTrouble = (s: SessionSummary) => {
    const t = s.trouble;
    trouble.hidden = !t;
    trouble.setAttribute('data-trouble', t?.kind ?? '');
    if (!t) return trouble.replaceChildren();
    trouble.replaceChildren(
      el('strong', {}, t.kind === 'engine-lost' ? 'Engine lost' : 'Lab broken'),
      ` — ${t.reason}. ${t.todo[0]!.toUpperCase()}${t.todo.slice(1)}.`,
      ...(t.kind === 'broken' ? [button('Restart lab', restart(false), { 'data-trouble-restart': '' })] : []),
    );
  };
  showTrouble(session);
  const room = opts.workshop ? roomBanner(sessionId, session.scenario, go, stop) : undefined;
  if (room) cleanups.push(() => room.stop());
  root.replaceChildren(
    el(
      'div',
      { class: 'lab-view' },
      el('div', { class: 'lab-top' }, header, trouble, room?.root ?? null, stopped),
      el('aside', { class: 'left' }, briefing, el('h3', {}, 'Probe'), probeForm, probeOut, diagnosis.root),
      el('section', { class: 'center', 'aria-label': 'Topology' }, graphTools, graphBox, timelineSlot, legend),
      el('aside', { class: 'right' }, el('h3', {}, 'Inspector'), inspector),
      el('section', { class: 'bottom' }, el('div', { role: 'tablist', class: 'tabs', 'aria-label': 'Panels' }, ...tabButtons), ...panels),
    ),
  );

  const graph = new LabGraph(graphBox, topology, { select: (kind, id, data) => void inspect(kind, id, data) }, revealed);
  cleanups.push(() => graph.destroy());
  graphTools.append(
    button('+', () => graph.zoom(1.25), { 'aria-label': 'Zoom in', title: 'Zoom in' }),
    button('−', () => graph.zoom(0.8), { 'aria-label': 'Zoom out', title: 'Zoom out' }),
    button('Fit', () => graph.fit(), { 'aria-label': 'Fit the lab to the screen', title: 'Fit the lab to the screen' }),
  );

  // ---- live flows, and the timeline over them ----
  /** The edges and differences as they are now; the graph draws them while the timeline is live. */
  const liveEdges = new Map<string, FlowEdge>();
  let liveDiffs: Difference[] = [];
  /** Each change of what differs, with when it came: the ghosts at a moment of the past. */
  const diffHistory: { at: number; diffs: Difference[] }[] = [];
  const differ = (diffs: Difference[]) => {
    liveDiffs = diffs;
    diffHistory.push({ at: Date.now(), diffs });
    log.setDiffering(diffs.flatMap((x) => x.events ?? []));
  };
  /** Draws the graph and the flow log as they were at `at` (live when null). */
  const showMoment = (at: number | null) => {
    log.setUntil(at);
    graph.clearFlows();
    if (at === null) {
      for (const e of liveEdges.values()) graph.flow(e, false);
      graph.ghosts(liveDiffs, formatTime);
      return;
    }
    const table = new EdgeTable();
    for (const e of log.all()) if (Date.parse(e.time) <= at) table.add(e);
    for (const e of table.all()) graph.flow(e, false);
    graph.ghosts([...diffHistory].reverse().find((h) => h.at <= at)?.diffs ?? [], formatTime);
  };
  const timeline = new Timeline(() => log.all(), started, showMoment);
  timelineSlot.replaceWith(timeline.root);
  cleanups.push(() => timeline.destroy());
  const onDelta = (d: FlowDelta) => {
    if (d.session !== sessionId) return;
    for (const e of d.edges) liveEdges.set(e.key, e);
    if (d.differences) differ(d.differences);
    log.dropped += d.dropped;
    log.add(d.events);
    if (timeline.moment !== null) return; // looking back: the past stays drawn
    for (const e of d.edges) graph.flow(e);
    if (d.differences) graph.ghosts(d.differences, formatTime);
  };
  sock().on('flows:delta', onDelta);
  const join = async () => {
    try {
      const r = await ask<{ snapshot: FlowSnapshot }>('flows:join', { session: sessionId });
      for (const e of r.snapshot.edges) liveEdges.set(e.key, e);
      differ(r.snapshot.differences ?? []);
      log.add(r.snapshot.events as FlowEvent[]);
      showMoment(timeline.moment);
    } catch (e) {
      log.root.prepend(el('p', { class: 'error', role: 'alert' }, `live flows unavailable: ${(e as Error).message}`));
    }
  };
  void join();
  sock().on('connect', join);
  cleanups.push(() => {
    sock().off('flows:delta', onDelta);
    sock().off('connect', join);
    sock().emit('flows:leave', { session: sessionId });
  });

  // The topology follows changes made from the console (re-created containers, new networks).
  const topoTimer = setInterval(async () => {
    const r = await api<{ session: SessionSummary | undefined }>('GET', `/api/sessions/${sessionId}`).catch(() => undefined);
    if (r?.session) showTrouble(r.session);
    const now = new Set([...revealed, ...(r?.session?.revealed ?? [])]);
    if (r?.session?.topology && (JSON.stringify(r.session.topology) !== JSON.stringify(topology) || now.size !== revealed.size)) {
      topology = r.session.topology;
      revealed = now;
      graph.setTopology(topology, revealed);
    }
  }, 5000);
  cleanups.push(() => clearInterval(topoTimer));

  return () => cleanups.forEach((c) => c());
}

/** Where a probe goes on the graph: the service a name or published port points at, or DNS. */
export function probeDestination(t: Topology, from: string, to: string): { name: string; kind: 'tcp' | 'udp' | 'dns'; what: string } | undefined {
  const byName = (host: string) => t.services.find((s) => s.name === host || Object.values(s.networks).some((n) => n.aliases.includes(host)))?.name;
  let m: RegExpExecArray | null;
  if ((m = /^dns:([^/]+)/.exec(to))) return { name: t.resolver ? 'lab-dns' : 'docker-dns', kind: 'dns', what: m[1]! };
  if ((m = /^(tcp|udp):([^:]+):(\d+)/.exec(to)) || (m = /^(https?):\/\/([^:/]+)(?::(\d+))?/.exec(to))) {
    const host = m[2]!;
    const port = m[3] ?? (m[1] === 'https' ? '443' : '80');
    const kind = m[1] === 'udp' ? 'udp' : 'tcp';
    if (from === 'host' && (host === 'localhost' || host.startsWith('127.'))) {
      const svc = t.services.find((s) => s.ports.some((p) => String(p.host_port) === port));
      return svc ? { name: svc.name, kind, what: port } : undefined;
    }
    const name = byName(host);
    return name ? { name, kind, what: port } : undefined;
  }
  return undefined;
}

