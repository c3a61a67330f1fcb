import { describe, expect, it } from 'vitest';
import { labSchema } from '../lab/schema.ts';
import type { FlowEvent } from '../protocol/flow.ts';
import { differences, expectedFlows } from './expected.ts';

const lab = labSchema.parse({
  id: 'living', title: 't', summary: 's', level: 'beginner', network: 'bridge', minutes: 5, briefing: 'b',
  networks: { lan: {} },
  services: {
    checkout: { image: 'toolbox', networks: ['lan'] },
    orders: { image: 'toolbox', networks: { lan: { aliases: ['orders-api'] } } },
    db: { image: 'toolbox', networks: ['lan'] },
  },
  traffic: [
    { from: 'checkout', to: 'http://orders-api:8080/api/v2/orders', every: '1s' },
    { from: 'orders', to: 'tcp:db:5432' },
    { from: 'checkout', to: 'dns:payments', expect: 'nxdomain' },
  ],
  probes: [{ from: 'checkout', to: 'udp:db:53' }, { from: 'checkout', to: 'icmp:db' }],
});

let n = 0;
const at = (s: number) => new Date(Date.UTC(2026, 11, 2, 10, 0, s)).toISOString();
const base = (s: number, src: string, dst: string, port: number, origin = true) => ({ id: `e${n++}`, session: 's', time: at(s), src, dst, src_addr: '', dst_addr: '', src_port: 20001, dst_port: port, seen_by: src, ...(origin ? { origin: 'traffic' as const } : {}) });
const connect = (s: number, src: string, dst: string, port: number, outcome: 'established' | 'refused' | 'timeout', origin = true): FlowEvent => ({ ...base(s, src, dst, port, origin), type: 'tcp.connect', outcome, latency_ms: null });
const http = (s: number, status: number | null): FlowEvent => ({ ...base(s, 'checkout', 'orders', 8080), type: 'http.exchange', conn: 'c', method: 'GET', host: 'orders-api:8080', path: '/api/v2/orders', status, outcome: status === null ? 'no-response' : 'answered', latency_ms: 1 });
const lookup = (s: number, rcode: string, answers: string[] = []): FlowEvent => ({ ...base(s, 'checkout', 'docker-dns', 53), type: 'dns.answer', client: 'checkout', server: 'docker-dns', name: 'payments', qtype: 'A', txid: 1, rcode, answers, latency_ms: 1 });

describe('what a working lab shows', () => {
  it('is each traffic call and probe as an edge of the graph, with what it expects', () => {
    expect(expectedFlows(lab).map((x) => `${x.source} ${x.edge} ${x.what} ${x.expect.join('|')}`)).toEqual([
      'traffic tcp|checkout|orders|8080 http GET /api/v2/orders ok',
      'traffic tcp|orders|db|5432 tcp/5432 ok',
      'traffic dns|checkout|payments dns payments nxdomain',
      'probe udp|checkout|db|53 udp/53 ok',
    ]);
  });
});

describe('a spread call', () => {
  const spreadLab = labSchema.parse({ ...lab, traffic: [{ from: 'checkout', to: 'spread:http://orders:8080/', every: '3s' }], probes: [] });
  const [x] = expectedFlows(spreadLab);
  const answer = (s: number, by: string) => ({ ...http(s, 200), host: 'orders:8080', path: '/', served_by: by }) as FlowEvent;
  const now = Date.UTC(2026, 11, 2, 10, 0, 15);
  it('differs when a whole call’s worth of answers came from one backend', () => {
    expect(x!.what).toBe('http GET /, spread over the backends');
    const one = Array.from({ length: 12 }, (_, i) => answer(i, 'orders-1'));
    expect(differences([x!], one, now, now - 60_000).map((d) => `${d.observed} ${d.since}`)).toEqual([`one-backend ${at(0)}`]);
    const both = Array.from({ length: 12 }, (_, i) => answer(i, i % 3 ? 'orders-1' : 'orders-2'));
    expect(differences([x!], both, now, now - 60_000)).toEqual([]);
    expect(differences([x!], [...one, ...both], now, now - 60_000)).toEqual([]);
  });
});

