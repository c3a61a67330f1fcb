// Every lab that ships is proven on the real daemon, variant by variant (`flowlab check`): it
// starts, breaks as described, shows its symptom and the evidence, grades fairly, the solution
// repairs it, no packet leaves the lab, and nothing is left behind. `npm run test:labs` runs this
// file alone.
import { afterAll, describe, expect, it } from 'vitest';
import { checkLab } from '../server/check/check.ts';
import { catalogue } from '../server/lab/catalogue.ts';
import { testApp } from './helpers.ts';

const app = testApp();
afterAll(() => app.dispose(), 120_000);

describe('flowlab check on every shipped lab', () => {
  for (const entry of catalogue().labs) {
    it(`${entry.lab.id} (${entry.lab.variants.length || 'no'} variants)`, async () => {
      const lines: string[] = [];
      const results = await checkLab(app, entry, { progress: (l) => lines.push(l) });
      const failed = results.flatMap((r) => r.steps.filter((s) => !s.ok).map((s) => `${r.variant ?? '-'} ${s.step}: ${s.detail}`));
      expect(failed, lines.join('\n')).toEqual([]);
      expect(results.length).toBe(Math.max(1, entry.lab.variants.length));
    }, 600_000);
  }
});
