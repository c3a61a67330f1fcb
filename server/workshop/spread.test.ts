import { describe, expect, it } from 'vitest';
import type { Lab } from '../lab/schema.ts';
import { chooseVariant } from '../session/variant.ts';
import { spreadSeed, spreadVariant } from './spread.ts';

const lab = (variants: { id: string; weight?: number }[]) => ({ id: 'l', variants: variants.map((v) => ({ faults: [], ...v })) }) as unknown as Lab;

describe('spreading a lab’s variants over a workshop’s learners', () => {
  it('gives the next learner the variant fewest have, so three neighbours on two variants differ', () => {
    const two = lab([{ id: 'a' }, { id: 'b' }]);
    const drawn: Record<string, number> = {};
    const got = ['ada', 'bob', 'cy', 'dee'].map((who) => {
      const { seed, variant } = spreadSeed(two, drawn, `w1:${who}:l`);
      expect(chooseVariant(two, seed)?.id).toBe(variant);
      drawn[variant!] = (drawn[variant!] ?? 0) + 1;
      return variant;
    });
    expect(new Set(got.slice(0, 2)).size).toBe(2);
    expect(drawn).toEqual({ a: 2, b: 2 });
  });

  it('follows the weights, and is the same for the same learner every time', () => {
    const weighted = lab([{ id: 'common', weight: 3 }, { id: 'rare', weight: 1 }]);
    const drawn: Record<string, number> = {};
    for (let i = 0; i < 8; i++) {
      const v = spreadVariant(weighted, drawn, `w:${i}:l`)!.id;
      drawn[v] = (drawn[v] ?? 0) + 1;
    }
    expect(drawn).toEqual({ common: 6, rare: 2 });
    expect(spreadSeed(weighted, { common: 1 }, 'w:ada:l')).toEqual(spreadSeed(weighted, { common: 1 }, 'w:ada:l'));
  });

  it('a lab without variants keeps a seed of the learner’s own', () => {
    expect(spreadSeed(lab([]), {}, 'w:ada:l')).toEqual({ seed: expect.any(Number), variant: null });
  });
});
