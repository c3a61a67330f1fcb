import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { SCENARIOS_DIR } from '../config.ts';
import { checkFiles } from './catalogue.ts';
import { formatProblem, type Problem } from './problems.ts';
import { validateLabText } from './validate.ts';

const ctx = { localImages: new Set(['alpine:3.19', 'flowlab/toolbox:latest']) };

const base = `id: tiny
title: Tiny lab
summary: Two services on one network.
level: beginner
network: bridge
minutes: 5
briefing: A ticket.
networks:
  net: {}
services:
  web:
    image: toolbox
    command: ["lab-serve", "http", "--port", "80"]
    networks: [net]
    ports: ["auto:80"]
  client:
    image: toolbox
    networks: [net]
`;

/** The base lab with `edit` applied to its data (as YAML). */
function variant(edit: (lab: Record<string, any>) => void): string {
  const data = parse(base);
  edit(data);
  return stringify(data);
}

function errorsOf(text: string): Problem[] {
  return validateLabText('lab.yaml', text, ctx).problems.filter((p) => p.severity === 'error');
}

describe('validate: the labs that ship', () => {
  it('accepts every lab under scenarios/ without errors', () => {
    const checks = checkFiles([SCENARIOS_DIR], ctx);
    expect(checks.length).toBeGreaterThanOrEqual(3);
    for (const c of checks) expect(c.problems.filter((p) => p.severity === 'error').map(formatProblem), c.file).toEqual([]);
  });

  it('accepts the base lab', () => {
    expect(errorsOf(base)).toEqual([]);
    expect(validateLabText('lab.yaml', base, ctx).lab?.id).toBe('tiny');
  });
});

