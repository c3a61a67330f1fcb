// Before the tests: the daemon must answer (npm test's set-up makes sure of it).
import { DockerRuntime, dockerEndpoint } from '../server/docker/runtime.ts';

export async function setup(): Promise<void> {
  try {
    await new DockerRuntime().ping();
  } catch {
    throw new Error(`the tests need a Docker engine at ${dockerEndpoint()}; run npm test (its set-up installs and starts one as root) or flowlab doctor --fix`);
  }
}
