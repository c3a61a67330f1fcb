// Warm pools: sessions of a lab brought up healthy ahead of their learners (captures running, no
// fault, no learner), so a start claims one in the time its faults take instead of the time its
// containers take. Each is broken only when claimed, as the claim's seed draws, so twenty
// learners claiming together still get their own root causes.
//
// A pool's size is standing (serve --warm, FLOWLAB_WARM, the API, the dashboard) plus what a
// workshop's Prepare still needs. The server refills pools in the background: its starts go last
// at each engine's gate and leave a place free there (see StartGate), and fewer refills begin while
// starts wait at an engine's gate. Warm sessions count against every
// capacity like any session (placement, a workshop's room); an unclaimed one expires after the
// TTL; one on an engine that went down is not claimed, and its pool is refilled elsewhere.
import type { CatalogueEntry } from '../lab/catalogue.ts';
import { poolRefusal } from '../lab/pooling.ts';
import { MAX_POOL, type WarmPoolStatus, type WarmSessionSummary, type WarmStatus } from '../protocol/warm.ts';
import { SessionError } from '../session/errors.ts';
import type { SessionRecord } from '../store/sessions.ts';
import type { App } from './app.ts';
import { labFor, startLab } from './labs.ts';
import { engineLoads, takesLabsNow } from './placement.ts';

export interface WarmPoolOptions {
  /** An unclaimed warm session is ended after this long. */
  ttlMs: number;
  /** How often pools are looked at (expiry, refills, surplus). */
  tickMs: number;
  /** Whether refills may begin (the lab images are built). */
  ready?: () => boolean;
  /** Lines for the server's log. */
  log?: (line: string) => void;
}

const iso = (ms: number) => new Date(ms).toISOString();
/** How long after a failed refill a lab's pool is refilled again. */
const RETRY_MS = 15_000;

export class WarmPools {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Refills on their way, by lab. */
  private readonly building = new Map<string, number>();
  private readonly errors = new Map<string, { at: number; message: string }>();
  /** What each workshop's Prepare still wants, by lab. */
  private readonly wants = new Map<string, () => Record<string, number>>();
  private readonly listeners: (() => void)[] = [];
  /** Warm sessions being ended now (expired, surplus, stale). */
  private readonly ending = new Set<Promise<unknown>>();

  constructor(
    private readonly app: App,
    readonly opts: WarmPoolOptions,
  ) {}

  start(): void {
    if (this.timer) return;
    this.stopped = false;
    if (this.abort.signal.aborted) this.abort = new AbortController();
    this.timer = setInterval(() => this.kick(), this.opts.tickMs);
    this.timer.unref();
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.abort.abort();
  }

  /**
   * Stops, and waits (at most `withinMs`) until the refills on their way have given up, removing
   * what they built, and the ends are done: a shutdown must not wait on a slow engine.
   */
  async close(withinMs = 2000): Promise<void> {
    this.stop();
    await this.idle(withinMs);
  }

  /** Calls off refills on their way when the pools stop. */
  private abort = new AbortController();

