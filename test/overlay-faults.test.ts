// Faults on overlay labs: a swarm service's endpoint mode, an overlay that stops taking
// containers, a swarm service scaled to nothing — each reverted to a healthy lab.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Faults, faultFromWords } from '../server/fault/faults.ts';
import { FaultError } from '../server/fault/types.ts';
import { kernelFeatures } from '../server/env/kernel.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { Prober } from '../server/probe/prober.ts';
import { docker, testApp, writeLab } from './helpers.ts';

const run = promisify(execFile);
const app = testApp();
let session = '';
beforeAll(async () => {
  const lab = writeLab(
    app.dataDir,
    'mesh',
    `networks:
  mesh: { driver: overlay, attachable: true }
services:
  web: { image: toolbox, command: "lab-serve http --port 8080", networks: [mesh], expose: [8080], deploy: { replicas: 2, endpoint_mode: dnsrr } }
  client: { image: toolbox, networks: [mesh] }
`,
    'overlay',
  );
  session = (await app.engine.up(loadLab(lab), { initSwarm: true })).session;
});
afterAll(() => app.dispose());

const probe = async () => {
  const [dns, http] = await new Prober(app.engine.live(session)).run([
    { from: 'client', to: 'dns:web' },
    { from: 'client', to: 'http://web:8080/' },
  ]);
  return { dns: dns!, http: http! };
};

async function withFault(words: string, check: () => Promise<void>): Promise<void> {
  const [type, ...params] = words.split(' ');
  const faults = new Faults(app.engine.live(session));
  const f = await faults.apply(faultFromWords(type!, params));
  try {
    await check();
  } finally {
    expect((await new Faults(app.engine.live(session)).revert(f.id)).state).toBe('reverted');
  }
  // Swarm settles in the background: give DNS a moment to list both tasks again.
  for (let i = 0; i < 40; i++) {
    const { dns, http } = await probe();
    if (dns.answers.length === 2 && http.status === 'ok') return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the lab did not become healthy after the revert');
}

describe('overlay faults', () => {
  it('starts healthy: the dnsrr name answers with both tasks', async () => {
    const { dns, http } = await probe();
    expect(dns.answers.length).toBe(2);
    expect(http.status).toBe('ok');
  });

  it('endpoint-mode: dnsrr -> vip is refused on a kernel without IPVS, with the reason, and the lab stays as it was', async () => {
    if (kernelFeatures().ipvs !== false) return; // this kernel has IPVS (or cannot tell): the next case applies it
    const faults = new Faults(app.engine.live(session));
    const err = await faults.apply(faultFromWords('endpoint-mode', ['service=web', 'mode=vip'])).catch((e: FaultError) => e);
    expect(err).toBeInstanceOf(FaultError);
    expect((err as FaultError).message).toMatch(/cannot apply endpoint-mode on engine local: swarm services in VIP mode .* need IPVS/);
    expect((err as FaultError).kind).toBe('unavailable');
    expect(faults.list()).toEqual([]);
    expect((await probe()).dns.answers.length).toBe(2);
  });

  it('endpoint-mode: dnsrr -> vip makes the name answer with one virtual IP (where the kernel has IPVS)', async () => {
    if (kernelFeatures().ipvs === false) return; // refused above
    await withFault('endpoint-mode service=web mode=vip', async () => {
      let answers: string[] = [];
      for (let i = 0; i < 20 && answers.length !== 1; i++) {
        answers = (await probe()).dns.answers;
        if (answers.length !== 1) await new Promise((r) => setTimeout(r, 500));
      }
      expect(answers.length).toBe(1);
    });
  });

  it('settle waits for a rolling update to finish and every task to run', async () => {
    const name = `fl-${session}-web`;
    await run('docker', ['service', 'update', '--detach', '--env-add', 'ROLLED=1', '--update-delay', '1s', name]);
    const live = app.engine.live(session);
    await live.settle();
    const state = JSON.parse((await run('docker', ['service', 'inspect', '--format', '{{json .UpdateStatus}}', name], { encoding: 'utf8' })).stdout) as { State?: string } | null;
    expect(['completed', undefined]).toContain(state?.State);
    const tasks = (await docker.serviceTasks(name)).filter((t) => t.desired === 'running');
    expect(tasks.map((t) => t.state)).toEqual(['running', 'running']);
  });

  it('stop on a swarm service scales it to nothing', async () => {
    await withFault('stop service=web', async () => {
      for (let i = 0; i < 20; i++) {
        if ((await docker.serviceTasks(`fl-${session}-web`)).every((t) => t.state !== 'running')) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const { dns } = await probe();
      expect(['nxdomain', 'servfail']).toContain(dns.status);
    });
  });

  it('a spread probe sees both tasks answer; replicas scales to one and every request lands there', async () => {
    const spread = async () => (await new Prober(app.engine.live(session)).run([{ from: 'client', to: 'spread:http://web:8080/' }]))[0]!;
    const before = await spread();
    expect(before.status).toBe('ok');
    expect(before.answers).toHaveLength(2);
    await withFault('replicas service=web replicas=1', async () => {
      const during = await spread();
      expect(during.status).toBe('one-backend');
      expect(during.answers).toEqual([expect.stringMatching(/^[0-9a-f]{12} ×12$/)]);
      expect((await docker.serviceInfo(`fl-${session}-web`))?.replicas).toBe(1);
    });
    expect((await spread()).status).toBe('ok');
  });

  it('non-attachable: the overlay is re-created without --attachable and the container cannot re-join', async () => {
    await withFault('non-attachable network=mesh', async () => {
      const f = new Faults(app.engine.live(session)).list().find((x) => x.type === 'non-attachable' && x.state === 'applied')!;
      expect((f.undo as { refused: string[] }).refused.sort()).toEqual([`fl-${session}-client`, `fl-${session}-lab-dns`]);
      const client = await docker.inspectContainer(`fl-${session}-client`);
      expect(Object.keys(client!.networks)).not.toContain(`fl-${session}-mesh`);
      await expect(docker.connect(`fl-${session}-mesh`, `fl-${session}-client`, { aliases: [] })).rejects.toThrow(/not manually attachable/);
    });
  });
});
