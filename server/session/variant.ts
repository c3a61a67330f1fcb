// Which variant a session gets: drawn from its seed, so `--seed N` always reproduces it.
import type { Lab, Variant } from '../lab/schema.ts';

/** mulberry32: small, fast, and the same on every platform. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function chooseVariant(lab: Lab, seed: number): Variant | undefined {
  if (lab.variants.length === 0) return undefined;
  const total = lab.variants.reduce((sum, v) => sum + (v.weight ?? 1), 0);
  let r = seededRandom(seed)() * total;
  for (const v of lab.variants) {
    r -= v.weight ?? 1;
    if (r < 0) return v;
  }
  return lab.variants[lab.variants.length - 1];
}

const SEEDS = 2 ** 31;

/**
 * The first seed from `from` on that draws `variant` (seeds wrap around below 2^31): the same
 * `from` always finds the same seed. Undefined when no seed within `tries` draws it.
 */
export function seedDrawing(lab: Lab, variant: string, from = 0, tries = 100_000): number | undefined {
  for (let i = 0; i < tries; i++) {
    const seed = (from + i) % SEEDS;
    if (chooseVariant(lab, seed)?.id === variant) return seed;
  }
  return undefined;
}

export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
