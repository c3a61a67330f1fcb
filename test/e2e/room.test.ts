// A real room in real Chromium: a trainer and three learners on real labs. The room gets in (the
// addresses learners can open, a QR code, the projector view), starts queue and come up with their
// progress and open by themselves, the room reaches a learner inside the lab (messages, a reset with
// the way to the new lab, the end), the lab view reads on a projector and a laptop, the trainer
// sees causes, hints, attempts, time worked, idle and stuck flags, console actions and an event
// feed driven by real sessions, resets a lab for everyone, exports, and ends the workshop with one
// state on every screen. Neighbours draw different variants; 50+ labs stay findable by topic; the
// graph shows the lab as designed until the learner has looked. A second, small server shows a
// local-only join warning, a lab expiring and the engine going slow and down (through a relay).
// Screenshots go to test-results/room-*.png.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectSocket, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, SCENARIOS_DIR } from '../../server/config.ts';
import { startServer, type Running } from '../../server/http/server.ts';
import { TOPICS } from '../../server/protocol/topics.ts';
import { expectGone, none, tempDataDir } from '../helpers.ts';
import { launchBrowser } from './browser.ts';

const SHOTS = join(PROJECT_ROOT, 'test-results');
const shot = (p: Page, name: string) => p.screenshot({ path: join(SHOTS, `room-${name}.png`) });
const LAB = 'alias-collision';
const LONG = 'room-long-title';
const HELD = 'room-port-held';
const PUBLIC_URL = 'http://flowlab.room.test:7420/';
const WORKSHOP = 'Docker networking — room test';
const LONG_TITLE = 'A lab whose title is much too long for one line of the header on a laptop screen, and then some more words';

let browser: Browser;
const contexts: BrowserContext[] = [];
const errors: string[] = [];
const sessions = new Set<string>();
const labsDir = mkdtempSync(join(tmpdir(), 'flowlab-room-labs-'));
let holder: Server;
let heldPort = 0;

/** A room's worth of labs besides the shipped ones: 30 small ones over every topic, a long title, one that cannot start. */
function writeLabs(): void {
  const topics = Object.keys(TOPICS);
  for (let i = 0; i < 30; i++) {
    const id = `room-extra-${String(i).padStart(2, '0')}`;
    writeFileSync(
      join(labsDir, `${id}.yaml`),
      `id: ${id}\ntitle: "Extra lab ${i}"\nsummary: "A small lab number ${i} about ${topics[i % topics.length]}."\nlevel: beginner\nnetwork: bridge\nminutes: 5\ntopic: ${topics[i % topics.length]}\ntags: [extra, t${i % 3}]\nbriefing: b\nnetworks: { net: {} }\nservices:\n  web: { image: toolbox, command: "lab-serve http --port 80", networks: [net], expose: [80] }\n`,
    );
  }
  writeFileSync(
    join(labsDir, `${LONG}.yaml`),
    `id: ${LONG}\ntitle: "${LONG_TITLE}"\nsummary: A lab with a long title.\nlevel: beginner\nnetwork: bridge\nminutes: 5\ntopic: basics\nobjectives:\n  - "Run \`getent hosts web\` in **client**"\nbriefing: b\nnetworks: { front: {}, middle: {}, back: {} }\nservices:\n  client: { image: toolbox, networks: [front] }\n  web: { image: toolbox, command: "lab-serve http --port 80", networks: [front, back], expose: [80] }\n  db: { image: toolbox, command: "lab-serve tcp --port 5432", networks: [back], expose: [5432] }\n  cache: { image: toolbox, command: "lab-serve tcp --port 6379", networks: [middle], expose: [6379] }\n`,
  );
  writeFileSync(
    join(labsDir, `${HELD}.yaml`),
    `id: ${HELD}\ntitle: A lab whose port is taken\nsummary: Publishes a host port another program holds.\nlevel: beginner\nnetwork: bridge\nminutes: 5\ntopic: ports\nbriefing: b\nnetworks: { net: {} }\nservices:\n  web: { image: toolbox, command: "lab-serve http --port 80", networks: [net], ports: ["127.0.0.1:${heldPort}:80"] }\n`,
  );
}

async function newPage(width = 1280, height = 800): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height }, acceptDownloads: true });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => void d.accept());
  return page;
}

const sessionOf = (p: Page) => /#\/session\/([0-9a-f]{8,32})$/.exec(p.url())?.[1] ?? '';

