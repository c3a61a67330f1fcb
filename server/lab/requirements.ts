// Kernel features a lab (or one of its variants) cannot run without.
import { servicesOf } from './model.ts';
import type { Lab, Variant } from './schema.ts';

export type Requirement = 'netem' | 'ipvs';

export function labRequirements(lab: Lab, variant?: Variant): Requirement[] {
  const faults = [...lab.faults, ...(variant?.faults ?? [])];
  const needs = new Set<Requirement>();
  if (faults.some((f) => f.type === 'latency')) needs.add('netem');
  // A lab planned with VIP services needs IPVS to work at all. A fault that switches a service
  // to VIP is a breakage either way: on a kernel without IPVS its name resolves and nothing answers.
  const vip = servicesOf(lab).some((m) => m.swarm && (m.def.deploy?.endpoint_mode ?? 'vip') === 'vip');
  if (vip) needs.add('ipvs');
  return [...needs];
}
