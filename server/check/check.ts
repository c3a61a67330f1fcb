// `flowlab check`: proves a lab on the real daemon, variant by variant — it starts, breaks as
// described, shows the symptom, the evidence is there, the right diagnosis passes and every
// distractor fails, the solution really repairs it, the fix is verified, no packet left the lab,
// and nothing is left behind. Stops at the first failure and names it.
import type { Consoles } from '../console/consoles.ts';
import { LABEL } from '../docker/labels.ts';
import { retainedEvents } from '../flow/collector.ts';
import { differences, expectedFlows, lastOutcome, type Difference, type ExpectedFlow } from '../flow/expected.ts';
import { trafficOutsideLab } from '../flow/traffic.ts';
import { Grader } from '../grade/grader.ts';
import type { CatalogueEntry } from '../lab/catalogue.ts';
import type { Lab, ServiceDef, SolutionStep } from '../lab/schema.ts';
import type { FlowEvent } from '../protocol/flow.ts';
import { Prober } from '../probe/prober.ts';
import { trafficResults } from '../probe/traffic.ts';
import type { App } from '../app/app.ts';
import { endLab, startLab } from '../app/labs.ts';
import type { LiveSession } from '../session/live.ts';
import { planLab } from '../session/plan.ts';
import { seedDrawing } from '../session/variant.ts';

export interface CheckStep {
  step: string;
  ok: boolean;
  detail: string;
  seconds: number;
}

export interface VariantCheck {
  lab: string;
  variant: string | null;
  session: string | null;
  ok: boolean;
  steps: CheckStep[];
}

export class CheckFailure extends Error {}

