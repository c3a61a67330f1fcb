// Grading on real labs: the ground truth is the fault the session really got, evidence counts
// only when it shows the fault, a live fix is verified on the lab (workarounds refused), hints and
// earlier attempts cost points, results survive a restart, and nothing a learner can fetch before
// being graded gives the answer away.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Faults } from '../server/fault/faults.ts';
import { retainedEvents } from '../server/flow/collector.ts';
import { Grader } from '../server/grade/grader.ts';
import { workaroundsInPlace, type Workaround } from '../server/grade/workarounds.ts';
import { startServer } from '../server/http/server.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { Prober } from '../server/probe/prober.ts';
import type { Topology } from '../server/protocol/session.ts';
import { chooseVariant } from '../server/session/variant.ts';
import { cli, testApp, writeLab } from './helpers.ts';
import { expectNoGroundTruth, learnerPayloads } from './leaks.ts';

const app = testApp();
const entry = loadLab('published-port-empty-reply');
const seedFor = (id: string, after = 0) => [...Array(500).keys()].find((s) => s > after && chooseVariant(entry.lab, s)?.id === id)!;
const sessions: Record<string, Topology> = {};

beforeAll(async () => {
  const [s1, s2, s3, s4] = await Promise.all([
    app.engine.up(entry, { seed: seedFor('loopback'), learner: 'ada' }),
    app.engine.up(entry, { seed: seedFor('wrong-target-port'), learner: 'ada' }),
    app.engine.up(entry, { seed: seedFor('loopback', 100), learner: 'bob' }),
    app.engine.up(entry, { seed: seedFor('wrong-target-port', 100), learner: 'bob' }),
  ]);
  Object.assign(sessions, { s1, s2, s3, s4 });
  await app.engine.settled();
});
afterAll(() => app.dispose());

const live = (k: string) => app.engine.live(sessions[k]!.session);
const grader = (k: string) => new Grader(live(k));
const probe = async (k: string, from: string, to: string) => (await new Prober(live(k)).run([{ from, to }]))[0]!;

describe('grading one session through its attempts', () => {
  it('a wrong cause fails', async () => {
    const evidence = await probe('s1', 'checkout', 'http://shop:8080/');
    expect(evidence.status).toBe('refused');
    const r = await grader('s1').grade({ cause: 'mapping-wrong-port', culprit: 'shop', evidence: [evidence.id], fixed: false });
    expect(r).toMatchObject({ passed: false, attempt: 1, attempts_left: 2 });
    expect(r.breakdown.cause.earned).toBe(0);
    expect(r.breakdown.evidence.earned).toBe(20);
    expect(r.feedback.explanation).toBeUndefined(); // not graded yet: no ground truth in the feedback
    expect(JSON.stringify(r)).not.toMatch(/rebind|127\.0\.0\.1 only/);
  });

  it('the right cause with a blurry culprit gets partial credit; evidence that does not show the fault earns nothing', async () => {
    const unrelated = await probe('s1', 'checkout', 'dns:shop');
    expect(unrelated.status).toBe('ok');
    const r = await grader('s1').grade({ cause: 'bound-loopback', culprit: 'checkout->shop:8080/tcp', evidence: [unrelated.id, 'e0000000000000000'], fixed: false });
    expect(r.breakdown.cause.earned).toBe(40);
    expect(r.breakdown.culprit).toMatchObject({ earned: 10, of: 20 });
    expect(r.breakdown.evidence.earned).toBe(0);
    expect(r.breakdown.earlier_attempts).toEqual({ count: 1, cost: 10 });
    expect(r.score).toBe(40);
    expect(r.passed).toBe(false);
    expect(r.feedback.missed.join(' ')).toMatch(/evidence e0000000000000000 is not a probe result or flow event of this session/);
  });

  it('a real live fix adds the fix credit; hints and earlier attempts cost points; the last attempt shows the answer', async () => {
    const hint = grader('s1').takeHint();
    expect(hint).toMatchObject({ index: 0, cost: 10 });
    // The fix a learner makes: rebind the server to every address.
    const fix = await app.engine.docker.exec(live('s1').containerName('shop'), ['lab-serve', 'rebind', '--port', '8080', '--bind', '0.0.0.0']);
    expect(fix.exitCode).toBe(0);
    expect((await probe('s1', 'host', 'http://localhost:${shop.ports.8080}/')).status).toBe('ok');
    const events = await retainedEvents(live('s1'));
    const refused = events.find((e) => e.type === 'tcp.connect' && e.dst === 'shop' && e.dst_port === 8080 && e.outcome === 'refused');
    expect(refused, 'the capture saw the refused connection').toBeDefined();
    const r = await grader('s1').grade({ cause: 'bound-loopback', culprit: 'shop', evidence: [refused!.id], fixed: true });
    expect(r.breakdown.fix).toMatchObject({ earned: 20, why: 'live fix verified' });
    expect(r.breakdown.evidence.earned).toBe(20);
    expect(r.breakdown.hints).toEqual({ cost: 10, taken: 1 });
    expect(r.score).toBe(100 - 10 - 20);
    expect(r).toMatchObject({ passed: true, attempt: 3, attempts_left: 0 });
    expect(r.feedback.explanation).toMatch(/eth0 address/);
    expect(r.feedback.what_was_broken?.join(' ')).toMatch(/listens on 127\.0\.0\.1 only/);
    expect(r.feedback.commands?.join(' ')).toMatch(/ss -ltnp/);
    await expect(grader('s1').grade({ cause: 'bound-loopback', culprit: 'shop', evidence: [], fixed: false })).rejects.toThrow(/already passed/);
  });
});

