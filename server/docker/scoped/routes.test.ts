// The console's allow/deny policy against an in-memory engine: what the real docker CLI sends is
// accepted and rebuilt with the session's rules; the ways out found on a real engine are refused;
// and every variant an attacker derives from an allowed request is refused or forwarded holding
// only allow-listed values.
import { describe, expect, it } from 'vitest';
import fixture from './cli-requests.fixture.json' with { type: 'json' };
import type { Forward } from './forward.ts';
import type { Json } from './json.ts';
import { ScopedApi } from './proxy.ts';
import { Refusal } from './refusal.ts';
import { API_VERSION } from './request.ts';
import type { ScopeEngine, ScopePolicy } from './scope.ts';
import { variantsOf, type BaseRequest } from './variants.ts';

const S = 'aaaa1111';
const OTHER = 'bbbb2222';
const labels = (session: string, role: string, name: string) => ({ 'flowlab.managed': 'true', 'flowlab.session': session, 'flowlab.role': role, 'flowlab.name': name });
const CONTAINERS = [
  { id: 'c'.repeat(64), name: `fl-${S}-web`, labels: labels(S, 'service', 'web'), networkMode: `fl-${S}-shop` },
  { id: 'd'.repeat(64), name: `fl-${S}-agent`, labels: labels(S, 'service', 'agent'), networkMode: 'host' },
  { id: 'e'.repeat(64), name: `fl-${S}-probe-host`, labels: labels(S, 'helper', 'probe-host'), networkMode: 'host' },
  { id: 'f'.repeat(64), name: `fl-${S}-sidecar`, labels: labels(S, 'learner', 'sidecar'), networkMode: `container:${'d'.repeat(64)}` },
  { id: '1'.repeat(64), name: `fl-${S}-web-capture`, labels: labels(S, 'capture', 'web-capture'), networkMode: `container:${'c'.repeat(64)}` },
  { id: '2'.repeat(64), name: `fl-${S}-console`, labels: labels(S, 'console', 'console'), networkMode: `fl-${S}-console` },
  { id: '9'.repeat(64), name: `fl-${OTHER}-web`, labels: labels(OTHER, 'service', 'web'), networkMode: `fl-${OTHER}-shop` },
];
const NETWORKS = [
  { id: 'n1'.repeat(32), name: `fl-${S}-shop`, labels: labels(S, 'network', 'shop') },
  { id: 'n2'.repeat(32), name: `fl-${S}-back`, labels: labels(S, 'network', 'back') },
  { id: 'n3'.repeat(32), name: `fl-${S}-console`, labels: labels(S, 'console', 'console') },
  { id: 'n9'.repeat(32), name: `fl-${OTHER}-shop`, labels: labels(OTHER, 'network', 'shop') },
  { id: 'b0'.repeat(32), name: 'bridge', labels: {} },
  { id: 'h0'.repeat(32), name: 'host', labels: {} },
  { id: '00'.repeat(32), name: 'none', labels: {} },
];
const SERVICE_SPEC = {
  Name: `fl-${S}-api`,
  Labels: labels(S, 'service', 'api'),
  TaskTemplate: {
    ContainerSpec: { Image: 'flowlab/toolbox:latest', Labels: labels(S, 'service', 'api'), Args: ['lab-serve', 'http'], Env: ['A=1'], Init: true, Mounts: [{ Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 16777216 } }], CapabilityAdd: ['NET_BIND_SERVICE'], CapabilityDrop: ['ALL'], DNSConfig: { Nameservers: ['10.88.0.2'] }, Healthcheck: { Test: ['CMD', 'true'], Interval: 1000000000, Retries: 3 } },
    Resources: { Limits: { NanoCPUs: 500000000, MemoryBytes: 67108864, Pids: 128 } },
    RestartPolicy: { Condition: 'on-failure', MaxAttempts: 3 },
    Networks: [{ Target: 'n1'.repeat(32), Aliases: ['api'] }],
    ForceUpdate: 0,
  },
  Mode: { Replicated: { Replicas: 2 } },
  EndpointSpec: { Mode: 'vip' },
};

