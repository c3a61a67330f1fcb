import { describe, expect, it } from 'vitest';
import { containerCreate, networkCreate } from '../docker/cli.ts';
import { LABEL } from '../docker/labels.ts';
import { loadLab } from '../lab/catalogue.ts';
import { validateLabText } from '../lab/validate.ts';
import { footprint, planLab, portKey, splitCommand } from './plan.ts';

const ref = { session: '3f2a09c1', scenario: 'bridge-basics', owner: 'abc123', registry: '/data' };

describe('planLab: bridge-basics', () => {
  const { lab } = loadLab('bridge-basics');
  const plan = planLab(lab, ref, {
    subnets: { frontend: '10.88.3.0/24', backend: '10.88.4.0/24' },
    hostPorts: { [portKey('web', 80, 'tcp')]: 23001 },
  });
  const svc = (name: string) => plan.services.find((s) => s.name === name)!.container!;

  it('names every object fl-<session>-<name> and labels it with the session, never with a variant or fault', () => {
    expect(plan.networks.map((n) => n.spec.name).sort()).toEqual(['fl-3f2a09c1-backend', 'fl-3f2a09c1-frontend']);
    const all = [...plan.networks.map((n) => n.spec.labels), ...plan.services.map((s) => s.container!.labels), plan.resolver!.labels];
    for (const labels of all) {
      expect(labels).toMatchObject({ [LABEL.managed]: 'true', [LABEL.session]: '3f2a09c1', [LABEL.scenario]: 'bridge-basics', [LABEL.owner]: 'abc123' });
      expect(Object.keys(labels).join(' ')).not.toMatch(/variant|fault|answer/);
    }
  });

  it('gives services their networks, aliases (with their own name, as Compose does) and the lab resolver', () => {
    const api = svc('api');
    expect(api.network).toEqual({
      kind: 'networks',
      endpoints: [
        { network: 'fl-3f2a09c1-frontend', aliases: ['api'] },
        { network: 'fl-3f2a09c1-backend', aliases: ['api', 'api.internal'] },
      ],
    });
    expect(api.dns).toEqual(['10.88.3.254']);
    expect(svc('db').dns).toEqual(['10.88.4.254']);
    expect(plan.resolverIps).toEqual({ frontend: '10.88.3.254', backend: '10.88.4.254' });
    expect(plan.resolver!.network).toMatchObject({ kind: 'networks', endpoints: [{ ipv4Address: '10.88.3.254' }, { ipv4Address: '10.88.4.254' }] });
  });

  it('publishes auto ports on the allocated host port, on 127.0.0.1', () => {
    expect(svc('web').ports).toEqual([{ hostIp: '127.0.0.1', hostPort: 23001, containerPort: 80, proto: 'tcp' }]);
  });

  it('hardens every container: no privileges, limits, read-only root, init, only the lab capabilities', () => {
    for (const c of [...plan.services.map((s) => s.container!), plan.resolver!]) {
      expect(c.capDrop).toEqual(['ALL']);
      expect(c.readOnly).toBe(true);
      expect(c.init).toBe(true);
      expect(c.memoryBytes).toBeGreaterThan(0);
      expect(c.pidsLimit).toBeGreaterThan(0);
      expect(c.nanoCpus).toBeGreaterThan(0);
    }
    expect(svc('web').capAdd.sort()).toEqual(['NET_BIND_SERVICE', 'NET_RAW']);
  });

  it('writes each action as the docker CLI command that does the same', () => {
    const backend = plan.networks.find((n) => n.name === 'backend')!;
    expect(networkCreate(backend.spec)).toBe(
      'docker network create --driver bridge --subnet 10.88.4.0/24 --label flowlab.managed=true --label flowlab.session=3f2a09c1 --label flowlab.scenario=bridge-basics --label flowlab.owner=abc123 --label flowlab.registry=/data --label flowlab.name=backend --label flowlab.role=network fl-3f2a09c1-backend',
    );
    const cmd = containerCreate(svc('web'));
    expect(cmd).toMatch(/^docker create --name fl-3f2a09c1-web --network fl-3f2a09c1-frontend --network-alias web --publish 127\.0\.0\.1:23001:80\/tcp /);
    expect(cmd).toMatch(/--cap-drop ALL --cap-add NET_BIND_SERVICE --cap-add NET_RAW .*--read-only .*--init .*flowlab\/toolbox:latest lab-serve http --port 80$/);
  });
});

