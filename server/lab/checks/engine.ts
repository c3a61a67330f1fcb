// What the Docker engine cannot run (IPVS, netem), said where the lab asks for it, as a warning:
// the lab is valid, and `flowlab up` refuses it on that engine.
import { servicesOf } from '../model.ts';
import type { YamlPath } from '../problems.ts';
import { faultRequirements, REQUIREMENT_WHY, unmet, type Requirement } from '../requirements.ts';
import type { LabChecks } from './context.ts';

/** What the engine cannot run, said where the lab asks for it: `flowlab up` refuses it there. */
export function checkRequirements(c: LabChecks): void {
  const { lab, ctx, warn } = c;
  if (!ctx.features) return;
  const features = ctx.features;
  const engine = ctx.engine ?? 'this machine';
  const say = (path: YamlPath, needs: Requirement[], what: string) => {
    for (const n of unmet(needs, features)) warn(path, `${REQUIREMENT_WHY[n]}, and the Docker engine at ${engine} has no ${n === 'netem' ? 'sch_netem' : 'IPVS'} in its kernel: flowlab up refuses ${what} there`);
  };
  for (const m of servicesOf(lab)) {
    if (m.swarm && (m.def.deploy?.endpoint_mode ?? 'vip') === 'vip') say(['services', m.name, ...(m.def.deploy?.endpoint_mode ? ['deploy', 'endpoint_mode'] : [])], ['ipvs'], 'this lab');
  }
  lab.faults.forEach((f, i) => say(['faults', i], faultRequirements(f), 'this lab'));
  lab.variants.forEach((v, j) => v.faults.forEach((f, i) => say(['variants', j, 'faults', i], faultRequirements(f), `variant ${v.id}`)));
}
