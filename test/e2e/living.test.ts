// A living lab in a real Chromium: opened with no probe run, its app's own traffic is on the graph
// within 10 s (the HTTP edge with its answers); a fault draws the ghost edge of the flow a working
// lab shows, saying what is seen instead and since when, and the fix clears it. Screenshots go to
// test-results/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, SCENARIOS_DIR } from '../../server/config.ts';
import { Faults, faultFromWords } from '../../server/fault/faults.ts';
import { startServer, type Running } from '../../server/http/server.ts';
import { loadLab } from '../../server/lab/catalogue.ts';
import { expectGone, none, tempDataDir, writeLab } from '../helpers.ts';
import { launchBrowser } from './browser.ts';

const SHOTS = join(PROJECT_ROOT, 'test-results');
const LAB = `networks:
  lan: {}
services:
  orders: { image: toolbox, command: "lab-serve http --port 8080", networks: [lan], expose: [8080] }
  checkout: { image: toolbox, networks: [lan] }
traffic:
  - { from: checkout, to: "http://orders:8080/api/v2/orders", every: 1s }
`;

let server: Running;
let browser: Browser;
let page: Page;
let session = '';
const errors: string[] = [];
const dataDir = tempDataDir();
const labs = join(dataDir, 'labs');

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  mkdirSync(labs, { recursive: true });
  const file = writeLab(labs, 'living-orders', LAB);
  server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir, labDirs: [SCENARIOS_DIR, labs] }, background: false, handleSignals: false, engineWatchMs: 0 });
  session = (await server.app.engine.up(loadLab(file))).session;
  await server.app.engine.settled(session);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => errors.push(e.message));
}, 180_000);
afterAll(async () => {
  await browser?.close();
  if (session) await server?.app.engine.down(session).catch(() => undefined);
  await server?.close();
  if (session) expect(await expectGone(session)).toEqual(none);
}, 120_000);

const graph = () => page.locator('.graph');

describe('a living lab in the browser', () => {
  it('shows its app’s own calls on the graph within 10 s, with no probe run', async () => {
    await page.goto(`${server.url}/#/session/${session}`);
    await expect.poll(() => graph().getAttribute('data-http'), { timeout: 10_000 }).toMatch(/^checkout->orders: GET \/api\/v2\/orders — 200 ×\d+$/);
    expect(await page.locator('tr[data-origin="traffic"]').count()).toBeGreaterThan(0);
    expect(await graph().getAttribute('data-ghosts')).toBe('');
  });

  it('draws the ghost edge of the broken flow after a fault, and clears it after the fix', async () => {
    const f = await new Faults(server.app.engine.live(session)).apply(faultFromWords('bind-loopback', ['service=orders', 'port=8080']));
    await expect.poll(() => graph().getAttribute('data-ghosts'), { timeout: 10_000 }).toBe('checkout->orders http GET /api/v2/orders refused');
    await page.screenshot({ path: join(SHOTS, 'living-ghost.png') });
    expect((await new Faults(server.app.engine.live(session)).revert(f.id)).state).toBe('reverted');
    await expect.poll(() => graph().getAttribute('data-ghosts'), { timeout: 10_000 }).toBe('');
    await page.screenshot({ path: join(SHOTS, 'living-fixed.png') });
    // The flow log keeps the apps' own apart: only theirs, then none of theirs.
    await page.getByLabel('Whose traffic').selectOption('traffic');
    expect(await page.locator('tbody tr:not([data-origin="traffic"])').count()).toBe(0);
    await page.getByLabel('Whose traffic').selectOption('learner');
    expect(await page.locator('tbody tr[data-origin="traffic"]').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
