// Preparing the room in real Chromium: the trainer plans for N learners on the dashboard (the
// plan's table, its estimate, whether it fits and what to add), prepares, and watches the progress
// bar fill; a learner's Start then claims a warm lab and is taken into it; the trainer keeps a lab
// warm from the pools table. Ending the workshop leaves nothing. Screenshots go to test-results/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../server/config.ts';
import { LABEL } from '../../server/docker/labels.ts';
import { startServer, type Running } from '../../server/http/server.ts';
import { docker, tempDataDir } from '../helpers.ts';
import { launchBrowser } from './browser.ts';

const SHOTS = join(PROJECT_ROOT, 'test-results');
const LAB = 'bridge-basics';
const dataDir = tempDataDir();
let server: Running;
let browser: Browser;
const errors: string[] = [];

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1100 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  return page;
}
const call = async (method: string, path: string, body?: unknown, token = server.trainerToken!) => {
  const res = await fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return (await res.json()) as Record<string, any>;
};

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir }, background: false, handleSignals: false, warmTickMs: 300, workshop: { maxLabs: 2 } });
  browser = await launchBrowser();
  expect((await call('POST', '/api/workshops', { name: 'Warm room', labs: [LAB], code: 'READY1' })).ok).toBe(true);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  const left = [...(await docker.listContainers({ [LABEL.registry]: dataDir })), ...(await docker.listNetworks({ [LABEL.registry]: dataDir }))];
  expect(left.map((o) => o.name)).toEqual([]);
}, 120_000);

describe('preparing the room on the dashboard', () => {
  let trainer: Page;

  it('plans for too many learners: says it does not fit and what to add', async () => {
    trainer = await newPage();
    await trainer.goto(`${server.url}/#trainer=${encodeURIComponent(server.trainerToken!)}`);
    await trainer.getByRole('region', { name: 'Prepare the room' }).waitFor({ timeout: 15_000 });
    await trainer.getByLabel('Learners to prepare for').fill('3');
    await trainer.getByRole('button', { name: 'Plan' }).click();
    const fits = trainer.locator('[data-plan-fits]');
    await fits.waitFor({ timeout: 15_000 });
    expect(await fits.getAttribute('data-plan-fits')).toBe('false');
    expect(await fits.innerText()).toMatch(/^It does not fit: room for 2 of the 3 labs .*raise --max-labs to 3.*or prepare for 2 learners/);
    expect(await trainer.locator(`[data-plan-lab="${LAB}"]`).innerText()).toMatch(/^bridge-basics\s+3\s+\d+\s+6\s+[\d.]+ (MiB|GiB)$/);
    expect(await trainer.locator('[data-plan-estimate]').innerText()).toMatch(/^About \d+ (s|min) to prepare, from local: \d+ ms a container start/);
  });

  it('prepares for two: the progress bar fills, per engine', async () => {
    await trainer.getByLabel('Learners to prepare for').fill('2');
    await trainer.getByRole('button', { name: 'Prepare', exact: true }).click();
    await expect.poll(() => trainer.locator('[data-plan-fits]').getAttribute('data-plan-fits'), { timeout: 15_000 }).toBe('true');
    const bar = trainer.locator('[data-prepare-progress]');
    await bar.waitFor({ timeout: 15_000 });
    await expect.poll(() => trainer.locator('[data-prepare-done]').getAttribute('data-prepare-done'), { timeout: 120_000, interval: 500 }).toBe('true');
    expect(await bar.getAttribute('data-prepare-progress')).toBe('2/2');
    expect(await trainer.locator('.prepare-progress').innerText()).toMatch(/Ready: 2 labs warm for 2 learners · local: 2 warm/);
    await expect.poll(() => trainer.locator('[data-capacity]').innerText()).toMatch(/Labs running: 2 of 2/);
    await trainer.screenshot({ path: join(SHOTS, 'workshop-prepared.png') });
  });

  it('a learner’s Start claims a warm lab and takes them into it', async () => {
    const warm = new Set(server.app.engine.store.warm().map((w) => w.id));
    const learner = await newPage();
    await learner.goto(server.url);
    await learner.getByLabel('Join code').fill('READY1');
    await learner.getByLabel('Your name (the trainer sees it)').fill('Ada');
    await learner.getByRole('button', { name: 'Join' }).click();
    await learner.locator(`button[data-start="${LAB}"]`).click();
    await learner.waitForURL(/#\/session\/[0-9a-f]+$/, { timeout: 30_000 });
    const session = /#\/session\/([0-9a-f]+)$/.exec(learner.url())![1]!;
    expect(warm.has(session)).toBe(true);
    await expect.poll(() => learner.locator('.graph').getAttribute('data-nodes'), { timeout: 30_000 }).toMatch(/svc:web/);
    await expect.poll(() => trainer.locator('.prepare-progress').innerText(), { timeout: 15_000 }).toMatch(/1 claimed/);
    await expect.poll(() => trainer.locator(`td[data-lab="${LAB}"][data-learner]`).getAttribute('data-state'), { timeout: 15_000 }).toBe('ready');
  });

  it('keeps a lab warm from the pools table; ending the workshop removes every lab', async () => {
    await trainer.locator(`input[data-pool-size="${LAB}"]`).fill('1');
    await trainer.locator(`button[data-pool-set="${LAB}"]`).click();
    await expect.poll(() => server.app.engine.store.poolSizes(), { timeout: 15_000 }).toEqual({ [LAB]: 1 });
    await expect.poll(() => trainer.locator(`[data-pool="${LAB}"]`).innerText(), { timeout: 30_000 }).toMatch(/[1-9] (warm|on the way)|, 1 on the way/);
    await trainer.screenshot({ path: join(SHOTS, 'workshop-pools.png') });
    await call('PUT', `/api/warm/${LAB}`, { size: 0 });
    trainer.once('dialog', (d) => void d.accept());
    await trainer.locator('[data-end-workshop]').click();
    await expect.poll(() => trainer.locator('.status-line').allInnerTexts(), { timeout: 120_000 }).toContainEqual(expect.stringMatching(/The workshop has ended; 1 lab was removed/));
    await server.app.warm!.idle();
    expect(server.app.engine.store.list(['starting', 'ready'])).toEqual([]);
    expect(errors).toEqual([]);
  }, 180_000);
});
