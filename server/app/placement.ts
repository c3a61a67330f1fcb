// Where a lab goes: every engine of the pool measured as it is now (what it says of itself, the
// labs this registry put there, the starts waiting at its gate, the kernel features a lab may
// need), weighed by server/engines/placement.ts. A lab pinned to an engine is checked against
// that engine alone. Choices are made one at a time, and each counts against its engine until its
// lab is up, so twelve labs started together spread instead of all landing on the emptiest.
import type { CatalogueEntry } from '../lab/catalogue.ts';
import { labRequirements, type EngineFeatures } from '../lab/requirements.ts';
import { TOOLBOX_REF } from '../lab/lab-images.ts';
import { kernelFeatures } from '../env/kernel.ts';
import { CONTAINERS_PER_CPU, place, PlacementError, refusal, type EngineLoad, type EngineScore, type LabNeeds } from '../engines/placement.ts';
import { LOCAL_ENGINE, type EngineStatus } from '../protocol/engines.ts';
import { footprint, helperContainer } from '../session/plan.ts';
import { SessionError } from '../session/errors.ts';
import { chooseVariant } from '../session/variant.ts';
import type { DockerRuntime } from '../docker/runtime.ts';
import type { SessionEngine } from '../session/engine.ts';
import type { App } from './app.ts';

export interface Placed {
  engine: string;
  scores: EngineScore[];
  /** Call once the lab is up (or did not come up): it stops counting as on its way there. */
  release(): void;
}


/** How long what the engines said of themselves is used again for the next choice. */
const LIST_FRESH_MS = 2000;

/** Per app: the choices on their way. */
interface PlacementState {
  turn: Promise<unknown>;
  /** The engines as last asked: a burst of starts asks once (what each placed counts as pending until it is up). */
  listed?: { at: number; list: Promise<EngineStatus[]> };
  pending: Set<{ engine: string; containers: number; memoryBytes: number }>;
}
const states = new WeakMap<App, PlacementState>();
const stateOf = (app: App): PlacementState => {
  let s = states.get(app);
  if (!s) states.set(app, (s = { turn: Promise.resolve(), pending: new Set() }));
  return s;
};

/** Per session engine: each engine's features once a helper could tell. */
const featureCache = new WeakMap<SessionEngine, Map<string, EngineFeatures>>();

/**
 * What an engine's kernel offers labs, asked of it by a toolbox helper in a network namespace of
 * its own (`tc qdisc add dev lo root netem`; IPVS present once /proc/net/ip_vs is): the local
 * engine's kernel is read directly when it is this machine's. Until the toolbox is on an engine
 * (its first lab sends it) nothing is known, and nothing held against it.
 */
export async function engineFeatures(sessions: SessionEngine, engine: string): Promise<EngineFeatures> {
  let cache = featureCache.get(sessions);
  if (!cache) featureCache.set(sessions, (cache = new Map()));
  const known = cache.get(engine);
  if (known) return known;
  if (engine === LOCAL_ENGINE) {
    // Read from /proc when the local engine is this machine's; undefined otherwise.
    const f = kernelFeatures();
    if (f.netem !== undefined && f.ipvs !== undefined) {
      cache.set(engine, f);
      return f;
    }
  }
  const rt = sessions.runtimeOf(engine);
  if (!(await rt.imageInfo(TOOLBOX_REF).catch(() => undefined))) return {};
  const found = await askKernel(sessions, rt).catch(() => undefined);
  if (found) cache.set(engine, found);
  return found ?? {};
}

async function askKernel(sessions: SessionEngine, rt: DockerRuntime): Promise<EngineFeatures> {
  sessions.claimInstance();
  const ref = { session: 'engine', scenario: 'engine-check', owner: sessions.instanceId, registry: sessions.registryPath };
  const script = 'if tc qdisc add dev lo root netem delay 1ms 2>/dev/null; then echo netem=yes; else echo netem=no; fi; if [ -e /proc/net/ip_vs ]; then echo ipvs=yes; else echo ipvs=unknown; fi';
  const out = await rt.runToCompletion(helperContainer(ref, 'features', { kind: 'none' }, ['NET_ADMIN'], ['sh', '-c', script]), 20_000);
  const said = (k: string) => new RegExp(`^${k}=(\\w+)`, 'm').exec(out.stdout)?.[1];
  const word = (v: string | undefined) => (v === 'yes' ? true : v === 'no' ? false : undefined);
  return { netem: word(said('netem')), ipvs: word(said('ipvs')) };
}

