// The trainer's view of the engine pool in real Chromium: an engine added (a real dockerd on TCP
// with TLS) shows in the dashboard's engines table beside local; when it stops answering it is
// shown down within 15 s, and the room's feed says so; when it answers again, both say that too.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../server/config.ts';
import { startServer, type Running } from '../../server/http/server.ts';
import { EngineBed } from '../engines/bed.ts';
import { dockerFor } from '../../server/docker/connect.ts';
import { tempDataDir } from '../helpers.ts';
import { launchBrowser } from './browser.ts';

const SHOTS = join(PROJECT_ROOT, 'test-results');
let bed: EngineBed;
let server: Running;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  bed = await EngineBed.start(1);
  server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: tempDataDir() }, background: false, handleSignals: false, workshop: { maxLabs: 2, engineWatchMs: 1000 } });
  browser = await launchBrowser();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await bed?.stop();
});

describe('the engines on the trainer’s dashboard', () => {
  let page: Page;
  const errors: string[] = [];
  it('lists local and an added engine, shows it down within 15 s when it stops answering, and up again', async () => {
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/#trainer=${encodeURIComponent(server.trainerToken!)}`);
    await page.getByRole('form', { name: 'Create a workshop' }).waitFor({ timeout: 15_000 });
    await page.getByLabel('Name', { exact: true }).fill('Engines');
    await page.locator('input[data-lab-choice="bridge-basics"]').check();
    await page.getByRole('button', { name: 'Create workshop' }).click();
    await page.locator('[data-join-code]').waitFor({ timeout: 15_000 });

    const [n1] = bed.engines;
    const added = await page.evaluate(async (e) => {
      const r = await fetch('/api/engines', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'node-1', url: e.url, tls_dir: e.tlsDir }) });
      return r.status;
    }, { url: n1!.url, tlsDir: n1!.tlsDir });
    expect(added).toBe(200);
    const row = (name: string) => page.locator(`table[data-engines] tr[data-engine="${name}"]`);
    await expect.poll(() => row('node-1').getAttribute('data-engine-state'), { timeout: 15_000 }).toBe('up');
    expect(await row('local').getAttribute('data-engine-state')).toBe('up');
    expect(await row('node-1').innerText()).toMatch(new RegExp(`node-1\\s+${n1!.url.replace(/\./g, '\\.')}\\s+up\\s+\\d+\\.\\d+\\.\\d+\\S*\\s+\\d+\\s+\\d+\\.\\d GiB\\s+0\\s+0`));
    await page.screenshot({ path: join(SHOTS, 'engines-up.png') });

    const stopped = Date.now();
    await bed.pause(n1!);
    try {
      await expect.poll(() => row('node-1').getAttribute('data-engine-state'), { timeout: 15_000, interval: 250 }).toBe('down');
      const feed = page.locator('[data-event-kind="engine"]');
      await expect.poll(() => feed.allInnerTexts(), { timeout: 15_000 - (Date.now() - stopped) }).toContainEqual(expect.stringMatching(/engine node-1: the Docker engine does not answer/));
      expect(Date.now() - stopped).toBeLessThan(15_000);
      expect(await row('local').getAttribute('data-engine-state')).toBe('up');
      await page.screenshot({ path: join(SHOTS, 'engines-down.png') });
    } finally {
      await bed.unpause(n1!);
    }
    await expect.poll(() => row('node-1').getAttribute('data-engine-state'), { timeout: 20_000 }).toBe('up');
    await expect.poll(() => page.locator('[data-event-kind="engine"]').allInnerTexts(), { timeout: 15_000 }).toContainEqual(expect.stringMatching(/engine node-1: the Docker engine answers again/));
    expect(errors).toEqual([]);
  }, 90_000);

  it('a learner’s lab goes where there is room, the dashboard says which engine, and flags it when that engine is lost', async () => {
    // local drained: the learner's lab goes on node-1.
    expect(await page.evaluate(async () => (await fetch('/api/engines/local/drain', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ drained: true }) })).status)).toBe(200);
    const code = (await page.locator('[data-join-code]').first().getAttribute('data-join-code'))!;
    const learner = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    learner.on('pageerror', (e) => errors.push(e.message));
    await learner.goto(server.url);
    await learner.getByLabel('Join code').fill(code);
    await learner.getByLabel('Your name (the trainer sees it)').fill('Ada');
    await learner.getByRole('button', { name: 'Join' }).click();
    await learner.locator('button[data-start="bridge-basics"]').click();
    const cell = page.locator('td.cell[data-lab="bridge-basics"]').first();
    await expect.poll(() => cell.getAttribute('data-state'), { timeout: 90_000 }).toBe('ready');
    await expect.poll(() => cell.locator('[data-slot-engine]').getAttribute('data-slot-engine'), { timeout: 15_000 }).toBe('node-1');

    const [n1] = bed.engines;
    await bed.pause(n1!);
    try {
      await expect.poll(() => cell.locator('[data-flag="engine-lost"]').count(), { timeout: 20_000, interval: 250 }).toBe(1);
      expect(await cell.locator('[data-flag="engine-lost"]').innerText()).toBe('engine node-1 lost');
      // The learner was taken into the lab when it was ready: its view says which engine, and what to do.
      await expect.poll(() => learner.locator('[data-trouble="engine-lost"]').count(), { timeout: 20_000 }).toBe(1);
      expect(await learner.locator('[data-trouble="engine-lost"]').innerText()).toMatch(/^Engine lost\s*— engine node-1 does not answer .*It comes back by itself when engine node-1 answers again/);
      await page.screenshot({ path: join(SHOTS, 'engines-dashboard-lost.png') });
    } finally {
      await bed.unpause(n1!);
    }
    await expect.poll(() => cell.locator('[data-flag="engine-lost"]').count(), { timeout: 30_000 }).toBe(0);
    expect(errors).toEqual([]);
    await learner.close();
  }, 180_000);
});

