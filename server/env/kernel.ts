// Kernel features some labs need and some kernels lack: netem (latency faults) and IPVS (swarm
// VIP load balancing). A lab that needs a missing one is refused before it starts, with the reason.
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { REQUIREMENT_WHY, type Requirement } from '../lab/requirements.ts';
import { commandOutput } from './system.ts';

export type Feature = Requirement;
/** true: present; false: known missing; undefined: cannot tell from here. */
export type FeatureState = Record<Feature, boolean | undefined>;

const CONFIG: Record<Feature, string> = { netem: 'CONFIG_NET_SCH_NETEM', ipvs: 'CONFIG_IP_VS' };
const MODULE: Record<Feature, string> = { netem: 'sch_netem', ipvs: 'ip_vs' };

export const FEATURE_WHY = REQUIREMENT_WHY;

function fromConfig(feature: Feature): boolean | undefined {
  let text: string | undefined;
  try {
    if (existsSync('/proc/config.gz')) text = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  } catch {
    text = undefined;
  }
  if (!text) {
    const release = commandOutput('uname', ['-r']);
    const boot = release ? `/boot/config-${release}` : undefined;
    if (boot && existsSync(boot)) text = readFileSync(boot, 'utf8');
  }
  if (!text) return undefined;
  const m = new RegExp(`^${CONFIG[feature]}=(y|m)$`, 'm').exec(text);
  if (m?.[1] === 'y') return true;
  if (!m) return false;
  // Built as a module: present when it is loaded or can be loaded.
  const release = commandOutput('uname', ['-r']);
  return existsSync(`/sys/module/${MODULE[feature]}`) || (!!release && existsSync(`/lib/modules/${release}`));
}

let cached: FeatureState | undefined;

/**
 * What this machine's kernel offers. It is the Docker daemon's kernel only when the daemon runs
 * here (a local socket); elsewhere (Docker Desktop, a remote DOCKER_HOST) we cannot tell.
 */
export function kernelFeatures(): FeatureState {
  if (cached) return cached;
  const host = process.env.DOCKER_HOST;
  const local = process.platform === 'linux' && (!host || host.startsWith('unix://'));
  cached = local ? { netem: fromConfig('netem'), ipvs: fromConfig('ipvs') } : { netem: undefined, ipvs: undefined };
  return cached;
}