describe('live fix verification', () => {
  it('refuses a workaround, names it, and accepts the real fix', async () => {
    const l = live('s2');
    const evidence = await probe('s2', 'host', 'http://localhost:${shop.ports.8080}/');
    expect(['empty-reply', 'reset']).toContain(evidence.status);
    // Publishing another port hides the symptom without repairing the mapping.
    await l.recreateService('shop', (spec) => {
      spec.ports = [...spec.ports.map((p) => ({ ...p, containerPort: 8081 })), { hostIp: '127.0.0.1', hostPort: spec.ports[0]!.hostPort + 1, containerPort: 8080, proto: 'tcp' }];
    });
    // Cause right, nothing else: stays under the pass mark, so the session can be graded again.
    const bad = await grader('s2').grade({ cause: 'mapping-wrong-port', culprit: 'checkout', evidence: [], fixed: true });
    expect(bad.breakdown.fix.earned).toBe(0);
    expect(bad.feedback.workarounds.join(' ')).toMatch(/new-published-port: shop publishes 127\.0\.0\.1:\d+->8080\/tcp/);
    expect(bad.feedback.missed.join(' ')).toMatch(/the fault itself is still in place/);
    // The real fix: re-create shop with the mapping the lab means (same host port).
    await l.recreateService('shop', () => {});
    const good = await grader('s2').grade({ cause: 'mapping-wrong-port', culprit: 'shop', evidence: [evidence.id], fixed: true });
    expect(bad.passed).toBe(false);
    expect(good.breakdown.fix.earned).toBe(20);
    expect(good.feedback.workarounds).toEqual([]);
    expect(good.passed).toBe(true);
  });

  it('detects each forbidden workaround on the live lab', async () => {
    const file = writeLab(
      app.dataDir,
      'forbid-all',
      `networks: { a: {}, b: {} }
services:
  web: { image: toolbox, command: "lab-serve http --port 8080", networks: [a], ports: ["auto:8080"] }
  other: { image: toolbox, networks: [b] }
fix: { forbid: [host-network, new-published-port, hosts-file, new-alias, extra-network, privileged] }
`,
    );
    const topo = await app.engine.up(loadLab(file));
    try {
      const l = app.engine.live(topo.session);
      const all: Workaround[] = ['host-network', 'new-published-port', 'hosts-file', 'new-alias', 'extra-network', 'privileged'];
      expect(await workaroundsInPlace(l, all)).toEqual([]);
      const web = l.containerName('web');
      const cases: [Workaround, () => Promise<void>][] = [
        ['host-network', () => l.recreateService('web', (s) => ((s.network = { kind: 'host' }), (s.ports = []), (s.capAdd = [])), { wait: false })],
        ['new-published-port', () => l.recreateService('web', (s) => s.ports.push({ hostIp: '127.0.0.1', hostPort: s.ports[0]!.hostPort + 1, containerPort: 9090, proto: 'tcp' }))],
        ['hosts-file', () => l.recreateService('web', (s) => s.extraHosts.push('db:10.1.2.3'))],
        ['new-alias', () => app.engine.docker.disconnect(l.networkName('a'), web).then(() => app.engine.docker.connect(l.networkName('a'), web, { aliases: ['web', 'shop'] }))],
        ['extra-network', () => app.engine.docker.connect(l.networkName('b'), web, { aliases: ['web'] })],
        ['privileged', () => l.recreateService('web', (s) => s.capAdd.push('NET_ADMIN'))],
      ];
      for (const [name, make] of cases) {
        await make();
        const found = await workaroundsInPlace(l, all);
        expect(found.map((f) => f.name), name).toEqual([name]);
        await l.recreateService('web', () => {});
        expect(await workaroundsInPlace(l, all), `after undoing ${name}`).toEqual([]);
      }
    } finally {
      await app.engine.down(topo.session);
    }
  });
});

