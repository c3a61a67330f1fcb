import { describe, expect, it } from 'vitest';
import { bend, controlPoint, crossings, samples, type Box } from './route.ts';

describe('edges around network boxes they do not belong to', () => {
  const shop: Box = { x1: 380, y1: 240, x2: 640, y2: 290 };

  it('stays straight when the way is clear', () => {
    expect(bend({ x: 100, y: 100 }, { x: 900, y: 100 }, [shop])).toBe(0);
  });

  it('bends around a box in the way, and the bent curve crosses nothing', () => {
    const a = { x: 510, y: 120 };
    const b = { x: 510, y: 420 };
    expect(crossings(samples(a, controlPoint(a, b, 0), b), [shop])).toBeGreaterThan(0);
    const d = bend(a, b, [shop]);
    expect(d).not.toBe(0);
    expect(crossings(samples(a, controlPoint(a, b, d), b), [shop])).toBe(0);
  });

  it('threads between two networks of the row, or around its end', () => {
    const row: Box[] = [shop, { x1: 740, y1: 240, x2: 1000, y2: 290 }];
    const a = { x: 520, y: 130 };
    const b = { x: 790, y: 400 };
    const d = bend(a, b, row);
    expect(crossings(samples(a, controlPoint(a, b, d), b), row)).toBe(0);
  });
});
