// Kernel features a lab (or one of its variants, or a fault) cannot run without, and the one
// check of them against what an engine offers: validate warns with it, up refuses with it, and a
// fault applied by hand is refused with it.
import type { Fault } from './schema.ts';
import { servicesOf } from './model.ts';
import type { Lab, Variant } from './schema.ts';

export type Requirement = 'netem' | 'ipvs';

export const REQUIREMENT_WHY: Record<Requirement, string> = {
  netem: "latency faults need the kernel's netem queueing discipline (sch_netem)",
  ipvs: 'swarm services in VIP mode (endpoint_mode: vip, the default) need IPVS for their virtual IP; without it the name resolves but nothing answers (use endpoint_mode: dnsrr)',
};

export function faultRequirements(f: Fault): Requirement[] {
  if (f.type === 'latency') return ['netem'];
  // Switching a service to VIP on a kernel without IPVS does not break it the way the lab means:
  // the name resolves and nothing answers, whatever the lab set out to show.
  if (f.type === 'endpoint-mode' && f.mode === 'vip') return ['ipvs'];
  return [];
}

export function labRequirements(lab: Lab, variant?: Variant): Requirement[] {
  const needs = new Set<Requirement>([...lab.faults, ...(variant?.faults ?? [])].flatMap(faultRequirements));
  // A lab planned with VIP services needs IPVS to work at all.
  if (servicesOf(lab).some((m) => m.swarm && (m.def.deploy?.endpoint_mode ?? 'vip') === 'vip')) needs.add('ipvs');
  return [...needs];
}

/** What an engine's kernel offers: true has it, false known missing, undefined cannot tell. */
export type EngineFeatures = Partial<Record<Requirement, boolean | undefined>>;

/** The needs an engine is known to lack (a feature it may have, `undefined`, is not held against it). */
export function unmet(needs: readonly Requirement[], features: EngineFeatures): Requirement[] {
  return needs.filter((n) => features[n] === false);
}
