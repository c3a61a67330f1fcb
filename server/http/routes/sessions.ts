// A session's routes: start, show, restart, end; probes, the diagnosis, hints, pins, pcap, the
// console, the inspector, the action log.
import type express from 'express';
import { endLab, restartLab, startLab } from '../../app/labs.ts';
import { capturedPcap, retainedEvents, sessionConversations } from '../../flow/collector.ts';
import { conversationsCsv } from '../../flow/conversations.ts';
import { Grader } from '../../grade/grader.ts';
import { Prober } from '../../probe/prober.ts';
import { diagnosisSchema } from '../../protocol/diagnosis.ts';
import { LAB_ID_RE } from '../../protocol/lab-id.ts';
import { probeRequestSchema } from '../../protocol/probe.ts';
import { createSessionBodySchema } from '../../protocol/session.ts';
import { ProgressStore } from '../../store/progress.ts';
import { bounded, has } from '../../util/lookup.ts';
import { HttpError, invalid, sessionParam, wrap } from '../respond.ts';
import { learnerOf, type RouteContext } from './context.ts';

export function sessionRoutes(web: express.Express, ctx: RouteContext): void {
  const { app, images, workshops } = ctx;
  const extras = { seenEvent: ctx.seenEvent };
  web.get('/api/sessions', wrap((_req, res) => {
    const learner = learnerOf(res);
    if (!learner || !workshops) return { sessions: app.engine.status() };
    const mine = new Set(workshops.sessionsOfLearner(learner.learner));
    return { sessions: app.engine.status().filter((s) => mine.has(s.session)) };
  }));

  web.post(
    '/api/sessions',
    wrap(async (req, res) => {
      const body = createSessionBodySchema.safeParse(req.body ?? {});
      if (!body.success) {
        throw invalid('body', body.error.issues, '{ "scenario": "<lab id>", "seed"?: <integer>, "engine"?: "<engine name>" }');
      }
      if (!LAB_ID_RE.test(body.data.scenario)) throw new HttpError(400, `expected a lab id from the catalogue like "bridge-basics", found "${body.data.scenario.slice(0, 60)}" (lab files are started with flowlab up)`);
      // While images are only being checked, `up` joins that check; a real build takes minutes.
      if (images.state === 'building') throw new HttpError(503, `lab images are still being built (${images.detail}); try again shortly`);
      const topology = await startLab(app, body.data.scenario, {
        ...(body.data.seed !== undefined ? { seed: body.data.seed } : {}),
        ...(body.data.learner !== undefined ? { learner: body.data.learner } : {}),
        ...(body.data.engine !== undefined ? { engine: body.data.engine } : {}),
      });
      res.status(201);
      return { session: topology };
    }),
  );

  web.get('/api/sessions/:id', wrap((req) => ({ session: app.engine.status(sessionParam(req))[0] })));

  web.get('/api/sessions/:id/actions', wrap((req) => {
    const id = sessionParam(req);
    if (!app.engine.store.get(id)) throw new HttpError(404, `unknown session "${id}"`);
    // Entries that would reveal the injected fault stay hidden until the learner is graded.
    const graded = app.engine.store.get(id)?.state === 'ready' && new Grader(app.engine.live(id)).graded();
    return { actions: app.engine.store.actions(id, { includeRevealing: graded }) };
  }));

  web.post(
    '/api/sessions/:id/probes',
    wrap(async (req) => {
      const id = sessionParam(req);
      const body = probeRequestSchema.safeParse(req.body ?? {});
      if (!body.success) throw new HttpError(400, 'invalid body; expected { "from": "<service or host>", "target": "<probe target>" } or { "matrix": true }');
      const prober = new Prober(app.engine.live(id));
      const opts = body.data.timeout_ms !== undefined ? { timeoutMs: body.data.timeout_ms } : {};
      if ('matrix' in body.data) return { results: await prober.matrix(opts) };
      return { result: (await prober.run([{ from: body.data.from, to: body.data.target }], opts))[0] };
    }),
  );

  web.post(
    '/api/sessions/:id/diagnosis',
    wrap(async (req, res) => {
      const id = sessionParam(req);
      const body = diagnosisSchema.safeParse(req.body ?? {});
      if (!body.success) {
        throw invalid('diagnosis', body.error.issues, '{ "cause", "culprit", "evidence": [ids], "note"?, "fixed"? }');
      }
      if (learnerOf(res)) workshops?.assertLearnerMayAct(learnerOf(res)!.learner);
      const result = await new Grader(app.engine.live(id)).grade(body.data);
      workshops?.changed();
      return { result };
    }),
  );

  web.get('/api/sessions/:id/hints', wrap((req) => new Grader(app.engine.live(sessionParam(req))).hints()));

  web.post('/api/sessions/:id/hints', wrap((req) => {
    const grader = new Grader(app.engine.live(sessionParam(req)));
    const hint = grader.takeHint();
    workshops?.changed();
    return { hint, next: grader.hints().next };
  }));

  web.post(
    '/api/sessions/:id/pins',
    wrap(async (req) => {
      const id = sessionParam(req);
      const eventId = String((req.body as { id?: unknown } | undefined)?.id ?? '');
      if (!/^e[0-9a-f]{16}t?$/.test(eventId)) throw new HttpError(400, 'expected { "id": "<a flow event id>" }');
      const live = app.engine.live(id);
      // The server keeps the event as it saw it: a client never says what an event contained.
      const event = extras.seenEvent?.(id, eventId) ?? (await retainedEvents(live)).find((e) => e.id === eventId);
      if (!event) throw new HttpError(404, `no flow event ${eventId} in session ${id} (it may have left the capture ring)`);
      new ProgressStore(app.engine.db).pin(id, event);
      return { pinned: event };
    }),
  );

  /** `?service=` or `?node=`: one capture point of the session, checked; none asked for: undefined (when `optional`). */
  const capturePointOf = (req: express.Request, optional: boolean): { live: ReturnType<typeof app.engine.live>; key: 'node' | 'service'; point: string | undefined } => {
    const id = sessionParam(req);
    const live = app.engine.live(id);
    const [key, raw] = req.query.node !== undefined ? (['node', String(req.query.node)] as const) : (['service', req.query.service === undefined ? undefined : String(req.query.service)] as const);
    if (raw === undefined && optional) return { live, key, point: undefined };
    const point = raw ?? '';
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(point)) throw new HttpError(400, `expected ?service=<a service of the lab> or ?node=<one of its nodes>, found ${key}=${JSON.stringify(point)}`);
    if (key === 'service' && !has(live.lab.services, point)) throw new HttpError(404, `unknown service "${point}" in session ${id}`);
    if (key === 'node' && !live.isNode(point)) {
      const names = live.nodes().map((n) => n.name);
      throw new HttpError(404, `unknown node "${point}" in session ${id}; ${names.length ? `expected one of: ${names.join(', ')}` : 'its lab has no nodes'}`);
    }
    return { live, key, point };
  };

  // The conversations table (one row per connection or exchange, packets and bytes each way), as JSON or CSV.
  web.get(
    '/api/sessions/:id/conversations',
    wrap(async (req, res) => {
      const format = String(req.query.format ?? 'json');
      if (format !== 'json' && format !== 'csv') throw new HttpError(400, `expected ?format=json or ?format=csv, found format=${JSON.stringify(format)}`);
      const { live, key, point } = capturePointOf(req, true);
      const rows = await sessionConversations(live, point);
      if (format === 'json') return { conversations: rows };
      res.setHeader('content-type', 'text/csv; charset=utf-8');
      res.setHeader('content-disposition', `attachment; filename="${live.id}-conversations${point ? `-${key === 'node' ? `${point}-underlay` : point}` : ''}.csv"`);
      res.send(conversationsCsv(rows));
      return undefined;
    }),
  );

  web.get(
    '/api/sessions/:id/pcap',
    wrap(async (req, res) => {
      const { live, key, point: asked } = capturePointOf(req, false);
      const id = live.id;
      const point = asked!;
      const pcap = await capturedPcap(live, point);
      res.setHeader('content-type', 'application/vnd.tcpdump.pcap');
      res.setHeader('content-disposition', `attachment; filename="${id}-${key === 'node' ? `${point}-underlay` : point}.pcap"`);
      res.send(pcap);
    }),
  );

  // The learner's docker console: created on first use; a terminal attaches to its container.
  web.post(
    '/api/sessions/:id/console',
    wrap(async (req) => {
      const id = sessionParam(req);
      const rec = app.engine.store.get(id);
      if (!rec) throw new HttpError(404, `unknown session "${id}"`);
      if (rec.state !== 'ready') throw new HttpError(409, `session ${id} is ${rec.state}; its console opens once it is ready`);
      return { console: await app.consoles.ensure(id) };
    }),
  );

  // The inspector: how a service sees the lab from inside (addresses, resolver, listening sockets).
  web.get(
    '/api/sessions/:id/services/:service',
    wrap(async (req) => {
      const id = sessionParam(req);
      const service = String(req.params.service);
      if (!app.engine.store.get(id)) throw new HttpError(404, `unknown session "${id}"`);
      const live = app.engine.live(id);
      if (!has(live.lab.services, service)) throw new HttpError(404, `unknown service "${bounded(service, 40)}" in session ${id}; expected one of: ${Object.keys(live.lab.services).join(', ')}`);
      const seen = await live.inside(service);
      live.record(`docker inspect ${seen.container}`, { source: 'learner', kind: 'look' });
      const topology = live.topology.services.find((s) => s.name === service) ?? null;
      return { service, container: seen.container, state: seen.state, topology, resolv_conf: seen.resolvConf, addresses: seen.addresses, listening: seen.listening };
    }),
  );

  // Restart the lab (same seed: the same breakage) or start it over with a new seed.
  web.post(
    '/api/sessions/:id/restart',
    wrap(async (req, res) => {
      const id = sessionParam(req);
      const body = (req.body ?? {}) as { new_seed?: unknown };
      if (body.new_seed !== undefined && typeof body.new_seed !== 'boolean') throw new HttpError(400, 'expected { "new_seed"?: true | false }');
      const rec = app.engine.store.get(id);
      if (!rec) throw new HttpError(404, `unknown session "${id}"`);
      if (workshops?.ownerOf(id)) {
        // A workshop lab restarts within the capacity; when the server is full it queues.
        const slot = await workshops.restart(id, { newSeed: body.new_seed === true });
        res.status(slot.session ? 201 : 202);
        return { session: slot.session ? app.engine.status(slot.session)[0] ?? { session: slot.session } : null, slot, replaces: id };
      }
      const topology = await restartLab(app, id, { newSeed: body.new_seed === true });
      res.status(201);
      return { session: topology, replaces: id };
    }),
  );

  web.delete('/api/sessions/:id', wrap(async (req) => {
    const id = sessionParam(req);
    const removed = await endLab(app, id);
    workshops?.released(id);
    return { removed };
  }));

}
