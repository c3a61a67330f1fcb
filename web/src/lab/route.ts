// Where an edge bends so that it never crosses a network box it does not belong to: a flow from api
// to db drawn straight through db's network would read as if api sat on it. Pure geometry: a
// quadratic curve from a to b, bent at its middle by a distance along the normal, is tried straight
// first, then bent further each way, until no sample of it falls inside a box it must avoid.

export interface Point {
  x: number;
  y: number;
}

export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

const MARGIN = 8;
/** Bends tried, nearest first: straight, then 20 px further each way, up to 900 px. */
const STEPS = [0, ...Array.from({ length: 45 }, (_, i) => (i + 1) * 20).flatMap((d) => [d, -d])];

/** The curve's control point for a bend of `d` (Cytoscape's unbundled-bezier at weight 0.5). */
export function controlPoint(a: Point, b: Point, d: number): Point {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len = Math.hypot(dx, dy) || 1;
  return { x: (a.x + b.x) / 2 + (-dy / len) * d, y: (a.y + b.y) / 2 + (dx / len) * d };
}

/** Points along the curve from a through the control point c to b (ends left out: they sit on nodes). */
export function samples(a: Point, c: Point, b: Point, n = 24): Point[] {
  const out: Point[] = [];
  for (let i = 1; i < n; i++) {
    const t = i / n;
    const u = 1 - t;
    out.push({ x: u * u * a.x + 2 * u * t * c.x + t * t * b.x, y: u * u * a.y + 2 * u * t * c.y + t * t * b.y });
  }
  return out;
}

const inside = (p: Point, box: Box) => p.x > box.x1 - MARGIN && p.x < box.x2 + MARGIN && p.y > box.y1 - MARGIN && p.y < box.y2 + MARGIN;

/** How many of the curve's samples fall inside a box to avoid. */
export function crossings(points: Point[], avoid: Box[]): number {
  return points.filter((p) => avoid.some((box) => inside(p, box))).length;
}

/** The bend (signed distance) of the first curve from a to b that avoids every box; the least crossing one when none does. */
export function bend(a: Point, b: Point, avoid: Box[], prefer = 0): number {
  let best = { d: prefer, hits: Infinity };
  for (const step of STEPS) {
    const d = prefer + step;
    const hits = crossings(samples(a, controlPoint(a, b, d), b), avoid);
    if (hits === 0) return d;
    if (hits < best.hits) best = { d, hits };
  }
  return best.d;
}
