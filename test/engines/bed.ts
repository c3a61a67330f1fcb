// A test bed of real Docker engines: each a dockerd in a container of the outer engine, on TCP
// with TLS certificates made here, its storage on a volume, on a network of its own. They are test
// infrastructure (labelled flowlab.testbed=<id>, never flowlab.managed: Flowlab's sweep leaves
// them alone) and go, volumes and network included, when the bed stops — or at the next test
// set-up when a run was killed. Lab images reach them with docker save | docker load.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dockerFor } from '../../server/docker/connect.ts';
import type { DockerRuntime } from '../../server/docker/runtime.ts';
import { makeCerts, type EngineCerts } from './certs.ts';

const run = promisify(execFile);
export const ENGINE_NODE_IMAGE = 'flowlab/engine-node:test';
export const TESTBED_LABEL = 'flowlab.testbed';

export interface BedEngine {
  name: string;
  container: string;
  ip: string;
  url: string;
  /** The same engine over ssh (root, the bed's key: `sshKey`). */
  sshUrl: string;
  /** What `flowlab engines add --tls-dir` is given. */
  tlsDir: string;
}

export class EngineBed {
  readonly engines: BedEngine[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'flowlab-bed-'));
  readonly id = `${process.pid}-${Date.now().toString(36)}`;
  private certs?: EngineCerts;

  /** The private key the bed's engines let in over ssh (its .pub is their authorized_keys). */
  get sshKey(): string {
    return join(this.dir, 'id_ed25519');
  }

  private get network(): string {
    return `flowlab-bed-${this.id}`;
  }

  /** Starts `n` engines and waits until each answers over TLS. */
  static async start(n: number): Promise<EngineBed> {
    const bed = new EngineBed();
    try {
      await bed.up(n);
    } catch (e) {
      await bed.stop();
      throw e;
    }
    return bed;
  }

  private async up(n: number): Promise<void> {
    const label = `${TESTBED_LABEL}=${this.id}`;
    // Fixed addresses (the certificates name them) need a subnet of our own: outside Docker's
    // default pools and Flowlab's lab pool; the next one when another network has it.
    let prefix = '';
    for (let i = 0; !prefix; i++) {
      const candidate = `10.89.${(process.pid + i * 37) % 250}`;
      try {
        await run('docker', ['network', 'create', '--label', label, '--subnet', `${candidate}.0/24`, this.network]);
        prefix = candidate;
      } catch (e) {
        if (i > 20 || !/overlap|in use/i.test(String((e as { stderr?: string }).stderr))) throw e;
      }
    }
    const nodes = Array.from({ length: n }, (_, i) => ({ name: `node-${i + 1}`, container: `flowlab-bed-${this.id}-node-${i + 1}`, ip: `${prefix}.${10 + i}` }));
    this.certs = makeCerts(this.dir, nodes.map((x) => x.ip));
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `flowlab-bed-${this.id}`, '-f', this.sshKey]);
    copyFileSync(`${this.sshKey}.pub`, join(this.certs.serverDir, 'authorized_keys'));
    await Promise.all(nodes.map(async (x) => this.engines.push({ ...x, url: await this.create(x), sshUrl: `ssh://root@${x.ip}`, tlsDir: this.certs!.clientDir })));
    this.engines.sort((a, b) => a.name.localeCompare(b.name));
    await Promise.all(this.engines.map((e) => this.answers(e)));
  }

  /** Makes and starts one engine's container, its storage on a fresh volume; its URL. */
  private async create(x: { name: string; container: string; ip: string }): Promise<string> {
    const label = `${TESTBED_LABEL}=${this.id}`;
    await run('docker', ['volume', 'create', '--label', label, `${x.container}-data`]);
    await run('docker', [
      'create', '--name', x.container, '--label', label, '--hostname', x.name,
      '--network', this.network, '--ip', x.ip,
      // Not --privileged (refused on these hosts): every capability but SYS_RESOURCE, no profiles.
      '--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE', '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined',
      '--tmpfs', '/run', '-v', `${x.container}-data:/var/lib/docker`,
      ENGINE_NODE_IMAGE,
    ]);
    await run('docker', ['cp', `${this.certs!.serverDir}/.`, `${x.container}:/certs`]);
    await run('docker', ['start', x.container]);
    return `tcp://${x.ip}:2376`;
  }

  /** Kills an engine as a machine losing power does (its containers die with it). */
  async kill(e: BedEngine): Promise<void> {
    await run('docker', ['kill', e.container]);
  }

  /** Starts a killed engine again: its dockerd comes back with its storage, and the containers it had stopped. */
  async start(e: BedEngine): Promise<void> {
    await run('docker', ['start', e.container]);
    await this.answers(e);
  }

  /** Replaces an engine with a fresh one at the same address: nothing of what it held is there. */
  async replace(e: BedEngine): Promise<void> {
    await run('docker', ['rm', '-f', '-v', e.container]);
    await run('docker', ['volume', 'rm', '-f', `${e.container}-data`]);
    await this.create(e);
    await this.answers(e);
  }

  /** Waits until the engine answers a ping over TLS. */
  async answers(e: BedEngine, timeoutMs = 60_000): Promise<void> {
    const docker = dockerFor({ url: e.url, tlsDir: e.tlsDir }, 3000);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await docker.ping();
        return;
      } catch (err) {
        if (Date.now() > deadline) {
          const logs = await run('docker', ['logs', '--tail', '30', e.container]).then((r) => r.stdout + r.stderr, () => '');
          throw new Error(`test engine ${e.name} did not answer at ${e.url} within ${timeoutMs / 1000} s: ${(err as Error).message}\n${logs}`, { cause: err });
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** The docker CLI's environment for an engine of the bed. */
  env(e: BedEngine): NodeJS.ProcessEnv {
    return { ...process.env, DOCKER_HOST: e.url, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: e.tlsDir };
  }

  /** Copies images of the outer engine into an engine of the bed (no registry). */
  async load(e: BedEngine, images: string[]): Promise<void> {
    // `docker save` reads the outer engine, `docker load` writes the bed's.
    await run('sh', ['-c', `docker save ${images.join(' ')} | DOCKER_HOST=${e.url} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=${e.tlsDir} docker load`], { maxBuffer: 1 << 20 });
  }

  /** Freezes an engine (it stops answering, as a hung machine does) and thaws it. */
  async pause(e: BedEngine): Promise<void> {
    await run('docker', ['pause', e.container]);
  }

  async unpause(e: BedEngine): Promise<void> {
    await run('docker', ['unpause', e.container]);
    await this.answers(e);
  }

  /** Removes every engine of the bed, their volumes and the network. */
  async stop(): Promise<void> {
    await removeTestbeds(this.id);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Removes test-bed containers, volumes and networks by label: one bed's, or those of every run that is gone (killed mid-test). */
export async function removeTestbeds(id?: string): Promise<void> {
  const list = async (args: string[], field = '.ID') =>
    (await run('docker', [...args, '--filter', `label=${TESTBED_LABEL}${id ? `=${id}` : ''}`, '--format', `{{${field}}} {{.Label "${TESTBED_LABEL}"}}`])).stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' '))
      .filter(([, bed]) => id !== undefined || !alive(Number(bed?.split('-')[0])))
      .map(([objectId]) => objectId!);
  const containers = await list(['ps', '-a']);
  if (containers.length) await run('docker', ['rm', '-f', '-v', ...containers]);
  const volumes = await list(['volume', 'ls'], '.Name');
  if (volumes.length) await run('docker', ['volume', 'rm', '-f', ...volumes]);
  const networks = await list(['network', 'ls']);
  if (networks.length) await run('docker', ['network', 'rm', ...networks]);
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Builds the engine-node image from the lab images' Debian base, unless it is there for these files already. */
export async function ensureEngineNodeImage(rt: DockerRuntime, base: string, dir: string): Promise<'built' | 'present'> {
  const hash = `${createHash('sha256').update(readFileSync(join(dir, 'Dockerfile'))).update(readFileSync(join(dir, 'flowlab-engine-node'))).digest('hex').slice(0, 16)}:${base}`;
  const have = await run('docker', ['image', 'inspect', ENGINE_NODE_IMAGE, '--format', '{{index .Config.Labels "flowlab.content"}}']).then((r) => r.stdout.trim(), () => '');
  if (have === hash) return 'present';
  await rt.buildImage(dir, ENGINE_NODE_IMAGE, { buildArgs: { BASE: base }, labels: { 'flowlab.content': hash } });
  return 'built';
}
