import { describe, expect, it } from 'vitest';
import { interpolate, isProbeTarget, parseProbeTarget } from './targets.ts';

describe('probe targets', () => {
  it('parses every target kind', () => {
    expect(parseProbeTarget('dns:db')).toEqual({ kind: 'dns', name: 'db', qtype: 'A' });
    expect(parseProbeTarget('dns:_http._tcp.web/SRV')).toEqual({ kind: 'dns', name: '_http._tcp.web', qtype: 'SRV' });
    expect(parseProbeTarget('tcp:db:5432')).toEqual({ kind: 'tcp', host: 'db', port: 5432 });
    expect(parseProbeTarget('udp:dns:53')).toEqual({ kind: 'udp', host: 'dns', port: 53 });
    expect(parseProbeTarget('http://web:8080/health?x=1')).toEqual({ kind: 'http', host: 'web', port: 8080, path: '/health?x=1' });
    expect(parseProbeTarget('http://web')).toEqual({ kind: 'http', host: 'web', port: 80, path: '/' });
    expect(parseProbeTarget('spread:http://web:8080/')).toEqual({ kind: 'spread', host: 'web', port: 8080, path: '/' });
    expect(parseProbeTarget('icmp:10.88.0.2')).toEqual({ kind: 'icmp', host: '10.88.0.2' });
    expect(parseProbeTarget('mtu:api:1400')).toEqual({ kind: 'mtu', host: 'api', size: 1400 });
  });

  it('rejects malformed targets', () => {
    for (const bad of ['tcp:db', 'tcp:db:99999', 'ftp://x', 'dns:', 'mtu:a:5', 'icmp:', 'http://web:0/', 'spread:web:80', 'spread:http://web:0/']) expect(isProbeTarget(bad), bad).toBe(false);
    expect(isProbeTarget('http://localhost:${web.ports.80}/')).toBe(true);
  });

  it('fills in session references', () => {
    const out = interpolate('http://localhost:${web.ports.80}/ ${db.ip}', (r) => (r.kind === 'port' ? '23001' : '10.88.0.4'));
    expect(out).toBe('http://localhost:23001/ 10.88.0.4');
    expect(() => interpolate('${nope}', () => undefined)).toThrow(/cannot resolve \$\{nope\}/);
  });
});
