// The use cases every entry point shares — start a lab, restart it (the same breakage, or a new
// seed), end one or all — so the HTTP API, the CLI, workshops and check compose them once: the lab loaded
// and checked against this engine, then brought up; the learner kept across a restart.
import type { CatalogueEntry } from '../lab/catalogue.ts';
import { loadLab } from '../lab/catalogue.ts';
import type { Topology } from '../protocol/session.ts';
import type { DownReport, UpOptions } from '../session/engine.ts';
import { NoWarmLeft, SessionError } from '../session/errors.ts';
import { ProgressStore } from '../store/progress.ts';
import { chooseVariant, randomSeed } from '../session/variant.ts';
import { labRequirements, unmet } from '../lab/requirements.ts';
import { validateContext, type App } from './app.ts';
import { labNeeds, placeLab, takesLabsNow } from './placement.ts';

/** A lab by id or file, read and checked against what this engine can run. */
export async function labFor(app: App, labRef: string): Promise<CatalogueEntry> {
  return loadLab(labRef, await validateContext(app.docker), app.settings.labDirs);
}

/**
 * Starts a lab: by id or file, or an entry already read. A warm session of it is claimed when one
 * waits where this start may run (see warm.ts); otherwise one is brought up on demand.
 */
export async function startLab(app: App, lab: string | CatalogueEntry, opts: UpOptions = {}): Promise<Topology> {
  const entry = typeof lab === 'string' ? (app.warm?.entry(lab) ?? (await labFor(app, lab))) : lab;
  // The seed draws the variant, and the variant may need what only some engines have.
  const seed = opts.seed ?? randomSeed();
  if (!opts.warm) {
    const claimed = await claimWarm(app, entry, { ...opts, seed });
    if (claimed) return claimed;
    if (opts.claim && !opts.claim.coldAllowed()) throw new NoWarmLeft(`no warm ${entry.lab.id} was left to claim, and there is no room to start one now`);
  }
  // A warm session has no variant until claimed: it goes where the lab itself can run.
  const placed = await placeLab(app, labNeeds(app, entry, opts.warm ? undefined : seed, opts.initSwarm), opts.engine);
  try {
    return await app.engine.up(entry, { ...opts, seed, engine: placed.engine });
  } finally {
    placed.release();
  }
}

/** The engines a claim may take a warm session from: taking labs, answering, with what the seed's variant needs. */
async function claimEngines(app: App, entry: CatalogueEntry, seed: number, pinned?: string): Promise<string[]> {
  const needs = labRequirements(entry.lab, chooseVariant(entry.lab, seed));
  const names = pinned !== undefined ? [pinned] : app.engines.names();
  const ok: string[] = [];
  for (const name of names) {
    if (!takesLabsNow(app, name)) continue;
    if (needs.length > 0 && unmet(needs, await app.engine.featuresOf(name).catch(() => ({}))).length > 0) continue;
    ok.push(name);
  }
  return ok;
}

/**
 * Claims a warm session for a start, when one waits where this start may run; undefined
 * otherwise (and when breaking it failed: it is removed, and the start goes on demand).
 */
async function claimWarm(app: App, entry: CatalogueEntry, opts: UpOptions & { seed: number }): Promise<Topology | undefined> {
  // Until the store has handed one out, the pool counts this claim as on its way (it trims no surplus for it).
  const onWay = app.warm?.claimBegins(entry.lab.id) ?? (() => {});
  let got = false;
  let told = false;
  const taken = () => {
    onWay();
    if (!told) opts.claim?.answered(got);
    told = true;
  };
  try {
    const engines = await claimEngines(app, entry, opts.seed, opts.engine);
    return await app.engine.claim(entry, engines, opts, (claimed) => {
      got = claimed;
      taken();
    });
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    opts.progress?.(`a warm session could not be broken as drawn (${(e as Error).message}); starting one on demand`);
    return undefined;
  } finally {
    taken();
    app.warm?.kick();
  }
}

/**
 * Ends a session and starts its lab again for the same learner: with the same seed (the same
 * breakage) unless a new one is asked for.
 */
export async function restartLab(app: App, session: string, opts: { newSeed?: boolean } & UpOptions = {}): Promise<Topology> {
  const rec = app.engine.store.get(session);
  if (!rec) throw new SessionError(`unknown session "${session}"`, 'not-found');
  const learner = new ProgressStore(app.engine.db).sessionLearner(session);
  const entry = await labFor(app, rec.scenario);
  await app.engine.down(session);
  const { newSeed, ...up } = opts;
  // On the same engine, unless told otherwise or it takes no new labs now (drained, gone).
  const same = takesLabsNow(app, rec.engine) ? { engine: rec.engine } : {};
  return startLab(app, entry, { ...(newSeed ? {} : { seed: rec.seed }), ...(learner ? { learner } : {}), ...same, ...up });
}

/** Takes an engine out of the pool; with `force`, its sessions are ended first (otherwise they refuse it). */
export async function removeEngine(app: App, name: string, opts: { force?: boolean } = {}): Promise<void> {
  if (opts.force) for (const s of app.engines.sessionsOn(name)) await endLab(app, s);
  app.engines.remove(name);
}

/** Ends a session: everything labelled with it goes. */
export function endLab(app: App, session: string): Promise<DownReport> {
  return app.engine.down(session);
}

/** Ends every live session of this data directory. */
export function endAllLabs(app: App): Promise<DownReport[]> {
  return app.engine.downAll();
}