describe('a lab on another engine in the lab view', () => {
  let plain: Running;
  let session = '';
  beforeAll(async () => {
    plain = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: tempDataDir() }, background: false, handleSignals: false, engineWatchMs: 1000 });
  });
  afterAll(() => plain?.close());

  it('looks and works the same: the graph, a probe from the host, the flow log, and it says which engine', async () => {
    const [n1] = bed.engines;
    const post = (path: string, body: unknown) => fetch(`${plain.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/api/engines', { name: 'node-1', url: n1!.url, tls_dir: n1!.tlsDir })).status).toBe(200);
    const res = await post('/api/sessions', { scenario: 'bridge-basics', engine: 'node-1' });
    expect(res.status).toBe(201);
    session = ((await res.json()) as { session: { session: string; engine: string } }).session.session;

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${plain.url}/#/session/${session}`);
    await expect.poll(() => page.locator('.graph').getAttribute('data-nodes'), { timeout: 30_000 }).toMatch(/svc:web/);
    expect(await page.locator('.lab-header [data-engine]').getAttribute('data-engine')).toBe('node-1');
    await page.getByLabel('Probe from').selectOption('client');
    await page.getByLabel('Probe target').fill('http://web:80/');
    await page.getByRole('button', { name: 'Run probe' }).click();
    await expect.poll(() => page.locator('[data-probe-status]').first().getAttribute('data-probe-status'), { timeout: 30_000 }).toBe('ok');
    await expect.poll(() => page.locator('.flowlog tbody tr[data-event]').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.locator('.graph').getAttribute('data-flows')).toContain('client->web tcp/80 ok');
    await page.screenshot({ path: join(SHOTS, 'engines-lab-view.png') });

    // Its engine stops answering: the lab view says which engine, and what to do; then it is back.
    const trouble = page.locator('[data-trouble]');
    expect(await trouble.isHidden()).toBe(true);
    await bed.pause(n1!);
    try {
      await expect.poll(() => trouble.getAttribute('data-trouble'), { timeout: 20_000, interval: 250 }).toBe('engine-lost');
      expect(await trouble.innerText()).toMatch(/^Engine lost\s*— engine node-1 does not answer \(.+\)\. It comes back by itself when engine node-1 answers again/);
      await page.screenshot({ path: join(SHOTS, 'engines-lab-lost.png') });
    } finally {
      await bed.unpause(n1!);
    }
    await expect.poll(() => trouble.isHidden(), { timeout: 30_000 }).toBe(true);
    expect(errors).toEqual([]);

    expect((await fetch(`${plain.url}/api/sessions/${session}`, { method: 'DELETE' })).status).toBe(200);
    const node = dockerFor({ url: n1!.url, tlsDir: n1!.tlsDir });
    const filters = { label: ['flowlab.managed=true', `flowlab.session=${session}`] };
    await expect.poll(async () => (await node.listContainers({ all: true, filters })).length + (await node.listNetworks({ filters })).length, { timeout: 30_000 }).toBe(0);
  }, 180_000);
});
