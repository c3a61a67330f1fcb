import { describe, expect, it } from 'vitest';
import type { ProbeResult } from '../protocol/probe.ts';
import type { FlowEvent } from '../protocol/flow.ts';
import { evidenceShows, type LabFacts } from './evidence.ts';

const facts: LabFacts = {
  names: { shop: ['shop', 'shop.internal'], checkout: ['checkout'], db: ['db', 'database'] },
  ips: { shop: ['10.88.0.2'], checkout: ['10.88.0.3'], db: ['10.88.1.2'] },
  hostPorts: { shop: [{ hostPort: 23001, containerPort: 8080 }] },
  members: { storefront: ['shop', 'checkout'], back: ['db'] },
};

const probe = (from: string, target: string, status: string, answers: string[] = []) =>
  ({ kind: 'probe', probe: { id: 'p1', from, target, status, answers, latency_ms: 3, command: '', raw: '', at: '' } as ProbeResult }) as const;
const event = (e: Partial<FlowEvent> & { type: FlowEvent['type'] }) => ({ kind: 'event', event: { id: 'e1', session: 's', time: '', src: '', dst: '', src_addr: '', dst_addr: '', seen_by: '', ...e } as FlowEvent }) as const;

describe('evidence is judged on its content', () => {
  const loop = { type: 'bind-loopback', service: 'shop', port: 8080 } as const;
  it('bind-loopback: a refused connection to that port shows it; anything else does not', () => {
    expect(evidenceShows(loop, probe('checkout', 'http://shop:8080/', 'refused'), facts)).toBe(true);
    expect(evidenceShows(loop, probe('host', 'http://localhost:23001/', 'empty-reply'), facts)).toBe(true);
    expect(evidenceShows(loop, event({ type: 'tcp.connect', src: 'checkout', dst: 'shop', dst_port: 8080, outcome: 'refused', latency_ms: 1 }), facts)).toBe(true);
    expect(evidenceShows(loop, probe('checkout', 'http://shop:8080/', 'ok'), facts)).toBe(false);
    expect(evidenceShows(loop, probe('checkout', 'http://shop:9000/', 'refused'), facts)).toBe(false);
    expect(evidenceShows(loop, probe('checkout', 'dns:shop', 'ok', ['10.88.0.2']), facts)).toBe(false);
  });

  it('port-mismatch and unpublish are seen from the host', () => {
    expect(evidenceShows({ type: 'port-mismatch', service: 'shop', port: 8080, to: 8081 }, probe('host', 'http://localhost:23001/', 'reset'), facts)).toBe(true);
    expect(evidenceShows({ type: 'port-mismatch', service: 'shop', port: 8080, to: 8081 }, probe('checkout', 'http://shop:8080/', 'ok'), facts)).toBe(false);
    expect(evidenceShows({ type: 'unpublish', service: 'shop', port: 8080 }, probe('host', 'tcp:127.0.0.1:23001', 'refused'), facts)).toBe(true);
  });

  it('DNS faults: NXDOMAIN for the dropped alias, two answers for a shared one, timeouts upstream', () => {
    expect(evidenceShows({ type: 'drop-alias', service: 'db', network: 'back', alias: 'database' }, probe('checkout', 'dns:database', 'nxdomain'), facts)).toBe(true);
    expect(evidenceShows({ type: 'drop-alias', service: 'db', network: 'back', alias: 'database' }, probe('checkout', 'dns:db', 'nxdomain'), facts)).toBe(false);
    expect(evidenceShows({ type: 'alias-collision', service: 'checkout', network: 'storefront', alias: 'shop' }, probe('checkout', 'dns:shop', 'ok', ['10.88.0.2', '10.88.0.3']), facts)).toBe(true);
    expect(evidenceShows({ type: 'alias-collision', service: 'checkout', network: 'storefront', alias: 'shop' }, probe('checkout', 'dns:shop', 'ok', ['10.88.0.2']), facts)).toBe(false);
    expect(evidenceShows({ type: 'dns-upstream-down' }, event({ type: 'dns.answer', client: 'checkout', server: 'docker-dns', name: 'outside.example', qtype: 'A', txid: 1, rcode: 'TIMEOUT', answers: [], latency_ms: null }), facts)).toBe(true);
    expect(evidenceShows({ type: 'dns-override', service: 'checkout' }, probe('checkout', 'dns:outside.example', 'servfail'), facts)).toBe(true);
    expect(evidenceShows({ type: 'dns-override', service: 'checkout' }, probe('shop', 'dns:outside.example', 'servfail'), facts)).toBe(false);
  });

  it('load balancing bypassed: one backend for every request, a pinned address, one task left', () => {
    const pin = { type: 'hosts-override', service: 'checkout', name: 'shop', address: '${db.ips.back}' } as const;
    expect(evidenceShows(pin, probe('checkout', 'spread:http://shop:8080/', 'one-backend', ['db ×12']), facts)).toBe(true);
    expect(evidenceShows(pin, probe('checkout', 'spread:http://shop:8080/', 'ok', ['a ×6', 'b ×6']), facts)).toBe(false);
    expect(evidenceShows(pin, event({ type: 'tcp.connect', src: 'checkout', dst: 'db', dst_addr: '10.88.1.2', dst_port: 8080, outcome: 'established', latency_ms: 1 }), facts)).toBe(true);
    expect(evidenceShows(pin, event({ type: 'tcp.connect', src: 'checkout', dst: 'shop', dst_addr: '10.88.0.2', dst_port: 8080, outcome: 'established', latency_ms: 1 }), facts)).toBe(false);
    const one = { type: 'replicas', service: 'shop', replicas: 1 } as const;
    expect(evidenceShows(one, probe('checkout', 'spread:http://shop:8080/', 'one-backend', ['x ×12']), facts)).toBe(true);
    expect(evidenceShows(one, probe('checkout', 'dns:shop', 'ok', ['10.88.0.2']), facts)).toBe(true);
    expect(evidenceShows(one, probe('checkout', 'dns:shop', 'ok', ['10.88.0.2', '10.88.0.5']), facts)).toBe(false);
  });

  it('firewalls: a timeout through a drop, a refusal through a reject, on the right port and peer', () => {
    const drop = { type: 'firewall', service: 'db', action: 'drop', direction: 'in', proto: 'tcp', port: 5432 } as const;
    expect(evidenceShows(drop, probe('checkout', 'tcp:db:5432', 'timeout'), facts)).toBe(true);
    expect(evidenceShows(drop, probe('checkout', 'tcp:db:5432', 'refused'), facts)).toBe(false);
    expect(evidenceShows({ ...drop, action: 'reject' }, probe('checkout', 'tcp:database:5432', 'refused'), facts)).toBe(true);
    expect(evidenceShows({ ...drop, peer: 'shop' }, probe('checkout', 'tcp:db:5432', 'timeout'), facts)).toBe(false);
  });

  it('membership: failures between the service and its network', () => {
    const f = { type: 'disconnect', service: 'checkout', network: 'storefront' } as const;
    expect(evidenceShows(f, probe('checkout', 'http://shop:8080/', 'nxdomain'), facts)).toBe(true);
    expect(evidenceShows(f, probe('shop', 'tcp:checkout:9000', 'timeout'), facts)).toBe(true);
    expect(evidenceShows(f, probe('db', 'tcp:shop:8080', 'nxdomain'), facts)).toBe(false);
  });
});

