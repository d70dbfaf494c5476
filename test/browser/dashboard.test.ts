// The dashboard in a real browser (Debian's chromium driven by playwright-core) against a private redis-server after a
// digits run, with a token, signed in once through ?token=: every page loads without console errors (so without
// Content-Security-Policy violations), charts are rendered SVG, an alert added to the stream appears in the live feed,
// bull-board's own UI pauses a queue (its action token travels as it should), /metrics moves with the run, and the
// run's report file renders offline. Screenshots of every page
// go to test-output/dashboard/ (docs/screenshots/ holds copies of some, shown in the README).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { readTable } from '../../shared/data/read-table.js';
import { initBackend } from '../../shared/ml/backend.js';
import { makeFlowProducer, submitRun } from '../../shared/pipeline/flow.js';
import { silentLogger } from '../../shared/pipeline/log.js';
import { buildReport } from '../../shared/report/index.js';
import { closeRedis } from '../../shared/store/redis.js';
import { createDashboard } from '../../services/dashboard/app.js';
import { projectPath } from '../helpers/cli.js';
import { settled } from '../helpers/jobs.js';
import { startPipeline } from '../helpers/pipeline.js';
import { parseExposition, value } from '../helpers/prometheus.js';
import { trackedRedis, useRedis } from '../helpers/redis.js';

const CHROMIUM = '/usr/bin/chromium';
const OUT = projectPath('test-output/dashboard');
const fixture = useRedis();
let browser: Browser | undefined;

