/**
 * What every e2e test shares: Debian's Chromium (BGAD_CHROMIUM to use another), the screenshot
 * folder test-artifacts/e2e/, a page whose errors and console errors are collected (the tests
 * end by asserting none), and waiting for a job of the services.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { ApiHandlers, JobState } from '../../src-main/common/api';

export const CHROMIUM = process.env.BGAD_CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS = join(process.cwd(), 'test-artifacts', 'e2e');
export const hasChromium = existsSync(CHROMIUM);

/** Polls a job until it is no longer running; its final state. */
export async function jobDone(h: ApiHandlers, jobId: string): Promise<JobState> {
  for (;;) {
    const j = await h['jobs.get']({ jobId });
    if (j.status !== 'running') return j;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Headless Chromium with one page of the given height (1440 wide); page errors and console errors go to `errors`. */
export async function launchPage(errors: string[], height = 900): Promise<{ browser: Browser; page: Page }> {
  mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1440, height } });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return { browser, page };
}
