// Probe results as the CLI (--json), the HTTP API and the web app see them.
import { z } from 'zod';

export const probeResultSchema = z.object({
  /** Evidence refers to a probe result by this id. */
  id: z.string(),
  from: z.string(),
  target: z.string(),
  status: z.string(),
  answers: z.array(z.string()),
  latency_ms: z.number(),
  /** What a learner would type to see the same thing. */
  command: z.string(),
  raw: z.string(),
  at: z.string(),
});
export type ProbeResult = z.infer<typeof probeResultSchema>;

/** One probe to run: from a service (or `host`) to a target, possibly with `${service.ports.N}` references. */
export interface ProbeSpec {
  from: string;
  to: string;
}

export const probeRequestSchema = z.union([
  z.strictObject({ from: z.string().min(1).max(64), target: z.string().min(1).max(512), timeout_ms: z.number().int().min(100).max(10_000).optional() }),
  z.strictObject({ matrix: z.literal(true), timeout_ms: z.number().int().min(100).max(10_000).optional() }),
]);
