// The page in a real browser against a real `jobwatch serve` (make test runs this; see
// web/README.md). Each scenario opens its own contexts; every page must end with no console
// error, failed request or error status, and no serious accessibility violation.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { accessibilityReport, checkAccessibility, launch, screenshot, SCREENSHOTS, session } from './browser.mjs';
import { ADMIN, PASSWORD, Server } from './server.mjs';

const bin = process.env.JOBWATCH_BIN;
if (!bin) throw new Error('JOBWATCH_BIN: the jobwatch binary to test');

const widget = (page) => page.locator('.widget-count');

/** What the page tested here loads first, gzipped: the figure the 200 KB budget is about. */
function bundleReport() {
  const dist = new URL('../dist/', import.meta.url).pathname;
  const page = readFileSync(`${dist}index.html`, 'utf8');
  const assets = [...page.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
  const size = (ext) => assets.filter((a) => a.endsWith(ext)).reduce((n, a) => n + gzipSync(readFileSync(dist + a), { level: 9 }).length, 0);
  return `  bundle: initial JS ${(size('.js') / 1024).toFixed(1)} KB gzipped (budget 200 KB), CSS ${(size('.css') / 1024).toFixed(1)} KB`;
}
let users = 0;
const fresh = (server, name) => server.user(`${name}-${++users}@example.com`);

const scenarios = {
  async 'a job the user starts shows "1 running", then "0 running" and its toast'(server, browser) {
    const ann = await fresh(server, 'ann');
    const s = await session(browser, server, ann.email);
    await widget(s.page).filter({ hasText: '0 running' }).waitFor();
    await checkAccessibility(s.page, 'jobs (empty)');
    const job = await server.processing(ann, { steps: 15, stepMs: 200, label: 'suppliers-2026.csv' });
    await widget(s.page).filter({ hasText: '1 running' }).waitFor();
    // Keyboard only: focus the widget, open it with Enter.
    await s.page.locator('.widget-button').focus();
    await s.page.keyboard.press('Enter');
    await s.page.waitForFunction(
      (selector) => Number(document.querySelector(selector)?.getAttribute('aria-valuenow')) > 0,
      `.widget-panel [data-job-id="${job.id}"] [role="progressbar"]`,
    );
    await checkAccessibility(s.page, 'jobs with the running panel open');
    await screenshot(s.page, 'dashboard');
    await s.page.keyboard.press('Tab'); // into the panel: its first link
    assert.ok(await s.page.locator('.widget-panel').evaluate((el) => el.contains(document.activeElement)), 'Tab enters the panel');
    await s.page.keyboard.press('Escape');
    await s.page.locator('.widget-panel').waitFor({ state: 'detached' });
    assert.ok(await s.page.locator('.widget-button').evaluate((el) => el === document.activeElement), 'focus stays on the widget');
    await widget(s.page).filter({ hasText: '0 running' }).waitFor({ timeout: 15_000 });
    await s.page.locator('.toast', { hasText: 'suppliers-2026.csv' }).waitFor();
    await s.page.locator(`tr[data-job-id="${job.id}"]`, { hasText: 'Completed' }).waitFor();
    // Email on completion: chosen in the header, kept by the server across a reload.
    const email = s.page.getByLabel('Email me when my jobs finish');
    await email.selectOption('failures');
    await s.page.locator('select[aria-label="Email me when my jobs finish"]:enabled').waitFor();
    const me = await s.page.evaluate(() => fetch('/api/v2/auth/me').then((r) => r.json()));
    assert.equal(me.notify.email, 'failures');
    await s.page.reload();
    await s.page.locator('select[aria-label="Email me when my jobs finish"]').waitFor();
    assert.equal(await s.page.getByLabel('Email me when my jobs finish').inputValue(), 'failures');
    return s;
  },

  async 'the spec: upload a file on Imports → "1 running" → "0 running" → the dataset is listed, exported and downloadable'(server, browser) {
    const ivy = await fresh(server, 'ivy');
    const s = await session(browser, server, ivy.email);
    await s.page.getByRole('link', { name: 'Imports' }).click();
    await s.page.getByLabel('New supplier').fill('Acme Ltd');
    await s.page.getByRole('button', { name: 'Add supplier' }).click();
    await s.page.getByRole('combobox', { name: 'Supplier' }).filter({ hasText: 'Acme Ltd' }).waitFor();
    await checkAccessibility(s.page, 'imports');
    const rows = ['sku,name,price,updated'];
    for (let i = 0; i < 200_000; i++) rows.push(`SKU-${i},Widget ${i},${(i % 1000) / 10},2026-11-${String((i % 28) + 1).padStart(2, '0')}`);
    await s.page.locator('input[type="file"]').setInputFiles({ name: 'prices.csv', mimeType: 'text/csv', buffer: Buffer.from(rows.join('\n')) });
    await widget(s.page).filter({ hasText: '1 running' }).waitFor();
    const upload = s.page.locator('.upload', { hasText: 'prices.csv' });
    await upload.getByText('Dataset ready').waitFor({ timeout: 60_000 });
    await widget(s.page).filter({ hasText: '0 running' }).waitFor();
    await screenshot(s.page, 'imported');
    await s.page.getByRole('link', { name: 'Datasets' }).click();
    await s.page.locator('table.jobs').waitFor();
    await checkAccessibility(s.page, 'datasets');
    await s.page.getByRole('link', { name: 'prices.csv', exact: true }).click();
    await s.page.getByText('200,000 rows').waitFor();
    await s.page.getByRole('columnheader', { name: 'price decimal' }).waitFor();
    await checkAccessibility(s.page, 'dataset with its preview');
    await s.page.getByRole('button', { name: 'Export as CSV' }).click();
    const link = s.page.getByRole('link', { name: 'Download the CSV file' });
    await link.waitFor({ timeout: 60_000 });
    const [download] = await Promise.all([s.page.waitForEvent('download'), link.click()]);
    const text = await (await download.createReadStream()).toArray();
    assert.match(Buffer.concat(text).subarray(0, 40).toString(), /^sku,name,price,updated/);
    await screenshot(s.page, 'dataset');
    return s;
  },

  async 'a broken file fails at once, saying why and on which line; its retry says to upload it again'(server, browser) {
    const joe = await fresh(server, 'joe');
    const s = await session(browser, server, joe.email);
    await s.page.goto('/imports');
    await s.page.getByLabel('New supplier').fill('Broken Inc');
    await s.page.getByRole('button', { name: 'Add supplier' }).click();
    await s.page.getByRole('combobox', { name: 'Supplier' }).waitFor();
    const csv = 'sku,price\nA-1,1.00\nA-2,2.00,surprise,extra\n';
    await s.page.locator('input[type="file"]').setInputFiles({ name: 'broken.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    const failure = s.page.locator('.upload', { hasText: 'broken.csv' }).getByRole('alert');
    await failure.waitFor({ timeout: 30_000 });
    assert.match(await failure.textContent(), /line 3/);
    await s.page.locator('.toast', { hasText: 'broken.csv' }).waitFor();
    // Retrying it from History says what to do instead: the rejected file is not kept.
    await s.page.goto('/?status=failed&type=import');
    await s.page.getByRole('button', { name: 'Retry Import broken.csv' }).click();
    await s.page.getByRole('row', { name: /broken\.csv/ }).getByRole('alert').filter({ hasText: 'upload the file again' }).waitFor();
    // That refusal (409) is the answer the page shows; it is not a failure of the page.
    s.problems.splice(0, s.problems.length, ...s.problems.filter((p) => !/409/.test(p)));
    return s;
  },

  async 'reading options import a file the defaults refuse, and its dataset says what was changed'(server, browser) {
    const kim = await fresh(server, 'kim');
    const s = await session(browser, server, kim.email);
    await s.page.goto('/imports');
    await s.page.getByLabel('New supplier').fill('Notes Ltd');
    await s.page.getByRole('button', { name: 'Add supplier' }).click();
    await s.page.getByRole('combobox', { name: 'Supplier' }).waitFor();
    await s.page.getByText('Reading options').click();
    await s.page.getByLabel('Rows of another width').selectOption('trim');
    const csv = 'sku;price\r\nA-1;1,00\r\nA-2;2,00;ask Bob\r\nA-3\r\n';
    await s.page.locator('input[type="file"]').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from(csv) });
    await s.page.getByRole('link', { name: 'notes.txt', exact: true }).click({ timeout: 30_000 });
    const changes = s.page.getByRole('list', { name: 'Changes made while reading' });
    await changes.getByText("1 row had cells past the header's columns, dropped (the first on line 3)").waitFor();
    await changes.getByText('1 row shorter than the header, padded with empty values (the first on line 4)').waitFor();
    await s.page.getByText('delimiter ;').waitFor();
    return s;
  },

  async 'cancel a running job from the widget'(server, browser) {
    const bob = await fresh(server, 'bob');
    const s = await session(browser, server, bob.email);
    const job = await server.processing(bob, { steps: 200, stepMs: 100, label: 'huge.csv' });
    await widget(s.page).filter({ hasText: '1 running' }).waitFor();
    await s.page.locator('.widget-button').click();
    await s.page.getByRole('region', { name: 'Your active jobs' }).getByRole('button', { name: 'Cancel Processing huge.csv' }).click();
    await server.until(bob, job.id, (j) => j.status === 'cancelled', 'cancelled');
    await widget(s.page).filter({ hasText: '0 running' }).waitFor();
    await s.page.locator(`.widget-panel [data-job-id="${job.id}"]`, { hasText: 'Cancelled' }).waitFor();
    return s;
  },

  async 'retry a failed job from History, and see who retried it in its timeline'(server, browser) {
    const cat = await fresh(server, 'cat');
    const job = await server.processing(cat, { steps: 3, stepMs: 10, failAt: 2, label: 'broken.csv' });
    await server.until(cat, job.id, (j) => j.status === 'failed', 'failed');
    const s = await session(browser, server, cat.email);
    await s.page.goto('/?status=failed');
    const row = s.page.locator(`tr[data-job-id="${job.id}"]`);
    await row.getByText('step 2').first().waitFor();
    await row.getByRole('button', { name: 'Retry Processing broken.csv' }).click();
    await server.until(cat, job.id, (j) => j.attempt === 2 && j.status === 'failed', 'failed again on attempt 2');
    await s.page.goto(`/jobs/${job.id}`);
    await s.page.locator('.timeline li', { hasText: `Retried` }).filter({ hasText: cat.email }).waitFor();
    await checkAccessibility(s.page, 'job detail with its timeline');
    await screenshot(s.page, 'job-timeline');
    return s;
  },

  async 'bulk retry every failed job on a page'(server, browser) {
    const dan = await fresh(server, 'dan');
    const jobs = [];
    for (let i = 0; i < 3; i++) jobs.push(await server.processing(dan, { steps: 2, stepMs: 10, failAt: 1, label: `bad-${i}.csv` }));
    for (const job of jobs) await server.until(dan, job.id, (j) => j.status === 'failed', 'failed');
    const s = await session(browser, server, dan.email);
    await s.page.goto('/?status=failed');
    await s.page.getByRole('button', { name: 'Retry all failed on this page (3)' }).waitFor();
    // A job pushed while "failed" is the filter shows only once it matches it.
    const pushed = await server.processing(dan, { steps: 8, stepMs: 150, failAt: 6, label: 'late.csv' });
    await widget(s.page).filter({ hasText: '1 running' }).waitFor();
    assert.equal(await s.page.locator(`tr[data-job-id="${pushed.id}"]`).count(), 0, 'a running job is not in a "failed" view');
    await s.page.locator(`tr[data-job-id="${pushed.id}"]`, { hasText: 'Failed' }).waitFor({ timeout: 15_000 });
    await s.page.getByRole('button', { name: 'Retry all failed on this page (4)' }).click();
    await s.page.getByText('4 of 4 done').waitFor();
    for (const job of jobs) await server.until(dan, job.id, (j) => j.attempt === 2, 'retried');
    await checkAccessibility(s.page, 'history filtered to failed jobs');
    return s;
  },

  async 'two users never see each other’s jobs'(server, browser) {
    const eve = await fresh(server, 'eve');
    const fay = await fresh(server, 'fay');
    const a = await session(browser, server, eve.email);
    const b = await session(browser, server, fay.email);
    const job = await server.processing(eve, { steps: 30, stepMs: 100, label: 'eve-only.csv' });
    await widget(a.page).filter({ hasText: '1 running' }).waitFor();
    await a.page.locator(`tr[data-job-id="${job.id}"]`).waitFor();
    await b.page.waitForTimeout(1000); // time for a leak to show, were there one
    assert.equal(await widget(b.page).textContent(), '0 running');
    assert.equal(await b.page.locator(`[data-job-id="${job.id}"]`).count(), 0);
    assert.equal(await b.page.getByText('eve-only.csv').count(), 0);
    assert.equal(await b.page.getByRole('link', { name: 'Admin' }).count(), 0, 'no Admin page for users');
    await b.page.goto(`/jobs/${job.id}`, { waitUntil: 'networkidle' });
    await b.page.getByText('There is no such job among yours.').waitFor();
    b.problems.splice(0, b.problems.length, ...b.problems.filter((p) => !p.startsWith('HTTP 404') && !p.includes('status of 404')));
    return [a, b];
  },

  async 'the server restarts mid-job: the page reconnects and shows the final state'(server, browser) {
    const gus = await fresh(server, 'gus');
    const s = await session(browser, server, gus.email, { width: 375, height: 740, colorScheme: 'dark' });
    const job = await server.processing(gus, { steps: 20, stepMs: 150, label: 'restart.csv' });
    await widget(s.page).filter({ hasText: '1 running' }).waitFor();
    s.outage(true);
    await server.stop();
    await s.page.locator('.live[data-state="reconnecting"]').waitFor();
    await server.up();
    // The reconnect delay is capped at 30 s: on a loaded machine the next try may be that far.
    await s.page.locator('.live[data-state="live"]').waitFor({ timeout: 40_000 });
    s.outage(false);
    await server.until(gus, job.id, (j) => j.status === 'completed', 'completed after the restart');
    await s.page.locator(`tr[data-job-id="${job.id}"]`, { hasText: 'Completed' }).waitFor({ timeout: 15_000 });
    await widget(s.page).filter({ hasText: '0 running' }).waitFor();
    const fits = async (page) => {
      const wide = await s.page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(wide <= 375, `${page}: no sideways scrolling at 375 px (the page is ${wide} px wide)`);
    };
    await fits('jobs');
    await checkAccessibility(s.page, 'jobs at 375 px, dark');
    await screenshot(s.page, 'narrow-dark');
    await s.page.getByRole('link', { name: 'Imports' }).click();
    await s.page.getByLabel('New supplier').waitFor();
    await fits('imports');
    await s.page.locator('.widget-button').click();
    await s.page.locator('.widget-panel').waitFor();
    await fits('the open panel');
    await checkAccessibility(s.page, 'imports at 375 px, dark, panel open');
    return s;
  },

  async 'an admin sees the queue and every user’s jobs, manages schedules and adds users'(server, browser) {
    const kim = await fresh(server, 'kim');
    const waiting = await server.api('POST', '/jobs', kim.token, { job_type: 'validation', metadata: { filename: 'kims-file.csv' } });
    const s = await session(browser, server, ADMIN.email, { password: ADMIN.password });
    await s.page.getByRole('link', { name: 'Admin' }).click();
    await s.page.getByRole('row', { name: /validation Waiting \d+/ }).waitFor();
    await s.page.getByLabel('Name').fill('nightly-check');
    await s.page.getByLabel('Cron').fill('0 3 * * *');
    await s.page.getByRole('button', { name: 'Add schedule' }).click();
    await s.page.getByRole('cell', { name: 'nightly-check', exact: true }).waitFor();
    await checkAccessibility(s.page, 'admin');
    await screenshot(s.page, 'admin');
    await s.page.getByRole('button', { name: 'Remove schedule nightly-check' }).click();
    await s.page.getByRole('cell', { name: 'nightly-check', exact: true }).waitFor({ state: 'detached' });
    const form = s.page.getByRole('form', { name: 'Add a user' });
    await form.getByLabel('Email').fill('new-colleague@example.com');
    await form.getByLabel('Password').fill(PASSWORD);
    await form.getByRole('button', { name: 'Add user' }).click();
    await s.page.getByText('Added new-colleague@example.com.').waitFor();
    await server.token('new-colleague@example.com', PASSWORD);
    await s.page.getByRole('link', { name: 'Every user’s jobs' }).click();
    await s.page.locator(`tr[data-job-id="${waiting.id}"]`).waitFor();
    assert.ok(await s.page.getByLabel('Every user').isChecked());
    return s;
  },

  async 'logging out shows the login and stops the live channel'(server, browser) {
    const hal = await fresh(server, 'hal');
    const s = await session(browser, server, hal.email);
    const after = [];
    await s.page.getByRole('button', { name: 'Log out' }).click();
    await s.page.getByRole('button', { name: 'Log in' }).waitFor();
    s.page.on('websocket', (ws) => after.push(`socket ${ws.url()}`));
    s.page.on('request', (r) => after.push(`${r.method()} ${r.url()}`));
    await checkAccessibility(s.page, 'login');
    // Past a reconnect and a 10 s poll, were either still scheduled: nothing is asked.
    await s.page.waitForTimeout(12_000);
    assert.deepEqual(after, [], 'no socket and no request after logout');
    return s;
  },
};

const server = await Server.start(bin);
const browser = await launch();
let failed = 0;
try {
  for (const [name, scenario] of Object.entries(scenarios)) {
    const started = Date.now();
    try {
      const sessions = [await scenario(server, browser)].flat();
      for (const s of sessions) {
        assert.deepEqual(s.problems, [], 'no console errors, failed requests or error statuses');
        await s.context.close();
      }
      console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (error) {
      failed += 1;
      console.log(`FAIL ${name}\n${error.stack ?? error}`);
    }
  }
} finally {
  await browser.close();
  await server.dispose();
}
console.log(accessibilityReport());
console.log(bundleReport());
// The README's screenshot is replaced on request only (it is committed).
const readme = new URL('../../docs/dashboard.png', import.meta.url).pathname;
if (!failed && (process.env.UPDATE_SCREENSHOT === '1' || !existsSync(readme))) copyFileSync(`${SCREENSHOTS}dashboard.png`, readme);
console.log(`e2e: ${Object.keys(scenarios).length - failed} passed, ${failed} failed (screenshots in ${SCREENSHOTS})`);
process.exit(failed ? 1 : 0);
