// Scoring a diagnosis: pure, from what was judged (the cause and culprit against the truth, the
// evidence that shows the fault, the live fix) and what it costs (hints, earlier attempts).
import type { Diagnosis, GradeResult } from '../protocol/diagnosis.ts';
import type { Lab } from '../lab/schema.ts';

export const DEFAULT_WEIGHTS = { cause: 40, culprit: 20, evidence: 20, fix: 20 };
export const DEFAULT_PASS_MARK = 60;
export const DEFAULT_ATTEMPTS = 3;
/** Points each earlier attempt that did not pass costs. */
export const WRONG_ATTEMPT_COST = 10;

/** A lab's grading settings, with the defaults. */
export function gradingOf(lab: Lab) {
  const w = lab.grading?.weights ?? {};
  return {
    weights: { cause: w.cause ?? DEFAULT_WEIGHTS.cause, culprit: w.culprit ?? DEFAULT_WEIGHTS.culprit, evidence: w.evidence ?? DEFAULT_WEIGHTS.evidence, fix: w.fix ?? DEFAULT_WEIGHTS.fix },
    passMark: lab.grading?.pass_mark ?? DEFAULT_PASS_MARK,
    attempts: lab.grading?.attempts ?? DEFAULT_ATTEMPTS,
  };
}

/** How close a blamed culprit is to the real one: 1 exact, 0.5 a flow touching it, 0 otherwise. */
export function culpritCredit(given: string, truth: string): number {
  if (given === truth) return 1;
  const flow = (s: string) => /^([a-z][a-z0-9-]*)->([a-z][a-z0-9-]*)/.exec(s);
  const g = flow(given);
  const t = flow(truth);
  if (g && !t && (g[1] === truth || g[2] === truth)) return 0.5;
  if (t && !g && (t[1] === given || t[2] === given)) return 0.5;
  if (g && t && g[1] === t[1] && g[2] === t[2]) return 1;
  return 0;
}


export interface ScoreInput {
  diagnosis: Diagnosis;
  answer: { cause: string; culprit: string };
  /** How many items were pinned, how many show the fault (and in words), ids that are none of this session's. */
  evidence: { pinned: number; showing: number; summary: string; unknown: string[] };
  /** The live fix, when the learner claims one. */
  fix?: { ok: boolean; why: string[]; workarounds: string[] } | undefined;
  grading: ReturnType<typeof gradingOf>;
  earlierAttempts: number;
  hints: { taken: number; cost: number };
}

/** The grade (without the explanation a finished session adds) and whether the session is done. */
export function scoreDiagnosis(input: ScoreInput): { result: GradeResult; done: boolean } {
  const { diagnosis: d, answer, evidence, fix, grading, earlierAttempts, hints } = input;
  const { weights, passMark, attempts: allowed } = grading;
  const right: string[] = [];
  const missed: string[] = [];
  const causeOk = d.cause === answer.cause;
  (causeOk ? right : missed).push(causeOk ? 'the cause is right' : 'the cause is not the one behind this symptom');
  const credit = culpritCredit(d.culprit, answer.culprit);
  if (credit === 1) right.push(`the culprit is right: ${d.culprit}`);
  else if (credit > 0) missed.push(`the culprit is close: ${d.culprit} involves it, but name it precisely`);
  else missed.push(`the culprit is not ${d.culprit}`);

  const evidenceOk = evidence.showing > 0;
  for (const id of evidence.unknown) missed.push(`evidence ${id} is not a probe result or flow event of this session`);
  if (evidenceOk) right.push(`your evidence shows it: ${evidence.summary}`);
  else missed.push(evidence.pinned === 0 ? 'no evidence pinned: pin the probe result or flow event that shows the fault' : 'none of the pinned evidence shows the fault');

  const fixOk = !!fix?.ok;
  if (!fix) missed.push('no live fix claimed');
  else if (fixOk) right.push('your live fix works: the lab behaves as it should and the fault is gone');
  else missed.push(`the live fix is not there yet: ${[...fix.why, ...fix.workarounds.map((w) => w.split(' (')[0])].join('; ')}`);

  const earlierCost = earlierAttempts * WRONG_ATTEMPT_COST;
  const parts = {
    cause: { earned: causeOk ? weights.cause : 0, of: weights.cause, why: causeOk ? 'right cause' : 'wrong cause' },
    culprit: { earned: Math.round(weights.culprit * credit), of: weights.culprit, why: credit === 1 ? 'right culprit' : credit > 0 ? 'partly right culprit' : 'wrong culprit' },
    evidence: { earned: evidenceOk ? weights.evidence : 0, of: weights.evidence, why: evidenceOk ? 'evidence shows the fault' : 'no evidence shows the fault' },
    fix: { earned: fixOk ? weights.fix : 0, of: weights.fix, why: fixOk ? 'live fix verified' : fix ? 'live fix not verified' : 'no fix claimed' },
  };
  const total = weights.cause + weights.culprit + weights.evidence + weights.fix || 1;
  const raw = ((parts.cause.earned + parts.culprit.earned + parts.evidence.earned + parts.fix.earned) * 100) / total;
  const score = Math.max(0, Math.min(100, Math.round(raw - hints.cost - earlierCost)));
  const passed = causeOk && score >= passMark;
  const number = earlierAttempts + 1;
  const result: GradeResult = {
    attempt: number,
    attempts_left: passed ? 0 : allowed - number,
    score,
    pass_mark: passMark,
    passed,
    breakdown: { ...parts, hints: { cost: hints.cost, taken: hints.taken }, earlier_attempts: { cost: earlierCost, count: earlierAttempts } },
    feedback: { right, missed, workarounds: fix?.workarounds ?? [] },
  };
  return { result, done: passed || number >= allowed };
}
