// Faults as labs declare them: applied once the lab is healthy, one variant drawn per session
// from its seed and kept as ground truth; labs that need a missing kernel feature refused before
// they start; and a process killed in the middle of a fault leaves nothing a sweep cannot clean.
import { afterAll, describe, expect, it } from 'vitest';
import { kernelFeatures } from '../server/env/kernel.ts';
import { Faults } from '../server/fault/faults.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { Prober } from '../server/probe/prober.ts';
import { chooseVariant } from '../server/session/variant.ts';
import { cli, docker, expectGone, labContainers, leftovers, none, sleep, startCli, testApp, writeLab } from './helpers.ts';

const app = testApp();
afterAll(() => app.dispose());

const shop = writeLab(
  app.dataDir,
  'shop',
  `networks: { storefront: {} }
services:
  shop: { image: toolbox, command: "lab-serve http --port 8080", networks: [storefront], ports: ["auto:8080"] }
  checkout: { image: toolbox, networks: [storefront] }
probes:
  - { from: host, to: "http://localhost:\${shop.ports.8080}/" }
  - { from: checkout, to: "http://shop:8080/" }
diagnosis:
  question: Why?
  causes: [{ id: bound-loopback, text: a }, { id: mapping-wrong-port, text: b }]
variants:
  - { id: loopback, faults: [{ type: bind-loopback, service: shop, port: 8080 }], answer: { cause: bound-loopback, culprit: shop } }
  - { id: wrong-target-port, faults: [{ type: port-mismatch, service: shop, port: 8080, to: 8081 }], answer: { cause: mapping-wrong-port, culprit: shop } }
`,
);

describe('variants', () => {
  it('each session gets the variant its seed draws, applied once the lab is healthy, kept as ground truth', async () => {
    const entry = loadLab(shop);
    const seedFor = (id: string) => [...Array(100).keys()].find((s) => chooseVariant(entry.lab, s)?.id === id)!;
    const [a, b] = await Promise.all([app.engine.up(entry, { seed: seedFor('loopback') }), app.engine.up(entry, { seed: seedFor('wrong-target-port') })]);
    try {
      expect(app.engine.store.get(a.session)?.variant).toBe('loopback');
      expect(app.engine.store.get(b.session)?.variant).toBe('wrong-target-port');
      const fa = new Faults(app.engine.live(a.session)).list();
      expect(fa.map((f) => [f.type, f.origin, f.state])).toEqual([['bind-loopback', 'variant', 'applied']]);
      expect(new Faults(app.engine.live(b.session)).list().map((f) => f.type)).toEqual(['port-mismatch']);

      const probe = async (session: string) => (await new Prober(app.engine.live(session)).run(loadLab(shop).lab.probes)).map((r) => r.status);
      const [pa, pb] = await Promise.all([probe(a.session), probe(b.session)]);
      expect(['empty-reply', 'reset']).toContain(pa[0]);
      expect(pa[1]).toBe('refused');
      expect(['empty-reply', 'reset']).toContain(pb[0]);
      expect(pb[1]).toBe('ok'); // the one probe that tells the two causes apart

      // Nothing a learner sees names the variant.
      const visible = JSON.stringify([app.engine.status(a.session), app.engine.store.actions(a.session, { includeRevealing: false })]);
      expect(visible).not.toMatch(/loopback|wrong-target-port|127\.0\.0\.1 |rebind/);
      for (const c of await docker.listContainers({ 'flowlab.session': a.session })) expect(JSON.stringify(c.labels)).not.toMatch(/loopback|variant|fault/);
    } finally {
      await Promise.all([app.engine.down(a.session), app.engine.down(b.session)]);
    }
  });

  it('refuses, before anything starts, a lab whose faults need a kernel feature this machine lacks', async () => {
    const lab = writeLab(app.dataDir, 'slow', `networks: { n: {} }\nservices:\n  a: { image: toolbox, networks: [n] }\nfaults: [{ type: latency, service: a, delay: 300ms }]\n`);
    if (kernelFeatures().netem !== false) return; // this kernel has netem: the lab may run
    const before = await leftovers();
    await expect(app.engine.up(loadLab(lab))).rejects.toThrow(/cannot run on engine local: latency faults need the kernel's netem/);
    expect((await leftovers()).containers.length).toBe(before.containers.length);
  });
});

async function waitForHelper(session: () => string | undefined, timeoutMs = 90_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const id = session();
    if (id && (await docker.listContainers({ 'flowlab.session': id, 'flowlab.role': 'helper' })).length > 0) return true;
    await sleep(10);
  }
  return false;
}

describe('kill -9 in the middle of a fault, then sweep', () => {
  it('during up: the whole half-broken lab goes, helpers included', async () => {
    const lab = writeLab(
      app.dataDir,
      'breaking',
      `networks: { n: {} }
services:
  a: { image: toolbox, command: "lab-serve http --port 80", networks: [n], expose: [80] }
  b: { image: toolbox, networks: [n] }
faults:
  - { type: firewall, service: a, port: 80 }
  - { type: packet-loss, service: a, probability: 0.5, direction: out }
  - { type: bandwidth, service: a, rate: 1mbit }
  - { type: mtu, service: a, mtu: 1400 }
`,
    );
    const up = startCli(['up', lab], { FLOWLAB_DATA: app.dataDir });
    let session: string | undefined;
    const poll = setInterval(() => {
      session ??= app.engine.store.list(['starting']).at(-1)?.id;
    }, 5);
    try {
      expect(await waitForHelper(() => session)).toBe(true);
    } finally {
      clearInterval(poll);
      up.kill('SIGKILL');
      await new Promise((r) => up.once('close', r));
    }
    const sweep = await cli(['sweep', '--json'], { FLOWLAB_DATA: app.dataDir });
    expect(sweep.code, sweep.stderr).toBe(0);
    expect(await expectGone(session!)).toEqual(none);
    expect(app.engine.store.get(session!)?.state).toBe('failed');
  });

  it('on a live lab: the helper and the tagged rules go, the lab stays and works', async () => {
    const topo = await app.engine.up(loadLab('bridge-basics'));
    try {
      const apply = startCli(['fault', topo.session, 'apply', 'firewall', 'service=web', 'port=80'], { FLOWLAB_DATA: app.dataDir });
      try {
        expect(await waitForHelper(() => topo.session)).toBe(true);
      } finally {
        apply.kill('SIGKILL');
        await new Promise((r) => apply.once('close', r));
      }
      const sweep = await cli(['sweep', '--json'], { FLOWLAB_DATA: app.dataDir });
      expect(sweep.code, sweep.stderr).toBe(0);
      expect(await docker.listContainers({ 'flowlab.session': topo.session, 'flowlab.role': 'helper' })).toEqual([]);
      const live = app.engine.live(topo.session);
      expect((await live.inNamespace('web', 'iptables -S')).stdout).not.toContain('flowlab:');
      expect(new Faults(live).list().every((f) => f.state === 'failed' || f.state === 'reverted')).toBe(true);
      expect((await labContainers(topo.session)).length).toBe(5);
      const [r] = await new Prober(live).run([{ from: 'client', to: 'http://web:80/' }]);
      expect(r!.status).toBe('ok');
    } finally {
      await app.engine.down(topo.session);
    }
  });
});
