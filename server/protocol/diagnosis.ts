// A learner's diagnosis and its grade: one schema for the CLI answer file, the HTTP body and the
// web app's form.
import { z } from 'zod';

export const diagnosisSchema = z.strictObject({
  /** One of the lab's diagnosis.causes ids. */
  cause: z.string().min(1).max(64),
  /** The service, network, or flow (`api->db:5432/tcp`) the learner blames. */
  culprit: z.string().min(1).max(128),
  /** Ids of probe results (p...) or flow events (e...) of this session that show it. */
  evidence: z.array(z.string().regex(/^[pe][0-9a-f]{10,16}t?$/, 'a probe result id (p...) or a flow event id (e...)')).max(20).default([]),
  note: z.string().max(2000).optional(),
  /** The learner says they repaired the lab live. */
  fixed: z.boolean().default(false),
});
export type Diagnosis = z.infer<typeof diagnosisSchema>;
export type DiagnosisInput = z.input<typeof diagnosisSchema>;

export interface BreakdownPart {
  earned: number;
  of: number;
  why: string;
}

export interface GradeResult {
  attempt: number;
  attempts_left: number;
  score: number;
  pass_mark: number;
  passed: boolean;
  breakdown: {
    cause: BreakdownPart;
    culprit: BreakdownPart;
    evidence: BreakdownPart;
    fix: BreakdownPart;
    hints: { cost: number; taken: number };
    earlier_attempts: { cost: number; count: number };
  };
  feedback: {
    right: string[];
    missed: string[];
    /** Workarounds found in place of a real fix. */
    workarounds: string[];
    /** Shown once the learner is graded (passed, or out of attempts). */
    explanation?: string;
    what_was_broken?: string[];
    commands?: string[];
  };
}
