// The engine pool: list, add, drain, remove (the trainer's, in workshop mode).
import type express from 'express';
import { removeEngine } from '../../app/labs.ts';
import { listEngines } from '../../app/placement.ts';
import { addEngineSchema, drainEngineSchema } from '../../protocol/engines.ts';
import { invalid, wrap } from '../respond.ts';
import type { RouteContext } from './context.ts';

export function engineRoutes(web: express.Express, ctx: RouteContext): void {
  const { app } = ctx;
  web.get('/api/engines', wrap(async () => ({ engines: await listEngines(app) })));

  web.post('/api/engines', wrap(async (req) => {
    const body = addEngineSchema.safeParse(req.body ?? {});
    if (!body.success) throw invalid('engine', body.error.issues, '{ "name": "node-2", "url": "tcp://10.0.0.5:2376", "tls_dir": "/path/with/ca.pem,cert.pem,key.pem" }');
    return { engine: await app.engines.add(body.data.name, body.data.url, body.data.tls_dir) };
  }));

  web.post('/api/engines/:name/drain', wrap((req) => {
    const body = drainEngineSchema.safeParse(req.body ?? {});
    if (!body.success) throw invalid('drain', body.error.issues, '{ "drained": true }');
    app.engines.drain(String(req.params.name), body.data.drained);
    return { name: String(req.params.name), drained: body.data.drained };
  }));

  web.delete('/api/engines/:name', wrap(async (req) => {
    const name = String(req.params.name);
    await removeEngine(app, name, { force: req.query.force === '1' });
    return { removed: name };
  }));
}
