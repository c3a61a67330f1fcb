// Wiring shared by every entry point (CLI commands, HTTP server): settings, the database, the
// Docker connection and the session engine.
import { loadSettings, type Settings } from '../config.ts';
import { Consoles } from '../console/consoles.ts';
import { DockerRuntime, dockerEndpoint } from '../docker/runtime.ts';
import { kernelFeatures } from '../env/kernel.ts';
import { Faults } from '../fault/faults.ts';
import { trafficCalls } from '../probe/traffic.ts';
import { catalogue } from '../lab/catalogue.ts';
import { isolationLimits } from '../lab/model.ts';
import type { ValidateContext } from '../lab/validate.ts';
import type { LabSummary, LabView } from '../protocol/session.ts';
import type { Lab } from '../lab/schema.ts';
import { gradingOf } from '../grade/grader.ts';
import { SessionEngine } from '../session/engine.ts';
import { openDb } from '../store/db.ts';
import { PoolHealth } from './health.ts';
import { engineFeatures } from './placement.ts';
import { EngineRegistry } from '../engines/registry.ts';
import type { WarmPools } from './warm.ts';

export interface App {
  settings: Settings;
  engine: SessionEngine;
  docker: DockerRuntime;
  /** Each session's docker console and its scoped Docker API. */
  consoles: Consoles;
  /** The Docker engines of the pool: "local" and the ones added by name. */
  engines: EngineRegistry;
  /** Each engine's health and its sessions' (checked while a server runs). */
  health: PoolHealth;
  /** The warm pools, refilled while a server runs (a CLI process claims from them, never refills). */
  warm?: WarmPools;
  close(): void;
}

export function openApp(overrides: Partial<Settings> = {}): App {
  const settings = loadSettings(overrides);
  const db = openDb(settings.dataDir);
  const docker = DockerRuntime.withStartLimit(settings.dockerStarts);
  const engine = new SessionEngine(settings, db, docker);
  engine.hooks = {
    // A lab's faults and its variant's apply once every service is ready.
    afterReady: async (live, variant) => {
      const faults = new Faults(live);
      for (const f of live.lab.faults) await faults.apply(f, 'lab');
      for (const f of variant?.faults ?? []) await faults.apply(f, 'variant');
    },
    settleFault: (live, fault) => new Faults(live).settle(fault),
    beforeTeardown: (session) => consoles.close(session),
    trafficCalls,
  };
  const consoles = new Consoles(engine);
  const engines = new EngineRegistry(db, { startsAtOnce: settings.dockerStarts, fixed: settings.dockerStartsFixed ?? false, local: docker });
  engine.pool = { names: () => engines.names(), runtime: (name) => engines.runtime(name), features: (name) => engineFeatures(engine, name) };
  const health = new PoolHealth({ engines, engine, docker });
  // A lab brought back (or found well again) gets its console made again on next use: the old one
  // may have stopped with its engine.
  health.on((e) => {
    if (e.kind === 'session' && e.state === 'ready') void consoles.close(e.session);
  });
  return {
    settings,
    engine,
    docker,
    consoles,
    engines,
    health,
    close() {
      this.warm?.stop();
      health.stop();
      void consoles.close();
      db.close();
    },
  };
}

/** What validation may ask Docker: the local images, when the engine answers, and its kernel's features. */
export async function validateContext(docker: DockerRuntime): Promise<ValidateContext> {
  const engine = { features: kernelFeatures(), engine: dockerEndpoint() };
  try {
    return { localImages: await docker.imageRefs(), ...engine };
  } catch {
    return engine;
  }
}

function summaryOf(lab: Lab): LabSummary {
  const iso = isolationLimits(lab);
  return {
    id: lab.id,
    title: lab.title,
    summary: lab.summary,
    network: lab.network,
    level: lab.level,
    minutes: lab.minutes,
    topic: lab.topic,
    tags: lab.tags,
    isolation: { default_bridge: iso.defaultBridge, host_network: iso.hostNetwork },
    nodes: Object.keys(lab.nodes ?? {}).length,
  };
}

/** A lab as a learner may see it before being graded: the ticket, the choices, the hint costs. */
export function labView(lab: Lab): LabView {
  const g = gradingOf(lab);
  return {
    ...summaryOf(lab),
    objectives: lab.objectives,
    briefing: lab.briefing,
    diagnosis: lab.diagnosis ? { question: lab.diagnosis.question, causes: lab.diagnosis.causes.map((c) => ({ id: c.id, text: c.text })) } : null,
    hints: lab.hints.map((h) => ({ cost: h.cost })),
    probes: lab.probes.map((p) => ({ from: p.from, to: p.to })),
    grading: { pass_mark: g.passMark, attempts: g.attempts, weights: g.weights },
  };
}

/** The catalogue as learners see it: no variant, not even how many there are. */
export function labSummaries(dir?: string | string[], ctx: ValidateContext = {}): LabSummary[] {
  return catalogue(dir, ctx).labs.map(({ lab }) => summaryOf(lab));
}

/** The catalogue for trainers and scripts (`flowlab list --json`): with the number of variants. */
export function labCatalogue(dir?: string | string[], ctx: ValidateContext = {}): (LabSummary & { variants: number })[] {
  return catalogue(dir, ctx).labs.map(({ lab }) => ({ ...summaryOf(lab), variants: lab.variants.length }));
}
