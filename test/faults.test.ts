// Every fault type on the real daemon: the probes are healthy, the fault is applied, the probes
// it should break report the expected status and every other probe stays healthy, then the
// fault is reverted and everything is healthy again.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../server/config.ts';
import { kernelFeatures } from '../server/env/kernel.ts';
import { Faults, faultFromWords } from '../server/fault/faults.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { Prober } from '../server/probe/prober.ts';
import type { ProbeResult } from '../server/protocol/probe.ts';
import { docker, testApp } from './helpers.ts';

const app = testApp();
let session = '';
beforeAll(async () => {
  session = (await app.engine.up(loadLab(join(PROJECT_ROOT, 'test', 'fixtures', 'fault-bench.yaml')))).session;
});
afterAll(() => app.dispose());

const PROBES = {
  hostWeb: { from: 'host', to: 'http://localhost:${web.ports.80}/' },
  clientWeb: { from: 'client', to: 'http://web:80/' },
  clientApi: { from: 'client', to: 'http://api:8080/' },
  apiDb: { from: 'api', to: 'tcp:db:5432' },
  apiDatabase: { from: 'api', to: 'tcp:database:5432' },
  clientExt: { from: 'client', to: 'dns:ext.example' },
  clientUdp: { from: 'client', to: 'udp:web:9999' },
  dbApi: { from: 'db', to: 'http://api:8080/' },
  clientPing: { from: 'client', to: 'icmp:web' },
  clientBig: { from: 'client', to: 'mtu:web:1400' },
  webBig: { from: 'web', to: 'mtu:client:1400' },
  clientBulk: { from: 'client', to: 'http://web:80/bytes/30000' },
  clientDnsApi: { from: 'client', to: 'dns:api' },
} as const;
type Key = keyof typeof PROBES;
const KEYS = Object.keys(PROBES) as Key[];

async function probeAll(): Promise<Record<Key, ProbeResult>> {
  // A generous timeout: a busy CI machine must not turn a healthy answer into a timeout.
  const results = await new Prober(app.engine.live(session)).run(KEYS.map((k) => PROBES[k]), { timeoutMs: 2500 });
  return Object.fromEntries(KEYS.map((k, i) => [k, results[i]!])) as Record<Key, ProbeResult>;
}

const statuses = (r: Record<Key, ProbeResult>) => Object.fromEntries(KEYS.map((k) => [k, r[k].status]));

function expectOnly(r: Record<Key, ProbeResult>, broken: Partial<Record<Key, string[]>>): void {
  for (const k of KEYS) {
    const allowed = broken[k] ?? ['ok'];
    expect(allowed, `${k} (${PROBES[k].from} -> ${PROBES[k].to}) was ${r[k].status}: ${r[k].raw.slice(0, 300)}\nall: ${JSON.stringify(statuses(r))}`).toContain(r[k].status);
  }
}

const web = ['clientWeb', 'clientUdp', 'clientPing', 'clientBig', 'clientBulk'] as const;
const gone = (...statusesAllowed: string[]) => Object.fromEntries(web.map((k) => [k, statusesAllowed])) as Partial<Record<Key, string[]>>;
const notOk = ['refused', 'reset', 'empty-reply', 'timeout', 'error'];

const CASES: [string, Partial<Record<Key, string[]>>][] = [
  ['stop service=web', { ...gone('nxdomain'), hostWeb: ['refused', 'reset', 'empty-reply'], webBig: ['error'] }],
  ['pause service=web', { hostWeb: ['timeout'], clientWeb: ['timeout'], clientUdp: ['timeout'], clientBulk: ['timeout'], webBig: ['error'] }],
  ['kill service=web', { ...gone('nxdomain'), hostWeb: ['refused', 'reset', 'empty-reply'], webBig: ['error'] }],
  ['disconnect service=api network=back', { apiDb: ['nxdomain'], apiDatabase: ['nxdomain'], dbApi: ['nxdomain'] }],
  ['wrong-network service=db network=back to=mgmt', { apiDb: ['nxdomain'], apiDatabase: ['nxdomain'], dbApi: ['nxdomain', 'servfail'] }],
  ['drop-alias service=db network=back alias=database', { apiDatabase: ['nxdomain'] }],
  ['alias-collision service=web network=front alias=api', { clientApi: ['ok', 'refused'] }],
  ['bind-loopback service=web port=80', { hostWeb: ['empty-reply', 'reset'], clientWeb: ['refused'], clientBulk: ['refused'] }],
  ['port-mismatch service=web port=80 to=81', { hostWeb: ['empty-reply', 'reset'] }],
  ['unpublish service=web port=80', { hostWeb: ['refused'] }],
  // The host port is held by a TCP echo: curl gets its own request back, which is not HTTP.
  ['port-conflict service=web port=80', { ...gone('nxdomain'), hostWeb: [...notOk, 'not-http', 'ok'], webBig: ['error'] }],
  ['firewall service=web port=80', { hostWeb: ['timeout'], clientWeb: ['timeout'], clientBulk: ['timeout'] }],
  ['firewall service=web action=reject port=80', { hostWeb: ['reset', 'empty-reply', 'refused'], clientWeb: ['refused'], clientBulk: ['refused'] }],
  ['firewall service=db proto=tcp port=5432 peer=api', { apiDb: ['timeout'], apiDatabase: ['timeout'] }],
  ['packet-loss service=web probability=1', { ...gone('timeout'), hostWeb: ['timeout'], webBig: ['timeout'] }],
  // The bulk transfer fills web's slow queue: anything web sends at the same moment (answers, and
  // web's own 1400-byte ping) may wait behind it.
  ['bandwidth service=web rate=8kbit', { clientBulk: ['timeout'], clientWeb: ['ok', 'timeout'], clientUdp: ['ok', 'timeout'], hostWeb: ['ok', 'timeout'], clientPing: ['ok', 'timeout'], clientBig: ['ok', 'timeout'], webBig: ['ok', 'timeout'] }],
  ['mtu service=web mtu=1200', { clientBig: ['timeout'], webBig: ['too-big'] }],
  ['icc-off network=front', { ...gone('timeout'), clientApi: ['timeout'], clientExt: ['timeout'], webBig: ['timeout'] }],
  ['internal-network network=front', { hostWeb: ['refused', 'reset', 'empty-reply', 'timeout'] }],
  ['host-mode service=web', { ...gone('nxdomain'), hostWeb: ['refused', 'reset', 'empty-reply'], webBig: ['error'] }],
  ['dns-upstream-down', { clientExt: ['timeout', 'servfail'] }],
  ['dns-override service=client', { clientExt: ['timeout', 'servfail'] }],
  ['hosts-override service=client name=web address=10.89.1.20', { clientWeb: ['refused'], clientUdp: ['refused', 'timeout'], clientBulk: ['refused'] }],
  ['dns-search service=client search=corp.test ndots=2', gone('timeout')],
];

