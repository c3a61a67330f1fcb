// Warm pools on the real daemon, through a running server that refills them: warm sessions are
// healthy, unbroken, nobody's, and listed apart; a claim gives exactly the variant its seed draws
// (the same faults as a cold start with that seed), hides the faults' steps, and leaks nothing
// before grading; pools refill; concurrent claims never share one; a claim during a refill, or
// with the pool empty, starts on demand at once; an unclaimed one expires; warm ones count in
// placement. Nothing is left afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab } from '../server/app/labs.ts';
import { engineLoads } from '../server/app/placement.ts';
import { LABEL } from '../server/docker/labels.ts';
import { Faults } from '../server/fault/faults.ts';
import { startServer, type Running } from '../server/http/server.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { Prober } from '../server/probe/prober.ts';
import type { WarmStatus } from '../server/protocol/warm.ts';
import { chooseVariant } from '../server/session/variant.ts';
import { FaultStore } from '../server/store/faults.ts';
import { cli, docker, expectGone, none, tempDataDir } from './helpers.ts';
import { expectNoGroundTruth, learnerPayloads } from './leaks.ts';

const LAB = 'published-port-empty-reply';
const entry = loadLab(LAB);
const seedFor = (variant: string, after = 0) => [...Array(1000).keys()].find((s) => s > after && chooseVariant(entry.lab, s)?.id === variant)!;
const dataDir = tempDataDir();
let server: Running;

const api = async <T>(path: string, init?: { method: string; body: unknown }): Promise<T & { ok: boolean; error?: string }> => {
  const res = await fetch(`${server.url}${path}`, init ? { method: init.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.body) } : undefined);
  return (await res.json()) as T & { ok: boolean; error?: string };
};
const pool = async () => (await api<WarmStatus>('/api/warm')).pools.find((p) => p.lab === LAB);