/** Every engine with what it says of itself and what its kernel offers labs. */
export async function listEngines(app: App): Promise<EngineStatus[]> {
  const list = await app.engines.list();
  return Promise.all(
    list.map(async (e) => {
      if (e.state !== 'up') return e;
      const f = await engineFeatures(app.engine, e.name).catch((): EngineFeatures => ({}));
      return { ...e, features: { netem: f.netem ?? null, ipvs: f.ipvs ?? null } };
    }),
  );
}

/** Whether an engine takes new labs now: in the pool, not drained, answering. */
export function takesLabsNow(app: App, engine: string): boolean {
  return app.engines.names().includes(engine) && !app.engines.drained(engine) && app.health.watch.state(engine) !== 'down';
}

/** Every engine as placement weighs it now. */
export async function engineLoads(app: App): Promise<EngineLoad[]> {
  const state = stateOf(app);
  // Asked again unless other labs are on their way (a burst): a choice after a change (swarm
  // initialised, an engine back) sees it.
  const fresh = state.pending.size > 0 && state.listed && Date.now() - state.listed.at < LIST_FRESH_MS ? state.listed : undefined;
  const listed = fresh ?? { at: Date.now(), list: app.engines.list() };
  state.listed = listed;
  // Ready labs, and claimed warm ones being broken (a cold start on its way counts as pending).
  const [statuses, ready] = [await listed.list, app.engine.store.list(['starting', 'ready']).filter((r) => r.state === 'ready' || r.claimedAt !== null)];
  return Promise.all(
    statuses.map(async (st): Promise<EngineLoad> => {
      const mine = ready.filter((r) => r.engine === st.name).map((r) => footprint(r.lab));
      const coming = [...state.pending].filter((p) => p.engine === st.name);
      const cpus = st.facts?.cpus ?? 0;
      const gate = st.state === 'up' ? app.engine.runtimeOf(st.name).starts : undefined;
      return {
        name: st.name,
        up: st.state === 'up',
        ...(st.error ? { error: st.error } : {}),
        drained: st.drained,
        cpus,
        memoryBytes: st.facts?.memoryBytes ?? 0,
        swarm: st.facts?.swarm ?? false,
        features: st.state === 'up' ? await engineFeatures(app.engine, st.name).catch(() => ({})) : {},
        labs: mine.length + coming.length,
        reservedBytes: [...mine, ...coming].reduce((n, f) => n + f.memoryBytes, 0),
        containers: (st.facts?.managed ?? 0) + coming.reduce((n, f) => n + f.containers, 0),
        containerCap: app.settings.engineContainers ?? Math.max(1, cpus) * CONTAINERS_PER_CPU,
        waiting: gate?.queued ?? 0,
        startsAtOnce: gate?.atOnce ?? 0,
      };
    }),
  );
}

/** What a lab (with the variant its seed draws; none without a seed) asks of its engine. */
export function labNeeds(app: App, entry: CatalogueEntry, seed: number | undefined, initSwarm?: boolean): LabNeeds {
  const { lab } = entry;
  return {
    lab: lab.id,
    overlay: lab.network === 'overlay' || Object.values(lab.networks).some((n) => n?.driver === 'overlay'),
    initSwarm: initSwarm ?? app.settings.initSwarm,
    requirements: labRequirements(lab, seed === undefined ? undefined : chooseVariant(lab, seed)),
    ...footprint(lab),
  };
}

/**
 * Chooses the engine for a lab — or checks the one it is pinned to — and counts the lab against
 * it until `release`. Refused with each engine's reason when none can run it.
 */
export function placeLab(app: App, needs: LabNeeds, pinned?: string): Promise<Placed> {
  const state = stateOf(app);
  const choice = state.turn.then(async () => {
    if (pinned !== undefined) app.engines.takesLabs(pinned);
    const loads = await engineLoads(app);
    let engine: string;
    let scores: EngineScore[];
    if (pinned !== undefined) {
      const load = loads.find((l) => l.name === pinned)!;
      const why = refusal(load, needs);
      if (why) throw new SessionError(`lab "${needs.lab}" cannot run on engine ${pinned}: ${why}`, 'unavailable');
      engine = pinned;
      scores = [{ engine: pinned, score: 0 }];
    } else {
      try {
        ({ engine, scores } = place(loads, needs));
      } catch (e) {
        if (e instanceof PlacementError) throw new SessionError(e.message, 'unavailable');
        throw e;
      }
    }
    const entry = { engine, containers: needs.containers, memoryBytes: needs.memoryBytes };
    state.pending.add(entry);
    return { engine, scores, release: () => void state.pending.delete(entry) };
  });
  state.turn = choice.catch(() => undefined);
  return choice;
}
