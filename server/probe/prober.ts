// Probes: "does this name resolve, does this port answer?" asked from inside a service's network
// namespace (or from the Docker host), classified precisely. Everything one source asks goes in
// one `docker exec` of lab-probe, so a whole matrix costs one exec per source.
import { randomBytes } from 'node:crypto';
import { TOOLBOX_REF } from '../lab/lab-images.ts';
import { didYouMean } from '../lab/problems.ts';
import { parseProbeTarget, TARGET_FORMS, type ProbeTarget } from '../lab/targets.ts';
import type { ProbeResult, ProbeSpec } from '../protocol/probe.ts';
import type { LiveSession } from '../session/live.ts';
import { helperContainer } from '../session/plan.ts';
import { ProbeStore } from '../store/probes.ts';
import { classify } from './classify.ts';
import { learnerCommand, probeCommand, type ProbeVia } from './commands.ts';
import { deriveMatrix } from './matrix.ts';
import { bounded, has } from '../util/lookup.ts';
import { FlowlabError, type ErrorKind } from '../util/errors.ts';

export const DEFAULT_PROBE_TIMEOUT_MS = 1500;

export class ProbeError extends FlowlabError {
  override name = 'ProbeError';
  constructor(message: string, kind: ErrorKind = 'invalid') {
    super(message, kind);
  }
}


export interface ProbeOptions {
  timeoutMs?: number;
  /** How many sources are probed at once. */
  concurrency?: number;
}

interface Planned {
  index: number;
  from: string;
  target: string;
  parsed: ProbeTarget;
}

const newProbeId = () => `p${randomBytes(5).toString('hex')}`;
const RAW_LIMIT = 2000;

