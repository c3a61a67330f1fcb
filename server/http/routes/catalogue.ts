// What the page needs before a lab runs: the server's health (the engine, the lab images), the
// catalogue of labs, results and a learner's best scores.
import type express from 'express';
import { labSummaries, labView } from '../../app/app.ts';
import { catalogue } from '../../lab/catalogue.ts';
import { LAB_ID_RE } from '../../protocol/lab-id.ts';
import { ProgressStore } from '../../store/progress.ts';
import { HttpError, wrap } from '../respond.ts';
import type { RouteContext } from './context.ts';

export function catalogueRoutes(web: express.Express, ctx: RouteContext): void {
  const { app, images } = ctx;
  // What the page's banners show: the engine reachable or not, the lab images building or not.
  let engine: { at: number; reachable: boolean; detail: string } = { at: 0, reachable: false, detail: '' };
  const engineState = async () => {
    if (Date.now() - engine.at < 2000) return engine;
    try {
      const info = await app.docker.info();
      engine = { at: Date.now(), reachable: true, detail: `Docker ${info.serverVersion}` };
    } catch (e) {
      engine = { at: Date.now(), reachable: false, detail: `the Docker engine does not answer (${(e as Error).message}); start it (flowlab doctor --fix, or systemctl start docker) — this page recovers by itself` };
    }
    return engine;
  };
  web.get('/api/health', wrap(async () => {
    const e = await engineState();
    return { status: 'up', instance: app.engine.instance.id, images: { state: images.state, detail: images.detail }, docker: { reachable: e.reachable, detail: e.detail } };
  }));

  web.get('/api/scenarios', wrap(() => ({ scenarios: labSummaries(app.settings.labDirs) })));

  web.get('/api/scenarios/:id', wrap((req) => {
    const id = String(req.params.id);
    if (!LAB_ID_RE.test(id)) throw new HttpError(400, `expected a lab id like "bridge-basics", found "${id.slice(0, 40)}"`);
    const found = catalogue(app.settings.labDirs).labs.find((e) => e.lab.id === id);
    if (!found) throw new HttpError(404, `unknown lab "${id}"`);
    return { lab: labView(found.lab) };
  }));

  web.get('/api/results', wrap(() => ({ results: new ProgressStore(app.engine.db).results() })));

  // What the catalogue shows a learner: their best score per lab (no variant, no answer).
  web.get('/api/learners/:name/scores', wrap((req) => {
    const name = String(req.params.name);
    if (!/^[\p{L}\p{N} ._-]{1,64}$/u.test(name)) throw new HttpError(400, `expected a learner name of 1-64 letters, digits, spaces, . _ -; found "${name.slice(0, 40)}"`);
    return { learner: name, scores: new ProgressStore(app.engine.db).bestScores(name) };
  }));

}
