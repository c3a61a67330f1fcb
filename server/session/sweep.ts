// Sweeping what dead sessions left: found by label on the engine, judged by the registries that
// know them, never a live session whichever instance owns it. Helpers whose creator is gone and
// faults a dead process left half-done in live sessions are settled too.
import { isAbsolute, resolve } from 'node:path';
import type { Settings } from '../config.ts';
import { LABEL } from '../docker/labels.ts';
import type { DockerApi } from '../docker/types.ts';
import type { SessionState } from '../protocol/session.ts';
import { peekSession, type Db } from '../store/db.ts';
import { FaultStore, type FaultRecord } from '../store/faults.ts';
import type { SessionRecord, SessionStore } from '../store/sessions.ts';
import { ownerAlive, type Instance } from './instance.ts';

export interface DownReport {
  session: string;
  removed: { containers: number; services: number; networks: number };
}

export interface SweepReport {
  removed: DownReport[];
  kept: string[];
  /** Dead sessions whose objects the daemon would not remove yet (tried again next sweep). */
  failed: { session: string; error: string }[];
}

/** What a sweep reads and does, from the session engine. */
export interface SweepHost {
  docker: DockerApi;
  store: SessionStore;
  db: Db;
  settings: Settings;
  instance: Instance;
  registryPath: string;
  /** Whether this process is bringing the session up right now. */
  starting(session: string): boolean;
  teardown(session: string): Promise<DownReport>;
  /** Settles a fault a dead process was applying or reverting in a live session. */
  settleFault?: ((rec: SessionRecord, fault: FaultRecord) => Promise<void>) | undefined;
}

/** Live: starting or ready, and either detached (`flowlab up`) or owned by a process that still runs. */
function isLive(state: SessionState, detached: boolean, owner: { pid: number; host: string; start: string | null }): boolean {
  if (state === 'ready') return detached || ownerAlive(owner);
  if (state === 'starting') return ownerAlive(owner);
  return false;
}

class Sweep {
  private readonly registryOf = new Map<string, string>();

  constructor(private readonly h: SweepHost) {}

  /** A session this very instance owns is live whatever the registry says of its process. */
  private ownedHere(rec: SessionRecord): boolean {
    return rec.owner === this.h.instance.id && (rec.state === 'ready' || rec.state === 'starting');
  }

  private instanceAlive(id: string | undefined): boolean {
    if (!id) return false;
    if (id === this.h.instance.id) return true;
    const i = this.h.store.instance(id);
    return !!i && ownerAlive(i);
  }

  /** A registry named rather than a path, or any other from inside a container: not ours to judge. */
  private cannotJudge(registry: string): boolean {
    return (registry !== '' && !isAbsolute(registry)) || this.h.settings.registryName !== undefined;
  }

  /** Whether another data directory's registry knows this session as live. */
  private liveElsewhere(session: string): boolean {
    const registry = this.registryOf.get(session);
    if (!registry) return false;
    // Only a registry this process can open may call a session dead. A named one belongs to a
    // Flowlab in a container, and from inside a container the host's data directories are out
    // of sight: either way the registry's own Flowlab sweeps them.
    if (this.cannotJudge(registry)) return true;
    if (resolve(registry) === resolve(this.h.settings.dataDir)) return false;
    const other = peekSession(registry, session);
    return !!other && isLive(other.state, other.detached, other.owner);
  }

  private isLive(id: string, rec: SessionRecord | undefined): boolean {
    if (!rec) return this.liveElsewhere(id);
    return this.ownedHere(rec) || isLive(rec.state, rec.detached, { pid: rec.ownerPid, host: rec.ownerHost, start: rec.ownerStart });
  }

  async run(): Promise<SweepReport> {
    const { docker, store } = this.h;
    const labels = { [LABEL.managed]: 'true' };
    const [containers, networks, services] = await Promise.all([docker.listContainers(labels), docker.listNetworks(labels), docker.listServices(labels)]);
    const all = [...containers, ...networks, ...services];
    for (const o of all) {
      const id = o.labels[LABEL.session];
      const registry = o.labels[LABEL.registry];
      if (id && registry) this.registryOf.set(id, registry);
    }
    const ids = new Set(all.map((o) => o.labels[LABEL.session]).filter((s): s is string => !!s));
    const removed: DownReport[] = [];
    const kept: string[] = [];
    const failed: SweepReport['failed'] = [];
    for (const id of ids) {
      const rec = store.get(id);
      if (this.h.starting(id) || this.isLive(id, rec)) {
        kept.push(id);
        continue;
      }
      try {
        removed.push(await this.h.teardown(id));
      } catch (e) {
        // One stuck object (an overlay held by an orphaned swarm task) must not stop the sweep.
        failed.push({ session: id, error: (e as Error).message });
        continue;
      }
      if (rec && (rec.state === 'starting' || rec.state === 'ready')) {
        store.markEnded(id, 'failed', rec.state === 'starting' ? 'its owner process died while it was starting; swept' : 'the process that served it stopped without ending it; swept');
      }
    }
    await this.orphanHelpers(containers, removed);
    await this.unfinishedFaults();
    // Registry entries left `starting` by a dead owner, with nothing on the daemon.
    for (const rec of store.list(['starting'])) {
      if (!ids.has(rec.id) && !this.h.starting(rec.id) && !ownerAlive({ pid: rec.ownerPid, host: rec.ownerHost, start: rec.ownerStart })) {
        store.markEnded(rec.id, 'failed', 'its owner process died while it was starting; swept');
      }
    }
    return { removed, kept, failed };
  }

  /** In live sessions: helpers whose creator is gone. */
  private async orphanHelpers(containers: { id: string; labels: Record<string, string> }[], removed: DownReport[]): Promise<void> {
    for (const c of containers) {
      const id = c.labels[LABEL.session];
      if (!id || removed.some((r) => r.session === id) || c.labels[LABEL.role] !== 'helper') continue;
      // A registry this process cannot open (a Flowlab in a container names its registry rather
      // than giving a path) is the only one that can tell whether its helper's owner is gone.
      const registry = c.labels[LABEL.registry] ?? '';
      if (registry !== this.h.registryPath && this.cannotJudge(registry)) continue;
      if (!this.instanceAlive(c.labels[LABEL.owner])) await this.h.docker.removeContainer(c.id).catch(() => undefined);
    }
  }

  /** Faults a dead process left half-applied or half-reverted. */
  private async unfinishedFaults(): Promise<void> {
    const faults = new FaultStore(this.h.db);
    for (const f of faults.unfinished()) {
      if (this.instanceAlive(f.owner)) continue;
      const rec = this.h.store.get(f.session);
      if (rec?.state === 'ready' && this.h.settleFault) await this.h.settleFault(rec, f).catch(() => undefined);
      else faults.setState(f.id, 'failed', 'the process applying it stopped; its session is gone');
    }
  }
}

export function sweepDead(host: SweepHost): Promise<SweepReport> {
  return new Sweep(host).run();
}
