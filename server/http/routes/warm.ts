// Warm pools over HTTP (the trainer's, in workshop mode):
//   GET /api/warm                      -> WarmStatus
//   PUT /api/warm/:lab { size }        -> { lab, size }   (0 removes the pool)
import type express from 'express';
import { setPoolSchema } from '../../protocol/warm.ts';
import { HttpError, invalid, wrap } from '../respond.ts';
import type { RouteContext } from './context.ts';

export function warmRoutes(web: express.Express, ctx: RouteContext): void {
  const pools = () => {
    if (!ctx.app.warm) throw new HttpError(503, 'this server keeps no warm pools');
    return ctx.app.warm;
  };
  web.get('/api/warm', wrap(() => pools().status()));

  web.put('/api/warm/:lab', wrap(async (req) => {
    const body = setPoolSchema.safeParse(req.body ?? {});
    if (!body.success) throw invalid('warm pool', body.error.issues, '{ "size": <warm sessions to keep, 0-100> }');
    return pools().setSize(String(req.params.lab), body.data.size);
  }));
}