describe('every fault type breaks what it should, and only that, then reverts', () => {
  it('starts healthy', async () => {
    expectOnly(await probeAll(), {});
  });

  for (const [words, broken] of CASES) {
    it(words, async () => {
      const [type, ...params] = words.split(' ');
      const faults = new Faults(app.engine.live(session));
      const applied = await faults.apply(faultFromWords(type!, params));
      expect(applied.state).toBe('applied');
      expect(applied.describe.cause.length).toBeGreaterThan(0);
      expect(applied.describe.undo.length).toBeGreaterThan(0);
      try {
        const during = await probeAll();
        expectOnly(during, broken);
        if (type === 'alias-collision') expect(during.clientDnsApi.answers.sort()).toEqual(['10.89.1.10', '10.89.1.20']);
        if (type === 'port-conflict') expect((await docker.inspectContainer(`fl-${session}-web`))?.running).toBe(false);
        if (type === 'bandwidth') {
          // Slow, not cut off: once the bulk transfer has gone, a small ping gets through.
          const prober = new Prober(app.engine.live(session));
          let alone = '';
          for (let i = 0; i < 3 && alone !== 'ok'; i++) alone = (await prober.run([PROBES.clientPing], { timeoutMs: 2500 }))[0]!.status;
          expect(alone, 'client -> icmp:web alone, under the bandwidth limit').toBe('ok');
        }
      } finally {
        const reverted = await new Faults(app.engine.live(session)).revert(applied.id);
        expect(reverted.state).toBe('reverted');
      }
      expectOnly(await probeAll(), {});
    });
  }

  it('tags every iptables rule with flowlab:<session>:<fault> and removes exactly those', async () => {
    const faults = new Faults(app.engine.live(session));
    const a = await faults.apply(faultFromWords('firewall', ['service=web', 'port=80']));
    const b = await faults.apply(faultFromWords('packet-loss', ['service=web', 'probability=0.5']));
    const rules = async () => (await app.engine.live(session).inNamespace('web', 'iptables -S')).stdout;
    expect(await rules()).toContain(`flowlab:${session}:${a.id}`);
    expect(await rules()).toContain(`flowlab:${session}:${b.id}`);
    await faults.revert(a.id);
    expect(await rules()).not.toContain(a.id);
    expect(await rules()).toContain(`flowlab:${session}:${b.id}`);
    await faults.revert(b.id);
    expect(await rules()).not.toContain('flowlab:');
  });

  it('refuses a fault it cannot apply, with the reason, and leaves the lab as it was', async () => {
    const faults = new Faults(app.engine.live(session));
    await expect(faults.apply(faultFromWords('bind-loopback', ['service=client', 'port=80']))).rejects.toThrow(/no lab-serve server on port 80.*the lab is as it was/);
    await expect(faults.apply(faultFromWords('stop', ['service=nope']))).rejects.toThrow(/unknown service "nope"/);
    await expect(faults.apply(faultFromWords('drop-alias', ['service=db', 'network=back', 'alias=nope']))).rejects.toThrow(/has no alias "nope"/);
    expect(() => faultFromWords('bind-loopbak', [])).toThrow(/did you mean "bind-loopback"/);
    expect(() => faultFromWords('firewall', ['service=web', 'action=explode'])).toThrow(/action/);
    if (kernelFeatures().netem === false) {
      await expect(faults.apply(faultFromWords('latency', ['service=web', 'delay=200ms']))).rejects.toThrow(/cannot apply latency on engine local: .*netem.*its kernel does not have it/);
    } else {
      const f = await faults.apply(faultFromWords('latency', ['service=web', 'delay=200ms']));
      const r = (await new Prober(app.engine.live(session)).run([{ from: 'client', to: 'icmp:web' }]))[0]!;
      expect(r.latency_ms).toBeGreaterThanOrEqual(150);
      await faults.revert(f.id);
    }
    expect(faults.list().filter((f) => f.state === 'applied')).toEqual([]);
    expectOnly(await probeAll(), {});
  });

  it('shows the fault-revealing actions only when asked', () => {
    const hidden = app.engine.store.actions(session, { includeRevealing: false }).map((a) => a.command).join('\n');
    const all = app.engine.store.actions(session, { includeRevealing: true }).map((a) => a.command).join('\n');
    expect(all).toContain('lab-serve rebind --port 80 --bind 127.0.0.1');
    expect(hidden).not.toContain('lab-serve rebind');
    expect(hidden).not.toContain('iptables -w -I');
    expect(all).toContain('iptables -w -I');
  });
});