// Each malformed kind: the text, and what the error must say (path and a telling fragment).
const malformed: [string, string, { path?: string; message: RegExp; line?: number }][] = [
  ['YAML syntax error', `${base}\n  oops: [1, 2\n`, { message: /expected valid YAML/ }],
  ['duplicate key', base.replace('minutes: 5', 'minutes: 5\nminutes: 6'), { message: /written once per mapping/, line: 7 }],
  [
    'alias bomb',
    `a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`,
    { message: /at most 100 alias expansions/ },
  ],
  ['huge file', `${base}# ${'x'.repeat(300 * 1024)}\n`, { message: /at most 256 KiB, found \d+ KiB/ }],
  ['empty file', '', { message: /found an empty file/ }],
  ['a list at the top', '- a\n- b\n', { message: /expected a mapping with id, title, services/ }],
  ['custom tag', base.replace('minutes: 5', 'minutes: !mytag 5'), { message: /without custom tags/ }],
  ['unknown top-level key', base.replace('networks:', 'netwroks:'), { path: 'netwroks', message: /unknown key "netwroks" \(did you mean "networks"\?\)/ }],
  ['unknown service key', base.replace('    command:', '    comand:'), { path: 'services.web.comand', message: /did you mean "command"/ }],
  ['missing required key', base.replace('title: Tiny lab\n', ''), { path: 'title', message: /expected a text, found nothing/ }],
  ['wrong type', base.replace('minutes: 5', 'minutes: ten'), { path: 'minutes', message: /expected a number, found "ten"/ }],
  ['bad enum', base.replace('level: beginner', 'level: expert'), { path: 'level', message: /expected one of beginner, intermediate, advanced, found "expert"/ }],
  ['bad id', base.replace('id: tiny', 'id: Tiny_Lab'), { path: 'id', message: /kebab-case id/ }],
  ['unknown network', base.replace('networks: [net]\n    ports', 'networks: [nett]\n    ports'), { path: 'services.web.networks[0]', message: /unknown network "nett" \(did you mean "net"\?\)/ }],
  ['a subnet with an octet over 255', base.replace('  net: {}', '  net: { ipam: { config: [{ subnet: 10.300.0.0/24 }] } }'), { path: 'networks.net.ipam.config[0].subnet', message: /expected an IPv4 subnet .* found "10\.300\.0\.0\/24"/, line: 9 }],
  ['a subnet with a prefix over 32', base.replace('  net: {}', '  net: { ipam: { config: [{ subnet: 10.30.0.0/40 }] } }'), { path: 'networks.net.ipam.config[0].subnet', message: /prefix up to 32\), found "10\.30\.0\.0\/40"/ }],
  ['a port mapping on a bad host address', base.replace('ports: ["auto:80"]', 'ports: ["300.1.1.1:auto:80"]'), { path: 'services.web.ports[0]', message: /host address is an IPv4 address .* found "300\.1\.1\.1:auto:80"/ }],
  ['an extra host with a bad address', variant((l) => (l.services.web.extra_hosts = ['db:10.0.0.999'])), { path: 'services.web.extra_hosts[0]', message: /address is an IPv4 or IPv6 address or host-gateway/ }],
  ['a fault with a bad address', variant((l) => (l.faults = [{ type: 'hosts-override', service: 'web', name: 'db', address: '1.2.3.256' }])), { path: 'faults[0].address', message: /an IPv4 address like 10\.88\.3\.7, or \$\{<service>\.ip\}/ }],
  ['a network named like a JavaScript built-in', base.replace('networks: [net]\n    ports', 'networks: [constructor]\n    ports'), { path: 'services.web.networks[0]', message: /unknown network "constructor"/ }],
  ['a probe naming a built-in network', variant((l) => (l.probes = [{ from: 'client', to: 'http://${web.ips.constructor}:80/' }])), { message: /unknown network "constructor"|constructor/ }],
  ['depends_on unknown', variant((l) => (l.services.web.depends_on = ['clinet'])), { path: 'services.web.depends_on[0]', message: /unknown service "clinet" \(did you mean "client"\?\)/ }],
  [
    'dependency cycle',
    variant((l) => {
      l.services.web.depends_on = ['client'];
      l.services.client.depends_on = ['web'];
    }),
    { message: /dependency cycle: web -> client -> web/ },
  ],
  [
    'overlapping subnets',
    variant((l) => {
      l.networks.net = { ipam: { config: [{ subnet: '10.90.0.0/16' }] } };
      l.networks.other = { ipam: { config: [{ subnet: '10.90.3.0/24' }] } };
    }),
    { path: 'networks.other.ipam.config[0].subnet', message: /overlaps network "net"/ },
  ],
  ['port out of range', base.replace('"auto:80"', '"auto:70000"'), { path: 'services.web.ports[0]', message: /container port from 1 to 65535, found 70000/ }],
  ['bad port syntax', base.replace('"auto:80"', '"80:abc"'), { path: 'services.web.ports[0]', message: /port mapping like "auto:8080"/ }],
  ['image not available', base.replace('    image: toolbox\n    networks', '    image: nginx:1.25\n    networks'), { path: 'services.client.image', message: /neither a lab image \(toolbox\) nor present locally/ }],
  ['privileged', variant((l) => (l.services.web.privileged = true)), { path: 'services.web.privileged', message: /not allowed in a lab: a privileged container/ }],
  ['host mount', variant((l) => (l.services.web.volumes = ['/:/host'])), { path: 'services.web.volumes', message: /volumes and host mounts reach outside the lab/ }],
  ['dangerous capability', variant((l) => (l.services.web.cap_add = ['SYS_ADMIN'])), { path: 'services.web.cap_add[0]', message: /capability SYS_ADMIN is not allowed/ }],
  [
    'capability on host network',
    variant((l) => {
      l.services.client = { image: 'toolbox', network_mode: 'host', cap_add: ['NET_ADMIN'] };
    }),
    { path: 'services.client.cap_add[0]', message: /host-network service gets no capabilities/ },
  ],
  ['unknown fault type', variant((l) => (l.faults = [{ type: 'bind-loopbak', service: 'web', port: 80 }])), { path: 'faults[0].type', message: /did you mean "bind-loopback"/ }],
  ['replicas on a plain container', variant((l) => (l.faults = [{ type: 'replicas', service: 'web', replicas: 1 }])), { path: 'faults[0].service', message: /replicas needs a swarm service/ }],
  [
    'replicas not below the planned count',
    variant((l) => {
      l.services.web.deploy = { replicas: 2 };
      delete l.services.web.ports;
      l.faults = [{ type: 'replicas', service: 'web', replicas: 2 }];
    }),
    { path: 'faults[0].replicas', message: /below the 2 it runs with; expected fewer, found 2/ },
  ],
  ['hosts-override to an unknown service address', variant((l) => (l.faults = [{ type: 'hosts-override', service: 'client', name: 'web', address: '${wbe.ip}' }])), { path: 'faults[0].address', message: /names unknown service "wbe" \(did you mean "web"\?\)/ }],
  ['spread probe with a bad target', variant((l) => (l.probes = [{ from: 'client', to: 'spread:web:80' }])), { path: 'probes[0].to', message: /spread:http:\/\/<host>/ }],
  ['fault on unknown service', variant((l) => (l.faults = [{ type: 'stop', service: 'wbe' }])), { path: 'faults[0].service', message: /unknown service "wbe" \(did you mean "web"\?\)/ }],
  [
    'netns fault on host network',
    variant((l) => {
      l.services.client = { image: 'toolbox', network_mode: 'host' };
      l.faults = [{ type: 'firewall', service: 'client', port: 80 }];
    }),
    { path: 'faults[0].type', message: /would change the Docker host itself/ },
  ],
  [
    'answer cause not offered',
    variant((l) => {
      l.diagnosis = { question: 'Why?', causes: [{ id: 'a', text: 'A' }, { id: 'b', text: 'B' }] };
      l.variants = [{ id: 'v1', faults: [], answer: { cause: 'c', culprit: 'web' } }];
    }),
    { path: 'variants[0].answer.cause', message: /unknown cause "c".*expected one of diagnosis.causes: a, b/ },
  ],
  ['probe from unknown service', variant((l) => (l.probes = [{ from: 'clint', to: 'http://web:80/' }])), { path: 'probes[0].from', message: /did you mean "client"/ }],
  ['malformed probe target', variant((l) => (l.probes = [{ from: 'client', to: 'tcp:web' }])), { path: 'probes[0].to', message: /expected a probe target: dns:<name>/ }],
  ['traffic from an unknown service', variant((l) => (l.traffic = [{ from: 'clint', to: 'http://web:80/' }])), { path: 'traffic[0].from', message: /unknown probe source "clint" \(did you mean "client"\?\)/ }],
  ['traffic to a malformed target', variant((l) => (l.traffic = [{ from: 'client', to: 'tcp:web', every: '2s' }])), { path: 'traffic[0].to', message: /expected a probe target: dns:<name>/ }],
  ['traffic too fast', variant((l) => (l.traffic = [{ from: 'client', to: 'http://web:80/', every: '200ms' }])), { path: 'traffic[0].every', message: /expected an interval of at least 500ms, found 200ms/ }],
  ['traffic from the host', variant((l) => (l.traffic = [{ from: 'host', to: 'http://web:80/' }])), { path: 'traffic[0].from', message: /expected a service: .*found host/ }],
  ['traffic every with no unit', variant((l) => (l.traffic = [{ from: 'client', to: 'http://web:80/', every: '2' }])), { path: 'traffic[0].every', message: /a duration like 500ms, 2s or 1m/ }],
  ['reference to an unpublished port', variant((l) => (l.probes = [{ from: 'host', to: 'http://localhost:${web.ports.8080}/' }])), { path: 'probes[0].to', message: /does not publish 8080\/tcp/ }],
  ['deploy outside an overlay lab', variant((l) => (l.services.web.deploy = { replicas: 2 })), { path: 'services.web.deploy', message: /needs an overlay lab/ }],
  ['network_mode with networks', variant((l) => (l.services.web.network_mode = 'host')), { path: 'services.web.networks', message: /cannot both be set/ }],
  ['dns server outside the lab', variant((l) => (l.services.web.dns = '8.8.8.8')), { path: 'services.web.dns', message: /outside the lab: queries would leave this machine/ }],
  ['unknown driver option', variant((l) => (l.networks.net = { driver_opts: { 'com.docker.network.driver.mut': '1400' } })), { path: 'networks.net.driver_opts.com.docker.network.driver.mut', message: /did you mean "com.docker.network.driver.mtu"/ }],
  ['solution for an unknown variant', variant((l) => (l.solution = [{ variant: 'nope', exec: { service: 'web', run: 'true' } }])), { path: 'solution[0].variant', message: /unknown variant "nope"/ }],
  ['reserved service name', variant((l) => (l.services.host = { image: 'toolbox' })), { path: 'services.host', message: /service name "host" is reserved/ }],
  [
    'duplicate variant ids',
    variant((l) => (l.variants = [{ id: 'v', faults: [], answer: { cause: 'a', culprit: 'web' } }, { id: 'v', faults: [], answer: { cause: 'a', culprit: 'web' } }])),
    { path: 'variants[1].id', message: /variant id "v" is used twice/ },
  ],
  ['non-attachable overlay for a container', variant((l) => {
    l.network = 'overlay';
    l.networks.net = { driver: 'overlay' };
  }), { path: 'services.web.networks', message: /not attachable; expected attachable: true/ }],
];

