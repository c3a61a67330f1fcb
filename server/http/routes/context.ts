// What every group of routes is given: the app, the images' state, and in workshop mode the gate.
import type { Response } from 'express';
import type { App } from '../../app/app.ts';
import type { FlowEvent } from '../../protocol/flow.ts';
import type { Workshops } from '../../workshop/workshops.ts';
import type { Gate } from '../auth.ts';
import { principal } from '../respond.ts';

export type ImagesState = { state: 'checking' | 'setting-up' | 'building' | 'ready' | 'failed'; detail: string; log: string[] };

export interface RouteContext {
  app: App;
  images: ImagesState;
  /** An event the live flow stream has seen, by id. */
  seenEvent?: ((session: string, id: string) => FlowEvent | undefined) | undefined;
  /** Workshop mode: every /api call is authenticated and checked against the caller's role. */
  gate?: Gate | undefined;
  workshops?: Workshops | undefined;
}

/** The learner making the request, in workshop mode. */
export function learnerOf(res: Response) {
  const p = principal(res);
  return p?.role === 'learner' ? p : undefined;
}
