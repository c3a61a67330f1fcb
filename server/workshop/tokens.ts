// Who is calling: a token signed with this data directory's workshop key. The trainer's token
// is printed by `flowlab serve --workshop`; a learner's is handed out when they join. Tokens
// carry no secret of their own: deleting the key file (workshop.key) invalidates every one.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Principal = { role: 'trainer' } | { role: 'learner'; learner: string; workshop: string };

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export class TokenSigner {
  private readonly key: Buffer;

  /** Reads the data directory's key, or makes one (readable by its owner only). */
  constructor(dataDir: string) {
    const file = join(dataDir, 'workshop.key');
    if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
    const hex = readFileSync(file, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${file} is not a workshop key (expected 64 hex characters); delete it to make a new one (every token handed out so far stops working)`);
    this.key = Buffer.from(hex, 'hex');
  }

  sign(p: Principal): string {
    const payload = b64(JSON.stringify(p.role === 'trainer' ? { r: 't' } : { r: 'l', l: p.learner, w: p.workshop }));
    return `${payload}.${this.mac(payload)}`;
  }

  /** The principal a token stands for, or undefined when it is malformed or not signed by this key. */
  verify(token: string): Principal | undefined {
    const m = /^([A-Za-z0-9_-]{4,300})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return undefined;
    const want = Buffer.from(this.mac(m[1]!));
    const got = Buffer.from(m[2]!);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return undefined;
    try {
      const p = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as { r?: unknown; l?: unknown; w?: unknown };
      if (p.r === 't') return { role: 'trainer' };
      if (p.r === 'l' && typeof p.l === 'string' && typeof p.w === 'string') return { role: 'learner', learner: p.l, workshop: p.w };
    } catch {
      return undefined;
    }
    return undefined;
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}
