// Chromium from Debian, driven by playwright-core, with every console error, failed request
// and error status of a page recorded, and axe-core's accessibility check.
import AxeBuilder from '@axe-core/playwright';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { PASSWORD } from './server.mjs';

export const SCREENSHOTS = new URL('./screenshots/', import.meta.url).pathname;

export async function launch() {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A browser context of its own (its own cookies) with one page, logged in as `email`. */
export async function session(browser, server, email, { width = 1280, height = 800, colorScheme = 'light', password = PASSWORD } = {}) {
  const context = await browser.newContext({ baseURL: server.url, viewport: { width, height }, colorScheme, locale: 'en-US' });
  const page = await context.newPage();
  const problems = [];
  let expectOutage = false;
  const note = (text) => (expectOutage ? null : problems.push(text));
  page.on('console', (m) => m.type() === 'error' && note(`console error: ${m.text()}`));
  page.on('pageerror', (e) => note(`page error: ${e.message}`));
  // ERR_ABORTED is the page itself letting go of a request (a test navigating mid-fetch),
  // never the service failing one.
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText ?? '';
    if (why !== 'net::ERR_ABORTED') note(`failed request: ${r.method()} ${r.url()} ${why}`);
  });
  page.on('response', (r) => r.status() >= 400 && note(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`));
  await page.goto('/');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('.live[data-state="live"]').waitFor();
  return {
    context,
    page,
    problems,
    /** While the server is down on purpose, failed requests are the point. */
    outage: (on) => (expectOutage = on),
  };
}

const axeResults = [];

/** axe-core on the page as it stands; serious and critical violations fail the run. */
export async function checkAccessibility(page, name) {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  axeResults.push({ name, serious: bad.length, all: result.violations.length });
  if (bad.length) {
    const detail = bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    throw new Error(`axe: ${name}:\n  ${detail.join('\n  ')}`);
  }
}

export function accessibilityReport() {
  return axeResults.map((r) => `  axe ${r.name}: ${r.serious} serious or critical (${r.all} violations in all)`).join('\n');
}

export async function screenshot(page, name) {
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png` });
}
