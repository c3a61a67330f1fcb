// Kernel features a lab (or one of its variants) cannot run without.
import { servicesOf } from './model.ts';
import type { Lab, Variant } from './schema.ts';

export type Requirement = 'netem' | 'ipvs';

export function labRequirements(lab: Lab, variant?: Variant): Requirement[] {
  const faults = [...lab.faults, ...(variant?.faults ?? [])];
  const needs = new Set<Requirement>();
  if (faults.some((f) => f.type === 'latency')) needs.add('netem');
  const vip = servicesOf(lab).some((m) => m.swarm && (m.def.deploy?.endpoint_mode ?? 'vip') === 'vip');
  if (vip || faults.some((f) => f.type === 'endpoint-mode' && f.mode === 'vip')) needs.add('ipvs');
  return [...needs];
}
