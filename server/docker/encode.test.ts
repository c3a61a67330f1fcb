// What every container and service Flowlab makes is sent with: the locked-down defaults hold
// whatever the spec says.
import { describe, expect, it } from 'vitest';
import { containerCreateOptions, serviceCreateOptions } from './encode.ts';
import type { ContainerSpec, SwarmServiceSpec } from './specs.ts';

const spec: ContainerSpec = {
  name: 'fl-abcd1234-web', image: 'flowlab/toolbox:latest', command: ['lab-serve', 'http'], env: ['A=1'], labels: { 'flowlab.managed': 'true' },
  network: { kind: 'networks', endpoints: [{ network: 'fl-abcd1234-front', aliases: ['web'] }, { network: 'fl-abcd1234-back', aliases: [] }] },
  ports: [{ hostIp: '127.0.0.1', hostPort: 20001, containerPort: 80, proto: 'tcp' }], exposed: [{ port: 81, proto: 'tcp' }],
  dns: ['10.88.0.2'], dnsSearch: [], dnsOptions: [], extraHosts: [], capAdd: ['NET_RAW'], capDrop: ['ALL'], readOnly: true, tmpfs: { '/tmp': 'rw' },
  memoryBytes: 128 << 20, nanoCpus: 5e8, pidsLimit: 128, init: true,
} as ContainerSpec;

describe('create options', () => {
  it('a container: never privileged, no-new-privileges, limits, a bounded log, its first network at create time', () => {
    const o = containerCreateOptions(spec);
    expect(o.HostConfig).toMatchObject({ Privileged: false, SecurityOpt: ['no-new-privileges'], CapDrop: ['ALL'], CapAdd: ['NET_RAW'], Memory: 128 << 20, MemorySwap: 128 << 20, PidsLimit: 128, ReadonlyRootfs: true, NetworkMode: 'fl-abcd1234-front', LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } }, PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '20001' }] } });
    expect(Object.keys(o.NetworkingConfig?.EndpointsConfig ?? {})).toEqual(['fl-abcd1234-front']);
    expect(o.ExposedPorts).toEqual({ '80/tcp': {}, '81/tcp': {} });
    expect(JSON.stringify(o)).not.toMatch(/Binds|Mounts|Devices/);
  });

  it('a container sharing another’s namespace, or on the default bridge', () => {
    expect(containerCreateOptions({ ...spec, network: { kind: 'container', container: 'abc' } }).HostConfig?.NetworkMode).toBe('container:abc');
    expect(containerCreateOptions({ ...spec, network: { kind: 'default-bridge' } }).HostConfig?.NetworkMode).toBe('bridge');
  });

  it('a swarm service: tmpfs only, limits, restarts bounded', () => {
    const o = serviceCreateOptions({ name: 'fl-abcd1234-api', image: 'flowlab/toolbox:latest', env: [], labels: {}, readOnly: true, capAdd: [], capDrop: ['ALL'], dns: [], tmpfs: { '/tmp': 'rw' }, memoryBytes: 64 << 20, nanoCpus: 5e8, pidsLimit: 64, networks: [{ network: 'n', aliases: ['api'] }], replicas: 2, endpointMode: 'dnsrr' } as unknown as SwarmServiceSpec);
    const template = o.TaskTemplate as { ContainerSpec?: { Mounts?: unknown }; Resources?: { Limits?: unknown } };
    expect(template.ContainerSpec?.Mounts).toEqual([{ Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 16 * 1024 * 1024 } }]);
    expect(template.Resources?.Limits).toEqual({ MemoryBytes: 64 << 20, NanoCPUs: 5e8, Pids: 64 });
    expect(o.EndpointSpec).toEqual({ Mode: 'dnsrr' });
  });
});
