// The docker commands the action log shows: what a trainer can paste into a shell to do the same
// thing, quoted so the shell reads them as written.
import { describe, expect, it } from 'vitest';
import { commandLine, containerCreate, networkConnect, networkCreate, serviceCreate, shellQuote, simple } from './cli.ts';
import type { ContainerSpec, SwarmServiceSpec } from './specs.ts';

describe('CLI equivalents', () => {
  it('quote only what a shell would read otherwise', () => {
    expect(shellQuote('fl-abcd1234-web')).toBe('fl-abcd1234-web');
    expect(shellQuote('127.0.0.1:8080:80/tcp')).toBe('127.0.0.1:8080:80/tcp');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('lab-serve http --port 80')).toBe("'lab-serve http --port 80'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(commandLine(['sh', '-c', 'echo $HOME; rm -rf /'])).toBe("sh -c 'echo $HOME; rm -rf /'");
  });

  it('a container: its network and first aliases, ports on 127.0.0.1, dropped capabilities, limits, labels', () => {
    const spec = {
      name: 'fl-abcd1234-web', image: 'flowlab/toolbox:latest', command: ['lab-serve', 'http', '--port', '80'], env: ['A=b c'], labels: { 'flowlab.session': 'abcd1234' },
      network: { kind: 'networks', endpoints: [{ network: 'fl-abcd1234-front', aliases: ['web', 'www'], ipv4Address: '10.88.0.5' }] },
      ports: [{ hostIp: '127.0.0.1', hostPort: 20001, containerPort: 80, proto: 'tcp' }], exposed: [], dns: ['10.88.0.254'], dnsSearch: [], dnsOptions: [], extraHosts: [],
      capAdd: ['NET_RAW'], capDrop: ['ALL'], readOnly: true, tmpfs: { '/tmp': 'rw,size=16m' }, memoryBytes: 128 << 20, nanoCpus: 5e8, pidsLimit: 128, init: true,
    } as ContainerSpec;
    expect(containerCreate(spec)).toBe(
      "docker create --name fl-abcd1234-web --network fl-abcd1234-front --network-alias web --network-alias www --ip 10.88.0.5 --publish 127.0.0.1:20001:80/tcp --dns 10.88.0.254 --env 'A=b c' --cap-drop ALL --cap-add NET_RAW --security-opt no-new-privileges --read-only --tmpfs /tmp:rw,size=16m --memory 128m --cpus 0.5 --pids-limit 128 --init --label flowlab.session=abcd1234 flowlab/toolbox:latest lab-serve http --port 80",
    );
    expect(containerCreate({ ...spec, network: { kind: 'container', container: 'fl-abcd1234-api' } })).toContain('--network container:fl-abcd1234-api');
  });

  it('a network, a connect, a swarm service, the simple ones', () => {
    expect(networkCreate({ name: 'fl-abcd1234-back', driver: 'bridge', subnet: '10.88.3.0/24', internal: true, attachable: false, options: { 'com.docker.network.bridge.enable_icc': 'false' }, labels: {} })).toBe(
      'docker network create --driver bridge --subnet 10.88.3.0/24 --internal --opt com.docker.network.bridge.enable_icc=false fl-abcd1234-back',
    );
    expect(networkConnect('fl-abcd1234-back', 'fl-abcd1234-api', { aliases: ['api.internal'], ipv4Address: '10.88.3.9' })).toBe('docker network connect --alias api.internal --ip 10.88.3.9 fl-abcd1234-back fl-abcd1234-api');
    const svc = serviceCreate({ name: 'fl-abcd1234-web', image: 'flowlab/toolbox:latest', replicas: 2, endpointMode: 'dnsrr', networks: [{ network: 'fl-abcd1234-mesh', aliases: ['web'] }], dns: [], dnsOptions: ['attempts:2'], env: [], capDrop: ['ALL'], capAdd: [], readOnly: false, tmpfs: {}, memoryBytes: 64 << 20, nanoCpus: 5e8, pidsLimit: 64, labels: {} } as unknown as SwarmServiceSpec);
    expect(svc).toBe('docker service create --detach --name fl-abcd1234-web --replicas 2 --endpoint-mode dnsrr --network=name=fl-abcd1234-mesh,alias=web --dns-option attempts:2 --cap-drop ALL --limit-memory 64m --limit-cpu 0.5 --limit-pids 64 --init flowlab/toolbox:latest');
    expect(simple.exec('fl-abcd1234-api', ['ss', '-ltn'])).toBe('docker exec fl-abcd1234-api ss -ltn');
    expect(simple.build('flowlab/toolbox:latest', 'images/toolbox', { BASE: 'flowlab/base:bookworm' })).toBe('docker build --tag flowlab/toolbox:latest --build-arg BASE=flowlab/base:bookworm images/toolbox');
  });
});
