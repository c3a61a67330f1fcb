// Neighbours get different problems: in a workshop, a lab's variants are spread over its learners
// (the variant fewest learners have, for its weight, goes to the next), and each learner's draw is
// still a seed — found from the workshop, the learner and the lab, so it is the same every time.
import type { Lab, Variant } from '../lab/schema.ts';
import { seedDrawing } from '../session/variant.ts';

/** FNV-1a: a stable 31-bit number for a text. */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h & 0x7fffffff;
}

/**
 * The variant the next learner draws, given how many learners of the workshop have each: the
 * least drawn for its weight; among equals, the learner's own pick (`key`), so two runs agree.
 */
export function spreadVariant(lab: Lab, drawn: Readonly<Record<string, number>>, key: string): Variant | undefined {
  if (lab.variants.length === 0) return undefined;
  const share = (v: Variant) => (drawn[v.id] ?? 0) / (v.weight ?? 1);
  const least = Math.min(...lab.variants.map(share));
  const equal = lab.variants.filter((v) => share(v) === least);
  return equal[stableHash(key) % equal.length];
}

/** The learner's seed for a lab: one that draws the spread variant, found from their own key. */
export function spreadSeed(lab: Lab, drawn: Readonly<Record<string, number>>, key: string): { seed: number; variant: string | null } {
  const from = stableHash(`${key}:seed`);
  const variant = spreadVariant(lab, drawn, key);
  if (!variant) return { seed: from, variant: null };
  const seed = seedDrawing(lab, variant.id, from);
  // A variant no seed draws (a weight of 0): the learner's own draw instead.
  return seed === undefined ? { seed: from, variant: null } : { seed, variant: variant.id };
}
