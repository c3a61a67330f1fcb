// IPv4 subnet arithmetic for subnet allocation and lab validation.

export interface Cidr {
  base: number;
  prefix: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`expected an IPv4 address like 10.88.3.7, found "${ip}"`);
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(text: string): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  const prefix = Number(m?.[2]);
  if (!m || prefix > 32) throw new Error(`expected a subnet like 10.88.3.0/24, found "${text}"`);
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return { base: (ipToInt(m[1]!) & mask) >>> 0, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.base)}/${c.prefix}`;
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + size(b) && b.base < a.base + size(a);
}

export function contains(c: Cidr, ip: string): boolean {
  const n = ipToInt(ip);
  return n >= c.base && n < c.base + size(c);
}

/** The n-th address of the subnet: 1 is the gateway Docker picks; -2 the last usable one. */
export function hostAt(c: Cidr, n: number): string {
  return intToIp(n >= 0 ? c.base + n : c.base + size(c) + n);
}

/** Every subnet of `prefix` inside `pool`, in order. */
export function* subnetsOf(pool: Cidr, prefix: number): Generator<Cidr> {
  if (prefix < pool.prefix) return;
  const step = 2 ** (32 - prefix);
  for (let base = pool.base; base < pool.base + size(pool); base += step) yield { base, prefix };
}
