// Wiring shared by every entry point (CLI commands, HTTP server): settings, the database, the
// Docker connection and the session engine.
import { loadSettings, type Settings } from './config.ts';
import { DockerRuntime } from './docker/runtime.ts';
import { Faults } from './fault/faults.ts';
import { catalogue } from './lab/catalogue.ts';
import { isolationLimits } from './lab/model.ts';
import type { ValidateContext } from './lab/validate.ts';
import type { LabSummary } from './protocol/session.ts';
import { SessionEngine } from './session/engine.ts';
import { openDb } from './store/db.ts';

export interface App {
  settings: Settings;
  engine: SessionEngine;
  docker: DockerRuntime;
  close(): void;
}

export function openApp(overrides: Partial<Settings> = {}): App {
  const settings = loadSettings(overrides);
  const db = openDb(settings.dataDir);
  const docker = new DockerRuntime();
  const engine = new SessionEngine(settings, db, docker);
  engine.hooks = {
    // A lab's faults and its variant's apply once every service is ready.
    afterReady: async (live, variant) => {
      const faults = new Faults(live);
      for (const f of live.lab.faults) await faults.apply(f, 'lab');
      for (const f of variant?.faults ?? []) await faults.apply(f, 'variant');
    },
    settleFault: (live, fault) => new Faults(live).settle(fault),
  };
  return { settings, engine, docker, close: () => db.close() };
}

/** What validation may ask Docker: the local images, when the engine answers. */
export async function validateContext(docker: DockerRuntime): Promise<ValidateContext> {
  try {
    return { localImages: await docker.imageRefs() };
  } catch {
    return {};
  }
}

export function labSummaries(dir?: string, ctx: ValidateContext = {}): LabSummary[] {
  return catalogue(dir, ctx).labs.map(({ lab }) => {
    const iso = isolationLimits(lab);
    return {
      id: lab.id,
      title: lab.title,
      summary: lab.summary,
      network: lab.network,
      level: lab.level,
      minutes: lab.minutes,
      tags: lab.tags,
      variants: lab.variants.length,
      isolation: { default_bridge: iso.defaultBridge, host_network: iso.hostNetwork },
    };
  });
}
