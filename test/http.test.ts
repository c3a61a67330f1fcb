// The HTTP API: every reply is { ok, error?, ...data }; bad input gets a clear 4xx and changes
// nothing; the server never falls over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type Running } from '../server/http/server.ts';
import { expectGone, none, servingUrl, startCli, tempDataDir, waitForLine } from './helpers.ts';

let server: Running;
beforeAll(async () => {
  server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: tempDataDir() }, background: false, handleSignals: false });
});
afterAll(() => server.close());

async function call(method: string, path: string, body?: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(`${server.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe('HTTP API', () => {
  it('binds 127.0.0.1 and answers health and the catalogue', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await call('GET', '/api/health')).body).toMatchObject({ ok: true, status: 'up' });
    const labs = await call('GET', '/api/scenarios');
    expect(labs.body.scenarios.map((l: { id: string }) => l.id)).toContain('bridge-basics');
    expect(JSON.stringify(labs.body)).not.toMatch(/"answer"|"solution"|"faults"/);
  });

  it('refuses bad input with what was expected, and keeps serving', async () => {
    const cases: [string, string, string | undefined, number, RegExp][] = [
      ['POST', '/api/sessions', '{not json', 400, /expected a JSON body/],
      ['POST', '/api/sessions', '{"scenario": 5}', 400, /scenario.*expected \{ "scenario"/],
      ['POST', '/api/sessions', '{"scenario": "bridge-basics", "extra": 1}', 400, /expected \{ "scenario"/],
      ['POST', '/api/sessions', '{"scenario": "no-such-lab"}', 400, /unknown lab "no-such-lab"/],
      ['POST', '/api/sessions', JSON.stringify({ scenario: 'x'.repeat(100_000) }), 413, /too large/],
      ['GET', '/api/sessions/%2e%2e%2fetc', undefined, 400, /expected a session id/],
      ['GET', '/api/sessions/not-hex!', undefined, 400, /expected a session id of 8-32 hex characters/],
      ['GET', '/api/sessions/deadbeef', undefined, 404, /unknown session "deadbeef"/],
      ['DELETE', '/api/sessions/deadbeef', undefined, 404, /unknown session "deadbeef"/],
      ['POST', '/api/sessions/deadbeef/console', undefined, 404, /unknown session "deadbeef"/],
      ['GET', '/api/nothing-here', undefined, 404, /no such API route: GET \/api\/nothing-here/],
    ];
    for (const [method, path, body, status, error] of cases) {
      const r = await call(method, path, body);
      expect(r.status, `${method} ${path}`).toBe(status);
      expect(r.body.ok).toBe(false);
      expect(r.body.error, `${method} ${path}`).toMatch(error);
    }
    expect((await call('GET', '/api/sessions')).body.sessions).toEqual([]);
    expect((await call('GET', '/api/health')).status).toBe(200);
  });

  it('creates, lists, shows and deletes a session', async () => {
    const created = await call('POST', '/api/sessions', JSON.stringify({ scenario: 'bridge-basics', seed: 3 }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.session.session as string;
    try {
      expect(created.body.session).toMatchObject({ scenario: 'bridge-basics', seed: 3 });
      expect((await call('GET', '/api/sessions')).body.sessions.map((s: { session: string }) => s.session)).toEqual([id]);
      expect((await call('GET', `/api/sessions/${id}`)).body.session).toMatchObject({ session: id, state: 'ready' });
      const actions = (await call('GET', `/api/sessions/${id}/actions`)).body.actions as { command: string; reveals_fault: boolean }[];
      expect(actions.length).toBeGreaterThan(5);
      expect(actions.every((a) => !a.reveals_fault)).toBe(true);
      // The learner's docker console: opened on first use, served by this server.
      const opened = await call('POST', `/api/sessions/${id}/console`);
      expect(opened.status, JSON.stringify(opened.body)).toBe(200);
      expect(opened.body.console).toMatchObject({ session: id, container: `fl-${id}-console`, served_here: true });
      expect(opened.body.console.docker_host).toMatch(/^tcp:\/\/10\.\d+\.\d+\.\d+:2375$/);
      expect((await call('POST', `/api/sessions/${id}/console`)).body.console).toEqual(opened.body.console);
      // The inspector: how a service sees the lab from inside.
      const web = await call('GET', `/api/sessions/${id}/services/web`);
      expect(web.body).toMatchObject({ ok: true, service: 'web', state: 'running' });
      expect(web.body.resolv_conf).toMatch(/nameserver/);
      expect(web.body.listening).toMatch(/:80\b/);
      expect((await call('GET', `/api/sessions/${id}/services/nope`)).body.error).toMatch(/unknown service "nope" .*expected one of: /);
    } finally {
      const del = await call('DELETE', `/api/sessions/${id}`);
      expect(del.body).toMatchObject({ ok: true, removed: { session: id } });
    }
    expect(await expectGone(id)).toEqual(none);
  });

  it('reads names of JavaScript built-ins as unknown names, everywhere input meets a lookup', async () => {
    const created = await call('POST', '/api/sessions', JSON.stringify({ scenario: 'bridge-basics' }));
    const id = created.body.session.session as string;
    try {
      for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
        const svc = await call('GET', `/api/sessions/${id}/services/${name}`);
        expect([svc.status, svc.body.error], name).toEqual([404, expect.stringMatching(new RegExp(`unknown service "${name}"`))]);
        const from = await call('POST', `/api/sessions/${id}/probes`, JSON.stringify({ from: name, target: 'dns:web' }));
        expect([from.status, from.body.error], name).toEqual([400, expect.stringMatching(/unknown probe source/)]);
        const ref = await call('POST', `/api/sessions/${id}/probes`, JSON.stringify({ from: 'client', target: `http://localhost:\${${name.toLowerCase()}.ports.80}/` }));
        expect(ref.status, `${name} ${JSON.stringify(ref.body)}`).toBeLessThan(500);
        const pcap = await fetch(`${server.url}/api/sessions/${id}/pcap?service=${name}`);
        expect(pcap.status, name).toBeLessThan(500);
        const graded = await call('POST', `/api/sessions/${id}/diagnosis`, JSON.stringify({ cause: 'nothing-broken', culprit: name, evidence: [] }));
        expect(graded.status, `${name} ${JSON.stringify(graded.body)}`).toBeLessThan(500);
        const lab = await call('POST', '/api/sessions', JSON.stringify({ scenario: name }));
        expect([lab.status, lab.body.error], name).toEqual([400, expect.stringMatching(/unknown lab|expected/)]);
      }
      // A long name comes back cut short in the message, never whole.
      const long = await call('GET', `/api/sessions/${id}/services/${'x'.repeat(5000)}`);
      expect(long.status).toBe(404);
      expect(long.body.error.length).toBeLessThan(300);
    } finally {
      await call('DELETE', `/api/sessions/${id}`);
    }
    expect(await expectGone(id)).toEqual(none);
  });

  it('restarts a lab with the same seed, or a new one, and the old session is gone', async () => {
    const created = await call('POST', '/api/sessions', JSON.stringify({ scenario: 'host-basics', seed: 11 }));
    const first = created.body.session.session as string;
    const again = await call('POST', `/api/sessions/${first}/restart`, JSON.stringify({}));
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    const second = again.body.session.session as string;
    expect(again.body).toMatchObject({ replaces: first, session: { seed: 11, scenario: 'host-basics' } });
    expect(second).not.toBe(first);
    expect(await expectGone(first)).toEqual(none);
    expect((await call('POST', `/api/sessions/${second}/restart`, JSON.stringify({ new_seed: 'yes' }))).body.error).toMatch(/expected \{ "new_seed"\?: true \| false \}/);
    const fresh = await call('POST', `/api/sessions/${second}/restart`, JSON.stringify({ new_seed: true }));
    expect(fresh.status).toBe(201);
    const third = fresh.body.session.session as string;
    await call('DELETE', `/api/sessions/${third}`);
    expect(await expectGone(second)).toEqual(none);
    expect(await expectGone(third)).toEqual(none);
  });

  it('shows a learner their best score per lab, and refuses a malformed name', async () => {
    expect((await call('GET', '/api/learners/nobody/scores')).body).toMatchObject({ ok: true, learner: 'nobody', scores: [] });
    expect((await call('GET', `/api/learners/${encodeURIComponent('<script>')}/scores`)).status).toBe(400);
  });
});