/** The seed that gives a lab this variant (variants are picked from the seed). */
function seedForVariant(lab: Lab, variant: string | null): number {
  if (variant === null) return 0;
  const seed = seedDrawing(lab, variant, 0, 10_000);
  if (seed === undefined) throw new CheckFailure(`no seed below 10000 picks variant "${variant}"`);
  return seed;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs one solution step the way a learner would. */
async function runStep(step: SolutionStep, live: LiveSession, consoles: Consoles): Promise<string> {
  const docker = live.docker;
  if ('exec' in step) {
    step = { ...step, exec: { ...step.exec, run: live.resolveRefs(step.exec.run) } };
    const ns = await live.namespaceOf(step.exec.service);
    live.record(`docker exec ${ns.container} sh -c ${JSON.stringify(step.exec.run)}`);
    const r = await docker.exec(ns.container, ['sh', '-c', step.exec.run], { timeoutMs: 60_000 });
    if (r.exitCode !== 0) throw new CheckFailure(`in ${step.exec.service}, \`${step.exec.run}\` exited ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
    return `${step.exec.service}: ${step.exec.run}`;
  }
  if ('console' in step) {
    // `${web.ports.80}` and the like, as in probes: what the learner reads off the lab's probes.
    step = { ...step, console: live.resolveRefs(step.console) };
    const { container } = await consoles.ensure(live.id);
    const r = await docker.exec(container, ['sh', '-c', step.console], { timeoutMs: 120_000 });
    if (r.exitCode !== 0) throw new CheckFailure(`in the docker console, \`${step.console}\` exited ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
    return `console: ${step.console}`;
  }
  if ('connect' in step) {
    const ns = await live.namespaceOf(step.connect.service);
    await live.runtime().connect(live.networkName(step.connect.network), ns.container, { aliases: step.connect.aliases ?? [] });
    return `docker network connect ${step.connect.network} ${step.connect.service}`;
  }
  if ('disconnect' in step) {
    const ns = await live.namespaceOf(step.disconnect.service);
    await live.runtime().disconnect(live.networkName(step.disconnect.network), ns.container);
    return `docker network disconnect ${step.disconnect.network} ${step.disconnect.service}`;
  }
  // Re-create the service with the changed settings, as `docker rm -f` + `docker run` would.
  const { service, ...changes } = step.recreate;
  const def = { ...live.lab.services[service], ...changes } as ServiceDef;
  const changed: Lab = { ...live.lab, services: { ...live.lab.services, [service]: def } };
  const planned = planLab(changed, live.ref(live.rec.owner), live.rec.allocation!).services.find((s) => s.name === service);
  if (!planned?.container) throw new CheckFailure(`"${service}" cannot be re-created as a container`);
  await live.recreateService(service, (spec) => Object.assign(spec, { ...planned.container, network: spec.network }));
  const what = Object.entries(changes).map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
  return what.length > 0 ? `re-created ${service} with ${what.join(', ')}` : `re-created ${service} as the lab plans it`;
}

const sameFlow = (x: ExpectedFlow) => (y: ExpectedFlow) => y.edge === x.edge && y.what === x.what;
const describeFlow = (x: ExpectedFlow) => `${x.from} -> ${x.to} ${x.what}`;
const describeDifference = (d: Difference) => `${describeFlow(d)}: ${d.observed}${d.since ? ` since ${d.since.slice(11, 19)}` : ''}`;

/** Whether the probe `from → to` makes the call `x` of the lab's traffic (the same edge and kind). */
function sameCall(lab: Lab, x: ExpectedFlow, from: string, to: string): boolean {
  const [p] = expectedFlows({ ...lab, traffic: [], probes: [{ from, to }] } as Lab);
  return p !== undefined && p.edge === x.edge && p.kind === x.kind && p.path === x.path;
}

/** Reads the session's flows once a second until `done` says so or `ms` pass; what differs from the lab's traffic, and the events. */
async function watchTraffic(live: LiveSession, traffic: ExpectedFlow[], since: number, ms: number, done: (d: Difference[], events: FlowEvent[]) => boolean): Promise<{ differences: Difference[]; events: FlowEvent[] }> {
  const deadline = Date.now() + ms;
  for (;;) {
    const events = await retainedEvents(live).catch(() => [] as FlowEvent[]);
    const d = differences(traffic, events, Date.now(), since);
    if (done(d, events) || Date.now() >= deadline) return { differences: d, events };
    await sleep(1000);
  }
}

export interface CheckOptions {
  /** Only this variant (default: every one). */
  variant?: string;
  progress?: (line: string) => void;
}

export async function checkLab(app: App, entry: CatalogueEntry, opts: CheckOptions = {}): Promise<VariantCheck[]> {
  const lab = entry.lab;
  const variants: (string | null)[] = lab.variants.length ? lab.variants.map((v) => v.id) : [null];
  if (opts.variant && !variants.includes(opts.variant)) throw new CheckFailure(`lab "${lab.id}" has no variant "${opts.variant}"; it has: ${variants.join(', ') || '(none)'}`);
  const out: VariantCheck[] = [];
  for (const variant of opts.variant ? [opts.variant] : variants) {
    const result = await checkVariant(app, entry, variant, opts.progress ?? (() => {}));
    out.push(result);
    if (!result.ok) break;
  }
  return out;
}

async function checkVariant(app: App, entry: CatalogueEntry, variant: string | null, progress: (line: string) => void): Promise<VariantCheck> {
  const { engine, consoles } = app;
  const lab = entry.lab;
  const res: VariantCheck = { lab: lab.id, variant, session: null, ok: true, steps: [] };
  const name = variant ? `${lab.id} [${variant}]` : lab.id;
  const step = async (title: string, fn: () => Promise<string>): Promise<void> => {
    const t0 = Date.now();
    let ok = true;
    let detail: string;
    try {
      detail = await fn();
    } catch (e) {
      ok = false;
      detail = (e as Error).message;
    }
    const seconds = Math.round((Date.now() - t0) / 100) / 10;
    res.steps.push({ step: title, ok, detail, seconds });
    progress(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${title} — ${detail} (${seconds} s)`);
    if (!ok) {
      res.ok = false;
      throw new CheckFailure(`${name}: ${title}: ${detail}`);
    }
  };

  let live: LiveSession | undefined;
  try {
    await step('up', async () => {
      const topo = await startLab(app, entry, { seed: seedForVariant(lab, variant), initSwarm: true });
      await engine.settled(topo.session);
      res.session = topo.session;
      live = engine.live(topo.session);
      return `session ${topo.session}, seed ${topo.seed}`;
    });
    const l = live!;
    const grader = new Grader(l);
    const answer = grader.answer();
    const broken = lab.faults.length > 0 || (lab.variants.find((v) => v.id === variant)?.faults.length ?? 0) > 0;
    const probeIds: string[] = [];
    const traffic = expectedFlows(lab).filter((x) => x.source === 'traffic');
    const upAt = Date.now();
    /** When the fix was verified: the traffic is timed from it. */
    let fixedAt = Date.now();
    /** What the traffic showed within 10 s of the fault: each flow's difference, or undefined when as expected. */
    let trafficSeen = new Map<ExpectedFlow, Difference | undefined>();

    await step('settled', async () => {
      const t0 = Date.now();
      await l.settle();
      return Date.now() - t0 < 500 ? 'nothing in flight' : 'rolling updates done, tasks running, captures up';
    });

    if (traffic.length) {
      await step('traffic shows it', async () => {
        // The fault is in by now: within 10 s each call of the lab's own traffic has been seen, as
        // expected or not, or is missing.
        const watch = await watchTraffic(l, traffic, upAt, 10_000, (d, events) => traffic.every((x) => d.some(sameFlow(x)) || lastOutcome(x, events) !== undefined));
        trafficSeen = new Map(traffic.map((x) => [x, watch.differences.find(sameFlow(x))]));
        const unseen = traffic.filter((x) => !trafficSeen.get(x) && lastOutcome(x, watch.events) === undefined);
        if (unseen.length) throw new CheckFailure(`not seen within 10 s: ${unseen.map(describeFlow).join('; ')}`);
        if (!broken && !answer && watch.differences.length) throw new CheckFailure(`a healthy lab's traffic differs from what it expects: ${watch.differences.map(describeDifference).join('; ')}`);
        return traffic.map((x) => (trafficSeen.get(x) ? describeDifference(trafficSeen.get(x)!) : `${describeFlow(x)} as expected`)).join('; ');
      });
    }

    await step('symptom', async () => {
      if (lab.probes.length === 0) throw new CheckFailure('the lab has no probes to show its symptom');
      const results = await new Prober(l).run(lab.probes.map((p) => ({ from: p.from, to: p.to })));
      probeIds.push(...results.map((r) => r.id));
      const expected = (i: number) => {
        const e = lab.probes[i]!.expect;
        return e === undefined ? undefined : Array.isArray(e) ? e : [e];
      };
      const wrong = results.flatMap((r, i) => {
        const want = expected(i);
        return want && !want.includes(r.status) ? [`${r.from} -> ${r.target} is ${r.status}, the lab says ${want.join(' or ')}`] : [];
      });
      if (wrong.length) throw new CheckFailure(wrong.join('; '));
      // What a probe shows going wrong on a call the apps make by themselves, their traffic showed.
      const unshown = results.flatMap((r, i) => {
        const p = lab.probes[i]!;
        const x = traffic.find((t) => t.from === p.from && sameCall(lab, t, p.from, p.to));
        return x && !x.expect.includes(r.status) && !trafficSeen.get(x) ? [`${r.from} -> ${r.target} is ${r.status}, but the lab's own traffic on it looked as expected`] : [];
      });
      if (unshown.length) throw new CheckFailure(unshown.join('; '));
      const seen = results.map((r) => `${r.from} -> ${r.target} ${r.status}`).join(', ');
      if (broken && results.every((r) => r.status === 'ok')) throw new CheckFailure(`every probe answers ok, so the breakage does not show: ${seen}`);
      return seen;
    });

    if (!answer) {
      await step('grading', async () => (broken ? Promise.reject(new CheckFailure('the lab breaks something but has no answer to grade against')) : 'a healthy lab: nothing to diagnose'));
    } else {
      let evidence: string[] = [];
      await step('evidence', async () => {
        // The captures hand their packets over within a second or two.
        let events: string[] = [];
        for (let i = 0; i < 10; i++) {
          await sleep(1000);
          events = (await retainedEvents(l).catch(() => [])).map((e) => e.id);
          const r = await grader.grade({ cause: answer.cause, culprit: answer.culprit, evidence: [...probeIds, ...events], fixed: false }, { dryRun: true });
          if (r.breakdown.evidence.earned > 0) {
            evidence = [...probeIds, ...events];
            return r.feedback.right.find((x) => x.startsWith('your evidence shows it')) ?? 'shown';
          }
        }
        throw new CheckFailure(`none of the ${probeIds.length} probe results and ${events.length} flow events shows the fault`);
      });
      await step('right diagnosis passes', async () => {
        const r = await grader.grade({ cause: answer.cause, culprit: answer.culprit, evidence, fixed: false }, { dryRun: true });
        if (!r.passed) throw new CheckFailure(`it scores ${r.score} (pass mark ${r.pass_mark}): ${r.feedback.missed.join('; ')}`);
        return `${answer.cause} / ${answer.culprit}: ${r.score} points`;
      });
      await step('distractors fail', async () => {
        const others = (lab.diagnosis?.causes ?? []).map((c) => c.id).filter((c) => c !== answer.cause);
        if (others.length < 3) throw new CheckFailure(`a diagnosis needs at least 4 causes to choose from; this one offers ${others.length + 1}`);
        for (const cause of others) {
          const r = await grader.grade({ cause, culprit: answer.culprit, evidence, fixed: false }, { dryRun: true });
          if (r.passed) throw new CheckFailure(`the wrong cause "${cause}" passes`);
        }
        return `${others.length} wrong causes fail`;
      });
      await step('solution', async () => {
        const steps = lab.solution.filter((s) => !s.variant || (Array.isArray(s.variant) ? s.variant.includes(variant ?? '') : s.variant === variant));
        if (steps.length === 0) throw new CheckFailure(`the lab has no solution steps${variant ? ` for variant ${variant}` : ''}`);
        const done: string[] = [];
        for (const s of steps) done.push(await runStep(s, l, consoles));
        return done.join('; ');
      });
      await step('fix verified', async () => {
        let last = '';
        for (let i = 0; i < 15; i++) {
          const r = await new Grader(engine.live(l.id)).grade({ cause: answer.cause, culprit: answer.culprit, evidence, fixed: true }, { dryRun: true });
          // Fixed from here (a swarm's tasks move a while after the command): the traffic is timed from it.
          fixedAt = Date.now();
          if (r.breakdown.fix.earned > 0 || r.breakdown.fix.of === 0) return `${r.score} points with the fix`;
          last = r.feedback.missed.filter((m) => m.startsWith('the live fix')).join('; ') + (r.feedback.workarounds.length ? `; ${r.feedback.workarounds.join('; ')}` : '');
          await sleep(1000);
        }
        throw new CheckFailure(last || 'the fix is not verified');
      });
    }

    if (traffic.length && answer) {
      await step('traffic as expected again', async () => {
        const fixed = engine.live(l.id);
        const watch = await watchTraffic(fixed, traffic, upAt, Math.max(1000, 10_000 - (Date.now() - fixedAt)), (d) => d.length === 0);
        const after = `${Math.round((Date.now() - fixedAt) / 100) / 10} s after the fix`;
        // A call the captures have not seen since the fix (two swarm tasks now on one node talk
        // where no capture is): its runner says what it got.
        const unseen = watch.differences.filter((d) => d.last === undefined || Date.parse(d.last) < fixedAt);
        const wrong = watch.differences.filter((d) => !unseen.includes(d));
        if (wrong.length) throw new CheckFailure(`${after}: ${wrong.map(describeDifference).join('; ')}`);
        const results = unseen.length ? await trafficResults(fixed, fixedAt) : [];
        const notes = unseen.map((d) => {
          const got = results.filter((r) => r.from === d.from && r.to === d.target).slice(-2);
          if (got.length < 2 || got.some((r) => !d.expect.includes(r.status))) throw new CheckFailure(`${after}: ${describeDifference(d)}, and its own calls since the fix got ${got.map((r) => r.status).join(', ') || 'nothing'}`);
          return `${describeFlow(d)} not seen by the captures since the fix, its own calls ${got.map((r) => r.status).join(', ')}`;
        });
        return [`${traffic.length - unseen.length} ${traffic.length - unseen.length === 1 ? 'call' : 'calls'} as expected ${after}`, ...notes].join('; ');
      });
    }

    await step('traffic rule', async () => {
      const t = await trafficOutsideLab(engine.live(l.id));
      if (t.outside.length) throw new CheckFailure(`packets left the lab: ${t.outside.slice(0, 5).join('; ')}`);
      return `${t.packets} captured packets, all inside the lab`;
    });
  } catch (e) {
    if (!(e instanceof CheckFailure)) throw e;
  } finally {
    if (res.session) {
      const session = res.session;
      const t0 = Date.now();
      let ok = true;
      let detail = '';
      try {
        await endLab(app, session);
        const labels = { [LABEL.managed]: 'true', [LABEL.session]: session };
        for (let i = 0; i < 40; i++) {
          const [c, n, s] = await Promise.all([app.docker.listContainers(labels), app.docker.listNetworks(labels), app.docker.listServices(labels)]);
          const left = [...c.map((x) => x.name), ...n.map((x) => x.name), ...s.map((x) => x.name)];
          detail = left.length ? `left behind: ${left.join(', ')}` : 'nothing left behind';
          ok = left.length === 0;
          if (ok) break;
          await sleep(500);
        }
      } catch (e) {
        ok = false;
        detail = (e as Error).message;
      }
      const seconds = Math.round((Date.now() - t0) / 100) / 10;
      res.steps.push({ step: 'down', ok, detail, seconds });
      progress(`${ok ? 'ok  ' : 'FAIL'} ${name}: down — ${detail} (${seconds} s)`);
      if (!ok) res.ok = false;
    }
  }
  return res;
}
