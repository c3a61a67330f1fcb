// In a real Chromium: the catalogue lists the labs, a lab starts from the browser, shows its
// services and ports, and tears down from the browser, leaving nothing on the daemon.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type Running } from '../../server/http/server.ts';
import { expectGone, none, tempDataDir } from '../helpers.ts';
import { launchBrowser } from './browser.ts';

let server: Running;
let browser: Browser;
beforeAll(async () => {
  server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: tempDataDir() }, background: false, handleSignals: false });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the web app', () => {
  it('starts and tears down a lab from the catalogue', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await expect.poll(() => page.locator('button[data-lab]').count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('text=Bridge basics: two networks, four services').count()).toBe(1);
    await expect.poll(() => page.locator('text=No session is running.').count()).toBe(1);

    await page.locator('button[data-lab="bridge-basics"]').click();
    const article = page.locator('article.session');
    await article.waitFor({ timeout: 90_000 });
    const text = await article.innerText();
    expect(text).toMatch(/web frontend 10\.88\.\d+\.\d+ · 127\.0\.0\.1:\d+ → 80\/tcp/);
    expect(text).toMatch(/db backend 10\.88\.\d+\.\d+ \(database\)/);
    const session = /([0-9a-f]{8}) · ready/.exec(text)![1]!;

    await page.locator(`button[data-session="${session}"]`).click();
    await page.locator('text=No session is running.').waitFor({ timeout: 30_000 });
    expect(await expectGone(session)).toEqual(none);
    expect(errors).toEqual([]);
  });
});
