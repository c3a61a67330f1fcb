import { describe, expect, it } from 'vitest';
import { engineSetupPlan } from './doctor.ts';

describe('what flowlab serve does about a missing Docker engine', () => {
  const missing = { reachable: false, defaultSocket: true, canInstall: true, noInstall: false };
  it('sets it up itself as root with apt on the default socket', () => {
    expect(engineSetupPlan(missing)).toBe('install');
  });
  it('says what to install everywhere else, or when told not to', () => {
    expect(engineSetupPlan({ ...missing, canInstall: false })).toBe('explain');
    expect(engineSetupPlan({ ...missing, defaultSocket: false })).toBe('explain');
    expect(engineSetupPlan({ ...missing, noInstall: true })).toBe('explain');
  });
  it('does nothing when the engine answers', () => {
    expect(engineSetupPlan({ ...missing, reachable: true })).toBe('none');
  });
});
