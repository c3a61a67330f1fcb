// What tests and benches both ask the machine: which Docker objects Flowlab left (by label), and
// a free TCP port on loopback.
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { LABEL } from '../../server/docker/labels.ts';
import { DockerRuntime } from '../../server/docker/runtime.ts';

export interface Leftovers {
  containers: string[];
  networks: string[];
  services: string[];
}

const docker = new DockerRuntime();

/** Objects labelled flowlab.managed=true: all, one session's, or one data directory's. */
export async function leftovers(of: { session?: string; registry?: string } = {}): Promise<Leftovers> {
  const labels: Record<string, string> = {
    [LABEL.managed]: 'true',
    ...(of.session ? { [LABEL.session]: of.session } : {}),
    ...(of.registry ? { [LABEL.registry]: resolve(of.registry) } : {}),
  };
  const [containers, networks, services] = await Promise.all([docker.listContainers(labels), docker.listNetworks(labels), docker.listServices(labels)]);
  return { containers: containers.map((c) => c.name), networks: networks.map((n) => n.name), services: services.map((s) => s.name) };
}

/** A data directory's containers: how many there are, and how many of them run. */
export async function containerStates(registry: string): Promise<{ all: number; running: number }> {
  const list = await docker.listContainers({ [LABEL.managed]: 'true', [LABEL.registry]: resolve(registry) });
  return { all: list.length, running: list.filter((c) => c.state === 'running').length };
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}
