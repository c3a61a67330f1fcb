import { describe, expect, it } from 'vitest';
import { parseProbeTarget } from '../lab/targets.ts';
import { TRAFFIC_PORTS } from '../protocol/flow.ts';
import { trafficContainer, trafficTimeoutMs } from '../session/plan.ts';
import { probeCommand } from './commands.ts';

const target = (t: string) => parseProbeTarget(t)!;

describe("a lab's own traffic", () => {
  it('is sent from the traffic ports, which a probe never uses', () => {
    const range = `${TRAFFIC_PORTS.low}-${TRAFFIC_PORTS.high}`;
    expect(probeCommand(target('http://orders:8080/api'), 2000, { traffic: true })).toContain(`--local-port ${range}`);
    expect(probeCommand(target('http://orders:8080/api'), 2000)).not.toContain('--local-port');
    expect(probeCommand(target('tcp:db:5432'), 2000, { traffic: true })).toMatch(/TCP:db:5432,connect-timeout=2\.0,sourceport=\$\(\(20000 \+ RANDOM % 10000\)\),reuseaddr$/);
    expect(probeCommand(target('dns:cache'), 2000, { traffic: true })).toMatch(/^dig -b 0\.0\.0\.0#\$\(\(20000 \+ RANDOM % 10000\)\) /);
    expect(TRAFFIC_PORTS.high).toBeLessThan(32768); // Linux's ephemeral ports start there
  });

  it('runs in a locked-down helper in the source’s namespace, raw sockets only to ping', () => {
    const spec = trafficContainer({ session: 'abc12345', scenario: 'living', owner: 'me', registry: '/r' }, 'checkout', 'fl-abc12345-checkout', ['2000', '0', 'curl …'], false);
    expect(spec).toMatchObject({ name: 'fl-abc12345-checkout-traffic', network: { kind: 'container', container: 'fl-abc12345-checkout' }, capAdd: [], readOnly: true, command: ['lab-traffic', '2000', '0', 'curl …'] });
    expect(spec.labels['flowlab.role']).toBe('traffic');
    expect(spec.memoryBytes).toBeGreaterThan(0);
    expect(trafficContainer({ session: 'abc12345', scenario: 'living', owner: 'me', registry: '/r' }, 'a', 'b', [], true).capAdd).toEqual(['NET_RAW']);
    expect([trafficTimeoutMs(500), trafficTimeoutMs(2000), trafficTimeoutMs(60_000)]).toEqual([1000, 2000, 5000]);
  });
});