describe('planLab: host networking, default bridge, shared namespaces', () => {
  const text = `id: modes
title: Modes
summary: s
level: beginner
network: host
minutes: 5
briefing: b
networks: { lan: {} }
services:
  agent: { image: toolbox, network_mode: host, command: "lab-serve http --port 17480 --bind 127.0.0.1", cap_add: [] }
  legacy: { image: toolbox }
  app: { image: toolbox, networks: [lan], cap_add: [NET_ADMIN] }
  sidecar: { image: toolbox, network_mode: "service:app" }
`;
  const check = validateLabText('modes.yaml', text, { localImages: new Set() });
  const plan = planLab(check.lab!, ref, { subnets: { lan: '10.88.9.0/24' }, hostPorts: {} });
  const svc = (name: string) => plan.services.find((s) => s.name === name)!.container!;

  it('gives a host-network container no capabilities at all', () => {
    expect(svc('agent').network).toEqual({ kind: 'host' });
    expect(svc('agent').capDrop).toEqual(['ALL']);
    expect(svc('agent').capAdd).toEqual([]);
    expect(svc('agent').command).toEqual(['lab-serve', 'http', '--port', '17480', '--bind', '127.0.0.1']);
  });

  it('puts a service without networks on the default bridge, and the resolver there too', () => {
    expect(svc('legacy').network).toEqual({ kind: 'default-bridge' });
    expect(plan.resolverOnDefaultBridge).toBe(true);
    expect(plan.resolver!.network).toMatchObject({ kind: 'networks', endpoints: [{ network: 'bridge' }, { network: 'fl-3f2a09c1-lan' }] });
  });

  it('adds only the capabilities a lab asks for, and shares namespaces by container', () => {
    expect(svc('app').capAdd.sort()).toEqual(['NET_ADMIN', 'NET_BIND_SERVICE', 'NET_RAW']);
    expect(svc('sidecar').network).toEqual({ kind: 'container', container: 'fl-3f2a09c1-app' });
    expect(plan.services.find((s) => s.name === 'sidecar')!.model.dependsOn).toEqual([{ service: 'app', healthy: false }]);
  });
});

describe('splitCommand', () => {
  it('splits like Compose does', () => {
    expect(splitCommand(`lab-serve http --port 80 --body "hello world" --x 'a b' c\\ d`)).toEqual(['lab-serve', 'http', '--port', '80', '--body', 'hello world', '--x', 'a b', 'c d']);
    expect(splitCommand(`echo ""`)).toEqual(['echo', '']);
    expect(() => splitCommand(`echo "oops`)).toThrow(/unterminated/);
  });
});

describe('footprint', () => {
  it('counts what a lab runs on its engine: resolver, services, capture sidecars, traffic helpers, swarm replicas', () => {
    const bridge = loadLab('bridge-basics').lab;
    const planned = planLab(bridge, ref, { subnets: { frontend: '10.88.3.0/24', backend: '10.88.4.0/24' }, hostPorts: { [portKey('web', 80, 'tcp')]: 23001 } });
    const captures = bridge.capture ? Object.keys(bridge.services).length : 0;
    const traffic = new Set(bridge.traffic.map((t) => t.from)).size; // one helper per service that calls
    expect(traffic).toBe(2);
    const containers = 1 + planned.services.length + captures + traffic;
    expect(footprint(bridge)).toEqual({ containers, memoryBytes: containers * 128 * 2 ** 20 });
    const overlay = loadLab('swarm-service-scaled-down').lab;
    const replicas = Object.values(overlay.services).reduce((n, d) => n + (d?.deploy?.replicas ?? 1), 0);
    expect(footprint(overlay).containers).toBeGreaterThanOrEqual(replicas);
  });
});
