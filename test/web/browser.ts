/** Shared set-up of the playground's browser tests: the built page served on localhost and Debian's Chromium driven by playwright-core. */

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Server } from 'node:http';
import type { BrowserContext, Page } from 'playwright-core';
import { servePlayground } from '../../src/cli/playground.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const WEB_DIR = path.resolve('dist/web');

/** Why the browser tests cannot run here, or undefined. Under CI=true a missing browser is a failure, not a skip. */
export function browserSkipReason(): string | undefined {
  const why = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install chromium)`;
  if (why && process.env.CI === 'true') throw new Error(`web e2e: ${why}; CI must install it`);
  if (why) console.warn(`[skip] web e2e: ${why}`);
  return why;
}

/** Builds dist/web with Vite when it is missing (npm run build makes it; a fresh checkout in a test run may not have it). */
async function ensureBuilt(): Promise<void> {
  if (existsSync(path.join(WEB_DIR, 'index.html'))) return;
  const { build } = await import('vite');
  await build({ configFile: path.resolve('web/vite.config.ts'), logLevel: 'warn' });
}

export interface Session {
  url: string;
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** Serves the page, starts headless Chromium with a fresh profile, and opens one tab. */
export async function openSession(): Promise<Session> {
  await ensureBuilt();
  const server: Server = await servePlayground(WEB_DIR, 0);
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
  const profile = mkdtempSync(path.join(tmpdir(), 'bpfkit-web-chromium-'));
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 1000 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return {
    url,
    context,
    page,
    async close() {
      await context.close();
      await new Promise((r) => server.close(r));
      rmSync(profile, { recursive: true, force: true });
      if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    },
  };
}
