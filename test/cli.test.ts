// The flowlab command as scripts use it: names, exit codes and JSON shapes are a contract.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PROJECT_ROOT } from '../server/config.ts';
import { topologySchema } from '../server/protocol/session.ts';
import { cli, docker, expectGone, none, tempDataDir } from './helpers.ts';

const dataDir = tempDataDir();
const env = { FLOWLAB_DATA: dataDir };
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const noStackTrace = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);

describe('flowlab list / validate', () => {
  it('list --json gives id, title, network, level, minutes, tags and the variant count', async () => {
    const r = await cli(['list', '--json'], env);
    expect(r.code).toBe(0);
    const labs = z.array(z.object({ id: z.string(), title: z.string(), network: z.enum(['bridge', 'host', 'overlay']), level: z.string(), minutes: z.number(), tags: z.array(z.string()), variants: z.number() })).parse(JSON.parse(r.stdout));
    expect(labs.map((l) => l.id)).toEqual(expect.arrayContaining(['bridge-basics', 'host-basics', 'overlay-basics']));
  });

  it('list --markdown prints the catalogue table, marks labs that cannot be isolated, and docs/labs.md is up to date', async () => {
    const r = await cli(['list', '--markdown'], env);
    expect(r.stdout).toMatch(/^\| Lab \| Title \| Network/m);
    expect(r.stdout).toMatch(/host-basics.*uses host network/);
    expect(readFileSync(join(PROJECT_ROOT, 'docs', 'labs.md'), 'utf8')).toBe(r.stdout);
  });

  it('validate exits 0 on good files and 1 with file:line:column on bad ones, never a stack trace', async () => {
    expect((await cli(['validate', 'scenarios'], env)).code).toBe(0);
    const dir = join(dataDir, 'bad');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.yaml'), 'id: a\ntitle: [\n');
    writeFileSync(join(dir, 'b.yaml'), 'id: b\ntitle: B\nsummary: s\nlevel: beginner\nnetwork: bridge\nminutes: 5\nbriefing: x\nservices:\n  web: { image: toolbox, privileged: true }\n');
    const r = await cli(['validate', dir], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/a\.yaml:\d+:\d+: error: .*expected valid YAML/);
    expect(r.stdout).toMatch(/b\.yaml:9:\d+: error: services\.web\.privileged: "privileged" is not allowed/);
    noStackTrace(r.stdout + r.stderr);
    const json = await cli(['validate', dir, '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false });
    const missing = await cli(['validate', join(dir, 'nope.yaml')], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no such file or folder/);
    noStackTrace(missing.stderr);
  });

  it('an unknown command or lab is a clear error', async () => {
    const r = await cli(['upp'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Did you mean up\?/);
    const lab = await cli(['up', 'no-such-lab'], env);
    expect(lab.code).toBe(1);
    expect(lab.stderr).toMatch(/unknown lab "no-such-lab"; expected a lab file path or one of: .*bridge-basics/);
    noStackTrace(lab.stderr);
  });
});

describe('flowlab up / status / actions / down', () => {
  it('follow the JSON contract and leave nothing behind', async () => {
    const up = await cli(['up', 'bridge-basics', '--seed', '5', '--json'], env);
    expect(up.code, up.stderr).toBe(0);
    const topo = topologySchema.parse(JSON.parse(up.stdout));
    try {
      expect(topo).toMatchObject({ scenario: 'bridge-basics', seed: 5 });
      expect(topo.session).toMatch(/^[0-9a-f]{8,}$/);
      const web = topo.services.find((s) => s.name === 'web')!;
      expect(web).toMatchObject({ container: `fl-${topo.session}-web` });
      // Docker's view: the aliases Docker itself gives (the service name, the short id), and the lab's.
      const webId = (await docker.inspectContainer(`fl-${topo.session}-web`))!.id.slice(0, 12);
      expect(web.networks.frontend!.aliases.sort()).toEqual(['web', webId].sort());
      expect(web.ports[0]).toMatchObject({ host_ip: '127.0.0.1', container_port: 80, proto: 'tcp' });
      expect(topo.services.find((s) => s.name === 'db')!.networks.backend!.aliases).toEqual(expect.arrayContaining(['database', 'db']));
      expect(topo.networks.map((n) => [n.name, n.driver])).toEqual([['frontend', 'bridge'], ['backend', 'bridge']]);
      // No gateway asked for: Docker takes the subnet's first address (the bridge's own, on the host).
      for (const n of topo.networks) expect(n.gateway).toBe(n.subnet.replace(/\.0\/24$/, '.1'));
      const bridgeIp = execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
      for (const n of topo.networks) expect(bridgeIp).toContain(`inet ${n.gateway}/24`);
      expect(up.stderr).toMatch(/ready/); // progress goes to stderr

      const status = await cli(['status', '--json'], env);
      expect(JSON.parse(status.stdout).map((s: { session: string }) => s.session)).toContain(topo.session);
      const one = JSON.parse((await cli(['status', topo.session, '--json'], env)).stdout);
      expect(one).toMatchObject({ session: topo.session, state: 'ready', scenario: 'bridge-basics', seed: 5 });
      expect(JSON.stringify(one)).not.toMatch(/variant|answer|solution/);

      const actions = await cli(['actions', topo.session], env);
      expect(actions.stdout).toMatch(new RegExp(`^docker network create --driver bridge --subnet \\S+ .*fl-${topo.session}-frontend$`, 'm'));
    } finally {
      const down = await cli(['down', topo.session, '--json'], env);
      expect(down.code, down.stderr).toBe(0);
      // 4 services, the lab resolver, a capture sidecar for each service, and the traffic helpers of the two that call (client, api).
      expect(JSON.parse(down.stdout)[0]).toMatchObject({ session: topo.session, removed: { containers: 11, networks: 2 } });
    }
    expect(await expectGone(topo.session)).toEqual(none);
    const again = await cli(['down', topo.session], env);
    expect(again.code).toBe(0);
    const unknown = await cli(['down', 'deadbeef'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown session "deadbeef"/);
  });
});

describe('flowlab doctor / images build', () => {
  it('doctor --json says labs can run and lists its checks', async () => {
    const r = await cli(['doctor', '--json'], env);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(['node', 'docker', 'swarm', 'images', 'netem']));
  });

  it('images build is a no-op when nothing changed', async () => {
    const r = await cli(['images', 'build'], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/flowlab\/toolbox:latest is up to date/);
  });
});

describe('flowlab check', () => {
  it('proves a healthy lab, and stops at the first failing step of a broken one, naming it', async () => {
    const ok = await cli(['check', 'bridge-basics'], env);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ok {3}bridge-basics: up — session [0-9a-f]{8}/m);
    expect(ok.stdout).toMatch(/^ok {3}bridge-basics: traffic rule — \d+ captured packets, all inside the lab/m);
    expect(ok.stdout).toMatch(/^ok {3}bridge-basics: down — nothing left behind/m);
    expect(ok.stdout).toMatch(/bridge-basics: 1 variant\(s\) proven/);

    // A lab that breaks something and says how to fix it — wrongly: the fix does not repair it.
    const dir = join(dataDir, 'check');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'unfixed.yaml');
    writeFileSync(
      file,
      [
        'id: unfixed', 'title: Unfixed', 'summary: s', 'level: beginner', 'network: bridge', 'minutes: 5', 'briefing: b',
        'networks: { net: {} }',
        'services:',
        '  web: { image: toolbox, command: ["lab-serve", "http", "--port", "80"], networks: [net] }',
        '  client: { image: toolbox, networks: [net] }',
        'probes: [{ from: client, to: "http://web:80/" }]',
        'faults: [{ type: bind-loopback, service: web, port: 80 }]',
        'answer: { cause: loopback, culprit: web }',
        'diagnosis: { question: q, causes: [{ id: loopback, text: a }, { id: dns, text: b }, { id: firewall, text: c }, { id: stopped, text: d }] }',
        'fix: { expect: [{ from: client, to: "http://web:80/", status: ok }] }',
        'solution: [{ exec: { service: web, run: "true" } }]',
        '',
      ].join('\n'),
    );
    const bad = await cli(['check', file, '--json'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/check failed: unfixed: fix verified: .*client -> http:\/\/web:80\/ is refused, expected ok/);
    const steps = JSON.parse(bad.stdout) as { steps: { step: string; ok: boolean }[] }[];
    expect(steps[0]!.steps.map((s) => `${s.step}:${s.ok}`)).toEqual(['up:true', 'settled:true', 'symptom:true', 'evidence:true', 'right diagnosis passes:true', 'distractors fail:true', 'solution:true', 'fix verified:false', 'down:true']);
    noStackTrace(bad.stderr);
  });
});
