// Workshop mode's routes: who am I, sign-in, joining, the trainer's workshop (create, broadcast,
// reset, console actions, export, end) and a learner starting a lab of it.
import type express from 'express';
import { prepareSchema } from '../../protocol/warm.ts';
import { broadcastSchema, createWorkshopSchema, joinSchema, trainerLoginSchema } from '../../protocol/workshop.ts';
import { LAB_ID_RE } from '../../protocol/lab-id.ts';
import { authCookie, HttpError, invalid, principal, wrap } from '../respond.ts';
import { learnerOf, type RouteContext } from './context.ts';

export function workshopRoutes(web: express.Express, ctx: RouteContext): void {
  const { gate, workshops } = ctx;
  web.get('/api/me', wrap((_req, res) => {
    const p = principal(res);
    if (!gate || !p) return { role: 'local' };
    if (p.role === 'trainer') {
      const w = gate.workshops.current();
      return { role: 'trainer', workshop: w ? { id: w.id, name: w.name } : null };
    }
    const view = gate.workshops.learnerView(p.learner);
    return { role: 'learner', learner: view?.me, workshop: view && view.workshop.ended_at === null ? { id: view.workshop.id, name: view.workshop.name } : null };
  }));

  if (!gate || !workshops) return;

  web.post('/api/auth/trainer', wrap((req, res) => {
    const body = trainerLoginSchema.safeParse(req.body ?? {});
    if (!body.success) throw invalid('sign-in', body.error.issues, '{ "token": "<the token from the trainer link>" }');
    if (gate.signer.verify(body.data.token)?.role !== 'trainer') throw new HttpError(401, 'that is not the trainer token this server printed; open the link from flowlab serve --workshop again');
    res.setHeader('set-cookie', authCookie(req, body.data.token));
    return { role: 'trainer' };
  }));

  web.post('/api/workshop/join', wrap((req, res) => {
    const body = joinSchema.safeParse(req.body ?? {});
    if (!body.success) throw invalid('join request', body.error.issues, '{ "code": "<the join code>", "name": "<your display name>" }');
    const joined = workshops.join(body.data.code, body.data.name);
    const token = gate.signer.sign({ role: 'learner', learner: joined.learner.id, workshop: joined.workshop.id });
    res.setHeader('set-cookie', authCookie(req, token));
    res.status(201);
    return { token, ...joined };
  }));

  web.post('/api/auth/logout', wrap((req, res) => {
    res.setHeader('set-cookie', authCookie(req, '', 0));
    return {};
  }));

  web.post('/api/workshops', wrap((req, res) => {
    const body = createWorkshopSchema.safeParse(req.body ?? {});
    if (!body.success) throw invalid('workshop', body.error.issues, '{ "name", "labs": ["<lab id>", ...], "code"?, "minutes"?, "allow_shared"? }');
    res.status(201);
    return { workshop: workshops.create(body.data) };
  }));

  web.get('/api/workshop', wrap((_req, res) => {
    const p = principal(res)!;
    return { view: p.role === 'trainer' ? workshops.trainerView() : workshops.learnerView(p.learner) };
  }));

  web.post('/api/workshop/labs/:lab/start', wrap((req, res) => {
    const lab = String(req.params.lab);
    if (!LAB_ID_RE.test(lab)) throw new HttpError(400, `expected a lab id like "bridge-basics", found "${lab.slice(0, 40)}"`);
    res.status(202);
    return { slot: workshops.start(learnerOf(res)!.learner, lab) };
  }));

  web.post('/api/workshop/broadcast', wrap((req) => {
    const body = broadcastSchema.safeParse(req.body ?? {});
    if (!body.success) throw invalid('message', body.error.issues, '{ "message": "<1-500 characters>" }');
    workshops.broadcast(body.data.message);
    return {};
  }));

  web.post('/api/workshop/learners/:learner/labs/:lab/reset', wrap(async (req) => ({ slot: await workshops.reset(String(req.params.learner), String(req.params.lab)) })));

  web.post('/api/workshop/labs/:lab/reset', wrap(async (req) => {
    const lab = String(req.params.lab);
    if (!LAB_ID_RE.test(lab)) throw new HttpError(400, `expected a lab id like "bridge-basics", found "${lab.slice(0, 40)}"`);
    return { reset: await workshops.resetLab(lab) };
  }));

  web.get('/api/workshop/learners/:learner/actions', wrap((req) => ({ actions: workshops.learnerActions(String(req.params.learner)) })));

  web.get('/api/workshop/export.csv', wrap((_req, res) => {
    const { name, csv } = workshops.exportCsv();
    res.setHeader('content-type', 'text/csv; charset=utf-8');
    res.setHeader('content-disposition', `attachment; filename="${name}"`);
    res.send(csv);
  }));

  web.post('/api/workshop/end', wrap(async () => ({ removed: await workshops.end() })));

  web.post('/api/workshop/prepare', wrap(async (req) => {
    const body = prepareSchema.safeParse(req.body ?? {});
    if (!body.success) throw invalid('prepare', body.error.issues, '{ "learners": <1-500>, "plan_only"?: true }');
    if (body.data.plan_only) return { plan: await workshops.plan(body.data.learners), progress: null };
    return workshops.prepare(body.data.learners);
  }));

  web.delete('/api/workshop/prepare', wrap(async () => {
    await workshops.unprepare();
    return { prepared: false };
  }));
}