/** lab-probe writes each output on one line, with `\\` and newlines escaped. */
function unescapeOutput(text: string): string {
  return text.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

export class Prober {
  private readonly store: ProbeStore;

  constructor(private readonly live: LiveSession) {
    this.store = new ProbeStore(live.db);
  }

  private plan(specs: ProbeSpec[]): Planned[] {
    const services = this.live.lab.services;
    return specs.map((spec, index) => {
      if (spec.from !== 'host' && !has(services, spec.from)) {
        const names = [...Object.keys(services), 'host'];
        throw new ProbeError(`unknown probe source "${bounded(spec.from, 40)}"${didYouMean(spec.from, names)}; expected host or one of: ${Object.keys(services).join(', ')}`);
      }
      let target: string;
      try {
        target = this.live.resolveRefs(spec.to);
      } catch (e) {
        throw new ProbeError((e as Error).message);
      }
      const parsed = parseProbeTarget(target);
      if (!parsed) {
        throw new ProbeError(`cannot read probe target "${bounded(spec.to)}"; expected ${TARGET_FORMS}`);
      }
      if (spec.from === 'host') this.checkHostTarget(parsed, target);
      return { index, from: spec.from, target, parsed };
    });
  }

  /**
   * A probe from the Docker host may reach this session's own published ports on the host's
   * loopback and the lab's containers' addresses: never another lab's ports, Flowlab's own API, or
   * the host's services (nor through a lab network's gateway, which is the host), and never a name (the host's resolver is outside the lab).
   */
  private checkHostTarget(parsed: ProbeTarget, target: string): void {
    if (parsed.kind === 'icmp' || parsed.kind === 'mtu') {
      throw new ProbeError(`${parsed.kind} probes from the host are not offered: pinging needs raw sockets, which Flowlab never uses on the host's network; probe from a service instead`);
    }
    if (parsed.kind === 'dns') throw new ProbeError(`a name asked from the host goes to the host's resolver, outside the lab; ask "${parsed.name}" from one of the lab's services instead`);
    const host = parsed.host.replace(/^\[|\]$/g, '');
    const ports = this.live.hostPorts();
    if (host === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1') {
      if (!ports.includes(parsed.port)) {
        throw new ProbeError(`a probe from the host reaches this lab's own ports on localhost (${ports.join(', ') || 'it publishes none'}), not ${parsed.port}: "${target}" would reach another lab or a program of the host`);
      }
      return;
    }
    if (this.live.containerAddress(host)) return;
    const why = this.live.labAddress(host) ? `${host} is not a container's address but the lab network's own (its gateway is the Docker host itself)` : `"${target}" is outside this lab`;
    throw new ProbeError(`a probe from the host reaches this lab's own published ports on localhost (${ports.join(', ') || 'none'}) or its containers' addresses, not ${host}: ${why}`);
  }

  async run(specs: ProbeSpec[], opts: ProbeOptions = {}): Promise<ProbeResult[]> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    const planned = this.plan(specs);
    const bySource = new Map<string, Planned[]>();
    for (const p of planned) bySource.set(p.from, [...(bySource.get(p.from) ?? []), p]);
    const results: ProbeResult[] = new Array(planned.length);
    const queue = [...bySource.entries()];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [from, group] = next;
        for (const r of await this.runSource(from, group, timeoutMs)) results[r.index] = r.result;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
    this.store.save(this.live.id, results);
    return results;
  }

  /** The lab's own probes, then every service towards every other service's names and ports. */
  async matrix(opts: ProbeOptions = {}): Promise<ProbeResult[]> {
    const own = this.live.lab.probes.map((p) => ({ from: p.from, to: p.to }));
    const derived = deriveMatrix(this.live.lab, this.live.topology);
    const seen = new Set<string>();
    const all = [...own, ...derived].filter((s) => {
      const key = `${s.from} ${this.live.resolveRefs(s.to)}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    return this.run(all, { concurrency: 8, ...opts });
  }

  private async runSource(from: string, group: Planned[], timeoutMs: number): Promise<{ index: number; result: ProbeResult }[]> {
    const at = new Date().toISOString();
    const make = (p: Planned, via: ProbeVia, status: string, answers: string[], latency: number, raw: string) => ({
      index: p.index,
      result: {
        id: newProbeId(),
        from,
        target: p.target,
        status,
        answers,
        latency_ms: latency,
        command: learnerCommand(p.parsed, via, timeoutMs),
        raw: raw.length > RAW_LIMIT ? `${raw.slice(0, RAW_LIMIT)}…` : raw,
        at,
      },
    });
    const commands = group.map((p) => probeCommand(p.parsed, timeoutMs));
    const rt = this.live.docker;
    let via: ProbeVia;
    let output: { exitCode: number; stdout: string; stderr: string; timedOut: boolean };
    try {
      if (from === 'host') {
        via = { kind: 'host' };
        output = await rt.exec(await this.live.hostHelper(), ['lab-probe', ...commands], { timeoutMs: timeoutMs + 10_000 });
      } else {
        const ns = await this.live.namespaceOf(from);
        const planned = this.live.planned(from);
        via = planned.labImage || planned.swarm ? { kind: 'exec', container: ns.container } : { kind: 'sidecar', container: ns.container, image: TOOLBOX_REF };
        if (!ns.running) {
          return group.map((p) => make(p, via, 'error', [], 0, `the probe could not run: "${from}" is not running (${ns.state})`));
        }
        if (via.kind === 'exec') output = await rt.exec(ns.container, ['lab-probe', ...commands], { timeoutMs: timeoutMs + 10_000 });
        else {
          const spec = helperContainer(this.live.ref(), 'probe', { kind: 'container', container: ns.container }, ['NET_RAW'], ['lab-probe', ...commands]);
          this.live.claimInstance();
          output = await rt.runToCompletion(spec, timeoutMs + 15_000);
        }
      }
    } catch (e) {
      const v: ProbeVia = { kind: 'host' };
      return group.map((p) => make(p, v, 'error', [], 0, `the probe could not run: ${(e as Error).message}`));
    }
    const lines = new Map<number, { rc: number; ms: number; out: string }>();
    for (const line of output.stdout.split('\n')) {
      const m = /^(\d+) (\d+) (-?\d+) ?(.*)$/.exec(line);
      if (m) lines.set(Number(m[1]), { rc: Number(m[2]), ms: Math.max(0, Number(m[3])), out: unescapeOutput(m[4] ?? '') });
    }
    return group.map((p, i) => {
      const r = lines.get(i);
      if (!r) return make(p, via, 'error', [], 0, `the probe gave no result${output.timedOut ? ' (timed out)' : ''}: ${(output.stderr || output.stdout).slice(0, 500)}`);
      const c = classify(p.parsed, r.rc, r.out, r.ms);
      return make(p, via, c.status, c.answers, c.latencyMs, r.out);
    });
  }
}
