// Runs after every other test file: nothing any test made may be left on the daemon, even when a
// test failed mid-way. A leak is a bug to fix; this cleans up so the next run starts clean.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LABEL } from '../server/docker/labels.ts';
import { docker } from './helpers.ts';

const TEST_REGISTRY_PREFIX = join(tmpdir(), 'flowlab-test-');

describe('after all tests', () => {
  it('no Docker object made by a test is left behind', async () => {
    const labels = { [LABEL.managed]: 'true' };
    const fromTests = <T extends { labels: Record<string, string> }>(xs: T[]) => xs.filter((x) => (x.labels[LABEL.registry] ?? '').startsWith(TEST_REGISTRY_PREFIX));
    const services = fromTests(await docker.listServices(labels));
    const containers = fromTests(await docker.listContainers(labels));
    const networks = fromTests(await docker.listNetworks(labels));
    const leaked = [...services, ...containers, ...networks].map((o) => o.name);
    for (const s of services) await docker.removeService(s.id).catch(() => undefined);
    for (const c of containers) await docker.removeContainer(c.id).catch(() => undefined);
    for (const n of networks) await docker.removeNetwork(n.id).catch(() => undefined);
    expect(leaked).toEqual([]);
  });
});
