// A living lab in a real Chromium: opened broken with no probe run, the failing edge is on the
// graph within 10 s; healthy, its app's own traffic is there (the HTTP edge with its answers); a fault draws the ghost edge of the flow a working
// lab shows, saying what is seen instead and since when, and the fix clears it; an edge's detail,
// the conversations table and its CSV, the timeline scrubbed back, jumped to the first failure and
// played back to live. Screenshots go to test-results/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, SCENARIOS_DIR } from '../../server/config.ts';
import { Faults, faultFromWords } from '../../server/fault/faults.ts';
import { retainedEvents } from '../../server/flow/collector.ts';
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
/** The flow log's rows. */
const log = () => page.locator('section.flowlog tbody tr');

describe('a living lab in the browser', () => {
  it('opened broken, with no probe run, shows the failing edge within 10 s', async () => {
    // A few healthy calls first (the timeline goes back to them), then the fault, then the page.
    await expect.poll(async () => (await retainedEvents(server.app.engine.live(session))).some((e) => e.type === 'http.exchange' && e.status === 200), { timeout: 15_000 }).toBe(true);
    const f = await new Faults(server.app.engine.live(session)).apply(faultFromWords('bind-loopback', ['service=orders', 'port=8080']));
    const opened = Date.now();
    await page.goto(`${server.url}/#/session/${session}`);
    await expect.poll(() => graph().getAttribute('data-flows'), { timeout: 10_000 }).toContain('checkout->orders tcp/8080 refused');
    expect(Date.now() - opened).toBeLessThan(10_000);
    await page.screenshot({ path: join(SHOTS, 'living-broken.png') });
    expect((await new Faults(server.app.engine.live(session)).revert(f.id)).state).toBe('reverted');
  });

  it('shows its app’s own calls on the graph within 10 s, with no probe run', async () => {
    await expect.poll(() => graph().getAttribute('data-http'), { timeout: 10_000 }).toMatch(/^checkout->orders: GET \/api\/v2\/orders — 200 ×\d+$/);
    expect(await log().and(page.locator('[data-origin="traffic"]')).count()).toBeGreaterThan(0);
    await expect.poll(() => graph().getAttribute('data-ghosts'), { timeout: 10_000 }).toBe('');
  });

  it('draws the ghost edge of the broken flow after a fault, and clears it after the fix', async () => {
    const f = await new Faults(server.app.engine.live(session)).apply(faultFromWords('bind-loopback', ['service=orders', 'port=8080']));
    await expect.poll(() => graph().getAttribute('data-ghosts'), { timeout: 10_000 }).toBe('checkout->orders http GET /api/v2/orders refused');
    await page.screenshot({ path: join(SHOTS, 'living-ghost.png') });
    // Only what differs from a working lab: the refused calls, and nothing else.
    await page.locator('[data-only-differs]').check();
    await expect.poll(() => log().count()).toBeGreaterThan(0);
    expect(await log().locator('td.outcome:not(.refused)').count()).toBe(0);
    await page.locator('[data-only-differs]').uncheck();
    expect((await new Faults(server.app.engine.live(session)).revert(f.id)).state).toBe('reverted');
    await expect.poll(() => graph().getAttribute('data-ghosts'), { timeout: 10_000 }).toBe('');
    await page.screenshot({ path: join(SHOTS, 'living-fixed.png') });
    // The flow log keeps the apps' own apart: only theirs, then none of theirs.
    await page.getByLabel('Whose traffic').selectOption('traffic');
    expect(await log().and(page.locator(':not([data-origin="traffic"])')).count()).toBe(0);
    await page.getByLabel('Whose traffic').selectOption('learner');
    expect(await log().and(page.locator('[data-origin="traffic"]')).count()).toBe(0);
    await page.getByLabel('Whose traffic').selectOption('');
    expect(errors).toEqual([]);
  });

  it('opens an edge’s detail: both ends, counts, bytes each way from the conversations, its events, the command', async () => {
    const at = JSON.parse((await graph().getAttribute('data-flow-at')) ?? '{}') as Record<string, [number, number] | null>;
    const point = at['checkout->orders tcp/8080'];
    expect(point).toBeTruthy();
    const box = (await graph().boundingBox())!;
    await page.mouse.click(box.x + point![0], box.y + point![1]);
    const detail = page.locator('[data-edge-detail="tcp|checkout|orders|8080"]');
    await expect.poll(() => detail.count(), { timeout: 5000 }).toBe(1);
    expect(await detail.locator('h3').textContent()).toBe('flow checkout → orders tcp/8080');
    expect(await detail.locator('dl').textContent()).toMatch(/^fromcheckout \(10\.[\d.]+\)toorders \(10\.[\d.]+\)seen\d+ times; last: established/);
    await expect.poll(() => detail.locator('[data-edge-bytes]').getAttribute('data-edge-bytes'), { timeout: 10_000 }).toMatch(/^[1-9]\d*\/[1-9]\d*$/);
    expect(Number(await detail.locator('[data-edge-events]').getAttribute('data-edge-events'))).toBeGreaterThan(2);
    expect(await detail.locator('[data-edge-command]').textContent()).toMatch(/^docker run --rm --network container:checkout --cap-add NET_RAW toolbox tcpdump -ni any host 10\.\d+\.\d+\.\d+ and tcp port 8080$/);
    await page.screenshot({ path: join(SHOTS, 'living-edge.png') });
  });

  it('lists the conversations, filterable and as CSV', async () => {
    await page.getByRole('tab', { name: 'Conversations' }).click();
    const table = page.locator('section.conversations');
    await expect.poll(async () => Number(await table.getAttribute('data-conversations')), { timeout: 10_000 }).toBeGreaterThan(3);
    expect(await table.locator('tr[data-conversation="tcp|checkout|orders|8080"][data-origin="traffic"]').count()).toBeGreaterThan(0);
    await page.getByLabel('Filter the conversations').fill('refused');
    expect(await table.locator('tbody tr').count()).toBeGreaterThan(0);
    expect(await table.locator('tbody tr td:nth-child(8)').allTextContents()).toEqual(expect.arrayContaining(['refused']));
    expect(new Set(await table.locator('tbody tr td:nth-child(8)').allTextContents())).toEqual(new Set(['refused']));
    await page.getByLabel('Filter the conversations').fill('');
    const href = (await table.locator('[data-conversations-csv]').getAttribute('href'))!;
    const csv = await (await page.request.get(`${server.url}${href}`)).text();
    expect(csv.split('\r\n')[0]).toBe('proto,from,from_address,from_port,to,to_address,to_port,packets_out,bytes_out,packets_back,bytes_back,start,duration_ms,outcome,origin,seen_by');
    expect(csv).toMatch(/\r\ntcp,checkout,10\.[\d.]+,2\d{4},orders,10\.[\d.]+,8080,\d+,\d+,\d+,\d+,[\dT:.Z-]+,\d+,closed,traffic,checkout\r\n/);
    await page.getByRole('tab', { name: 'Flow log' }).click();
  });

  it('scrubs the timeline back, jumps to the first failure, plays back to live', async () => {
    const timeline = page.locator('.timeline');
    expect(await timeline.getAttribute('data-timeline')).toBe('live');
    const liveRows = await log().count();
    // When something first failed: the refused calls of the fault, drawn as they were then.
    await page.locator('[data-timeline-failure]').click();
    const moment = (await timeline.getAttribute('data-timeline'))!;
    expect(moment).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await graph().getAttribute('data-flows')).toContain('checkout->orders tcp/8080 refused');
    expect(await log().count()).toBeLessThan(liveRows);
    expect(await log().first().locator('td.outcome').getAttribute('class')).toContain('refused');
    await page.screenshot({ path: join(SHOTS, 'living-timeline.png') });
    // Back to the session's start: nothing had flowed yet.
    await page.locator('.timeline input[type="range"]').evaluate((r: HTMLInputElement) => {
      r.value = r.min;
      r.dispatchEvent(new Event('input'));
    });
    expect(await graph().getAttribute('data-flows')).not.toContain('refused');
    expect(await log().count()).toBeLessThan(10);
    // Played back at speed, it catches up with live by itself.
    await page.getByLabel('Playback speed').selectOption('60');
    await page.locator('[data-timeline-play]').click();
    expect(await timeline.getAttribute('data-playing')).toBe('true');
    await expect.poll(() => timeline.getAttribute('data-timeline'), { timeout: 15_000 }).toBe('live');
    await expect.poll(() => graph().getAttribute('data-flows')).toContain('checkout->orders tcp/8080 ok');
    expect(errors).toEqual([]);
  });
});