  /** Something changed (a claim, a size, a session ended): look at the pools again soon. */
  kick(): void {
    if (this.stopped || !this.timer) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = this.tick()
      .catch((e: Error) => this.opts.log?.(`warm pools: ${e.message}`))
      .finally(() => {
        this.ticking = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Resolves once the pools are looked at, no refill is on its way and no end is left (or `withinMs` passed). */
  async idle(withinMs = 60_000): Promise<void> {
    const deadline = Date.now() + withinMs;
    while ((this.ticking || this.ending.size > 0 || [...this.building.values()].some((n) => n > 0)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  }

  on(listener: () => void): () => void {
    this.listeners.push(listener);
    return () => this.listeners.splice(this.listeners.indexOf(listener), 1);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  /** The standing sizes, by lab. */
  sizes(): Record<string, number> {
    return this.app.engine.store.poolSizes();
  }

  /** Sets a lab's standing pool (0 removes it). Refused for an unknown lab or one kept out of pools, with why. */
  async setSize(labRef: string, size: number): Promise<{ lab: string; size: number }> {
    if (!Number.isInteger(size) || size < 0 || size > MAX_POOL) throw new SessionError(`a warm pool's size must be a whole number from 0 to ${MAX_POOL}; found ${size} for ${labRef}`, 'invalid');
    const entry = await labFor(this.app, labRef);
    const refused = poolRefusal(entry.lab);
    if (refused && size > 0) throw new SessionError(`lab "${entry.lab.id}" is never kept warm: ${refused}`, 'invalid');
    this.app.engine.store.setPoolSize(entry.lab.id, size);
    this.errors.delete(entry.lab.id);
    this.changed();
    this.kick();
    return { lab: entry.lab.id, size };
  }

  /** A workshop's Prepare: what it still wants warm, asked again at every look. */
  want(source: string, wanted: (() => Record<string, number>) | undefined): void {
    if (wanted) this.wants.set(source, wanted);
    else this.wants.delete(source);
    this.kick();
  }

  /** How many of a lab are wanted warm now. */
  wanted(lab: string): number {
    let n = this.sizes()[lab] ?? 0;
    for (const w of this.wants.values()) n += Math.max(0, w()[lab] ?? 0);
    return Math.min(n, MAX_POOL);
  }

  private labsWanted(): string[] {
    const labs = new Set(Object.keys(this.sizes()));
    for (const w of this.wants.values()) for (const [lab, n] of Object.entries(w())) if (n > 0) labs.add(lab);
    return [...labs].sort();
  }

  /** A warm session that may be claimed now: ready, well, on an engine that takes labs. */
  private claimable(r: SessionRecord): boolean {
    return r.state === 'ready' && r.trouble === null && takesLabsNow(this.app, r.engine);
  }

  /** Warm sessions of a lab that could be claimed now. */
  claimableCount(lab: string): number {
    return this.app.engine.store.warm().filter((r) => r.scenario === lab && this.claimable(r)).length;
  }

  /** Each pooled lab as its file read, checked, at the last look. */
  private readonly read = new Map<string, { entry: CatalogueEntry; at: number }>();

  /**
   * A pooled lab as read at the last look (within two looks' time): twenty claims at once need not
   * each read and check the catalogue again.
   */
  entry(lab: string): CatalogueEntry | undefined {
    const r = this.read.get(lab);
    return r && Date.now() - r.at <= 2 * this.opts.tickMs ? r.entry : undefined;
  }

  /** Claims of each lab the store has not answered yet. */
  private readonly claimsOnWay = new Map<string, number>();

  /** A claim of the lab begins; call what it returns once the store has answered it (once is enough). */
  claimBegins(lab: string): () => void {
    this.claimsOnWay.set(lab, (this.claimsOnWay.get(lab) ?? 0) + 1);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.claimsOnWay.set(lab, (this.claimsOnWay.get(lab) ?? 1) - 1);
    };
  }

  /** Warm sessions of a lab being made now. */
  startingCount(lab: string): number {
    return this.app.engine.store.warm().filter((r) => r.scenario === lab && r.state === 'starting').length;
  }

  private async tick(): Promise<void> {
    const store = this.app.engine.store;
    const now = Date.now();
    const end = (r: SessionRecord, why: string) => {
      // Only while it still waits: a claim may have taken it since it was listed.
      if (!store.retireWarm(r.id, `warm, never claimed: ${why}`)) return;
      this.opts.log?.(`warm session ${r.id} of ${r.scenario} ends: ${why}`);
      const done = this.app.engine
        .down(r.id)
        .then(() => store.markEnded(r.id, 'ended'))
        // Its subnets and ports go back either way; sweep removes what is left on the engine.
        .catch((e: Error) => store.markEnded(r.id, 'failed', `warm, never claimed: ${why}; its teardown did not finish: ${e.message}; flowlab sweep removes what is left`))
        .finally(() => {
          this.ending.delete(done);
          this.changed();
        });
      this.ending.add(done);
    };
    const entries = new Map<string, CatalogueEntry | Error>();
    const entryOf = async (lab: string) => {
      if (!entries.has(lab)) {
        const entry = await labFor(this.app, lab).catch((e: Error) => e);
        entries.set(lab, entry);
        if (entry instanceof Error) this.read.delete(lab);
        else this.read.set(lab, { entry, at: Date.now() });
      }
      return entries.get(lab)!;
    };
    for (const r of store.warm()) {
      if (r.state !== 'ready') continue;
      if (now - (r.warmAt ?? now) > this.opts.ttlMs) end(r, `unclaimed for ${Math.round(this.opts.ttlMs / 60_000)} min (its TTL)`);
      else if (r.trouble?.kind === 'broken') end(r, `its engine restarted and it could not be brought back: ${r.trouble.reason}`);
      else if (this.app.engines.names().includes(r.engine) && this.app.engines.drained(r.engine)) end(r, `engine ${r.engine} is drained: it takes no new labs`);
      else {
        const entry = await entryOf(r.scenario);
        // Made from a definition the lab file no longer has: never claimed, made again.
        if (!(entry instanceof Error) && JSON.stringify(entry.lab) !== JSON.stringify(r.lab)) end(r, 'its lab file changed since it was made');
      }
    }
    if (this.opts.ready && !this.opts.ready()) return;
    const warm = store.warm().filter((r) => !(r.state === 'ready' && now - (r.warmAt ?? now) > this.opts.ttlMs));
    for (const lab of new Set([...this.labsWanted(), ...warm.map((r) => r.scenario)])) {
      const wanted = this.wanted(lab);
      const mine = warm.filter((r) => r.scenario === lab);
      const usable = mine.filter((r) => this.claimable(r));
      const coming = this.building.get(lab) ?? 0;
      // More than wanted (claims slowed, a Prepare done, an engine back with its warm labs): the
      // oldest go first. A claim on its way will take one of them: that one is not surplus.
      const surplus = usable.length - (this.claimsOnWay.get(lab) ?? 0) + coming - wanted;
      if (surplus > 0) {
        for (const r of usable.slice(0, surplus)) end(r, `its pool wants ${wanted}`);
        continue;
      }
      const missing = wanted - usable.length - coming;
      if (missing <= 0) continue;
      // A refill that failed is tried again after a pause, not at once in a loop.
      const failedAt = this.errors.get(lab)?.at;
      if (failedAt !== undefined && now - failedAt < RETRY_MS) continue;
      const entry = await entryOf(lab);
      if (entry instanceof Error) {
        this.failed(lab, entry.message);
        continue;
      }
      const refused = poolRefusal(entry.lab);
      if (refused) {
        this.failed(lab, `never kept warm: ${refused}`);
        continue;
      }
      for (let i = 0; i < Math.min(missing, await this.room()); i++) this.refill(entry);
    }
  }

  /** Refills that may begin now: one per start place of each engine taking labs, less those on their way and the starts someone waits for. */
  private async room(): Promise<number> {
    const loads = await engineLoads(this.app).catch(() => []);
    const places = loads.filter((l) => l.up && !l.drained).reduce((n, l) => n + Math.max(1, l.startsAtOnce - 1) - (l.waiting > 0 ? 1 : 0), 0);
    const building = [...this.building.values()].reduce((a, b) => a + b, 0);
    return Math.max(0, places - building);
  }

  private failed(lab: string, message: string): void {
    const last = this.errors.get(lab);
    if (last?.message !== message) this.opts.log?.(`warm pool of ${lab}: ${message}`);
    this.errors.set(lab, { at: Date.now(), message });
    this.changed();
  }

  private refill(entry: CatalogueEntry): void {
    const lab = entry.lab.id;
    this.building.set(lab, (this.building.get(lab) ?? 0) + 1);
    this.changed();
    void (async () => {
      try {
        await startLab(this.app, entry, { warm: true, seed: 0, signal: this.abort.signal });
        this.errors.delete(lab);
      } catch (e) {
        this.failed(lab, (e as Error).message);
      } finally {
        this.building.set(lab, (this.building.get(lab) ?? 1) - 1);
        this.changed();
        this.kick();
      }
    })();
  }

  status(): WarmStatus {
    const now = Date.now();
    const warm = this.app.engine.store.warm();
    const labs = [...new Set([...this.labsWanted(), ...warm.map((r) => r.scenario)])].sort();
    const sizes = this.sizes();
    const pools = labs.map((lab): WarmPoolStatus => {
      const mine = warm.filter((r) => r.scenario === lab);
      const usable = mine.filter((r) => this.claimable(r));
      const engines: Record<string, number> = {};
      for (const r of usable) engines[r.engine] = (engines[r.engine] ?? 0) + 1;
      const err = this.errors.get(lab);
      const read = this.read.get(lab);
      const refused = read ? (poolRefusal(read.entry.lab) ?? null) : null;
      return {
        lab,
        size: sizes[lab] ?? 0,
        wanted: this.wanted(lab),
        warm: usable.length,
        starting: mine.filter((r) => r.state === 'starting').length,
        lost: mine.filter((r) => r.state === 'ready' && !this.claimable(r)).length,
        engines,
        refused,
        last_error: err && !refused ? { at: iso(err.at), message: err.message } : null,
      };
    });
    const sessions = warm.map((r): WarmSessionSummary => ({
      session: r.id,
      lab: r.scenario,
      engine: r.engine,
      state: r.state === 'starting' ? 'starting' : r.trouble ? r.trouble.kind : 'warm',
      since: iso(r.warmAt ?? r.createdAt),
      expires_at: iso((r.state === 'ready' ? (r.warmAt ?? now) : now) + this.opts.ttlMs),
    }));
    return { ttl_minutes: Math.round(this.opts.ttlMs / 60_000), pools, sessions };
  }
}
