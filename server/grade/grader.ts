// Grading a diagnosis against the fault the session really got: the ground truth is the chosen
// variant and the faults applied, held here on the server; nothing the client sends is trusted.
import { randomBytes } from 'node:crypto';
import { Faults } from '../fault/faults.ts';
import { implFor } from '../fault/catalog.ts';
import { faultTag } from '../fault/faults.ts';
import type { FaultDescription } from '../fault/types.ts';
import { retainedEvents } from '../flow/collector.ts';
import { constraintsOf, nodesOf, placementOf } from '../lab/nodes.ts';
import { servicesOf } from '../lab/model.ts';
import { didYouMean } from '../lab/problems.ts';
import type { Fault } from '../lab/schema.ts';
import { Prober } from '../probe/prober.ts';
import type { Diagnosis, GradeResult } from '../protocol/diagnosis.ts';
import type { FlowEvent } from '../protocol/flow.ts';
import type { LiveSession } from '../session/live.ts';
import { chooseVariant } from '../session/variant.ts';
import { ProbeStore } from '../store/probes.ts';
import { ProgressStore } from '../store/progress.ts';
import type { FaultRecord } from '../store/faults.ts';
import { evidenceShows, type EvidenceItem, type LabFacts } from './evidence.ts';
import { gradingOf, scoreDiagnosis } from './score.ts';
import { WORKAROUNDS, workaroundsInPlace, type Workaround } from './workarounds.ts';
import { FlowlabError, type ErrorKind } from '../util/errors.ts';

export { gradingOf } from './score.ts';

export class GradeError extends FlowlabError {
  override name = 'GradeError';
  constructor(message: string, kind: ErrorKind = 'conflict') {
    super(message, kind);
  }
}

function labFacts(live: LiveSession): LabFacts {
  const names: LabFacts['names'] = {};
  const ips: LabFacts['ips'] = {};
  const hostPorts: LabFacts['hostPorts'] = {};
  const members: LabFacts['members'] = {};
  for (const m of servicesOf(live.lab)) {
    const nets = m.attachment.kind === 'networks' ? m.attachment.networks : [];
    names[m.name] = [...new Set([m.name, ...nets.flatMap((n) => n.aliases)])];
    for (const n of nets) (members[n.network] ??= []).push(m.name);
  }
  for (const s of live.topology?.services ?? []) ips[s.name] = Object.values(s.networks).map((n) => n.ip).filter(Boolean);
  for (const p of live.plan().services) hostPorts[p.name] = (p.container?.ports ?? []).map((x) => ({ hostPort: x.hostPort, containerPort: x.containerPort }));
  if (nodesOf(live.lab).length === 0) return { names, ips, hostPorts, members };
  const constrainedBy = Object.fromEntries(servicesOf(live.lab).map((m) => [m.name, constraintsOf(m.def).flatMap((c) => (c.label ? [c.label] : []))]));
  return { names, ips, hostPorts, members, placed: placementOf(live.lab), constrainedBy };
}

export class Grader {
  private readonly progress: ProgressStore;

  constructor(private readonly live: LiveSession) {
    this.progress = new ProgressStore(live.db);
  }

  /** The faults that make this session's ground truth: the lab's and its variant's. */
  groundTruthFaults(): FaultRecord[] {
    return new Faults(this.live).list().filter((f) => f.origin !== 'manual' && f.state !== 'failed');
  }

  answer(): { cause: string; culprit: string } | undefined {
    const variant = this.live.rec.variant ? this.live.lab.variants.find((v) => v.id === this.live.rec.variant) : chooseVariant(this.live.lab, this.live.rec.seed);
    return variant?.answer ?? this.live.lab.answer;
  }

  /** Graded: passed, or out of attempts. From then on the learner may see the ground truth. */
  graded(): boolean {
    const attempts = this.progress.attempts(this.live.id);
    return attempts.some((a) => a.passed) || attempts.length >= gradingOf(this.live.lab).attempts;
  }

  hints(): { revealed: { index: number; text: string; cost: number }[]; next: { index: number; cost: number } | null } {
    const taken = this.progress.hintsTaken(this.live.id);
    const revealed = taken.map((t) => ({ index: t.idx, text: this.live.lab.hints[t.idx]?.text ?? '', cost: t.cost }));
    const nextIndex = taken.length;
    const next = this.live.lab.hints[nextIndex];
    return { revealed, next: next ? { index: nextIndex, cost: next.cost } : null };
  }

  takeHint(): { index: number; text: string; cost: number } {
    const { next } = this.hints();
    if (!next) throw new GradeError(`no hint left: this lab has ${this.live.lab.hints.length} hint(s), all revealed`);
    this.progress.takeHint(this.live.id, next.index, next.cost);
    return { index: next.index, text: this.live.lab.hints[next.index]!.text, cost: next.cost };
  }

  private async evidence(ids: string[]): Promise<{ items: EvidenceItem[]; unknown: string[] }> {
    const probes = new ProbeStore(this.live.db);
    const items: EvidenceItem[] = [];
    const unknown: string[] = [];
    let retained: FlowEvent[] | undefined;
    for (const id of ids) {
      const probe = probes.get(this.live.id, id);
      if (probe) {
        items.push({ kind: 'probe', probe });
        continue;
      }
      let event = this.progress.pinned(this.live.id, id);
      if (!event && id.startsWith('e')) {
        retained ??= await retainedEvents(this.live).catch(() => []);
        event = retained.find((e) => e.id === id);
      }
      if (event) items.push({ kind: 'event', event });
      else unknown.push(id);
    }
    return { items, unknown };
  }

