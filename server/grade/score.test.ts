// The grader's scoring, pure: what each part earns, what hints and earlier attempts cost, when
// a diagnosis passes and when the session is done.
import { describe, expect, it } from 'vitest';
import { culpritCredit, gradingOf, scoreDiagnosis, type ScoreInput } from './score.ts';

const grading = { weights: { cause: 40, culprit: 20, evidence: 20, fix: 20 }, passMark: 60, attempts: 3 };
const base: ScoreInput = {
  diagnosis: { cause: 'loopback', culprit: 'shop', evidence: ['p1'], fixed: false },
  answer: { cause: 'loopback', culprit: 'shop' },
  evidence: { pinned: 1, showing: 1, summary: 'checkout -> http://shop:8080/ refused', unknown: [] },
  grading,
  earlierAttempts: 0,
  hints: { taken: 0, cost: 0 },
};
const score = (over: Partial<ScoreInput>) => scoreDiagnosis({ ...base, ...over });

describe('scoring a diagnosis', () => {
  it('a right cause, culprit and evidence without a fix: 80, passed, done', () => {
    const { result, done } = score({});
    expect(result).toMatchObject({ score: 80, passed: true, attempt: 1, attempts_left: 0, pass_mark: 60 });
    expect(result.breakdown.fix).toEqual({ earned: 0, of: 20, why: 'no fix claimed' });
    expect(result.feedback.right).toContain('your evidence shows it: checkout -> http://shop:8080/ refused');
    expect(done).toBe(true);
  });

  it('a verified fix earns its part; a claimed one that does not hold says why, and its workarounds', () => {
    expect(score({ diagnosis: { ...base.diagnosis, fixed: true }, fix: { ok: true, why: [], workarounds: [] } }).result.score).toBe(100);
    const r = score({ diagnosis: { ...base.diagnosis, fixed: true }, fix: { ok: false, why: ['client -> web is refused, expected ok'], workarounds: ['new-alias: web answers to "x" (an alias the lab does not plan; the lab does not accept it as a fix)'] } }).result;
    expect(r.breakdown.fix.why).toBe('live fix not verified');
    expect(r.feedback.missed.at(-1)).toBe('the live fix is not there yet: client -> web is refused, expected ok; new-alias: web answers to "x"');
    expect(r.feedback.workarounds).toHaveLength(1);
  });

  it('a wrong cause never passes, however much else is right', () => {
    const r = score({ diagnosis: { ...base.diagnosis, cause: 'dns', fixed: true }, fix: { ok: true, why: [], workarounds: [] } }).result;
    expect(r.score).toBe(60);
    expect(r.passed).toBe(false);
    expect(r.attempts_left).toBe(2);
  });

  it('hints and earlier attempts cost points, clamped at zero', () => {
    expect(score({ hints: { taken: 2, cost: 15 } }).result).toMatchObject({ score: 65, breakdown: { hints: { cost: 15, taken: 2 } } });
    expect(score({ earlierAttempts: 2 }).result).toMatchObject({ score: 60, attempt: 3, breakdown: { earlier_attempts: { cost: 20, count: 2 } } });
    expect(score({ diagnosis: { ...base.diagnosis, cause: 'x', culprit: 'y' }, evidence: { pinned: 0, showing: 0, summary: '', unknown: ['e0'] }, hints: { taken: 9, cost: 90 } }).result.score).toBe(0);
  });

  it('the last attempt ends the session, passed or not', () => {
    expect(score({ diagnosis: { ...base.diagnosis, cause: 'x' }, earlierAttempts: 2 }).done).toBe(true);
    expect(score({ diagnosis: { ...base.diagnosis, cause: 'x' }, earlierAttempts: 1 }).done).toBe(false);
  });

  it('evidence that shows nothing, or is not this session’s, is named', () => {
    const r = score({ evidence: { pinned: 2, showing: 0, summary: '', unknown: ['pdeadbeef00'] } }).result;
    expect(r.breakdown.evidence.earned).toBe(0);
    expect(r.feedback.missed).toEqual(['evidence pdeadbeef00 is not a probe result or flow event of this session', 'none of the pinned evidence shows the fault', 'no live fix claimed']);
  });

  it('a culprit: exact, a flow touching it (half), or wrong', () => {
    expect(culpritCredit('shop', 'shop')).toBe(1);
    expect(culpritCredit('checkout->shop:8080/tcp', 'shop')).toBe(0.5);
    expect(culpritCredit('api', 'api->db:5432/tcp')).toBe(0.5);
    expect(culpritCredit('api->db', 'api->db:5432/tcp')).toBe(1);
    expect(culpritCredit('web', 'shop')).toBe(0);
    expect(score({ diagnosis: { ...base.diagnosis, culprit: 'checkout->shop' } }).result.breakdown.culprit).toEqual({ earned: 10, of: 20, why: 'partly right culprit' });
  });

  it('a lab’s own weights, pass mark and attempts, with the defaults', () => {
    expect(gradingOf({ grading: { weights: { fix: 40 }, pass_mark: 70 } } as never)).toEqual({ weights: { cause: 40, culprit: 20, evidence: 20, fix: 40 }, passMark: 70, attempts: 3 });
  });
});
