// Workshop mode in real Chromium: the trainer signs in with the printed link and creates a
// workshop; a learner joins with the code in another browser, starts a lab, opens it; the trainer
// sees them ready and broadcasts; a wrong code is refused; ending the workshop reaches the learner
// and leaves nothing on the engine. Screenshots go to test-results/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labSummaries } from '../../server/app/app.ts';
import { PROJECT_ROOT } from '../../server/config.ts';
import { startServer, type Running } from '../../server/http/server.ts';
import { expectGone, none, tempDataDir } from '../helpers.ts';
import { launchBrowser } from './browser.ts';

const SHOTS = join(PROJECT_ROOT, 'test-results');
const LAB = 'bridge-basics';
// Markup in what people type must show as text, never as markup.
const WORKSHOP_NAME = 'Networking <img src=x onerror="window.__pwned=1"> Tuesday';
const MESSAGE = '<b>Break</b> in 5 minutes: submit your diagnosis';
let server: Running;
let browser: Browser;
const contexts: BrowserContext[] = [];
const errors: string[] = [];

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  return page;
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: tempDataDir() }, background: false, handleSignals: false, workshop: { maxLabs: 4 } });
  browser = await launchBrowser();
});
afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  // Tears down every lab the workshop started, even when a test failed mid-way.
  await server?.close();
});

