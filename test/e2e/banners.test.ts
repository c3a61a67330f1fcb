// When the Docker engine goes away, the page says so and what to do — never a blank page — and
// recovers by itself when the engine answers again. The "engine" here is a socket that first
// leads nowhere, then to the real daemon.
import { createServer, connect, type Server } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type Running } from '../../server/http/server.ts';
import { tempDataDir } from '../helpers.ts';
import { launchBrowser } from './browser.ts';

const socketPath = join(tmpdir(), `flowlab-engine-${process.pid}.sock`);
let server: Running;
let browser: Browser;
let relay: Server | undefined;

beforeAll(async () => {
  const before = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = `unix://${socketPath}`;
  try {
    server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: tempDataDir() }, background: false, handleSignals: false });
  } finally {
    if (before === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = before;
  }
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  relay?.close();
  rmSync(socketPath, { force: true });
});

describe('banners', () => {
  it('shows that the engine is down, then recovers when it is back', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    const banner = page.locator('[data-banner="docker"]');
    await banner.waitFor({ timeout: 15_000 });
    expect(await banner.innerText()).toMatch(/the Docker engine does not answer .*flowlab doctor --fix.*recovers by itself/);
    // The catalogue still shows: the page is never blank.
    await expect.poll(() => page.locator('button[data-lab]').count()).toBeGreaterThan(0);

    relay = createServer((client) => {
      const up = connect('/var/run/docker.sock');
      client.pipe(up).pipe(client);
      client.on('error', () => up.destroy());
      up.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => relay!.listen(socketPath, r));
    await expect.poll(() => banner.count(), { timeout: 20_000 }).toBe(0);
    expect(errors).toEqual([]);
  });
});