const find = <T extends { id: string; name: string }>(list: T[], ref: string) => list.find((x) => x.name === ref.replace(/^\//, '') || x.id === ref || (ref.length >= 4 && x.id.startsWith(ref)));
const engine: ScopeEngine = {
  inspectContainer: async (ref) => find(CONTAINERS, ref),
  inspectNetwork: async (ref) => find(NETWORKS, ref),
  listServices: async (l) => (l['flowlab.session'] === S ? [{ id: 'svc1', name: `fl-${S}-api`, labels: SERVICE_SPEC.Labels }] : []),
  serviceSpec: async (ref) => (ref === 'svc1' ? structuredClone(SERVICE_SPEC) : undefined),
};
const recorded: string[] = [];
const policy: ScopePolicy = {
  session: S,
  labels: { 'flowlab.managed': 'true', 'flowlab.session': S, 'flowlab.scenario': 'test-lab', 'flowlab.owner': 'o', 'flowlab.registry': '/r' },
  images: { toolbox: 'flowlab/toolbox:latest', 'flowlab/toolbox': 'flowlab/toolbox:latest', 'flowlab/toolbox:latest': 'flowlab/toolbox:latest' },
  hostPorts: [18000, 28080],
  limits: { memoryBytes: 128 * 1024 * 1024, nanoCpus: 1e9, pidsLimit: 256 },
  protectedRoles: ['capture', 'helper', 'console', 'resolver'],
  reservedNames: ['lab-dns', 'console', 'probe-host', 'web-capture'],
  consoleNetwork: `fl-${S}-console`,
  defaultBridge: false,
  services: { web: { [`fl-${S}-shop`]: ['web', 'shop.internal'] } },
  baseCaps: ['NET_BIND_SERVICE', 'NET_RAW', 'SETUID', 'SETGID'],
  serviceCaps: { web: ['NET_BIND_SERVICE', 'NET_RAW'] },
  dns: { [`fl-${S}-shop`]: ['10.88.0.2'] },
  labAddress: (ip) => /^10\.88\.0\.\d+$/.test(ip),
  record: (c) => recorded.push(c),
};
const api = new ScopedApi(engine, policy, 'secret', { socketPath: '/nonexistent' });
const V = `/v${API_VERSION}`;
const decide = (method: string, target: string, body?: unknown) => api.decide(method, target, body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));

async function refusal(p: Promise<unknown>): Promise<Refusal> {
  try {
    await p;
  } catch (e) {
    if (e instanceof Refusal) return e;
    throw e;
  }
  throw new Error('expected a refusal, the request was allowed');
}

const LAB_CAPS = new Set([...policy.baseCaps, 'NET_ADMIN', 'NET_RAW', 'NET_BIND_SERVICE']);
const LAB_NETWORKS = new Set([`fl-${S}-shop`, `fl-${S}-back`, 'n1'.repeat(32), 'n2'.repeat(32)]);

/** What a forwarded request may hold: the session's rules, whatever the learner sent. */
function violations(f: Forward): string[] {
  const bad: string[] = [];
  const text = JSON.stringify(f.body ?? {});
  if (/"Privileged":true/.test(text)) bad.push('privileged');
  for (const k of ['Binds', 'Mounts', 'VolumesFrom', 'Devices', 'Sysctls', 'Tmpfs', 'CgroupParent', 'Runtime', 'MaskedPaths', 'ReadonlyPaths', 'GroupAdd', 'Ulimits']) {
    if (f.path === '/containers/create' && new RegExp(`"${k}"`, 'i').test(text)) bad.push(`create carries ${k}`);
  }
  if (f.path === '/containers/create') {
    const b = f.body as { Image: string; Labels: Record<string, string>; HostConfig: Record<string, unknown>; NetworkingConfig: { EndpointsConfig: Record<string, { IPAMConfig?: { IPv4Address?: string } }> } };
    const h = b.HostConfig as { NetworkMode: string; CapAdd: string[]; CapDrop: string[]; SecurityOpt: string[]; PortBindings: Record<string, { HostIp: string; HostPort: string }[]>; Dns?: string[]; LogConfig: { Type: string; Config: Record<string, string> }; PidMode?: string; IpcMode?: string; Memory: number; PidsLimit: number };
    if (b.Image !== 'flowlab/toolbox:latest') bad.push(`image ${b.Image}`);
    if (b.Labels['flowlab.session'] !== S) bad.push('labels of another session');
    if (!(LAB_NETWORKS.has(h.NetworkMode) || h.NetworkMode === 'none' || h.NetworkMode === `container:${'c'.repeat(64)}`)) bad.push(`network mode ${h.NetworkMode}`);
    if (h.CapAdd.some((c) => !LAB_CAPS.has(c))) bad.push(`caps ${h.CapAdd}`);
    if (JSON.stringify(h.CapDrop) !== '["ALL"]') bad.push('caps not dropped');
    if (JSON.stringify(h.SecurityOpt) !== '["no-new-privileges"]') bad.push(`security options ${h.SecurityOpt}`);
    for (const binds of Object.values(h.PortBindings)) for (const x of binds) if (!/^127\./.test(x.HostIp) || (x.HostPort !== '' && !policy.hostPorts.includes(Number(x.HostPort)))) bad.push(`binding ${JSON.stringify(x)}`);
    for (const d of h.Dns ?? []) if (!/^127\./.test(d) && !policy.labAddress(d)) bad.push(`dns ${d}`);
    if (!['json-file', 'none', 'local'].includes(h.LogConfig.Type) || Object.keys(h.LogConfig.Config).some((k) => !['max-size', 'max-file'].includes(k))) bad.push(`log ${JSON.stringify(h.LogConfig)}`);
    if (h.PidMode || (h.IpcMode && !['private', 'none'].includes(h.IpcMode))) bad.push('a shared namespace');
    if (h.Memory > policy.limits.memoryBytes || h.Memory <= 0 || h.PidsLimit > policy.limits.pidsLimit) bad.push('limits');
    for (const [net, e] of Object.entries(b.NetworkingConfig.EndpointsConfig)) {
      if (!LAB_NETWORKS.has(net)) bad.push(`endpoint ${net}`);
      if (e.IPAMConfig?.IPv4Address && !policy.labAddress(e.IPAMConfig.IPv4Address)) bad.push('address outside');
    }
  }
  if (/\/networks\/[^/]+\/(connect|disconnect)$/.test(f.path)) {
    const b = f.body as { Container: string };
    if (!CONTAINERS.some((c) => c.id === b.Container && c.labels['flowlab.session'] === S && c.labels['flowlab.role'] !== 'console')) bad.push(`connects ${b.Container}`);
    if (!['n1'.repeat(32), 'n2'.repeat(32)].some((n) => f.path.includes(n))) bad.push(`network ${f.path}`);
  }
  if (f.path.endsWith('/update')) {
    const spec = f.body as typeof SERVICE_SPEC;
    const cs = spec.TaskTemplate.ContainerSpec;
    if (JSON.stringify(cs.Mounts) !== JSON.stringify(SERVICE_SPEC.TaskTemplate.ContainerSpec.Mounts)) bad.push('mounts changed');
    if (JSON.stringify(spec.TaskTemplate.Resources) !== JSON.stringify(SERVICE_SPEC.TaskTemplate.Resources)) bad.push('resources changed');
    if ((cs.CapabilityAdd ?? []).some((c) => !LAB_CAPS.has(c))) bad.push('caps');
    if ((spec as { EndpointSpec: { Ports?: unknown } }).EndpointSpec.Ports) bad.push('ports');
    if ((spec.Mode.Replicated?.Replicas ?? 0) > 8) bad.push('replicas');
    if (Object.entries(spec.Labels).filter(([k]) => k.startsWith('flowlab.')).some(([k, v]) => (SERVICE_SPEC.Labels as Record<string, string>)[k] !== v)) bad.push('labels');
  }
  if (f.path.endsWith('/exec') && (f.body as { Privileged: boolean }).Privileged !== false) bad.push('exec privileged');
  if (/\/(start|stop|restart|kill|pause|unpause|wait|resize)$/.test(f.path) && f.body !== undefined && !f.path.startsWith('/exec/')) bad.push('a body on a body-less route');
  return bad;
}

const cliBody = (target: string) => fixture.requests.find((r) => r.target.includes(target))!.body as unknown as Json;

describe('what the docker CLI sends is accepted, and rebuilt with the session’s rules', () => {
  it('every create, exec, connect and disconnect the CLI sent on a real engine passes its shape', async () => {
    for (const r of fixture.requests) {
      const target = r.target.replace(/5c7a7c00/g, S).replace(/capnet|capover/g, 'shop').replace(/containers\/fl-aaaa1111-a\//, 'containers/web/');
      const body = JSON.parse(JSON.stringify(r.body).replace(/5c7a7c00/g, S).replace(/capnet|capover/g, 'shop').replace(/fl-aaaa1111-(cli|a)"/g, `fl-${S}-web"`).replace(/10\.250\.0\./g, '10.88.0.').replace(/"flowlab\.[a-z]+":"[^"]*",?/g, '').replace(/,}/g, '}'));
      if (r.target.includes('/services/')) continue; // a real service spec; checked below against a spec of this fake engine
      if (r.target.startsWith('/v1.41/exec/')) continue; // exec ids are the engine's own
      const f = await decide(r.method, target, body);
      expect(violations(f), target).toEqual([]);
    }
  });

  it('a create is rebuilt: only lab values, forced limits, labels and capabilities, on 127.0.0.1', async () => {
    const body = { ...(cliBody('create?name=fl-5c7a7c00-a') as Record<string, Json>), Labels: {}, HostConfig: { ...((cliBody('create?name=fl-5c7a7c00-a') as { HostConfig: Record<string, Json> }).HostConfig), NetworkMode: 'shop', PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '18000' }] }, Dns: [] } };
    const f = await decide('POST', `${V}/containers/create?name=probe`, body);
    expect(f.query).toEqual({ name: `fl-${S}-probe` });
    const b = f.body as { Labels: Record<string, string>; HostConfig: Record<string, unknown> };
    expect(b.Labels).toMatchObject({ ...policy.labels, 'flowlab.role': 'learner', 'flowlab.name': 'probe' });
    expect(b.HostConfig).toMatchObject({ NetworkMode: `fl-${S}-shop`, CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'], Privileged: false, Dns: ['10.88.0.2'], PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '18000' }] }, Memory: policy.limits.memoryBytes, PidsLimit: 256 });
    expect(Object.keys(b.HostConfig)).not.toContain('Binds');
    expect(f.record).toBe(`docker create --name fl-${S}-probe --network fl-${S}-shop --publish 127.0.0.1:18000:80 --cap-drop ALL --cap-add NET_BIND_SERVICE --cap-add NET_RAW --cap-add SETUID --cap-add SETGID --cap-add NET_ADMIN --security-opt no-new-privileges --dns 10.88.0.2 --memory 134217728 --cpus 1 --pids-limit 256 flowlab/toolbox:latest sleep 100`);
  });

  it('the names of Flowlab’s own containers (captures, resolver, console, host helper) are not the learner’s to take', async () => {
    for (const name of ['web-capture', 'lab-dns', 'console', 'probe-host', `fl-${S}-probe-host`]) {
      const r = await refusal(decide('POST', `${V}/containers/create?name=${name}`, { Image: 'toolbox', HostConfig: { NetworkMode: 'shop' } }));
      expect(r.message, name).toMatch(/is the name of one of Flowlab's own containers in this lab/);
    }
  });

  it('a lab service re-created under its name gets its aliases and the lab’s capabilities back', async () => {
    const f = await decide('POST', `${V}/containers/create?name=web`, { Image: 'toolbox', HostConfig: { NetworkMode: 'shop' } });
    const b = f.body as { HostConfig: { CapAdd: string[] }; NetworkingConfig: { EndpointsConfig: Record<string, { Aliases: string[] }> }; Labels: Record<string, string> };
    expect(b.NetworkingConfig.EndpointsConfig[`fl-${S}-shop`]!.Aliases.sort()).toEqual(['shop.internal', 'web']);
    expect(b.HostConfig.CapAdd).toEqual(['NET_BIND_SERVICE', 'NET_RAW']);
    expect(b.Labels['flowlab.role']).toBe('service');
  });

  it('start, stop and the rest go without a body and are logged as their docker command', async () => {
    for (const [verb, q, line] of [['start', '', `docker start fl-${S}-web`], ['stop', '?t=1', `docker stop --time 1 fl-${S}-web`], ['kill', '?signal=KILL', `docker kill fl-${S}-web`], ['restart', '?t=0', `docker restart --time 0 fl-${S}-web`]] as const) {
      const f = await decide('POST', `${V}/containers/web/${verb}${q}`);
      expect(f).toMatchObject({ method: 'POST', path: `/containers/${'c'.repeat(64)}/${verb}`, record: line, changed: true });
      expect(f.body).toBeUndefined();
    }
  });

  it('a service update forwards Docker’s spec with only the changeable fields taken from the request', async () => {
    const spec = structuredClone(SERVICE_SPEC) as unknown as { TaskTemplate: { ContainerSpec: { Env: string[] } }; Mode: { Replicated: { Replicas: number } } };
    spec.TaskTemplate.ContainerSpec.Env = ['A=1', 'GREETING=hi'];
    spec.Mode.Replicated.Replicas = 3;
    const f = await decide('POST', `${V}/services/api/update?version=7&registryAuthFrom=spec`, spec);
    expect(f.record).toBe(`docker service update --replicas 3 --env-add GREETING=hi fl-${S}-api`);
    expect(violations(f)).toEqual([]);
    expect((f.body as typeof SERVICE_SPEC).TaskTemplate.ContainerSpec.Env).toEqual(['A=1', 'GREETING=hi']);
  });
});

describe('the ways out found on a real engine are refused', () => {
  it('an old API version with a HostConfig on start', async () => {
    const r = await refusal(decide('POST', '/v1.23/containers/web/start', { Binds: ['/:/h'], CapAdd: ['SYS_ADMIN'], PidMode: 'host', SecurityOpt: ['seccomp=unconfined'] }));
    expect(r.message).toMatch(/speaks Docker API 1\.41; \/v1\.23 is older/);
    const sameAtOurs = await refusal(decide('POST', `${V}/containers/web/start`, { Privileged: true }));
    expect(sameAtOurs.message).toMatch(/docker start takes no body/);
  });

  it('keys Docker reads case-insensitively: privileged exec, a second container on connect, hostIp, a log type, service mounts', async () => {
    const cases: [string, string, string, RegExp][] = [
      ['POST', `${V}/containers/web/exec`, '{"Cmd":["true"],"privileged":true}', /differs only in case from Privileged/],
      ['POST', `${V}/networks/shop/connect`, `{"Container":"web","container":"${'9'.repeat(64)}"}`, /differ only in case/],
      ['POST', `${V}/containers/create`, '{"Image":"toolbox","HostConfig":{"NetworkMode":"shop","PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"18000","hostIp":"0.0.0.0","hostPort":"18997"}]}}}', /differ only in case/],
      ['POST', `${V}/containers/create`, '{"Image":"toolbox","HostConfig":{"NetworkMode":"shop","LogConfig":{"Type":"","type":"syslog","Config":{"syslog-address":"udp://192.0.2.1:514"}}}}', /differ only in case/],
      ['POST', `${V}/containers/create`, '{"Image":"toolbox","HostConfig":{"NetworkMode":"shop","LogConfig":{"type":"syslog"}}}', /differs only in case from Type/],
      // A twin is one of the keys at that place: HostConfig has no Type, so "type" there is simply unknown.
      ['POST', `${V}/containers/create`, '{"Image":"toolbox","HostConfig":{"NetworkMode":"shop","type":"x"}}', /sets HostConfig\.type, which the console does not offer/],
      ['POST', `${V}/containers/create`, '{"Image":"toolbox","HostConfig":{"NetworkMode":"shop","ſecurityOpt":["seccomp=unconfined"]}}', /differs only in case from SecurityOpt/],
      ['POST', `${V}/services/api/update?version=3`, JSON.stringify({ ...SERVICE_SPEC, TaskTemplate: { ...SERVICE_SPEC.TaskTemplate, ContainerSpec: { ...SERVICE_SPEC.TaskTemplate.ContainerSpec, mounts: [{ Type: 'bind', Source: '/', Target: '/h' }] } } }), /differ only in case/],
      ['POST', `${V}/services/api/update?version=3`, JSON.stringify({ ...SERVICE_SPEC, TaskTemplate: { ...SERVICE_SPEC.TaskTemplate, ContainerSpec: { Image: 'toolbox', mounts: [{ Type: 'bind', Source: '/', Target: '/h' }] } } }), /mounts, which differs only in case from Mounts/],
    ];
    for (const [m, t, body, why] of cases) {
      const r = await refusal(decide(m, t, body));
      expect(r.message, t).toMatch(why);
      expect(r.status).toBeGreaterThanOrEqual(400);
    }
  });

  it('no namespace of a host-network service or of Flowlab’s host helper is shared, with or without capabilities', async () => {
    for (const target of ['agent', `fl-${S}-probe-host`, 'sidecar']) {
      const r = await refusal(decide('POST', `${V}/containers/create`, { Image: 'toolbox', Cmd: ['iptables', '-S'], HostConfig: { NetworkMode: `container:${target}`, CapAdd: ['NET_ADMIN'] } }));
      expect(r.message).toMatch(/Docker host's own network/);
    }
    // A lab service's own namespace stays shareable: tcpdump next to a service is the console's bread and butter.
    const ok = await decide('POST', `${V}/containers/create`, { Image: 'toolbox', HostConfig: { NetworkMode: 'container:web', CapAdd: ['NET_ADMIN'] } });
    expect((ok.body as { HostConfig: { NetworkMode: string } }).HostConfig.NetworkMode).toBe(`container:${'c'.repeat(64)}`);
  });

  it('nodes are shown without the host’s name, address or engine; node changes are refused', async () => {
    const f = await decide('GET', `${V}/nodes`);
    const out = JSON.parse(f.filter!(Buffer.from(JSON.stringify([{ ID: 'n1', Description: { Hostname: 'secret-host', Engine: { EngineVersion: '20.10' } }, Status: { State: 'ready', Addr: '192.0.2.9' }, Spec: { Role: 'manager', Availability: 'active' }, ManagerStatus: { Leader: true, Addr: '192.0.2.9:2377' } }]))).toString());
    expect(JSON.stringify(out)).not.toMatch(/secret-host|192\.0\.2\.9|20\.10/);
    expect(out[0]).toMatchObject({ ID: 'n1', Status: { State: 'ready' }, Spec: { Role: 'manager' } });
    expect((await refusal(decide('POST', `${V}/nodes/n1/update?version=1`, { Availability: 'drain' }))).status).toBe(403);
  });
});

describe('every variant of every allowed request is refused or holds only allow-listed values', () => {
  const create = (cliBody('create?name=fl-5c7a7c00-b') as Record<string, Json>);
  const bases: BaseRequest[] = [
    { what: 'create', method: 'POST', target: '/containers/create?name=probe', body: { ...create, Labels: {}, HostConfig: { ...(create.HostConfig as Record<string, Json>), NetworkMode: 'shop' }, NetworkingConfig: { EndpointsConfig: { shop: { IPAMConfig: { IPv4Address: '10.88.0.51' }, Aliases: ['yy'] } } } } },
    { what: 'exec', method: 'POST', target: '/containers/web/exec', body: cliBody('/exec') },
    { what: 'connect', method: 'POST', target: '/networks/back/connect', body: { Container: 'web', EndpointConfig: { Aliases: ['x'], IPAMConfig: { IPv4Address: '10.88.0.9' } } } },
    { what: 'disconnect', method: 'POST', target: '/networks/shop/disconnect', body: { Container: 'web', Force: false } },
    { what: 'service update', method: 'POST', target: '/services/api/update?version=3', body: SERVICE_SPEC as unknown as Json },
    ...['start', 'stop?t=1', 'restart', 'kill?signal=KILL', 'pause', 'unpause', 'wait?condition=not-running'].map((v): BaseRequest => ({ what: v, method: 'POST', target: `/containers/web/${v}` })),
    { what: 'inspect', method: 'GET', target: '/containers/web/json' },
    { what: 'list', method: 'GET', target: '/containers/json?all=1' },
    { what: 'remove', method: 'DELETE', target: '/containers/web?force=1' },
  ];
  const all = bases.flatMap((b) => variantsOf(b, V));

  it(`${all.length} variants`, async () => {
    expect(all.length).toBeGreaterThan(400);
    const accepted: string[] = [];
    for (const v of all) {
      let f: Forward;
      try {
        f = await api.decide(v.method, v.target, v.body === undefined ? Buffer.alloc(0) : Buffer.from(v.body));
      } catch (e) {
        expect(e, v.what).toBeInstanceOf(Refusal);
        expect((e as Refusal).message.length, v.what).toBeLessThan(600);
        continue;
      }
      accepted.push(v.what);
      expect(violations(f), v.what).toEqual([]);
    }
    // What may pass: a label whose name happens to be a Docker field (labels are names, not settings).
    expect(accepted.length).toBeGreaterThan(0);
    for (const a of accepted) expect(a, a).toMatch(/Labels with [A-Za-z_]+$/);
  });
});

describe("a lab's own nodes", () => {
  const NODES: { id: string; hostname: string; role: 'manager' | 'worker'; availability: string; labels: Record<string, string> }[] = [
    { id: 'nodeaaaa1111', hostname: 'manager-1', role: 'manager', availability: 'active', labels: {} },
    { id: 'nodebbbb2222', hostname: 'worker-1', role: 'worker', availability: 'active', labels: { zone: 'a' } },
  ];
  const own = new ScopedApi({ ...engine, listNodes: async () => structuredClone(NODES) }, { ...policy, ownNodes: true }, 'secret', { socketPath: '/nonexistent' });
  const ask = (method: string, target: string, body?: unknown) => own.decide(method, target, body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body)));

  it('lists and inspects them as they are, by id or hostname', async () => {
    expect(await ask('GET', `${V}/nodes`)).toMatchObject({ method: 'GET', path: '/nodes' });
    expect((await ask('GET', `${V}/nodes`)).filter).toBeUndefined();
    expect(await ask('GET', `${V}/nodes/worker-1`)).toMatchObject({ path: '/nodes/nodebbbb2222' });
    expect((await refusal(ask('GET', `${V}/nodes/worker-9`))).status).toBe(404);
  });

  it('forwards an availability or label change it rebuilds itself, recorded as the docker command', async () => {
    const f = await ask('POST', `${V}/nodes/worker-1/update?version=12`, { Name: '', Labels: { zone: 'b', tier: 'x' }, Role: 'worker', Availability: 'drain' });
    expect(f).toMatchObject({ method: 'POST', path: '/nodes/nodebbbb2222/update', query: { version: '12' }, body: { Labels: { zone: 'b', tier: 'x' }, Role: 'worker', Availability: 'drain' }, changed: true });
    expect(f.record).toBe('docker node update --availability drain --label-add zone=b --label-add tier=x worker-1');
    expect((await ask('POST', `${V}/nodes/worker-1/update?version=12`, { Labels: {}, Role: 'worker', Availability: 'active' })).record).toBe('docker node update --label-rm zone worker-1');
  });

  it('refuses a role change, a removal, an unknown key and an update without its version', async () => {
    expect((await refusal(ask('POST', `${V}/nodes/worker-1/update?version=3`, { Labels: {}, Role: 'manager', Availability: 'active' }))).message).toMatch(/stays a worker/);
    expect((await refusal(ask('DELETE', `${V}/nodes/worker-1`))).message).toMatch(/cannot be removed/);
    expect((await refusal(ask('POST', `${V}/nodes/worker-1/update?version=3`, { Labels: {}, Role: 'worker', Availability: 'active', Engine: {} }))).message).toMatch(/does not offer/);
    expect((await refusal(ask('POST', `${V}/nodes/worker-1/update`, { Labels: {}, Role: 'worker', Availability: 'active' }))).status).toBe(400);
  });

  it('changes nothing of a swarm that is not the lab\'s own', async () => {
    expect((await refusal(decide('POST', `${V}/nodes/worker-1/update?version=3`, { Labels: {}, Role: 'worker', Availability: 'drain' }))).message).toMatch(/Docker host's/);
  });
});