  private async verifyFix(faults: FaultRecord[]): Promise<{ ok: boolean; why: string[]; workarounds: string[] }> {
    const why: string[] = [];
    const lab = this.live.lab;
    const expect = lab.fix?.expect ?? [];
    if (expect.length > 0) {
      const results = await new Prober(this.live).run(expect.map((e) => ({ from: e.from, to: e.to })));
      results.forEach((r, i) => {
        const want = expect[i]!.status;
        if (r.status !== want) why.push(`${r.from} -> ${r.target} is ${r.status}, expected ${want}`);
      });
    }
    for (const f of faults) {
      const fault = { type: f.type, ...f.params } as Fault;
      const holds = await implFor(fault.type).holds(fault as never, { live: this.live, rt: this.live.docker, id: f.id, tag: faultTag(this.live.id, f.id) }, f.undo).catch(() => true);
      if (holds) why.push('the fault itself is still in place');
    }
    const found = await workaroundsInPlace(this.live, (lab.fix?.forbid ?? []) as Workaround[]);
    const workarounds = found.map((w) => `${w.name}: ${w.detail} (${WORKAROUNDS[w.name]}; the lab does not accept it as a fix)`);
    return { ok: why.length === 0 && found.length === 0, why: [...new Set(why)], workarounds };
  }

  /**
   * Grades a diagnosis and records the attempt. With `dryRun` (`flowlab check`), grades it as a
   * first attempt without hints and records nothing.
   */
  async grade(d: Diagnosis, opts: { dryRun?: boolean } = {}): Promise<GradeResult> {
    const lab = this.live.lab;
    const answer = this.answer();
    if (!answer) throw new GradeError(`lab "${lab.id}" has no answer to grade against (no variants and no answer:)`);
    const causes = (lab.diagnosis?.causes ?? []).map((c) => c.id);
    if (causes.length > 0 && !causes.includes(d.cause)) throw new GradeError(`unknown cause "${d.cause}"${didYouMean(d.cause, causes)}; expected one of: ${causes.join(', ')}`);
    const grading = gradingOf(lab);
    const earlier = opts.dryRun ? [] : this.progress.attempts(this.live.id);
    if (earlier.some((a) => a.passed)) throw new GradeError('this session has already passed; start a new one to try again');
    if (earlier.length >= grading.attempts) throw new GradeError(`no attempts left: this lab allows ${grading.attempts}`);

    const faults = this.groundTruthFaults();
    const { items, unknown } = await this.evidence(d.evidence);
    const facts = labFacts(this.live);
    // A lab broken by design (an answer, no injected fault): evidence is what shows something failing.
    const showing = faults.length > 0 ? items.filter((item) => faults.some((f) => evidenceShows({ type: f.type, ...f.params } as Fault, item, facts))) : items.filter(showsFailure);
    const fix = d.fixed ? await this.verifyFix(faults) : undefined;
    const taken = opts.dryRun ? [] : this.progress.hintsTaken(this.live.id);
    const { result, done } = scoreDiagnosis({
      diagnosis: d,
      answer,
      evidence: { pinned: items.length, showing: showing.length, summary: summarizeEvidence(showing), unknown },
      fix,
      grading,
      earlierAttempts: earlier.length,
      hints: { taken: taken.length, cost: taken.reduce((sum, h) => sum + h.cost, 0) },
    });
    if (done) {
      const describes = faults.map((f) => f.describe as FaultDescription | null).filter((x): x is FaultDescription => !!x);
      result.feedback.explanation = lab.explanation;
      result.feedback.what_was_broken = describes.map((x) => x.summary);
      result.feedback.commands = [...new Set([...describes.flatMap((x) => x.reveal), ...lab.probes.map((p) => `probe ${p.from} -> ${p.to}`)])];
    }
    if (!opts.dryRun) this.progress.saveAttempt({ id: `a${randomBytes(5).toString('hex')}`, session: this.live.id, number: result.attempt, at: Date.now(), diagnosis: d, score: result.score, passed: result.passed, result });
    return result;
  }
}

/** A probe result or flow event that shows something not working. */
function showsFailure(item: EvidenceItem): boolean {
  if (item.kind === 'probe') return item.probe.status !== 'ok';
  const e = item.event;
  switch (e.type) {
    case 'dns.answer':
      return e.rcode !== 'NOERROR' || e.answers.length === 0;
    case 'tcp.connect':
      return e.outcome !== 'established';
    case 'udp.exchange':
      return e.outcome !== 'answered';
    case 'http.exchange':
      return e.status === null || e.status >= 400;
    case 'dns.query':
    case 'dns.forward':
      return false;
    default:
      return true;
  }
}

/** Evidence as a learner reads it: alike items counted, at most six kinds named. */
function summarizeEvidence(items: EvidenceItem[]): string {
  const counts = new Map<string, number>();
  for (const i of items) {
    const text = i.kind === 'probe' ? `${i.probe.from} -> ${i.probe.target} ${i.probe.status}` : `${i.event.type} ${i.event.src} -> ${i.event.dst}`;
    counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  const named = [...counts].slice(0, 6).map(([text, n]) => (n > 1 ? `${text} (×${n})` : text));
  return named.join('; ') + (counts.size > 6 ? `; and ${counts.size - 6} more` : '');
}