async function joinAs(server: Running, code: string, name: string): Promise<Page> {
  const page = await newPage();
  await page.goto(server.url);
  // A busy machine (the whole suite at once) can take a while to show the page: say what it showed instead.
  await page.getByLabel('Join code').waitFor({ timeout: 60_000 }).catch(async (e: Error) => {
    await shot(page, `join-${name}-failed`);
    throw new Error(`${name}'s page never showed the join form; it shows:\n${await page.locator('body').innerText().catch(() => '(nothing)')}`, { cause: e });
  });
  await page.getByLabel('Join code').fill(code);
  await page.getByLabel('Your name (the trainer sees it)').fill(name);
  await page.getByRole('button', { name: 'Join' }).click();
  await page.locator('tr[data-lab-row]').first().waitFor({ timeout: 15_000 });
  return page;
}

/** Every state a learner's lab row showed, from now on (a start passes through them quickly). */
async function recordStates(page: Page, lab: string): Promise<void> {
  await page.evaluate((id) => {
    const seen: string[] = ((window as unknown as { __states: string[] }).__states = []);
    const note = () => {
      const cell = document.querySelector(`tr[data-lab-row="${id}"] [data-state]`);
      const text = cell ? `${cell.getAttribute('data-state')}|${cell.textContent ?? ''}` : '';
      if (text && seen.at(-1) !== text) seen.push(text);
    };
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  }, lab);
}
const statesSeen = (page: Page) => page.evaluate(() => (window as unknown as { __states: string[] }).__states);

async function typeIn(page: Page, target: string, line: string): Promise<void> {
  await page.locator(`[data-terminal-pane="${target}"] .xterm`).click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}
const terminalText = (page: Page, target: string) => page.locator(`[data-terminal-pane="${target}"] .xterm-rows`).innerText();

async function diagnose(page: Page, cause: string, culprit: string, fixed = false): Promise<string> {
  await page.locator(`input[name="cause"][value="${cause}"]`).check();
  await page.getByLabel('Culprit').fill(culprit);
  if (fixed) await page.getByLabel(/I fixed it/).check();
  await page.getByRole('button', { name: 'Submit diagnosis' }).click();
  await page.locator('dialog.grade-dialog[open] [data-grade]').waitFor({ timeout: 60_000 });
  return (await page.locator('dialog.grade-dialog[open] [data-grade]').getAttribute('data-grade'))!;
}
const closeGrade = (page: Page) => page.locator('button[data-close-grade]').click();

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
  heldPort = (holder.address() as { port: number }).port;
  writeLabs();
  browser = await launchBrowser();
});
afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  holder?.close();
  rmSync(labsDir, { recursive: true, force: true });
});

