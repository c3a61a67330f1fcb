// Whether a lab may be kept warm: brought up healthy ahead of its learner, and broken only when
// claimed. Every fault Flowlab applies is applied to a running lab, so every step of a fault is done
// at claim; what keeps a lab out is what a waiting copy would hold on the Docker host itself.
import type { Lab } from './schema.ts';
import { servicesOf } from './model.ts';

/** Why a lab is kept out of warm pools, or undefined when it may be pooled. */
export function poolRefusal(lab: Lab): string | undefined {
  const models = servicesOf(lab);
  const host = models.filter((m) => m.attachment.kind === 'host').map((m) => m.name);
  if (host.length > 0) {
    return `${host.join(', ')} use${host.length === 1 ? 's' : ''} the host's network: a waiting copy would hold ${host.length === 1 ? 'its' : 'their'} ports on the Docker host, and no second copy (nor an on-demand start) could bind them`;
  }
  const fixed = models.flatMap((m) => m.ports.filter((p) => p.hostPort !== 'auto').map((p) => `${m.name} ${p.hostPort}/${p.proto}`));
  if (fixed.length > 0) return `it publishes fixed host ports (${fixed.join(', ')}): a waiting copy would hold them, and no second copy could start`;
  return undefined;
}
