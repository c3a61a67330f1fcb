// Every lab that ships is proven on the real daemon, variant by variant (`flowlab check`): it
// starts, breaks as described, shows its symptom and the evidence, grades fairly, the solution
// repairs it, no packet leaves the lab, and nothing is left behind. `npm run test:labs` runs this
// file alone.
//
// Labs are checked a few at a time (FLOWLAB_LAB_CHECKS, default 3), as a room runs them side by
// side: each session is its own (networks, subnets, host ports, labels). Two kinds take turns
// within their kind: labs with services on the host's network (the host has one set of ports),
// and labs with nodes (each holds three engines' memory while it runs; they take longest, so they
// go first). The checks start with the file; each test reports its lab's, in the catalogue's order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLab, type VariantCheck } from '../server/check/check.ts';
import { catalogue, type CatalogueEntry } from '../server/lab/catalogue.ts';
import { servicesOf } from '../server/lab/model.ts';
import { hasNodes } from '../server/lab/nodes.ts';
import { testApp } from './helpers.ts';

const app = testApp();
afterAll(() => app.dispose(), 120_000);

const AT_ONCE = Math.max(1, Number(process.env.FLOWLAB_LAB_CHECKS ?? 3) || 3);
const entries = catalogue().labs;

function kindOf(entry: CatalogueEntry): 'nodes' | 'host' | undefined {
  if (hasNodes(entry.lab)) return 'nodes';
  if (servicesOf(entry.lab).some((m) => m.attachment.kind === 'host')) return 'host';
  return undefined;
}

interface Checked {
  results: VariantCheck[];
  lines: string[];
}

/** Runs every lab's check, AT_ONCE at a time, never two of one kind together; one promise per lab. */
function checkAll(): Map<string, Promise<Checked>> {
  const done = new Map<string, { resolve: (c: Checked) => void; reject: (e: unknown) => void; promise: Promise<Checked> }>();
  for (const e of entries) {
    let resolve!: (c: Checked) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<Checked>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => undefined); // reported by its test
    done.set(e.lab.id, { resolve, reject, promise });
  }
  const waiting = [...entries];
  const busy = new Set<string>();
  let running = 0;
  const next = (): void => {
    while (running < AT_ONCE) {
      // Labs with nodes take longest: their lane starts first, the others fill the rest.
      const free = (e: CatalogueEntry) => {
        const kind = kindOf(e);
        return kind === undefined || !busy.has(kind);
      };
      const heavy = waiting.findIndex((e) => kindOf(e) === 'nodes' && free(e));
      const i = heavy >= 0 ? heavy : waiting.findIndex(free);
      if (i < 0) return;
      const [entry] = waiting.splice(i, 1);
      const kind = kindOf(entry!);
      if (kind) busy.add(kind);
      running++;
      const lines: string[] = [];
      const slot = done.get(entry!.lab.id)!;
      checkLab(app, entry!, { progress: (l) => lines.push(l) })
        .then((results) => slot.resolve({ results, lines }), slot.reject)
        .finally(() => {
          running--;
          if (kind) busy.delete(kind);
          next();
        });
    }
  };
  next();
  return new Map([...done].map(([id, d]) => [id, d.promise]));
}

let checks: Map<string, Promise<Checked>>;
beforeAll(() => {
  checks = checkAll();
});

describe('flowlab check on every shipped lab', () => {
  for (const entry of entries) {
    it(`${entry.lab.id} (${entry.lab.variants.length || 'no'} variants)`, async () => {
      const { results, lines } = await checks.get(entry.lab.id)!;
      const failed = results.flatMap((r) => r.steps.filter((s) => !s.ok).map((s) => `${r.variant ?? '-'} ${s.step}: ${s.detail}`));
      expect(failed, lines.join('\n')).toEqual([]);
      expect(results.length).toBe(Math.max(1, entry.lab.variants.length));
    }, 900_000);
  }
});