before(async () => {
  await initBackend('wasm', () => {});
  if (!existsSync(CHROMIUM)) return;
  mkdirSync(OUT, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // As root in a sandbox without a network: no sandbox, no GPU, no background connections (refused here).
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
});

const TOKEN = 'a-browser-test-token-of-some-length';

/** Opens `url` in a fresh page of `context` (its cookies: the session) that records console errors and page errors. */
async function open(context: BrowserContext, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  const response = await page.goto(url, { waitUntil: 'load' });
  assert.equal(response?.status(), 200, `${url} answered ${response?.status()}`);
  return { page, errors };
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
}

describe('the dashboard in headless Chromium', { skip: !existsSync(CHROMIUM) && 'Debian chromium is not installed (apt-get install -y chromium)' }, () => {
  test('after a digits run: pages, charts, live alerts, metrics, report', { timeout: 240_000 }, async (t) => {
    const p = startPipeline(t, fixture);
    const redis = trackedRedis(fixture.url(), { name: 'dashboard' });
    const dashboard = await createDashboard({ redis, keys: p.keys, token: TOKEN, log: silentLogger });
    const server = createServer(dashboard.app);
    t.after(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await dashboard.close();
      await closeRedis(redis);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const scrape = async () => parseExposition(await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());
    const context = await browser!.newContext({ viewport: { width: 1280, height: 860 } });
    t.after(() => context.close());
    const signIn = await open(context, `${base}/runs?token=${TOKEN}`);
    assert.equal(new URL(signIn.page.url()).search, '', 'the token leaves the address bar');
    await signIn.page.close();

    const before = await scrape();
    const digits = await readTable(projectPath('data/digits.csv.gz'), { idColumn: 'id', labelColumn: 'label' });
    await p.datasets.save('digits', digits);
    const flows = makeFlowProducer(p.connection, p.keys);
    t.after(() => flows.close());
    const { run } = await submitRun(flows, p.keys, { run: 'digits-dash', model: 'digits-ae', dataset: 'digits', options: { codeSize: 8, epochs: 8, seed: 0 } });
    const { job, state } = await settled(p.queue('run'), run, 120_000);
    assert.equal(state, 'completed', job.failedReason);

    // /metrics: Prometheus text whose job counters moved with the run.
    const afterRun = await scrape();
    for (const queue of ['train', 'encode', 'cluster', 'classify', 'detect', 'run']) {
      const was = value(before, 'latentflow_jobs_completed_total', { queue }) ?? 0;
      assert.equal(value(afterRun, 'latentflow_jobs_completed_total', { queue }), was + 1, `completed ${queue} jobs`);
    }

    const pages: [string, string][] = [
      ['runs', '/runs'], ['models', '/models'], ['model', '/models/digits-ae'], ['datasets', '/datasets'],
      ['sources', '/sources'], ['schedules', '/schedules'], ['alerts', '/alerts'], ['queues', '/queues'],
    ];
    for (const [name, route] of pages) {
      const { page, errors } = await open(context, base + route);
      if (name === 'queues') {
        await page.getByText('classify').first().waitFor({ timeout: 15_000 });
        await page.getByText('Loading').first().waitFor({ state: 'detached', timeout: 15_000 });
      }
      if (name === 'runs') assert.equal(await page.locator('#runs tbody tr').count(), 1);
      if (name === 'model') {
        const chart = page.locator('#loss-curve svg');
        assert.equal(await chart.count(), 1, 'the loss curve is an inline SVG');
        const box = await chart.boundingBox();
        assert.ok(box && box.width > 200 && box.height > 100, `loss curve rendered at ${JSON.stringify(box)}`);
        assert.ok((await chart.locator('path').count()) > 0, 'the loss curve draws lines');
      }
      if (name === 'alerts') {
        await page.locator('#feed-status[data-state="live"]').waitFor({ timeout: 10_000 });
        await p.alerts.append([{
          source: 'payments', record: 'tx-<b>42</b>', score: 9.5, threshold: 1.2, severity: 'high', model: 'digits-ae', version: 1,
          features: [{ feature: 'amount', error: 7.1 }], at: new Date().toISOString(),
        }]);
        const row = page.locator('#alerts tbody tr', { hasText: 'tx-<b>42</b>' });
        await row.waitFor({ timeout: 10_000 });
        assert.equal(await page.locator('#alerts tbody tr b').count(), 0, 'the record id is text, not markup');
      }
      await shoot(page, name);
      assert.deepEqual(errors, [], `${route}: console errors`);
      await page.close();
    }

    // bull-board's own UI changes state: its requests carry the session's action token (refused without it).
    const board = await open(context, `${base}/queues/queue/schedule`);
    await board.page.locator('button[aria-haspopup="menu"]').first().click();
    await board.page.getByRole('menuitem', { name: 'Pause' }).click();
    await board.page.getByRole('button', { name: 'Confirm' }).click();
    const schedule = p.queue('schedule');
    for (let i = 0; i < 50 && !(await schedule.isPaused()); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(await schedule.isPaused(), true, 'paused through bull-board');
    await schedule.resume();
    assert.deepEqual(board.errors, []);
    await board.page.close();

    // The report through the dashboard's link, and as a file opened offline.
    const runs = await open(context, `${base}/runs`);
    await runs.page.getByRole('link', { name: 'report' }).click();
    await runs.page.waitForLoadState('load');
    assert.ok((await runs.page.locator('svg').count()) >= 5, 'the report page shows its charts');
    await shoot(runs.page, 'report');
    await runs.page.screenshot({ path: path.join(OUT, 'report-top.png') }); // the first screen, for the README
    assert.deepEqual(runs.errors, []);
    await runs.page.close();

    const html = await buildReport(p.connection, p.keys, { run });
    assert.doesNotMatch(html, /https?:\/\//, 'the report names no external URL');
    const file = path.join(OUT, 'report-digits.html');
    writeFileSync(file, html);
    const report = await open(context, pathToFileURL(file).href);
    const charts = report.page.locator('svg');
    assert.ok((await charts.count()) >= 5);
    for (let i = 0; i < (await charts.count()); i++) {
      const box = await charts.nth(i).boundingBox();
      assert.ok(box && box.width > 50 && box.height > 50, `chart ${i} rendered at ${JSON.stringify(box)}`);
    }
    assert.deepEqual(report.errors, []);
    await report.page.close();
  });
});
