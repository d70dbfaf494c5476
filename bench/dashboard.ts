/**
 * What the dashboard and the report cost: after a digits run on a private redis-server (workers in this process),
 * the time and size of a run report (`buildReport`), and the latency of each dashboard page and of a `/metrics`
 * scrape served by the dashboard in this process (sequential requests; medians and 95th percentiles).
 * Usage: npm run bench -- dashboard [--requests 30] [--epochs 40] [--out DIR]
 * Writes bench/results/dashboard.{json,md}.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { keyspace } from '../shared/contracts/keys.js';
import { readTable } from '../shared/data/read-table.js';
import { initBackend } from '../shared/ml/backend.js';
import { makeFlowProducer, submitRun } from '../shared/pipeline/flow.js';
import { silentLogger } from '../shared/pipeline/log.js';
import { buildReport } from '../shared/report/index.js';
import { closeRedis, createRedis } from '../shared/store/redis.js';
import { startRedisServer } from '../shared/store/redis-server.js';
import { createDashboard } from '../services/dashboard/app.js';
import { startPipeline } from '../test/helpers/pipeline.js';
import { settled } from '../test/helpers/jobs.js';
import { machineDetails, machineMarkdown } from './machine.js';
import { writeResults } from './results-file.js';
import { median, percentile } from './stats.js';

async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const value = await f();
  return [performance.now() - start, value];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { requests: { type: 'string', default: '30' }, epochs: { type: 'string', default: '40' }, out: { type: 'string' } } });
  const requests = Number(values.requests);
  const backend = await initBackend('wasm', () => {});
  const server = await startRedisServer();
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const keys = keyspace('bench');
    const pipeline = startPipeline({ after: (fn: () => unknown) => void cleanups.push(async () => void (await fn())) }, { url: () => server.url, prefix: () => 'bench' }, keys);
    await pipeline.datasets.save('digits', await readTable('data/digits.csv.gz', { idColumn: 'id', labelColumn: 'label' }));
    const flows = makeFlowProducer(pipeline.connection, keys);
    cleanups.push(() => flows.close());
    console.error(`digits run, ${values.epochs} epochs …`);
    const { run } = await submitRun(flows, keys, { run: 'bench-digits', model: 'digits-ae', dataset: 'digits', options: { codeSize: 10, epochs: Number(values.epochs), seed: 0 } });
    const { state } = await settled(pipeline.queue('run'), run, 300_000);
    if (state !== 'completed') throw new Error(`the run ended ${state}`);

    const reportMs: number[] = [];
    let reportBytes = 0;
    for (let i = 0; i < 5; i++) {
      const [ms, html] = await timed(() => buildReport(pipeline.connection, keys, { run }));
      reportMs.push(ms);
      reportBytes = Buffer.byteLength(html);
    }

    const redis = createRedis(server.url, { name: 'dashboard' });
    cleanups.push(() => closeRedis(redis));
    const dashboard = await createDashboard({ redis, keys, token: undefined, log: silentLogger });
    const http = createServer(dashboard.app);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
      await dashboard.close();
    });
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const routes = ['/runs', '/models', '/models/digits-ae', '/datasets', '/sources', '/schedules', '/alerts', '/metrics', `/runs/${run}/report`];
    const pages: { route: string; p50_ms: number; p95_ms: number; bytes: number; requests: number }[] = [];
    for (const route of routes) {
      const n = route.endsWith('/report') ? 5 : requests;
      const ms: number[] = [];
      let bytes = 0;
      for (let i = 0; i < n; i++) {
        const [t, body] = await timed(async () => {
          const response = await fetch(base + route);
          if (!response.ok) throw new Error(`${route}: ${response.status}`);
          return response.text();
        });
        ms.push(t);
        bytes = Buffer.byteLength(body);
      }
      pages.push({ route, p50_ms: median(ms), p95_ms: percentile(ms, 95), bytes, requests: n });
      console.error(`${route}: p50 ${median(ms).toFixed(1)} ms`);
    }

    const machine = machineDetails();
    const json = { machine, backend: backend.name, report: { median_ms: median(reportMs), bytes: reportBytes, runs: reportMs.length }, pages };
    const markdown = [
      '# Dashboard and report costs', '', machineMarkdown(machine), '',
      `Command: \`npm run bench -- dashboard ${process.argv.slice(2).join(' ')}\` (digits run, ${values.epochs} epochs, code size 10; dashboard and workers in one process, sequential requests)`, '',
      `Run report (\`buildReport\`): median ${median(reportMs).toFixed(0)} ms over ${reportMs.length}, ${(reportBytes / 1024).toFixed(0)} KiB.`, '',
      '| route | p50 ms | p95 ms | KiB | requests |', '|---|---:|---:|---:|---:|',
      ...pages.map((p) => `| \`${p.route}\` | ${p.p50_ms.toFixed(1)} | ${p.p95_ms.toFixed(1)} | ${(p.bytes / 1024).toFixed(1)} | ${p.requests} |`),
    ].join('\n');
    console.log(markdown);
    console.error(`wrote ${(await writeResults('dashboard', json, markdown, values.out)).join(', ')}`);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