describe('npm start with no Docker engine to talk to', () => {
  it('serves the page and says, on it, what to install', async () => {
    const child = startCli(['serve', '--port', '0'], { FLOWLAB_DATA: tempDataDir(), DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    try {
      const url = await servingUrl(child, 30_000);
      const deadline = Date.now() + 20_000;
      let health: { images: { state: string; detail: string }; docker: { reachable: boolean } } | undefined;
      while (Date.now() < deadline) {
        health = (await (await fetch(`${url}/api/health`)).json()) as typeof health;
        if (health!.images.state === 'failed') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(health!.docker.reachable).toBe(false);
      expect(health!.images).toMatchObject({ state: 'failed', detail: expect.stringMatching(/no Docker engine answers at DOCKER_HOST=unix:\/\/\/nonexistent\/docker\.sock; start that engine or unset DOCKER_HOST/) });
      expect((await fetch(url)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
    }
  }, 60_000);
});

describe('flowlab serve --workshop', () => {
  it('prints the addresses learners open: the public URL first, or that only this machine can reach it', async () => {
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ FLOWLAB_PUBLIC_URL: 'https://labs.example.org/' }, /learners open https:\/\/labs\.example\.org\/ and join with the code the dashboard shows/],
      [{ FLOWLAB_PUBLIC_URL: '' }, /learners can open http:\/\/127\.0\.0\.1:\d+\/ from this machine only; for a room, serve with --host 0\.0\.0\.0 \(or set FLOWLAB_PUBLIC_URL/],
    ];
    for (const [env, want] of cases) {
      const child = startCli(['serve', '--workshop', '--port', '0'], { FLOWLAB_DATA: tempDataDir(), ...env });
      try {
        await waitForLine(child, want, 30_000);
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('close', r));
      }
    }
  }, 90_000);
});