describe('ground truth per session, results, and what learners can see', () => {
  it('two sessions with different seeds get different ground truth, and the grader follows each', async () => {
    expect(app.engine.store.get(sessions.s3!.session)?.variant).toBe('loopback');
    expect(app.engine.store.get(sessions.s4!.session)?.variant).toBe('wrong-target-port');
    expect(grader('s3').answer()?.cause).toBe('bound-loopback');
    expect(grader('s4').answer()?.cause).toBe('mapping-wrong-port');
  });

  it('no learner-facing route or socket event carries the ground truth before grading', async () => {
    const server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: app.dataDir }, background: false, handleSignals: false });
    const id = sessions.s4!.session;
    let payloads: string[];
    try {
      payloads = await learnerPayloads(server.url, id, 'published-port-empty-reply', () => probe('s4', 'checkout', 'http://shop:8080/'));
    } finally {
      await server.close();
    }
    const truth = new Faults(live('s4')).list()[0]!.describe as { summary: string };
    expectNoGroundTruth(payloads, /wrong-target-port|port-mismatch|lab-serve rebind/, truth.summary);
  });

  it('keeps every result across a restart, and exports them', async () => {
    const id = sessions.s3!.session;
    const a = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: app.dataDir }, background: false, handleSignals: false });
    const evidence = await probe('s3', 'checkout', 'http://shop:8080/');
    const res = await fetch(`${a.url}/api/sessions/${id}/diagnosis`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cause: 'bound-loopback', culprit: 'shop', evidence: [evidence.id] }) });
    const body = (await res.json()) as { ok: boolean; result: { passed: boolean; score: number } };
    expect(body).toMatchObject({ ok: true, result: { passed: true, score: 80 } });
    const bad = await fetch(`${a.url}/api/sessions/${id}/diagnosis`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cause: 'nope', culprit: 'shop' }) });
    expect(bad.status).toBe(409);
    await a.close();

    const b = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: app.dataDir }, background: false, handleSignals: false });
    try {
      const results = ((await (await fetch(`${b.url}/api/results`)).json()) as { results: { session: string; learner: string; score: number; variant: string }[] }).results;
      expect(results.find((r) => r.session === id)).toMatchObject({ learner: 'bob', score: 80, variant: 'loopback' });
      expect(results.filter((r) => r.learner === 'ada').length).toBeGreaterThanOrEqual(3);
    } finally {
      await b.close();
    }
    const csv = await cli(['results', '--csv'], { FLOWLAB_DATA: app.dataDir });
    expect(csv.stdout.split('\r\n')[0]).toBe('learner,lab,variant,seed,session,attempt,score,passed,hints,seconds,started_at,graded_at');
    expect(csv.stdout).toMatch(new RegExp(`bob,published-port-empty-reply,loopback,\\d+,${id},1,80,true,0,`));
    // Once graded, the action log shows what the fault did.
    expect(app.engine.store.actions(id, { includeRevealing: new Grader(live('s3')).graded() }).map((x) => x.command).join('\n')).toMatch(/lab-serve rebind --port 8080 --bind 127\.0\.0\.1/);
  });

  it('grades from the command line', async () => {
    const id = sessions.s4!.session;
    const r = await cli(['grade', id, '--answer', '-', '--json'], { FLOWLAB_DATA: app.dataDir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/expected the answer as JSON/);
  });
});
