// The Docker layer's error rules, against an engine that is not there (a socket nobody listens on):
// a daemon that does not answer is an error, never "the container stopped" or "it is absent".
import { describe, expect, it } from 'vitest';
import { DockerError, dockerFailed } from './errors.ts';
import { DockerRuntime } from './runtime.ts';

function unreachable(): DockerRuntime {
  const before = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = 'unix:///nonexistent/flowlab-test.sock';
  try {
    return new DockerRuntime();
  } finally {
    if (before === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = before;
  }
}

describe('DockerRuntime without an engine', () => {
  it('fails reads that mean "absent" on 404 with the reason, instead of saying absent', async () => {
    const rt = unreachable();
    await expect(rt.containerPid('web')).rejects.toThrow(/docker inspect web failed: Docker is not reachable \(ENOENT\)/);
    await expect(rt.inspectContainer('web')).rejects.toBeInstanceOf(DockerError);
    await expect(rt.inspectNetwork('net')).rejects.toThrow(/docker network inspect net failed/);
    await expect(rt.serviceSpec('svc')).rejects.toThrow(/docker service inspect svc failed/);
    await expect(rt.imageInfo('flowlab/toolbox')).rejects.toThrow(/docker image inspect flowlab\/toolbox failed/);
  });

  it('names what a Docker failure was about from the engine’s message, once', () => {
    expect(dockerFailed(new DockerError('docker network create x failed: Pool overlaps with other one on this address space', 403), 'subnet-overlap')).toBe(true);
    expect(dockerFailed(new DockerError('docker rm --force x failed: removal of container x is already in progress', 409), 'removal-in-progress')).toBe(true);
    expect(dockerFailed(new DockerError('docker start x failed: Bind for 127.0.0.1:8080 failed: port is already allocated', 500), 'port-taken')).toBe(true);
    expect(dockerFailed(new DockerError('docker start x failed: Error starting userland proxy: listen tcp4 127.0.0.1:44405: bind: address already in use', 500), 'port-taken')).toBe(true);
    expect(dockerFailed(new DockerError('docker network rm n failed: error while removing network: network n has active endpoints', 403), 'in-use')).toBe(true);
    expect(dockerFailed(new Error('Pool overlaps'), 'subnet-overlap')).toBe(false);
  });
});
