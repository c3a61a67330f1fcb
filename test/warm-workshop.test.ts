// A workshop's Prepare on the real daemon: the capacity plan says whether N learners fit and what
// to add when they do not; preparing warms one lab per learner within the room, the warm labs hold
// their places; learners' Start claims them (their own variants, spread), no refill beyond the
// learners who have not started; ending the workshop removes every lab, the unclaimed warm ones
// too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type Running } from '../server/http/server.ts';
import { LABEL } from '../server/docker/labels.ts';
import type { PreparePlan, PrepareProgress } from '../server/protocol/warm.ts';
import { docker, tempDataDir } from './helpers.ts';

type Json = Record<string, any>;
const LAB = 'split-networks';
const dataDir = tempDataDir();
let server: Running;

async function call(method: string, path: string, opts: { token?: string; body?: unknown } = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.token ?? server.trainerToken}` },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Json };
}
const trainerView = async () => (await call('GET', '/api/workshop')).body.view as Json;
async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`not ${what} after ${timeoutMs / 1000} s: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
const slotOf = async (token: string) => ((await call('GET', '/api/workshop', { token })).body.view.labs as Json[]).find((l) => l.lab === LAB)!;

beforeAll(async () => {
  server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir }, background: false, handleSignals: false, warmTickMs: 300, workshop: { maxLabs: 4, idleMinutes: 30 } });
  const made = await call('POST', '/api/workshops', { body: { name: 'Prepared room', labs: [LAB], code: 'WARM42' } });
  expect(made.status).toBe(201);
}, 60_000);
afterAll(async () => {
  await server?.close();
  const mine = [...(await docker.listContainers({ [LABEL.registry]: dataDir })), ...(await docker.listNetworks({ [LABEL.registry]: dataDir }))];
  expect(mine.map((o) => o.name)).toEqual([]);
}, 120_000);

describe('preparing a workshop', () => {
  const learners: { token: string; name: string }[] = [];

  it('plans first: what N learners need, whether it fits, and what to add when it does not', async () => {
    const big = await call('POST', '/api/workshop/prepare', { body: { learners: 5, plan_only: true } });
    expect(big.status).toBe(200);
    const plan = big.body.plan as PreparePlan;
    expect(plan).toMatchObject({ learners: 5, fits: false, capacity: { max_labs: 4, in_use: 0 } });
    expect(plan.labs).toEqual([expect.objectContaining({ lab: LAB, sessions: 5, refused: null })]);
    expect(plan.total.containers).toBe(5 * plan.labs[0]!.containers / 5);
    expect(plan.advice).toEqual(['room for 4 of the 5 labs (0 already running or warm, at most 4 at once)', 'raise --max-labs to 5, if the engines hold them', 'or prepare for 4 learners; the others start on demand']);
    expect(plan.engines.map((e) => e.name)).toEqual(['local']);
    expect(plan.estimate_s).toBeGreaterThan(0);
    expect(big.body.progress).toBeNull();
    // Nothing was started by a plan.
    expect(server.app.engine.store.warm()).toEqual([]);
    const bad = await call('POST', '/api/workshop/prepare', { body: { learners: 0 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^invalid prepare at learners: .*expected \{ "learners": <1-500>, "plan_only"\?: true \}/);
  });

  it('prepares the room: one lab per learner still to start kept warm, holding its place, progress shown', async () => {
    for (const name of ['zed', 'ada', 'bob', 'cyd']) {
      const j = await call('POST', '/api/workshop/join', { body: { code: 'WARM42', name } });
      learners.push({ token: j.body.token as string, name });
    }
    // One learner started before the room was prepared: one of the four, with nothing to claim.
    const zed = learners[0]!;
    await call('POST', `/api/workshop/labs/${LAB}/start`, { token: zed.token });
    const early = await until('ready', () => slotOf(zed.token), (s) => s.state === 'ready', 120_000);
    expect(server.app.engine.store.get(early.session as string)?.claimedAt).toBeNull();
    const r = await call('POST', '/api/workshop/prepare', { body: { learners: 4 } });
    expect(r.status).toBe(200);
    expect(r.body.plan).toMatchObject({ fits: true, learners: 4, capacity: { max_labs: 4, in_use: 1 } });
    const view = await until('prepared', trainerView, (v) => v.prepare?.progress.done === true && v.prepare.progress.warm === 3);
    const progress = view.prepare.progress as PrepareProgress;
    expect(progress).toMatchObject({ learners: 4, wanted: 3, warm: 3, claimed: 0, engines: { local: { warm: 3, starting: 0 } } });
    // Warm labs hold their places in the room: nothing more may start beyond it.
    expect(view.capacity).toMatchObject({ max_labs: 4, running: 4, queued: 0 });
    expect((view.events as Json[]).some((e) => e.kind === 'prepare' && /preparing the room for 4 learners: 3 labs to warm/.test(e.text))).toBe(true);
  }, 240_000);

  it('learners’ Start claims the warm labs, each with its own spread variant; no refill beyond those still to start', async () => {
    const warmIds = new Set(server.app.engine.store.warm().map((w) => w.id));
    const [, ada, bob] = learners;
    await Promise.all([ada, bob].map((l) => call('POST', `/api/workshop/labs/${LAB}/start`, { token: l!.token })));
    const slots = await Promise.all([ada, bob].map((l) => until('ready', () => slotOf(l!.token), (s) => s.state === 'ready', 30_000)));
    for (const s of slots) {
      expect(warmIds.has(s.session as string)).toBe(true);
      expect(server.app.engine.store.get(s.session as string)?.claimedAt).toEqual(expect.any(Number));
    }
    // Spread over the room as on demand: with zed's, the lab's two variants drawn 2 and 1 times.
    const zedSession = (await slotOf(learners[0]!.token)).session as string;
    const counts: Record<string, number> = {};
    for (const id of [zedSession, ...slots.map((x) => x.session as string)]) {
      const v = server.app.engine.store.get(id)!.variant!;
      counts[v] = (counts[v] ?? 0) + 1;
    }
    expect(Object.values(counts).sort()).toEqual([1, 2]);
    const view = await trainerView();
    expect(view.capacity).toMatchObject({ running: 4, queued: 0 });
    expect(view.prepare.progress).toMatchObject({ claimed: 2, warm: 1, wanted: 1, done: true });
    // The pool wants one more for the one learner of three who has not started: none is made.
    await new Promise((r) => setTimeout(r, 1500));
    expect(server.app.warm!.status().pools[0]).toMatchObject({ lab: LAB, warm: 1, starting: 0 });
  }, 120_000);

  it('ending the workshop removes every lab, the prepared one nobody claimed too', async () => {
    expect(server.app.warm!.status().pools[0]).toMatchObject({ warm: 1 });
    const r = await call('POST', '/api/workshop/end');
    expect(r.status).toBe(200);
    expect(r.body.removed).toBe(3);
    await server.app.warm!.idle();
    expect(server.app.engine.store.list(['starting', 'ready'])).toEqual([]);
    expect(server.app.warm!.status()).toMatchObject({ pools: [], sessions: [] });
  }, 180_000);
});