describe('validate: what the engine cannot run', () => {
  const swarmLab = `id: tiny-swarm
title: Tiny swarm
summary: One swarm service.
level: beginner
network: overlay
minutes: 5
briefing: A ticket.
networks:
  mesh: { driver: overlay, attachable: true }
services:
  web:
    image: toolbox
    command: ["lab-serve", "http", "--port", "80"]
    networks: [mesh]
    deploy: { replicas: 2, endpoint_mode: dnsrr }
  client:
    image: toolbox
    networks: [mesh]
variants:
  - { id: vip, faults: [{ type: endpoint-mode, service: web, mode: vip }], answer: { cause: vip, culprit: web } }
  - { id: slow, faults: [{ type: latency, service: web, delay: 200ms }], answer: { cause: slow, culprit: web } }
diagnosis:
  question: What is wrong?
  causes:
    - { id: vip, text: "a VIP" }
    - { id: slow, text: "slow" }
    - { id: a, text: "a" }
    - { id: b, text: "b" }
`;
  const warnings = (text: string, features: Record<string, boolean | undefined>) => validateLabText('lab.yaml', text, { ...ctx, features, engine: 'unix:///var/run/docker.sock' }).problems.filter((p) => p.severity === 'warning');

  it('warns where a variant needs IPVS or netem the engine lacks, naming the engine', () => {
    const w = warnings(swarmLab, { ipvs: false, netem: false });
    expect(w.find((p) => p.path === 'variants[0].faults[0]')?.message).toMatch(/need IPVS .* the Docker engine at unix:\/\/\/var\/run\/docker\.sock has no IPVS in its kernel: flowlab up refuses variant vip there/);
    expect(w.find((p) => p.path === 'variants[1].faults[0]')?.message).toMatch(/netem .* refuses variant slow there/);
  });

  it('warns on a VIP service (the default) where IPVS is missing, and says nothing where it is there or unknown', () => {
    const vipLab = swarmLab.replace('endpoint_mode: dnsrr', 'endpoint_mode: vip');
    expect(warnings(vipLab, { ipvs: false }).some((p) => p.path === 'services.web.deploy.endpoint_mode' && /refuses this lab there/.test(p.message))).toBe(true);
    expect(warnings(vipLab, { ipvs: true, netem: true }).filter((p) => /refuses/.test(p.message))).toEqual([]);
    expect(warnings(vipLab, { ipvs: undefined }).filter((p) => /refuses/.test(p.message))).toEqual([]);
  });
});

