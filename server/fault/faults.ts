// Applying and reverting faults on a live session. A fault that cannot be applied fails clearly
// and leaves the lab as it was; every action it takes is recorded as revealing the fault.
import { randomBytes } from 'node:crypto';
import { labSchema, type Fault } from '../lab/schema.ts';
import { faultIssues } from '../lab/validate.ts';
import { FAULT_TYPES } from '../lab/fault-schema.ts';
import { didYouMean } from '../lab/problems.ts';
import { faultRequirements, REQUIREMENT_WHY, unmet } from '../lab/requirements.ts';
import type { LiveSession } from '../session/live.ts';
import { FaultStore, type FaultOrigin, type FaultRecord } from '../store/faults.ts';
import { implFor } from './catalog.ts';
import { FaultError, type FaultContext, type FaultDescription } from './types.ts';

export const faultTag = (session: string, id: string) => `flowlab:${session}:${id}`;

const faultListSchema = labSchema.shape.faults;

/** A fault from `type` and `key=value` words, as `flowlab fault <session> apply` takes them. */
export function faultFromWords(type: string, words: string[]): Fault {
  if (!(FAULT_TYPES as readonly string[]).includes(type)) {
    throw new FaultError(`unknown fault type "${type}"${didYouMean(type, FAULT_TYPES)}; expected one of: ${FAULT_TYPES.join(', ')}`);
  }
  const params: Record<string, unknown> = { type };
  for (const w of words) {
    const m = /^([a-z_-]+)=(.*)$/.exec(w);
    if (!m) throw new FaultError(`expected key=value, found "${w}"`);
    const [, key, raw] = m as unknown as [string, string, string];
    params[key] = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw === 'true' ? true : raw === 'false' ? false : raw.includes(',') ? raw.split(',') : raw;
  }
  const parsed = faultListSchema.safeParse([params]);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.slice(1).join('.');
    throw new FaultError(`${type}: ${key ? `${key}: ` : ''}${issue.message}${issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : ''}`);
  }
  return parsed.data[0]!;
}

export class Faults {
  private readonly store: FaultStore;

  constructor(private readonly live: LiveSession) {
    this.store = new FaultStore(live.db);
  }

  private context(id: string): FaultContext {
    return { live: this.live, rt: this.live.runtime({ revealsFault: true }), id, tag: faultTag(this.live.id, id) };
  }

  list(): FaultRecord[] {
    return this.store.list(this.live.id);
  }

  async apply(fault: Fault, origin: FaultOrigin = 'manual'): Promise<FaultRecord & { describe: FaultDescription }> {
    const issues = faultIssues(this.live.lab, fault).filter((i) => i.severity === 'error');
    if (issues.length > 0) throw new FaultError(`cannot apply ${fault.type}: ${issues.map((i) => `${i.key}: ${i.message}`).join('; ')}`);
    const needs = faultRequirements(fault);
    const missing = needs.length > 0 ? unmet(needs, await this.live.featuresOfEngine()) : [];
    if (missing.length > 0) throw new FaultError(`cannot apply ${fault.type} on engine ${this.live.rec.engine}: ${missing.map((m) => `${REQUIREMENT_WHY[m]}, and its kernel does not have it`).join('; ')}`, 'unavailable');
    const id = `f${randomBytes(5).toString('hex')}`;
    const impl = implFor(fault.type);
    const ctx = this.context(id);
    const describe = impl.describe(fault as never, this.live, ctx.tag);
    const { type: _type, ...params } = fault;
    this.live.claimInstance();
    this.store.create({ id, session: this.live.id, type: fault.type, params, origin, owner: this.live.instanceId, describe });
    try {
      const undo = await impl.apply(fault as never, ctx);
      this.store.applied(id, undo);
      // While a lab is still coming up, its capture starts later, once it is ready.
      if (this.live.rec.state === 'ready') await this.live.ensureSidecars(ctx.rt).catch(() => undefined);
    } catch (e) {
      const reason = (e as Error).message;
      // Leave the lab as it was: revert restores what the lab planned, whatever got half done.
      await impl.revert(fault as never, ctx, undefined).catch(() => undefined);
      this.store.setState(id, 'failed', reason);
      throw new FaultError(`could not apply ${fault.type}: ${reason.replace(/^could not apply [a-z-]+: /, '')}; the lab is as it was`);
    }
    await this.live.refreshTopology();
    return { ...this.store.get(id)!, describe };
  }

  async revert(id: string): Promise<FaultRecord> {
    const rec = this.store.get(id);
    if (!rec || rec.session !== this.live.id) {
      const ids = this.list().filter((f) => f.state === 'applied').map((f) => f.id);
      throw new FaultError(`unknown fault "${id}" in session ${this.live.id}; expected one of: ${ids.join(', ') || '(no applied fault)'}`);
    }
    if (rec.state === 'reverted') return rec;
    const fault = { type: rec.type, ...rec.params } as Fault;
    this.store.setState(id, 'reverting');
    try {
      const ctx = this.context(id);
      await implFor(fault.type).revert(fault as never, ctx, rec.undo);
      this.store.setState(id, 'reverted');
      if (this.live.rec.state === 'ready') await this.live.ensureSidecars(ctx.rt).catch(() => undefined);
    } catch (e) {
      this.store.setState(id, 'failed', (e as Error).message);
      throw new FaultError(`could not revert ${rec.type} (${id}): ${(e as Error).message}`);
    }
    await this.live.refreshTopology();
    return this.store.get(id)!;
  }

  /**
   * Puts the lab's applied faults back after its engine restarted it: what lived in the old
   * network namespaces (firewall rules, tc) went with them, and a stopped service was started with
   * the rest. Each fault that no longer holds is applied again under its own record; the ids of
   * those are returned. Throws, naming the fault, when one cannot be.
   */
  async restore(): Promise<string[]> {
    const again: string[] = [];
    for (const rec of this.list().filter((f) => f.state === 'applied')) {
      const fault = { type: rec.type, ...rec.params } as Fault;
      const impl = implFor(fault.type);
      const ctx = this.context(rec.id);
      if (await impl.holds(fault as never, ctx, rec.undo).catch(() => false)) continue;
      try {
        this.store.applied(rec.id, await impl.apply(fault as never, ctx));
      } catch (e) {
        throw new FaultError(`could not apply ${rec.type} (${rec.id}) again: ${(e as Error).message}`);
      }
      again.push(rec.id);
    }
    if (again.length > 0) await this.live.refreshTopology();
    return again;
  }

  /** Finishes what a dead process left half-done: reverts it, so the lab is as planned. */
  async settle(rec: FaultRecord): Promise<void> {
    const fault = { type: rec.type, ...rec.params } as Fault;
    await implFor(fault.type).revert(fault as never, this.context(rec.id), rec.undo).catch(() => undefined);
    this.store.setState(rec.id, 'failed', `the process applying it stopped (${rec.state}); reverted by sweep`);
  }
}
