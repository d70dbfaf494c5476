// Encoder worker processes against one Redis: they share the work, and a worker killed mid-job loses nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { readTable } from '../../shared/data/read-table.js';
import type { Table } from '../../shared/data/table.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { initBackend } from '../../shared/ml/backend.js';
import { projectPath } from '../helpers/cli.js';
import { useRedis } from '../helpers/redis.js';
import { startService, type ServiceProcess } from '../helpers/services.js';
import { encodeJobs } from '../helpers/encode-jobs.js';

const fixture = useRedis();
let digits: Table;
let model: Autoencoder;
const running: ServiceProcess[] = [];

before(async () => {
  await initBackend('wasm', () => {});
  digits = await readTable(projectPath('data/digits.csv.gz'), { idColumn: 'id', labelColumn: 'label' });
  model = await Autoencoder.fit(digits, { codeSize: 10, epochs: 3 });
});
after(async () => {
  model.dispose();
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

/** `copies` of digits with distinct ids. */
function replicate(copies: number): Table {
  const values = new Float32Array(digits.values.length * copies);
  const ids: string[] = [];
  for (let c = 0; c < copies; c++) {
    values.set(digits.values, c * digits.values.length);
    ids.push(...digits.ids.map((id) => `${id}-${c}`));
  }
  return { ...digits, values, rows: digits.rows * copies, ids, labels: undefined };
}

async function setUp(datasets: Record<string, Table>) {
  const jobs = await encodeJobs(fixture, model, datasets);
  const env = { REDIS_URL: fixture.url(), LATENTFLOW_PREFIX: fixture.prefix(), LATENTFLOW_BACKEND: 'wasm', LATENTFLOW_ENCODER_CONCURRENCY: '1', LATENTFLOW_JOB_LOCK_MS: '2000' };
  return { ...jobs, env };
}

function assertSameCodes(stored: { ids: string[]; codes: Float32Array }, table: Table): void {
  const expected = model.encode(table);
  const row = new Map(table.ids.map((id, i) => [id, i]));
  assert.equal(stored.ids.length, table.rows);
  let worst = 0;
  stored.ids.forEach((id, i) => {
    const r = row.get(id)!;
    for (let j = 0; j < 10; j++) worst = Math.max(worst, Math.abs(stored.codes[i * 10 + j] - expected[r * 10 + j]));
  });
  assert.ok(worst < 1e-5, `largest difference from in-process codes ${worst}`);
}

test('two encoder processes on one queue share the jobs; results equal in-process encoding', async () => {
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  const s = await setUp(Object.fromEntries(names.map((n) => [n, digits])));
  try {
    running.push(await startService('encoder', s.env), await startService('encoder', s.env));
    const jobs = await Promise.all(names.map((dataset) => s.queue.add('encode', { model: 'm', version: s.version, dataset, batchSize: 64 })));
    await Promise.all(jobs.map((job) => job.waitUntilFinished(s.events, 60_000)));
    const done = await Promise.all(jobs.map((job) => s.queue.getJob(job.id!)));
    const workers = new Set(done.map((j) => j!.processedBy));
    assert.equal(workers.size, 2, `jobs were taken by ${[...workers].join(', ')}`);
    for (const dataset of names) {
      const target = { model: 'm', version: s.version, dataset };
      assert.equal((await s.embeddings.status(target)).state, 'complete');
      assertSameCodes(await s.embeddings.read(target), digits);
    }
  } finally {
    await Promise.all(running.splice(0).map((p) => p.stop()));
    await s.close();
  }
});

test('an encoder killed with SIGKILL mid-job: another takes the job over; exactly one result per record', async () => {
  const big = replicate(8);
  const s = await setUp({ big });
  const target = { model: 'm', version: s.version, dataset: 'big' };
  try {
    const first = await startService('encoder', s.env);
    running.push(first);
    const job = await s.queue.add('encode', { model: 'm', version: s.version, dataset: 'big', batchSize: 16 });
    for (let i = 0; i < 600; i++) {
      const progress = (await s.queue.getJob(job.id!))?.progress as { records?: number } | undefined;
      if ((progress?.records ?? 0) >= 1000) break;
      await sleep(25);
    }
    const partial = await s.embeddings.status(target);
    assert.equal(partial.state, 'writing', 'the job was still running when the worker was killed');
    first.child.kill('SIGKILL');
    const second = await startService('encoder', s.env);
    running.push(second);
    await job.waitUntilFinished(s.events, 60_000);
    assert.equal((await s.queue.getJob(job.id!))!.processedBy, `encode@${hostname()}:${second.child.pid}`);
    const status = await s.embeddings.status(target);
    assert.equal(status.state, 'complete');
    assert.equal(status.written, big.rows);
    assert.equal(await s.redis.hlen(s.keys.embeddings.codes('m', s.version, 'big')), big.rows);
    assert.equal(await s.redis.zcard(s.keys.embeddings.errors('m', s.version, 'big')), big.rows);
    assertSameCodes(await s.embeddings.read(target), big);
  } finally {
    await Promise.all(running.splice(0).map((p) => p.stop()));
    await s.close();
  }
});