describe('a room of three learners', () => {
  let server: Running;
  let trainer: Page;
  let ada: Page; // stuck: two wrong answers, then the long-titled lab through the queue
  let bo: Page; // works: probe, console, hint, the right answer; reset by the trainer
  let cy: Page; // idle, then ends the lab and meets a start that fails
  let code = '';
  const learnerId: Record<string, string> = {};
  const cell = (who: string, lab = LAB) => trainer.locator(`td[data-lab="${lab}"][data-learner="${learnerId[who]}"]`);

  beforeAll(async () => {
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      settings: { dataDir: tempDataDir(), publicUrl: PUBLIC_URL, labDirs: [SCENARIOS_DIR, labsDir] },
      background: false,
      handleSignals: false,
      workshop: { maxLabs: 3, idleFlagMs: 15_000, slowStartMs: 1 },
    });
  });
  afterAll(async () => {
    await server?.close();
    for (const s of sessions) expect(await expectGone(s)).toEqual(none);
  });

  it('the trainer finds labs by topic among 50+, and creates the workshop', async () => {
    trainer = await newPage(1500, 1000);
    await trainer.goto(`${server.url}/#trainer=${encodeURIComponent(server.trainerToken!)}`);
    await trainer.getByRole('form', { name: 'Create a workshop' }).waitFor({ timeout: 15_000 });
    const choices = trainer.locator('input[data-lab-choice]');
    expect(await choices.count()).toBeGreaterThanOrEqual(50);
    // Grouped by topic, each card with its summary and tags.
    const groups = await trainer.locator('details.lab-group').evaluateAll((ds) => ds.map((d) => d.getAttribute('data-topic')));
    expect(groups).toEqual(Object.keys(TOPICS).filter((t) => groups.includes(t)));
    expect(groups.length).toBeGreaterThanOrEqual(6);
    const card = trainer.locator(`article[data-lab-row="${LAB}"]`);
    expect(await card.locator('.lab-summary').innerText()).toMatch(/One network alias/);
    expect(await card.locator('.tags li').allInnerTexts()).toEqual(['dns', 'aliases', 'service-discovery']);
    expect(await trainer.locator(`details[data-topic="names"] article[data-lab-row="${LAB}"]`).count()).toBe(1);
    // A DNS lab is found by its topic, not only as "bridge".
    await trainer.getByLabel('Topic').selectOption('names');
    const names = await trainer.locator('article[data-lab-row]').evaluateAll((as) => as.map((a) => a.getAttribute('data-lab-row')));
    expect(names).toContain(LAB);
    expect(names).not.toContain('bridge-basics');
    expect(await trainer.locator('.lab-count').innerText()).toMatch(/^\d+ of \d+ labs$/);
    await trainer.getByLabel('Topic').selectOption('');
    await trainer.getByLabel('Search labs').fill('extra lab 1');
    await expect.poll(() => trainer.locator('article[data-lab-row]').count()).toBe(11); // 1, 10-19
    await trainer.getByLabel('Search labs').fill('');
    await shot(trainer, 'picker');

    await trainer.getByLabel('Name', { exact: true }).fill(WORKSHOP);
    for (const lab of [LAB, LONG, HELD]) await trainer.locator(`input[data-lab-choice="${lab}"]`).check();
    await trainer.getByLabel('Time limit in minutes (optional)').fill('90');
    await trainer.getByRole('button', { name: 'Create workshop' }).click();
    await trainer.locator('[data-join-code]').waitFor({ timeout: 15_000 });
    code = (await trainer.locator('[data-join-code]').getAttribute('data-join-code'))!;
  });

  it('shows the addresses the room can open, a QR code of the first, and a projector view', async () => {
    // The trainer's own browser is on 127.0.0.1: that is not what the room is shown.
    const urls = await trainer.locator('[data-join-url]').evaluateAll((as) => as.map((a) => a.getAttribute('data-join-url')));
    expect(urls[0]).toBe(PUBLIC_URL);
    expect(urls.every((u) => !u!.includes('127.0.0.1'))).toBe(true);
    expect(await trainer.locator('[data-join-local]').count()).toBe(0);
    const qr = trainer.locator('.join-box svg.qr');
    expect(await qr.getAttribute('data-qr-for')).toBe(PUBLIC_URL);
    expect(Number(await qr.getAttribute('data-modules'))).toBeGreaterThanOrEqual(21);
    await shot(trainer, 'dashboard-join');
    await trainer.locator('button[data-projector]').click();
    const projector = trainer.locator('dialog.projector[open]');
    await projector.waitFor();
    expect(await projector.locator('[data-projector-code]').innerText()).toBe(code);
    expect(await projector.locator('.projector-url').innerText()).toBe(PUBLIC_URL);
    const box = (await projector.locator('svg.qr').boundingBox())!;
    expect(box.width).toBeGreaterThan(300); // readable across a room
    await shot(trainer, 'projector');
    await projector.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => trainer.locator('dialog.projector[open]').count()).toBe(0);
  });

  it('three learners start the same lab: each sees it come up and is taken into it; neighbours draw different variants', async () => {
    ada = await joinAs(server, code, 'Ada');
    bo = await joinAs(server, code, 'Bo');
    cy = await joinAs(server, code, 'Cy');
    for (const p of [ada, bo, cy]) await recordStates(p, LAB);
    await Promise.all([ada, bo, cy].map((p) => p.locator(`button[data-start="${LAB}"]`).click()));
    for (const p of [ada, bo, cy]) {
      await p.waitForURL(/#\/session\/[0-9a-f]+$/, { timeout: 120_000 });
      sessions.add(sessionOf(p));
      await expect.poll(() => p.locator('.graph').getAttribute('data-nodes'), { timeout: 30_000 }).toMatch(/svc:checkout/);
    }
    const seen = (await statesSeen(ada)).concat(await statesSeen(bo), await statesSeen(cy));
    expect(seen.some((s) => /^starting\|starting: /.test(s)), seen.join('\n')).toBe(true);
    expect(seen.some((s) => /services \d+ of 3 ready|setting up the problem/.test(s)), seen.join('\n')).toBe(true);

    for (const [who, p] of [['Ada', ada], ['Bo', bo], ['Cy', cy]] as const) {
      const row = trainer.locator('tr[data-learner-row]', { has: trainer.locator('[data-learner-name]', { hasText: who }) });
      await row.waitFor({ timeout: 15_000 });
      learnerId[who] = (await row.getAttribute('data-learner-row'))!;
      expect(server.app.engine.store.get(sessionOf(p))?.state).toBe('ready');
    }
    const variants = [ada, bo, cy].map((p) => server.app.engine.store.get(sessionOf(p))!.variant);
    expect(new Set(variants).size).toBe(2);
    await expect.poll(() => trainer.locator('[data-variants]').innerText(), { timeout: 15_000 }).toMatch(/neighbours get different problems — .*(shared-alias ×[12], alias-dropped ×[12]|alias-dropped ×[12], shared-alias ×[12])/);
    await expect.poll(() => cell('Ada').innerText()).toMatch(/variant (shared-alias|alias-dropped) \(seed \d+\)/);
    await expect.poll(() => trainer.locator('[data-event-kind="start-slow"]').count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
  });

  it('the lab view reads on a laptop: zoom, fit, no edge through a network it is not on, designed until looked at', async () => {
    const graph = bo.locator('.graph');
    const zoom = async () => Number(await graph.getAttribute('data-zoom'));
    const fitted = await zoom();
    await bo.getByRole('button', { name: 'Zoom in' }).click();
    await expect.poll(zoom).toBeGreaterThan(fitted * 1.2);
    await bo.getByRole('button', { name: 'Fit the lab to the screen' }).click();
    await expect.poll(zoom).toBeCloseTo(fitted, 1);
    // Labels are drawn at a readable size once fitted on a laptop.
    expect(Number(await graph.getAttribute('data-label-px'))).toBeGreaterThanOrEqual(11);
    // Designed: orders is orders-v2's alias, whatever the fault did.
    await expect.poll(() => graph.getAttribute('data-attachments')).toBe('checkout@backend orders-v1@backend orders-v2@backend(orders)');
    await bo.getByLabel('Probe from').selectOption('checkout');
    await bo.getByLabel('Probe target').fill('http://orders:8080/api/v2/orders');
    await bo.getByRole('button', { name: 'Run probe' }).click();
    await bo.locator('[data-probe-status]').first().waitFor({ timeout: 30_000 });
    expect(await graph.getAttribute('data-crossings')).toBe('0');
    await shot(bo, 'lab-view');
  });

  it('the docker console says it is the lab’s console; what is typed reaches the trainer, reads apart from changes', async () => {
    const session = sessionOf(bo);
    const variant = server.app.engine.store.get(session)!.variant!;
    await bo.getByRole('tab', { name: 'Terminals' }).click();
    await bo.locator('button[data-open-terminal="console"]').click();
    await expect.poll(() => terminalText(bo, 'console'), { timeout: 60_000 }).toContain(`docker console (lab ${LAB}) $`);
    await typeIn(bo, 'console', "docker ps --format '{{.Names}}'");
    await expect.poll(() => terminalText(bo, 'console'), { timeout: 30_000 }).toMatch(/orders-v1/);
    const looked = variant === 'shared-alias' ? 'orders-v1' : 'orders-v2';
    await typeIn(bo, 'console', `docker inspect ${looked} --format '{{.Name}}'`);
    await expect.poll(() => terminalText(bo, 'console'), { timeout: 30_000 }).toMatch(new RegExp(`^/fl-[0-9a-f]+-${looked}\\s*$`, 'm'));
    // Looked at: the graph shows that container as it runs, marked where it differs from the design.
    const live = variant === 'shared-alias' ? 'orders-v1@backend(orders)!' : 'orders-v2@backend!';
    await expect.poll(() => bo.locator('.graph').getAttribute('data-attachments'), { timeout: 20_000 }).toContain(live);
    // The fix, as the lab's solution has it: a change.
    const fix = variant === 'shared-alias' ? 'docker network disconnect backend orders-v1 && docker network connect --alias orders-v1 backend orders-v1' : 'docker network disconnect backend orders-v2 && docker network connect --alias orders-v2 --alias orders backend orders-v2';
    await typeIn(bo, 'console', `${fix} && echo fixed-it`);
    await expect.poll(() => terminalText(bo, 'console'), { timeout: 30_000 }).toMatch(/^fixed-it$/m);
    await shot(bo, 'console');

    await trainer.locator(`button[data-console-actions="${learnerId.Bo}"]`).click();
    const panel = trainer.locator('.console-actions');
    await expect.poll(async () => (await panel.locator('tr[data-kind]').evaluateAll((rs) => rs.map((r) => `${r.getAttribute('data-kind')} ${r.querySelector('code')?.textContent}`))).join('\n'), { timeout: 20_000 }).toMatch(
      new RegExp(`shell flowlab console ${session}[\\s\\S]*read docker ps --format[\\s\\S]*read docker inspect ${looked}[\\s\\S]*change docker network disconnect backend ${looked}[\\s\\S]*change docker network connect --alias ${looked}`),
    );
    expect(await panel.locator('tr[data-kind="sent"]').count()).toBeGreaterThan(0);
    await shot(trainer, 'console-actions');
  });

  it('the grade opens where the learner looks, and a pass reads as a pass', async () => {
    const session = sessionOf(bo);
    const variant = server.app.engine.store.get(session)!.variant!;
    await bo.locator('button[data-reveal-hint="0"]').click();
    await bo.locator('button[data-reveal-hint="1"]').waitFor({ timeout: 15_000 });
    await bo.locator(`input[name="cause"][value="${variant === 'shared-alias' ? 'alias-shared' : 'alias-missing'}"]`).check();
    await bo.getByLabel('Culprit').fill(variant === 'shared-alias' ? 'orders-v1' : 'orders-v2');
    await bo.getByLabel(/I fixed it/).check();
    // Wherever the learner has scrolled to: the grade opens there, and the page does not move.
    const scrolled = await bo.evaluate(() => window.scrollY);
    await bo.getByRole('button', { name: 'Submit diagnosis' }).click();
    const open = bo.locator('dialog.grade-dialog[open]');
    await open.locator('[data-grade]').waitFor({ timeout: 60_000 });
    expect(await open.locator('[data-grade]').getAttribute('data-grade')).toBe('pass');
    expect(await bo.evaluate(() => window.scrollY)).toBe(scrolled);
    const dialog = (await open.boundingBox())!;
    const viewport = bo.viewportSize()!;
    expect(dialog.y).toBeGreaterThanOrEqual(0);
    expect(dialog.y + dialog.height).toBeLessThanOrEqual(viewport.height);
    expect(await open.locator('[data-grade]').isVisible()).toBe(true);
    const attempts = await bo.locator('dialog.grade-dialog [data-attempts]').innerText();
    expect(attempts).toBe('Passed on attempt 1.');
    expect(await bo.locator('dialog.grade-dialog').innerText()).not.toMatch(/0 attempts left|0 more to go/);
    await shot(bo, 'grade');
    await closeGrade(bo);
    await expect.poll(() => bo.locator('dialog.grade-dialog[open]').count()).toBe(0);
  });

  it('the trainer sees the cause chosen, hints, attempts, time worked, last activity, and flags idle and stuck learners', async () => {
    // Bo has just been graded: not idle.
    await expect.poll(() => cell('Bo').innerText(), { timeout: 10_000 }).toMatch(/score \d+ ✓ passed · hints 1 · attempts 1 · worked \d+:\d\d/);
    expect(await cell('Bo').locator('[data-flag]').count()).toBe(0);
    const wrong = 'v2-route-missing';
    expect(await diagnose(ada, wrong, 'orders-v2')).toBe('fail');
    expect(await ada.locator('dialog.grade-dialog [data-attempts]').innerText()).toMatch(/^Attempt 1; \d+ more to go\.$/);
    await closeGrade(ada);
    expect(await diagnose(ada, wrong, 'orders-v2')).toBe('fail');
    await closeGrade(ada);

    await expect.poll(() => cell('Ada').locator('[data-flag="stuck"]').count(), { timeout: 20_000 }).toBe(1);
    await expect.poll(() => cell('Ada').locator('[data-cause]').getAttribute('data-cause')).toBe(wrong);
    expect(await cell('Bo').innerText()).toMatch(/cause chosen: .*orders/);
    expect(await cell('Bo').innerText()).toMatch(/last active (just now|\d+ min ago)/);
    // Cy has done nothing since the lab came up.
    await expect.poll(() => cell('Cy').locator('[data-flag="idle"]').count(), { timeout: 40_000 }).toBe(1);
    expect(await cell('Cy').innerText()).toMatch(/worked 0:0\d/);
    await shot(trainer, 'dashboard-flags');
  });

  it('a full server queues the next start; the learner sees their place and is taken into the lab once it runs', async () => {
    await ada.getByRole('link', { name: '← Workshop' }).click();
    const row = ada.locator(`tr[data-lab-row="${LONG}"]`);
    await row.waitFor({ timeout: 15_000 });
    await row.locator(`button[data-start="${LONG}"]`).click();
    await expect.poll(() => row.locator('[data-state]').getAttribute('data-state'), { timeout: 15_000 }).toBe('queued');
    expect(await row.innerText()).toMatch(/next in the queue[\s\S]*you will be taken into the lab when it is ready/);
    expect(await row.locator(`progress[data-progress="${LONG}"]`).count()).toBe(1);
    await expect.poll(() => trainer.locator('[data-event-kind="queue"]').count(), { timeout: 15_000 }).toBe(1);
    expect(await trainer.locator('[data-event-kind="queue"]').innerText()).toMatch(/a queue is forming: 3 labs run.*Ada waits for A lab whose title/);
    await shot(ada, 'queued');
    // Cy queues behind her for the lab whose port is taken.
    const cys = sessionOf(cy);
    await cy.getByRole('link', { name: '← Workshop' }).click();
    await cy.locator(`button[data-start="${HELD}"]`).click();
    await expect.poll(() => cy.locator(`tr[data-lab-row="${HELD}"] [data-state]`).innerText(), { timeout: 15_000 }).toMatch(/position 2 in the queue/);

    // Cy ends their lab: Ada's start goes ahead, and she lands in it without a click.
    await cy.locator(`button[data-open="${LAB}"]`).click();
    await cy.locator(`button[data-end-lab="${cys}"]`).click();
    await cy.waitForURL((u) => u.hash === '#/', { timeout: 60_000 });
    await ada.waitForURL(/#\/session\/[0-9a-f]+$/, { timeout: 120_000 });
    sessions.add(sessionOf(ada));
    await expect.poll(() => ada.locator('.graph').getAttribute('data-nodes'), { timeout: 30_000 }).toMatch(/svc:cache/);
  });

  it('a long title stays on one line beside the buttons, and objectives render their Markdown', async () => {
    const h1 = ada.locator('.lab-header h1');
    expect(await h1.getAttribute('title')).toBe(LONG_TITLE);
    const [title, buttons] = [(await h1.boundingBox())!, (await ada.locator('.lab-header .lab-buttons').boundingBox())!];
    const lineHeight = await h1.evaluate((e) => parseFloat(getComputedStyle(e).lineHeight) || parseFloat(getComputedStyle(e).fontSize) * 1.3);
    expect(title.height).toBeLessThan(lineHeight * 1.5);
    expect(Math.abs(buttons.y + buttons.height / 2 - (title.y + title.height / 2))).toBeLessThan(lineHeight);
    expect(await h1.evaluate((e) => e.scrollWidth > e.clientWidth)).toBe(true);
    const objectives = ada.locator('.objectives');
    expect(await objectives.locator('li code').innerText()).toBe('getent hosts web');
    expect(await objectives.locator('li strong').innerText()).toBe('client');
    expect(await objectives.innerText()).not.toContain('`');
    // A probe from client to db is drawn around the network boxes it is not on.
    await ada.getByLabel('Probe from').selectOption('client');
    await ada.getByLabel('Probe target').fill('tcp:db:5432');
    await ada.getByRole('button', { name: 'Run probe' }).click();
    await ada.locator('[data-probe-status]').first().waitFor({ timeout: 30_000 });
    await expect.poll(() => ada.locator('.graph').getAttribute('data-flows')).toMatch(/client->db tcp\/5432/);
    expect(await ada.locator('.graph').getAttribute('data-crossings')).toBe('0');
    await shot(ada, 'long-title');
  });

  it('a start that fails is in the event feed, with Docker’s reason', async () => {
    // Ada is done with the long lab: Cy's queued start goes ahead, and fails.
    const long = sessionOf(ada);
    await ada.locator(`button[data-end-lab="${long}"]`).click();
    await ada.waitForURL((u) => u.hash === '#/', { timeout: 60_000 });
    const state = cy.locator(`tr[data-lab-row="${HELD}"] [data-state]`);
    await expect.poll(() => state.getAttribute('data-state'), { timeout: 60_000 }).toBe('failed');
    expect(await state.innerText()).toMatch(/cannot publish its port/);
    await expect.poll(() => trainer.locator('[data-event-kind="start-failed"]').count(), { timeout: 15_000 }).toBe(1);
    expect(await trainer.locator('[data-event-kind="start-failed"]').innerText()).toMatch(/Cy.*A lab whose port is taken.*cannot publish/);
    await shot(trainer, 'feed');
  });

  it('a broadcast and the time reach the learner inside the lab; a reset for everyone tells them and offers the new lab', async () => {
    await trainer.getByLabel('Message to all learners').fill('Five minutes to go');
    await trainer.getByRole('button', { name: 'Send to everyone' }).click();
    await expect.poll(() => bo.locator('.room-banner [data-message]').innerText().catch(() => ''), { timeout: 15_000 }).toBe('Five minutes to go');
    expect(await bo.locator('.room-banner .room-timer').innerText()).toMatch(/^workshop: 1:[0-2]\d:\d\d left$/);

    const old = sessionOf(bo);
    await trainer.locator(`button[data-reset-all="${LAB}"]`).click();
    await expect.poll(() => trainer.locator('.status-line').innerText(), { timeout: 60_000 }).toMatch(/was reset for 2 learners/);
    const notice = bo.locator('[data-lab-gone]');
    await expect.poll(() => notice.innerText().catch(() => ''), { timeout: 30_000 }).toMatch(/Your trainer reset this lab/);
    expect(await bo.locator('[data-lab-stopped]').innerText()).toMatch(/can no longer be probed, changed or graded: your trainer reset this lab/);
    expect(await bo.locator('form.probe-launcher').evaluate((e) => e.closest('[inert]') !== null)).toBe(true);
    // The old session is never acted on silently.
    const refused = await bo.evaluate(async (s) => {
      const r = await fetch(`/api/sessions/${s}/probes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from: 'checkout', target: 'dns:orders' }) });
      return { status: r.status, body: await r.text() };
    }, old);
    expect(refused.status).toBe(410);
    expect(refused.body).toMatch(/trainer reset this lab/);
    await bo.locator('button[data-open-new]').waitFor({ timeout: 120_000 });
    await shot(bo, 'reset-banner');
    await bo.locator('button[data-open-new]').click();
    await bo.waitForURL((u) => /#\/session\/[0-9a-f]+$/.test(u.hash) && !u.hash.endsWith(old), { timeout: 30_000 });
    sessions.add(sessionOf(bo));
    await expect.poll(() => bo.locator('.graph').getAttribute('data-nodes'), { timeout: 30_000 }).toMatch(/svc:checkout/);
    // A fresh start: the clock and counters begin again, the history is kept (resets counted).
    await expect.poll(() => cell('Bo').innerText(), { timeout: 20_000 }).toMatch(/score — · hints 0 · attempts 0 · worked 0:0\d[\s\S]*reset 1×/);
    expect(await trainer.locator('[data-event-kind="reset"]').count()).toBeGreaterThanOrEqual(1);
    const fresh = server.app.engine.store.get(sessionOf(bo))!;
    expect(fresh.variant).toBe(server.app.engine.store.get(old)!.variant);
  });

  it('the export has the variant and seed and the workshop’s name and date; ending shows one state everywhere; the export stays', async () => {
    const download = async () => {
      const [d] = await Promise.all([trainer.waitForEvent('download'), trainer.locator('a[data-export]').first().click()]);
      return { name: d.suggestedFilename(), text: readFileSync((await d.path())!, 'utf8') };
    };
    const today = new Date().toISOString().slice(0, 10);
    const before = await download();
    expect(before.name).toBe(`docker-networking-room-test-${today}.csv`);
    const [header, ...rows] = before.text.trim().split(/\r?\n/);
    expect(header).toBe('workshop,learner,joined_at,lab,variant,seed,state,best_score,passed,attempts,hints,seconds_worked,resets,last_cause');
    const bo1 = rows.find((r) => r.includes(',Bo,') && r.includes(`,${LAB},`))!;
    // Bo's lab was reset: the row is the fresh one's (no score yet), with the reset counted.
    expect(bo1).toMatch(/,(shared-alias|alias-dropped),\d+,ready,,no,0,0,\d+,1,$/);

    await trainer.locator('button[data-end-workshop]').click();
    await expect.poll(() => trainer.locator('[data-ended]').innerText().catch(() => ''), { timeout: 90_000 }).toMatch(/has ended/);
    // A learner inside a lab is told, their controls stop; on the workshop page nothing offers a lab that is gone.
    await expect.poll(() => bo.locator('[data-lab-gone]').getAttribute('data-lab-gone').catch(() => ''), { timeout: 30_000 }).toBe('ended');
    expect(await bo.locator('[data-lab-stopped]').innerText()).toMatch(/the workshop has ended/);
    for (const p of [ada, cy]) {
      await expect.poll(() => p.locator('[data-ended]').innerText().catch(() => ''), { timeout: 30_000 }).toMatch(/has ended/);
      expect(await p.locator('button[data-open], button[data-start]').count()).toBe(0);
    }
    // Once ended, ended everywhere: nothing still says it is ending.
    for (const p of [trainer, ada, bo, cy]) expect(await p.locator('body').innerText()).not.toMatch(/ending…|is ending/);
    await shot(bo, 'ended-in-lab');
    await shot(ada, 'ended');
    const after = await download();
    expect(after.name).toBe(before.name);
    expect(after.text.split(/\r?\n/)[0]).toBe(header);
    for (const s of sessions) expect(await expectGone(s)).toEqual(none);
    expect(errors).toEqual([]);
  });
});

/** A relay to the real engine that can be made slow or cut, so the feed is driven by a real engine going away. */
class EngineRelay {
  mode: 'pass' | 'slow' | 'down' = 'pass';
  readonly path = join(tmpdir(), `flowlab-room-engine-${process.pid}.sock`);
  private readonly open = new Set<Socket>();
  private server?: Server;

  async start(): Promise<void> {
    rmSync(this.path, { force: true });
    this.server = createServer((client) => {
      this.open.add(client);
      client.on('close', () => this.open.delete(client));
      if (this.mode === 'down') return void client.destroy();
      const go = () => {
        const up = connectSocket('/var/run/docker.sock');
        client.pipe(up);
        // Answers are held back while slow, in order (a kept-alive connection is slowed too).
        let queue = Promise.resolve();
        up.on('data', (chunk: Buffer) => {
          queue = queue.then(() => (this.mode === 'slow' ? new Promise((r) => setTimeout(r, 900)) : undefined)).then(() => void client.write(chunk));
        });
        up.on('end', () => void queue.then(() => client.end()));
        up.on('error', () => client.destroy());
        client.on('error', () => up.destroy());
        client.on('close', () => up.destroy());
      };
      if (this.mode === 'slow') setTimeout(go, 900);
      else go();
    });
    await new Promise<void>((r) => this.server!.listen(this.path, () => r()));
  }

  cut(): void {
    this.mode = 'down';
    for (const s of this.open) s.destroy();
  }

  close(): void {
    this.server?.close();
    for (const s of this.open) s.destroy();
    rmSync(this.path, { force: true });
  }
}

describe('a small server on this machine only', () => {
  let server: Running;
  let trainer: Page;
  const relay = new EngineRelay();
  let session = '';

  beforeAll(async () => {
    await relay.start();
    const before = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `unix://${relay.path}`;
    try {
      server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: tempDataDir() }, background: false, handleSignals: false, workshop: { maxLabs: 2, idleMs: 4000, engineWatchMs: 300, engineSlowMs: 500 } });
    } finally {
      if (before === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = before;
    }
  });
  afterAll(async () => {
    relay.mode = 'pass';
    await server?.close();
    relay.close();
    if (session) expect(await expectGone(session)).toEqual(none);
  });

  it('warns that learners cannot reach it, expires an idle lab, and reports the engine slow, down and back', async () => {
    trainer = await newPage(1400, 1000);
    await trainer.goto(`${server.url}/#trainer=${encodeURIComponent(server.trainerToken!)}`);
    await trainer.getByRole('form', { name: 'Create a workshop' }).waitFor({ timeout: 15_000 });
    await trainer.getByLabel('Name', { exact: true }).fill('Local only');
    await trainer.locator('input[data-lab-choice="bridge-basics"]').check();
    await trainer.getByRole('button', { name: 'Create workshop' }).click();
    const code = (await trainer.locator('[data-join-code]').getAttribute('data-join-code', { timeout: 15_000 }))!;
    expect(await trainer.locator('[data-join-local]').innerText()).toMatch(/this machine only.*--host 0\.0\.0\.0.*FLOWLAB_PUBLIC_URL/);
    expect(await trainer.locator('[data-join-url]').first().getAttribute('data-join-url')).toBe(`${server.url}/`);
    await shot(trainer, 'local-only');

    const learner = await joinAs(server, code, 'Dee');
    await learner.locator('button[data-start="bridge-basics"]').click();
    await learner.waitForURL(/#\/session\/[0-9a-f]+$/, { timeout: 120_000 });
    session = sessionOf(learner);
    await learner.getByRole('link', { name: '← Workshop' }).click();
    const state = learner.locator('tr[data-lab-row="bridge-basics"] [data-state]');
    await expect.poll(() => state.getAttribute('data-state'), { timeout: 60_000 }).toBe('expired');
    expect(await learner.locator('button[data-start="bridge-basics"]').innerText()).toBe('Start again');
    await expect.poll(() => trainer.locator('[data-event-kind="expired"]').count(), { timeout: 15_000 }).toBe(1);
    expect(await trainer.locator('[data-event-kind="expired"]').innerText()).toMatch(/Dee's Bridge basics|Dee’s .*was removed after/);
    expect(await expectGone(session)).toEqual(none);

    const engine = trainer.locator('[data-event-kind="engine"]');
    relay.mode = 'slow';
    await expect.poll(() => engine.allInnerTexts(), { timeout: 20_000 }).toContainEqual(expect.stringMatching(/answers slowly/));
    relay.cut();
    await expect.poll(() => engine.allInnerTexts(), { timeout: 20_000 }).toContainEqual(expect.stringMatching(/does not answer/));
    relay.mode = 'pass';
    await expect.poll(() => engine.allInnerTexts(), { timeout: 20_000 }).toContainEqual(expect.stringMatching(/answers again/));
    await shot(trainer, 'engine-feed');
    expect(errors).toEqual([]);
  });
});
