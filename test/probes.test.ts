// Probes on a real lab: the CLI and HTTP contracts, the derived matrix, probes from services
// whose image has no tools (a sidecar in their namespace), and clear errors for bad requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BOOTSTRAP_BASE, DEFAULT_BASE } from '../server/images/build.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { Prober } from '../server/probe/prober.ts';
import { startServer, type Running } from '../server/http/server.ts';
import { ProbeStore } from '../server/store/probes.ts';
import { cli, docker, testApp, writeLab } from './helpers.ts';

const app = testApp();
const env = { FLOWLAB_DATA: app.dataDir };
let session = '';
beforeAll(async () => {
  session = (await app.engine.up(loadLab('bridge-basics'))).session;
});
afterAll(() => app.dispose());

const resultShape = z.object({ id: z.string(), from: z.string(), target: z.string(), status: z.string(), answers: z.array(z.string()), latency_ms: z.number(), command: z.string() });

describe('flowlab probe', () => {
  it('prints {id, from, target, status, answers, latency_ms, command} and exits 0 whatever it found', async () => {
    const ok = await cli(['probe', session, 'api', 'dns:db', '--json'], env);
    expect(ok.code, ok.stderr).toBe(0);
    const r = resultShape.parse(JSON.parse(ok.stdout));
    expect(r).toMatchObject({ from: 'api', target: 'dns:db', status: 'ok', command: `docker exec fl-${session}-api dig +short db` });
    const db = (await docker.inspectContainer(`fl-${session}-db`))!.networks[`fl-${session}-backend`]!.ip;
    expect(r.answers).toEqual([db]);
    const nx = await cli(['probe', session, 'client', 'dns:db', '--json'], env);
    expect(nx.code).toBe(0);
    expect(JSON.parse(nx.stdout)).toMatchObject({ status: 'nxdomain' });
    const refused = await cli(['probe', session, 'client', 'tcp:web:81', '--json'], env);
    expect(JSON.parse(refused.stdout)).toMatchObject({ status: 'refused', command: `docker exec fl-${session}-client nc -vz -w 2 web 81` });
    // A port that answers, but not in HTTP (db's TCP echo sends the request back): its own status, not "error".
    const notHttp = await cli(['probe', session, 'api', 'http://db:5432/', '--json'], env);
    expect(JSON.parse(notHttp.stdout)).toMatchObject({ status: 'not-http' });
    // Results are kept, so a learner can pin one as evidence.
    expect(new ProbeStore(app.engine.db).get(session, r.id)?.status).toBe('ok');
  });

  it('--matrix runs the lab probes and every service towards every other service', async () => {
    const r = await cli(['probe', session, '--matrix', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const { results } = z.object({ results: z.array(resultShape) }).parse(JSON.parse(r.stdout));
    const find = (from: string, target: string) => results.find((x) => x.from === from && x.target === target)?.status;
    expect(find('api', 'tcp:db:5432')).toBe('ok');
    expect(find('client', 'dns:database')).toBe('nxdomain');
    expect(find('web', 'dns:api')).toBe('ok');
    expect(find('db', 'dns:client')).toBe('nxdomain');
    expect(results.filter((x) => x.from === 'host').every((x) => x.status === 'ok')).toBe(true);
    expect(results.filter((x) => x.status === 'error' || x.status === 'timeout')).toEqual([]);
    const port = (await docker.inspectContainer(`fl-${session}-web`))!.ports[0]!.hostPort;
    expect(find('host', `http://localhost:${port}/`)).toBe('ok');
  });

  it('refuses bad requests with what was expected', async () => {
    const prober = new Prober(app.engine.live(session));
    await expect(prober.run([{ from: 'clinet', to: 'dns:db' }])).rejects.toThrow(/unknown probe source "clinet" \(did you mean "client"\?\)/);
    await expect(prober.run([{ from: 'client', to: 'tcp:db' }])).rejects.toThrow(/expected dns:<name>/);
    await expect(prober.run([{ from: 'host', to: 'icmp:web' }])).rejects.toThrow(/not offered/);
    await expect(prober.run([{ from: 'client', to: 'http://localhost:${nope.ports.1}/' }])).rejects.toThrow(/cannot resolve/);
    const r = await cli(['probe', session, 'client'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/expected <from> and <target>, or --matrix/);
  });

  it('answers POST /api/sessions/:id/probes', async () => {
    let server: Running | undefined;
    try {
      server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: app.dataDir }, background: false, handleSignals: false });
      const post = (body: unknown) => fetch(`${server!.url}/api/sessions/${session}/probes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const one = (await (await post({ from: 'client', target: 'http://web:80/' })).json()) as { ok: boolean; result: { status: string } };
      expect(one).toMatchObject({ ok: true, result: { status: 'ok' } });
      const bad = await post({ from: 'client' });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/expected \{ "from"/);
      const unknown = await post({ from: 'nobody', target: 'dns:db' });
      expect(unknown.status).toBe(400);
    } finally {
      await server?.close();
    }
  });
});

describe('a service whose image has no tools', () => {
  it('is probed from a sidecar in its network namespace, which is removed after', async () => {
    const refs = await docker.imageRefs();
    const base = [DEFAULT_BASE, BOOTSTRAP_BASE].find((r) => refs.has(r));
    expect(base, 'the base image the toolbox was built on').toBeDefined();
    const file = writeLab(app.dataDir, 'plain', `networks: { net: {} }\nservices:\n  plain: { image: "${base}", command: "sleep infinity", networks: [net] }\n  web: { image: toolbox, command: "lab-serve http --port 80", networks: [net], expose: [80] }\n`);
    const topo = await app.engine.up(loadLab(file));
    try {
      const [r] = await new Prober(app.engine.live(topo.session)).run([{ from: 'plain', to: 'http://web:80/' }]);
      expect(r).toMatchObject({ status: 'ok', command: `docker run --rm --network container:fl-${topo.session}-plain flowlab/toolbox:latest curl -sS -m 2 http://web:80/` });
      const helpers = await docker.listContainers({ 'flowlab.session': topo.session, 'flowlab.role': 'helper' });
      expect(helpers).toEqual([]);
    } finally {
      await app.engine.down(topo.session);
    }
  });
});