describe('what differs from it', () => {
  const expected = expectedFlows(lab);
  const now = Date.UTC(2026, 11, 2, 10, 0, 14);
  const start = Date.UTC(2026, 11, 2, 10, 0, 0);

  it('is a flow whose newest events say otherwise, since the first of them', () => {
    const events = [http(1, 200), http(2, 200), http(3, 404), http(4, null), http(5, 404), connect(1, 'orders', 'db', 5432, 'established'), connect(2, 'orders', 'db', 5432, 'timeout'), connect(5, 'orders', 'db', 5432, 'timeout'), lookup(3, 'NXDOMAIN')];
    const d = differences(expected, events, now, start);
    expect(d.map((x) => `${x.edge} ${x.observed} ${x.since}`)).toEqual([`tcp|checkout|orders|8080 http-404 ${at(3)}`, `tcp|orders|db|5432 timeout ${at(2)}`]);
  });

  it('clears once the traffic has been as expected for 4 s and two calls at least', () => {
    const events = [http(3, 404), http(9, 200), http(10, 200), http(11, 200), connect(2, 'orders', 'db', 5432, 'timeout'), connect(9, 'orders', 'db', 5432, 'established'), connect(11, 'orders', 'db', 5432, 'established'), lookup(3, 'NXDOMAIN')];
    expect(differences(expected, events, now, start).map((x) => x.what)).toEqual(['http GET /api/v2/orders']); // three answers at 1 s: not yet
    expect(differences(expected, [...events, http(12, 200)], now, start)).toEqual([]);
  });

  it('no longer stands for traffic not seen lately: it is unseen since its last event', () => {
    const events = [http(1, 404), connect(5, 'orders', 'db', 5432, 'timeout')];
    const later = Date.UTC(2026, 11, 2, 10, 0, 12);
    expect(differences(expected.slice(0, 2), events, later, start).map((x) => `${x.what} ${x.observed} ${x.since}`)).toEqual([`http GET /api/v2/orders unseen ${at(1)}`, `tcp/5432 timeout ${at(5)}`]);
    // As expected, then not seen: nothing to say it differs.
    expect(differences(expected.slice(0, 1), [http(1, 200)], later, start)).toEqual([]);
  });

  it('keeps an intermittent failure as one difference, since its first failure', () => {
    const events = [http(1, 200), http(2, 404), http(3, 200), http(4, 200), http(5, 404), http(6, 200), http(7, 404), http(8, 200)];
    const [d] = differences(expected.slice(0, 1), events, now, start);
    expect(`${d!.observed} ${d!.since} ${d!.last}`).toBe(`http-404 ${at(2)} ${at(8)}`);
    expect(d!.events).toEqual([events[1]!.id, events[4]!.id, events[6]!.id]); // the flow log's "only what differs"
    expect(d!.target).toBe('http://orders-api:8080/api/v2/orders');
  });

  it('takes a name that does not resolve as the outcome of a call to it, whoever looked it up', () => {
    const nx = { ...lookup(4, 'NXDOMAIN'), name: 'orders-api', origin: undefined } as FlowEvent;
    const aaaa = { ...lookup(5, 'NOERROR'), name: 'orders-api', qtype: 'AAAA' } as FlowEvent;
    const d = differences(expected.slice(0, 1), [http(1, 200), nx, aaaa], now, start);
    expect(d.map((x) => `${x.observed} ${x.since}`)).toEqual([`dns-nxdomain ${at(4)}`]);
  });

  it('says the lab’s traffic is missing when none of it was seen for three of its intervals; a probe nobody ran is not', () => {
    const d = differences(expected, [lookup(3, 'NXDOMAIN')], now, start);
    expect(d.map((x) => `${x.what} ${x.observed}`)).toEqual(['http GET /api/v2/orders missing', 'tcp/5432 missing']);
    expect(differences(expected, [lookup(3, 'NXDOMAIN')], start + 2000, start)).toEqual([]);
  });

  it('counts only the apps’ own events for their traffic: a learner’s refused probe is not the app failing', () => {
    const events = [connect(1, 'orders', 'db', 5432, 'established'), connect(2, 'orders', 'db', 5432, 'refused', false), http(1, 200), lookup(3, 'NXDOMAIN')];
    expect(differences(expected, events, now, start)).toEqual([]);
  });
});