/** Polls the pool until `ok` holds of it. */
async function poolUntil(what: string, ok: (p: NonNullable<Awaited<ReturnType<typeof pool>>>) => boolean, timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const p = await pool();
    if (p && ok(p)) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`the pool of ${LAB} is not ${what} after ${timeoutMs / 1000} s: ${JSON.stringify(p)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const faultsOf = (session: string) => new FaultStore(server.app.engine.db).list(session).map((f) => ({ type: f.type, params: f.params, origin: f.origin, state: f.state }));
// docker-proxy either resets or closes a connection it cannot pass on, as a race decides: the same
// symptom, whichever a run shows.
const probeAll = async (session: string) => (await new Prober(server.app.engine.live(session)).run(entry.lab.probes.map((p) => ({ from: p.from, to: p.to })))).map((r) => (r.status === 'empty-reply' ? 'reset' : r.status));

beforeAll(async () => {
  server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir }, background: false, handleSignals: false, engineWatchMs: 1000, warmTickMs: 300 });
}, 60_000);
afterAll(async () => {
  await server?.app.warm?.setSize(LAB, 0).catch(() => undefined);
  await server?.app.warm?.idle();
  await server?.app.engine.downAll().catch(() => undefined);
  await server?.close();
  const mine = [...(await docker.listContainers({ [LABEL.registry]: dataDir })), ...(await docker.listNetworks({ [LABEL.registry]: dataDir }))];
  expect(mine.map((o) => o.name)).toEqual([]);
}, 180_000);

describe('a warm pool', () => {
  it('keeps its sessions up and healthy, unbroken and nobody’s, listed apart', async () => {
    const bad = await api('/api/warm/no-such-lab', { method: 'PUT', body: { size: 2 } });
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/no-such-lab/);
    const wrong = await api(`/api/warm/${LAB}`, { method: 'PUT', body: { size: -1 } });
    expect(wrong.error).toMatch(/^invalid warm pool at size: .*expected \{ "size": <warm sessions to keep, 0-100> \}/);
    const refused = await api('/api/warm/host-port-clash', { method: 'PUT', body: { size: 1 } });
    expect(refused.error).toMatch(/lab "host-port-clash" is never kept warm: agent uses the host's network/);

    expect(await api(`/api/warm/${LAB}`, { method: 'PUT', body: { size: 2 } })).toMatchObject({ ok: true, lab: LAB, size: 2 });
    await poolUntil('2 warm', (p) => p.warm === 2 && p.starting === 0);
    const warm = server.app.engine.store.warm();
    expect(warm.map((r) => r.state)).toEqual(['ready', 'ready']);
    for (const r of warm) {
      expect(faultsOf(r.id)).toEqual([]);
      expect(r.variant).toBeNull();
      expect(server.app.engine.store.actions(r.id, { includeRevealing: true }).some((a) => a.reveals_fault)).toBe(false);
      expect(() => server.app.engine.live(r.id)).toThrow(/is warm: it waits in the pool of published-port-empty-reply, not yet anyone's/);
    }
    // Its services run, its captures too (started at the lowest priority once it was ready).
    for (const r of warm) {
      const roles = (await docker.listContainers({ [LABEL.session]: r.id })).filter((c) => c.state === 'running').map((c) => c.labels[LABEL.role]);
      expect(roles.filter((x) => x === 'service').length).toBe(Object.keys(entry.lab.services).length);
    }
    await server.app.engine.settled();
    // Not a learner's session: listed apart.
    expect((await api<{ sessions: unknown[] }>('/api/sessions')).sessions).toEqual([]);
    const status = await cli(['status'], { FLOWLAB_DATA: dataDir });
    expect(status.stdout).toMatch(/^no live sessions\n\nwarm, waiting to be claimed \(2\):/);
    for (const r of warm) expect(status.stdout).toContain(r.id);
    const pools = await cli(['warm'], { FLOWLAB_DATA: dataDir });
    expect(pools.stdout).toMatch(new RegExp(`${LAB}\\s+2\\s+2\\s+0\\s+0\\s+local:2`));
    // They count in placement like any lab there.
    const local = (await engineLoads(server.app)).find((l) => l.name === 'local')!;
    expect(local.labs).toBe(2);
  }, 180_000);

  it('a claim gets exactly the variant its seed draws, with the faults a cold start with that seed gets', async () => {
    const warmIds = new Set(server.app.engine.store.warm().map((r) => r.id));
    for (const variant of ['loopback', 'wrong-target-port']) {
      const seed = seedFor(variant);
      const claimed = await startLab(server.app, LAB, { seed, learner: 'ada' });
      const rec = server.app.engine.store.get(claimed.session)!;
      expect(warmIds.has(claimed.session)).toBe(true);
      expect(rec).toMatchObject({ state: 'ready', seed, variant, warmAt: null, claimedAt: expect.any(Number) });
      expect(claimed.seed).toBe(seed);
      const cold = await server.app.engine.up(entry, { seed, learner: 'ada' });
      expect(server.app.engine.store.get(cold.session)).toMatchObject({ variant, claimedAt: null });
      expect(faultsOf(claimed.session)).toEqual(faultsOf(cold.session));
      expect(faultsOf(claimed.session).length).toBeGreaterThan(0);
      expect(await probeAll(claimed.session)).toEqual(await probeAll(cold.session));
      // Same names and labels as on demand; the faults' steps hidden until graded.
      const names = (await docker.listContainers({ [LABEL.session]: claimed.session })).filter((c) => c.labels[LABEL.role] === 'service').map((c) => c.name.replace(claimed.session, 'S')).sort();
      const coldNames = (await docker.listContainers({ [LABEL.session]: cold.session })).filter((c) => c.labels[LABEL.role] === 'service').map((c) => c.name.replace(cold.session, 'S')).sort();
      expect(names).toEqual(coldNames);
      const shown = server.app.engine.store.actions(claimed.session, { includeRevealing: false }).map((a) => a.command).join('\n');
      const all = server.app.engine.store.actions(claimed.session, { includeRevealing: true }).map((a) => a.command).join('\n');
      expect(shown).not.toMatch(/lab-serve rebind|docker rm --force/);
      expect(all.length).toBeGreaterThan(shown.length);
      await server.app.engine.down(cold.session);
    }
  }, 240_000);

  it('leaks nothing of a claimed session’s ground truth to a learner before grading', async () => {
    const claimed = server.app.engine.store.list(['ready']).find((r) => r.variant === 'wrong-target-port' && r.claimedAt !== null)!;
    const payloads = await learnerPayloads(server.url, claimed.id, LAB, () => new Prober(server.app.engine.live(claimed.id)).run([{ from: 'checkout', to: 'http://shop:8080/' }]));
    const truth = new Faults(server.app.engine.live(claimed.id)).list()[0]!.describe as { summary: string };
    expectNoGroundTruth(payloads, /wrong-target-port|port-mismatch|lab-serve rebind/, truth.summary);
  }, 120_000);

  it('refills after claims', async () => {
    await poolUntil('refilled to 2', (p) => p.warm === 2 && p.starting === 0);
  }, 180_000);

  it('concurrent claims never share a session; the ones the pool cannot serve, and a claim during a refill, start on demand', async () => {
    const warmIds = new Set(server.app.engine.store.warm().map((r) => r.id));
    expect(warmIds.size).toBe(2);
    const seeds = [seedFor('loopback', 10), seedFor('loopback', 20), seedFor('wrong-target-port', 10), seedFor('wrong-target-port', 20)];
    const tops = await Promise.all(seeds.map((seed) => startLab(server.app, LAB, { seed, learner: 'bob' })));
    const ids = tops.map((t) => t.session);
    expect(new Set(ids).size).toBe(4);
    const claimed = ids.filter((id) => warmIds.has(id));
    expect(claimed.length).toBe(2);
    for (const [i, t] of tops.entries()) expect(server.app.engine.store.get(t.session)).toMatchObject({ seed: seeds[i], variant: chooseVariant(entry.lab, seeds[i]!)!.id });
    expect(ids.filter((id) => server.app.engine.store.get(id)!.claimedAt !== null).sort()).toEqual([...claimed].sort());
    // The pool is refilling: what is on its way is not claimed, the start goes on demand.
    await poolUntil('refilling', (p) => p.starting > 0, 30_000);
    const during = await startLab(server.app, LAB, { seed: seedFor('loopback', 30) });
    expect(server.app.engine.store.get(during.session)!.claimedAt).toBeNull();
    expect(server.app.engine.store.warm().some((r) => r.id === during.session)).toBe(false);
    await Promise.all([...ids, during.session].map((id) => server.app.engine.down(id)));
  }, 300_000);

  it('flowlab up, and Restart with a new seed, claim too', async () => {
    await poolUntil('refilled to 2', (p) => p.warm === 2 && p.starting === 0);
    const warmIds = new Set(server.app.engine.store.warm().map((r) => r.id));
    const seed = seedFor('wrong-target-port', 40);
    const up = await cli(['up', LAB, '--seed', String(seed), '--json'], { FLOWLAB_DATA: dataDir });
    expect(up.code, up.stderr).toBe(0);
    const byCli = JSON.parse(up.stdout) as { session: string; seed: number };
    expect(warmIds.has(byCli.session)).toBe(true);
    // The CLI's claim outlives the CLI, as its cold starts do.
    expect(server.app.engine.store.get(byCli.session)).toMatchObject({ state: 'ready', seed, variant: 'wrong-target-port', detached: true });
    expect(faultsOf(byCli.session).map((f) => f.type)).toEqual(['port-mismatch']);
    const restarted = await api<{ session: { session: string } }>(`/api/sessions/${byCli.session}/restart`, { method: 'POST', body: { new_seed: true } });
    expect(restarted.ok, restarted.error).toBe(true);
    expect(warmIds.has(restarted.session.session)).toBe(true);
    expect(server.app.engine.store.get(byCli.session)?.state).toBe('ended');
    await server.app.engine.down(restarted.session.session);
  }, 240_000);

  it('an unclaimed warm session expires after its TTL and is made again', async () => {
    await poolUntil('refilled to 2', (p) => p.warm === 2 && p.starting === 0);
    const before = new Set(server.app.engine.store.warm().map((r) => r.id));
    const warm = server.app.warm!;
    const ttl = warm.opts.ttlMs;
    warm.opts.ttlMs = 1000;
    try {
      await poolUntil('expired', () => !server.app.engine.store.warm().some((r) => before.has(r.id)), 60_000);
    } finally {
      warm.opts.ttlMs = ttl;
    }
    for (const id of before) expect(server.app.engine.store.get(id)?.state).toBe('ended');
    for (const id of before) expect(await expectGone(id)).toEqual(none);
    await poolUntil('made again', (p) => p.warm === 2 && p.starting === 0);
  }, 240_000);

  it('an empty pool: a start goes on demand at once, and the pool, set to 0, empties', async () => {
    expect(await api(`/api/warm/${LAB}`, { method: 'PUT', body: { size: 0 } })).toMatchObject({ ok: true, size: 0 });
    const t0 = Date.now();
    while (server.app.engine.store.warm().length > 0 && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 200));
    expect(await api<WarmStatus>('/api/warm')).toMatchObject({ pools: [], sessions: [] });
    const cold = await startLab(server.app, LAB, { seed: seedFor('loopback') });
    expect(server.app.engine.store.get(cold.session)).toMatchObject({ state: 'ready', claimedAt: null, variant: 'loopback' });
    await server.app.engine.down(cold.session);
  }, 120_000);
});