describe('workshop mode in the browser', () => {
  let trainer: Page;
  let learner: Page;
  let code = '';
  let session = '';

  it('the trainer link signs in, leaves the address bar, and creates a workshop', async () => {
    expect(server.trainerToken, 'startServer({ workshop }) returns the trainer token').toBeTruthy();
    expect(labSummaries().find((l) => l.id === LAB)?.isolation).toEqual({ default_bridge: false, host_network: false });
    trainer = await newPage();
    await trainer.goto(`${server.url}/#trainer=${encodeURIComponent(server.trainerToken!)}`);
    await trainer.getByRole('form', { name: 'Create a workshop' }).waitFor({ timeout: 15_000 });
    expect(trainer.url()).not.toContain(server.trainerToken!);
    expect(trainer.url()).toMatch(/#\/$/);

    // Labs that cannot be isolated can be chosen only after opting in.
    const shared = labSummaries().find((l) => l.isolation.default_bridge || l.isolation.host_network);
    if (shared) {
      const box = trainer.locator(`input[data-lab-choice="${shared.id}"]`);
      expect(await box.isDisabled()).toBe(true);
      expect(await trainer.locator(`[data-shared="${shared.id}"]`).innerText()).toMatch(/shared: cannot be isolated between learners/);
      await trainer.locator('input[data-allow-shared]').check();
      expect(await box.isDisabled()).toBe(false);
      await trainer.locator('input[data-allow-shared]').uncheck();
      expect(await box.isDisabled()).toBe(true);
    }
    expect(await trainer.locator(`[data-shared="${LAB}"]`).count()).toBe(0);

    await trainer.getByLabel('Name', { exact: true }).fill(WORKSHOP_NAME);
    await trainer.locator(`input[data-lab-choice="${LAB}"]`).check();
    await trainer.getByLabel('Time limit in minutes (optional)').fill('90');
    await trainer.screenshot({ path: join(SHOTS, 'workshop-create.png') });
    await trainer.getByRole('button', { name: 'Create workshop' }).click();

    const joinCode = trainer.locator('[data-join-code]');
    await joinCode.waitFor({ timeout: 15_000 });
    code = (await joinCode.getAttribute('data-join-code'))!;
    expect(code).toMatch(/^[A-Z0-9]{4,12}$/);
    expect(await joinCode.innerText()).toBe(code);
    expect(await trainer.locator('[data-workshop-name]').innerText()).toBe(WORKSHOP_NAME);
    expect(await trainer.locator('[data-workshop-name] img').count()).toBe(0);
    expect(await trainer.locator('[data-join-url]').innerText()).toBe(`${server.url}/`);
    expect(await trainer.locator('[data-capacity]').innerText()).toMatch(/0 of 4/);
    await expect.poll(() => trainer.getByLabel('Time left in the workshop').innerText()).toMatch(/^1:2\d:\d\d left$/);
  });

  it('a learner joins with the code, starts the lab, and opens it when it is ready', async () => {
    learner = await newPage();
    await learner.goto(server.url);
    await learner.getByLabel('Join code').fill(code.toLowerCase());
    await learner.getByLabel('Your name (the trainer sees it)').fill('Ada L');
    await learner.getByRole('button', { name: 'Join' }).click();

    const row = learner.locator(`tr[data-lab-row="${LAB}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await learner.locator('h1').innerText()).toBe(WORKSHOP_NAME);
    expect(await row.locator('[data-state]').getAttribute('data-state')).toBe('not-started');
    await row.locator(`button[data-start="${LAB}"]`).click();
    // Taken into the lab once it is ready; back on the workshop page, it is ready there and opens again.
    await learner.waitForURL(/#\/session\/[0-9a-f]+$/, { timeout: 90_000 });
    await learner.getByRole('link', { name: '← Workshop' }).click();
    await expect.poll(() => row.locator('[data-state]').getAttribute('data-state'), { timeout: 15_000, interval: 500 }).toBe('ready');
    await learner.screenshot({ path: join(SHOTS, 'workshop-learner.png') });

    await row.locator(`button[data-open="${LAB}"]`).click();
    await learner.waitForURL(/#\/session\/[0-9a-f]+$/, { timeout: 30_000 });
    session = /#\/session\/([0-9a-f]+)$/.exec(learner.url())![1]!;
    await expect.poll(() => learner.locator('.graph').getAttribute('data-nodes'), { timeout: 30_000 }).toMatch(/svc:web/);

    // A workshop lab restarts as the learner's own, within the capacity.
    const first = session;
    learner.once('dialog', (d) => void d.accept());
    await learner.getByRole('button', { name: 'Restart lab' }).click();
    await learner.waitForURL((u) => /^#\/session\/[0-9a-f]+$/.test(u.hash) && !u.hash.endsWith(first), { timeout: 90_000 });
    session = /#\/session\/([0-9a-f]+)$/.exec(learner.url())![1]!;
    await expect.poll(() => learner.locator('.graph').getAttribute('data-nodes'), { timeout: 30_000 }).toMatch(/svc:web/);
    expect(await expectGone(first)).toEqual(none);
    await learner.getByRole('link', { name: '← Workshop' }).click();
    await row.waitFor({ timeout: 15_000 });
  });

  it('the trainer sees the learner ready in the live table, and their console actions', async () => {
    const cell = trainer.locator(`td[data-lab="${LAB}"][data-learner]`);
    await expect.poll(() => cell.getAttribute('data-state'), { timeout: 30_000 }).toBe('ready');
    expect(await trainer.locator('[data-learner-name]').innerText()).toBe('Ada L');
    expect(await cell.innerText()).toMatch(/score — · hints 0 · attempts 0 · worked \d+:\d\d/);
    expect(await cell.locator('button[data-reset]').count()).toBe(1);
    await expect.poll(() => trainer.locator('[data-capacity]').innerText()).toMatch(/1 of 4/);
    await trainer.locator('button[data-console-actions]').click();
    await expect.poll(() => trainer.locator('.console-actions').innerText()).toMatch(/Console actions of Ada L \(0 commands typed\)[\s\S]*Nothing run in a docker console or terminal yet/);
    await trainer.screenshot({ path: join(SHOTS, 'workshop-trainer.png') });
  });

  it('a broadcast reaches the learner as text', async () => {
    await trainer.getByLabel('Message to all learners').fill(MESSAGE);
    await trainer.getByRole('button', { name: 'Send to everyone' }).click();
    const shown = learner.locator('[data-message]');
    await expect.poll(() => shown.count(), { timeout: 15_000 }).toBe(1);
    expect(await shown.innerText()).toBe(MESSAGE);
    expect(await learner.locator('.broadcast b').count()).toBe(0);
  });

  it('a wrong join code is refused with an error', async () => {
    const stranger = await newPage();
    await stranger.goto(server.url);
    await stranger.getByLabel('Join code').fill('ZZZZ99');
    await stranger.getByLabel('Your name (the trainer sees it)').fill('Bob');
    await stranger.getByRole('button', { name: 'Join' }).click();
    const alert = stranger.getByRole('alert');
    await alert.waitFor({ timeout: 15_000 });
    expect(await alert.innerText()).toMatch(/ZZZZ99/);
    await stranger.screenshot({ path: join(SHOTS, 'workshop-join-refused.png') });
    expect(await stranger.getByLabel('Join code').count()).toBe(1);
  });

  it('ending the workshop reaches the learner and removes every lab', async () => {
    trainer.once('dialog', (d) => void d.accept());
    await trainer.locator('button[data-end-workshop]').click();
    await expect.poll(() => trainer.locator('.status-line').allInnerTexts(), { timeout: 60_000 }).toContainEqual(expect.stringMatching(/The workshop has ended; 1 lab was removed/));
    await trainer.getByRole('form', { name: 'Create a workshop' }).waitFor({ timeout: 15_000 });
    expect(await trainer.locator('[data-ended]').innerText()).toBe(`“${WORKSHOP_NAME}” has ended. Export its results (CSV)`);

    await learner.locator('[data-ended]').waitFor({ timeout: 15_000 });
    expect(await learner.locator('[data-ended]').innerText()).toMatch(/The workshop has ended/);
    await expect.poll(() => learner.locator(`tr[data-lab-row="${LAB}"] [data-state]`).getAttribute('data-state'), { timeout: 15_000 }).toBe('ended');
    expect(await learner.locator('button[data-start]').count()).toBe(0);
    await learner.screenshot({ path: join(SHOTS, 'workshop-ended.png') });

    expect(await expectGone(session)).toEqual(none);
    expect(await trainer.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(errors).toEqual([]);
  });
});
