// A whole lab in a real Chromium: start it from the catalogue, read the graph, run a probe and see
// the edge change, use the docker console and a service shell, pin an event, pass with the right
// diagnosis; in a second lab, fail with a wrong one. Screenshots go to test-results/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../server/config.ts';
import { startServer, type Running } from '../../server/http/server.ts';
import { catalogue } from '../../server/lab/catalogue.ts';
import { expectGone, none, tempDataDir } from '../helpers.ts';
import { launchBrowser } from './browser.ts';

const SHOTS = join(PROJECT_ROOT, 'test-results');
const CAUSE_OF: Record<string, string> = { loopback: 'bound-loopback', 'wrong-target-port': 'mapping-wrong-port' };
let server: Running;
let browser: Browser;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: tempDataDir() }, background: false, handleSignals: false });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
  page.on('pageerror', (e) => errors.push(e.message));
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const sessionOf = (p: Page) => /#\/session\/([0-9a-f]{8,32})$/.exec(p.url())?.[1] ?? '';
const terminalText = (target: string) => page.locator(`[data-terminal-pane="${target}"] .xterm-rows`).innerText();

async function typeInTerminal(target: string, line: string): Promise<void> {
  await page.locator(`[data-terminal-pane="${target}"] .xterm`).click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

describe('a lab in the browser, from the catalogue to the grade', () => {
  let session = '';

  it('the catalogue lists the labs with filters, and starts one', async () => {
    await page.goto(server.url);
    await expect.poll(() => page.locator('button[data-lab]').count()).toBeGreaterThanOrEqual(4);
    await page.getByLabel('Search labs').fill('browser gets nothing');
    await expect.poll(() => page.locator('button[data-lab]').count()).toBe(1);
    await page.getByLabel('Search labs').fill('');
    await page.getByLabel('Network kind').selectOption('overlay');
    const overlays = catalogue().labs.filter((e) => e.lab.network === 'overlay').length;
    await expect.poll(() => page.locator('button[data-lab]').count()).toBe(overlays);
    await page.getByLabel('Network kind').selectOption('');
    // Grouped by what they are about: a DNS lab is under names, not only "bridge".
    expect(await page.locator('details.lab-group[data-topic="names"] button[data-lab="alias-collision"]').count()).toBe(1);
    await page.getByLabel('Topic').selectOption('names');
    const names = catalogue().labs.filter((e) => e.lab.topic === 'names').length;
    await expect.poll(() => page.locator('button[data-lab]').count()).toBe(names);
    await page.getByLabel('Topic').selectOption('');
    await page.getByLabel('Your name (for your scores)').fill('ada');
    await page.getByLabel('Your name (for your scores)').press('Enter');
    await page.getByLabel('Your name (for your scores)').blur();
    await page.screenshot({ path: join(SHOTS, 'catalogue.png') });

    await page.locator('button[data-lab="published-port-empty-reply"]').click();
    await page.waitForURL(/#\/session\/[0-9a-f]+$/, { timeout: 120_000 });
    session = sessionOf(page);
    expect(session).toMatch(/^[0-9a-f]{8}$/);
  });

  it('the graph shows the services, the network, the host and DNS', async () => {
    const graph = page.locator('.graph');
    await expect.poll(() => graph.getAttribute('data-nodes'), { timeout: 30_000 }).toBe('docker-dns host lab-dns net:storefront svc:checkout svc:shop');
    expect(await page.locator('.briefing').innerText()).toMatch(/Ticket #4121/);
  });

  it('a probe runs, and its edge on the graph shows the outcome', async () => {
    await page.getByLabel('Probe from').selectOption('checkout');
    await page.getByLabel('Probe target').fill('http://shop:8080/');
    await page.getByRole('button', { name: 'Run probe' }).click();
    const status = page.locator('[data-probe-status]').first();
    await status.waitFor({ timeout: 30_000 });
    const outcome = (await status.getAttribute('data-probe-status'))!;
    const state = outcome === 'ok' ? 'ok' : outcome === 'refused' ? 'refused' : 'other';
    await expect.poll(() => page.locator('.graph').getAttribute('data-flows')).toContain(`checkout->shop tcp/8080 ${state}`);
  });

  it('the flow log shows what the capture saw, and a row can be pinned as evidence', async () => {
    await expect.poll(() => page.locator('.flowlog tbody tr[data-event]').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await page.getByLabel('Filter the flow log').fill('shop');
    const row = page.locator('.flowlog tbody tr[data-event]').first();
    await row.locator('button[data-pin]').click();
    await expect.poll(() => page.locator('.evidence li[data-evidence]').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'lab-view-flows.png') });
  });

  it('the docker console answers docker network inspect, a service shell answers getent', async () => {
    await page.getByRole('tab', { name: 'Terminals' }).click();
    await page.locator('button[data-open-terminal="console"]').click();
    await page.locator('[data-terminal-pane="console"] .xterm-rows').waitFor({ timeout: 60_000 });
    await typeInTerminal('console', 'docker network inspect storefront --format "{{.Name}} {{range .Containers}}{{.Name}} {{end}}"');
    await expect.poll(() => terminalText('console'), { timeout: 30_000 }).toMatch(new RegExp(`fl-${session}-storefront .*fl-${session}-shop`));

    await page.locator('button[data-open-terminal="checkout"]').click();
    await page.locator('[data-terminal-pane="checkout"] .xterm-rows').waitFor({ timeout: 60_000 });
    await typeInTerminal('checkout', 'getent hosts shop');
    await expect.poll(() => terminalText('checkout'), { timeout: 30_000 }).toMatch(/10\.\d+\.\d+\.\d+\s+shop/);
    await page.screenshot({ path: join(SHOTS, 'terminals.png') });
  });

  it('the right diagnosis passes, with its breakdown and explanation', async () => {
    const variant = server.app.engine.store.get(session)!.variant!;
    await page.locator(`input[name="cause"][value="${CAUSE_OF[variant]}"]`).check();
    await page.getByLabel('Culprit').fill('shop');
    await page.getByRole('button', { name: 'Submit diagnosis' }).click();
    const verdict = page.locator('[data-grade]');
    await verdict.waitFor({ timeout: 60_000 });
    expect(await verdict.getAttribute('data-grade')).toBe('pass');
    const result = await page.locator('.result').innerText();
    expect(result).toMatch(/Score breakdown/);
    expect(result).toMatch(/cause\s+40 \/ 40/);
    expect(result).toMatch(/Explanation/);
    await page.screenshot({ path: join(SHOTS, 'result-pass.png') });
    await page.locator('button[data-close-grade]').click();
    // What Docker did, now that the learner is graded, includes what broke it.
    await page.getByRole('tab', { name: 'What Docker did' }).click();
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => page.locator('.actions li').count()).toBeGreaterThan(5);
  });

  it('a wrong diagnosis in a second lab fails, with feedback', async () => {
    await page.goto(`${server.url}/#/`);
    await expect.poll(() => page.locator(`[data-best="published-port-empty-reply"]`).innerText()).toMatch(/\d+ ✓/);
    await page.locator('button[data-lab="published-port-empty-reply"]').click();
    await page.waitForURL((u) => /#\/session\/[0-9a-f]+$/.test(u.hash) && !u.hash.endsWith(session), { timeout: 120_000 });
    const second = sessionOf(page);
    const variant = server.app.engine.store.get(second)!.variant!;
    const wrong = variant === 'loopback' ? 'host-firewall' : 'dns';
    await page.locator(`input[name="cause"][value="${wrong}"]`).waitFor();
    await page.locator(`input[name="cause"][value="${wrong}"]`).check();
    await page.getByLabel('Culprit').fill('checkout');
    await page.getByRole('button', { name: 'Submit diagnosis' }).click();
    const verdict = page.locator('[data-grade]');
    await verdict.waitFor({ timeout: 60_000 });
    expect(await verdict.getAttribute('data-grade')).toBe('fail');
    expect(await page.locator('.result .missed').innerText()).toMatch(/\w/);
    await page.screenshot({ path: join(SHOTS, 'result-fail.png') });
    await page.locator('button[data-close-grade]').click();

    // End it from the browser: nothing is left on the engine.
    page.once('dialog', (d) => void d.accept());
    await page.locator(`button[data-end-lab="${second}"]`).click();
    await page.waitForURL((u) => u.hash === '#/', { timeout: 60_000 });
    expect(await expectGone(second)).toEqual(none);
  });

  it('every control is reachable from the keyboard', async () => {
    await page.goto(`${server.url}/#/session/${session}`);
    await page.locator('.graph[data-nodes]').waitFor();
    const reached = new Set<string>();
    for (let i = 0; i < 80; i++) {
      await page.keyboard.press('Tab');
      const label = await page.evaluate(() => {
        const a = document.activeElement as HTMLElement | null;
        return a ? `${a.tagName.toLowerCase()}:${a.getAttribute('aria-label') ?? a.textContent?.trim().slice(0, 30) ?? ''}` : '';
      });
      reached.add(label);
    }
    const all = [...reached].join('\n');
    for (const want of ['button:Run probe', 'input:Probe target', 'button:Submit diagnosis', 'button:Flow log', 'button:Terminals', 'button:End lab', 'input:Culprit']) {
      expect(all, `Tab reaches ${want}`).toContain(want);
    }
    expect(errors).toEqual([]);
  });
});