describe('validate: malformed lab files get clear errors, never a crash', () => {
  it(`covers at least 20 kinds (${malformed.length})`, () => {
    expect(malformed.length).toBeGreaterThanOrEqual(20);
  });

  for (const [name, text, want] of malformed) {
    it(name, () => {
      const errors = errorsOf(text);
      const match = errors.find((e) => want.message.test(e.message) && (want.path === undefined || e.path === want.path));
      expect(match, `errors were:\n${errors.map(formatProblem).join('\n')}`).toBeDefined();
      expect(match!.file).toBe('lab.yaml');
      expect(match!.line).toBeGreaterThanOrEqual(1);
      expect(match!.column).toBeGreaterThanOrEqual(1);
      if (want.line) expect(match!.line).toBe(want.line);
      // Every message says what was expected (or what is not allowed and why).
      expect(match!.message).toMatch(/expected|not allowed|reserved|cycle|would|reach|gets no|cannot/);
    });
  }

  it('points at the line and column of the offending value', () => {
    const text = base.replace('minutes: 5', 'minutes: ten');
    const [e] = errorsOf(text);
    expect(e).toMatchObject({ line: 6, column: 10, path: 'minutes' });
  });

  it('treats Docker-accepted mistakes as warnings, not errors', () => {
    const text = variant((l) => (l.services.client = { image: 'toolbox', network_mode: 'host', ports: ['8080:8080'] }));
    const check = validateLabText('lab.yaml', text, ctx);
    expect(check.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(check.problems.some((p) => p.severity === 'warning' && /discarded in host network mode/.test(p.message))).toBe(true);
    expect(check.lab).toBeDefined();
  });

  it('reports duplicate lab ids across files', () => {
    const dup = checkFiles([join(SCENARIOS_DIR, 'starters', 'bridge-basics.yaml'), join(SCENARIOS_DIR, 'starters', 'bridge-basics.yaml')], ctx);
    expect(dup.flatMap((c) => c.problems).some((p) => /lab id "bridge-basics" is already used/.test(p.message))).toBe(true);
  });

  it('never throws on mangled input (seeded fuzz of a real lab)', () => {
    const source = readFileSync(join(SCENARIOS_DIR, 'starters', 'bridge-basics.yaml'), 'utf8');
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const junk = ['', ':', '- ', '{', '[', '"', "'", '&a', '*a', '!!str', '\t', '#', '|', '>', '?', '~', 'null', '9'.repeat(30)];
    for (let i = 0; i < 400; i++) {
      const chars = source.split('');
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) {
        const at = Math.floor(rand() * chars.length);
        chars.splice(at, Math.floor(rand() * 5), junk[Math.floor(rand() * junk.length)]!);
      }
      const text = chars.join('');
      const check = validateLabText('fuzz.yaml', text, ctx);
      for (const p of check.problems) {
        expect(p.message.length).toBeGreaterThan(0);
        expect(p.line).toBeGreaterThanOrEqual(1);
      }
    }
  });
});
