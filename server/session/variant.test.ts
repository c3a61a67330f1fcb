import { describe, expect, it } from 'vitest';
import { validateLabText } from '../lab/validate.ts';
import { chooseVariant } from './variant.ts';

const text = `id: v
title: V
summary: s
level: beginner
network: bridge
minutes: 5
briefing: b
networks: { n: {} }
services: { a: { image: toolbox, networks: [n] } }
diagnosis: { question: q, causes: [{ id: x, text: X }, { id: y, text: Y }] }
variants:
  - { id: heavy, weight: 3, faults: [], answer: { cause: x, culprit: a } }
  - { id: light, weight: 1, faults: [], answer: { cause: y, culprit: a } }
`;
const lab = validateLabText('v.yaml', text, { localImages: new Set() }).lab!;

describe('chooseVariant', () => {
  it('always picks the same variant for the same seed', () => {
    for (let seed = 0; seed < 50; seed++) expect(chooseVariant(lab, seed)?.id).toBe(chooseVariant(lab, seed)?.id);
  });

  it('picks variants in proportion to their weights over 200 seeds (within 8 points)', () => {
    let heavy = 0;
    for (let seed = 1; seed <= 200; seed++) if (chooseVariant(lab, seed)?.id === 'heavy') heavy++;
    expect(Math.abs(heavy / 200 - 0.75)).toBeLessThanOrEqual(0.08);
  });
});
