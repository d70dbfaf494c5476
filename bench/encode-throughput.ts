/**
 * Encoding throughput: in-process (`model.encode` + `model.score` on the whole table) against end-to-end through the
 * `encode` queue with 1..N encoder processes, on a private redis-server.
 * Usage: npm run bench -- encode-throughput [--copies 20] [--repeats 3] [--encoders 1,2] [--batch-size 1024]
 *
 * data/digits.csv.gz (1797×64) is replicated `--copies` times with distinct ids and saved as max(--encoders) datasets
 * of (nearly) equal size; a small autoencoder (codeSize 10, 3 epochs, wasm) is trained in-process on the original
 * digits and registered. For each encoder count, that many encoder processes are started (LATENTFLOW_BACKEND=wasm,
 * LATENTFLOW_ENCODER_CONCURRENCY=1, so N processes run at most N jobs at once), and every repeat submits one encode
 * job per dataset at once, timed from the first submit until every job has completed (QueueEvents): records/s = all
 * rows ÷ that time. The time covers queueing, reading the dataset from Redis, encoding, scoring and writing codes and
 * errors back. Latency is per job, submit → complete. Figures are medians over repeats; the first repeat of each
 * encoder count includes loading the model into each process.
 * Prints the machine, Markdown tables and JSON.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { keyspace } from '../shared/contracts/keys.js';
import { readTable } from '../shared/data/read-table.js';
import type { Table } from '../shared/data/table.js';
import { Autoencoder } from '../shared/ml/autoencoder.js';
import { initBackend } from '../shared/ml/backend.js';
import { makeQueue } from '../shared/pipeline/queues.js';
import { DatasetStore } from '../shared/store/datasets.js';
import { ModelRegistry } from '../shared/store/models.js';
import { closeRedis, createRedis } from '../shared/store/redis.js';
import { startRedisServer, type RedisServer } from '../shared/store/redis-server.js';
import { startEncoder, type EncoderProcess } from './encoder-process.js';
import { machine } from './machine.js';
import { median, percentile } from './stats.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const MODEL = 'bench';
const JOB_TIMEOUT_MS = 10 * 60_000;

interface InProcess { records: number; records_per_second: number; repeats: number[] }
interface EndToEnd {
  encoders: number;
  jobs: number;
  records: number;
  records_per_second: number;
  repeats: number[];
  /** Submit → complete of every job of every repeat, in seconds. */
  latency_seconds: { n: number; p50: number; p95: number; max: number };
}

/** `copies` of `table` with distinct ids (`<id>-<copy>`), no labels. */
function replicate(table: Table, copies: number): Table {
  const values = new Float32Array(table.values.length * copies);
  const ids: string[] = [];
  for (let c = 0; c < copies; c++) {
    values.set(table.values, c * table.values.length);
    for (const id of table.ids) ids.push(`${id}-${c}`);
  }
  return { ...table, values, rows: table.rows * copies, ids, labels: undefined };
}

/** `parts` consecutive slices of nearly equal size (sizes differ by at most one row). */
function split(table: Table, parts: number): Table[] {
  const out: Table[] = [];
  for (let p = 0; p < parts; p++) {
    const start = Math.floor((p * table.rows) / parts);
    const end = Math.floor(((p + 1) * table.rows) / parts);
    out.push({ ...table, values: table.values.slice(start * table.width, end * table.width), rows: end - start, ids: table.ids.slice(start, end) });
  }
  return out;
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer, got "${text}"`);
  return n;
}

function measureInProcess(model: Autoencoder, table: Table, repeats: number): InProcess {
  const speeds: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    const { codes, errors } = model.score(table, { codes: true });
    const seconds = (performance.now() - start) / 1000;
    if (codes?.length !== table.rows * model.codeSize || errors.length !== table.rows) throw new Error('in-process encoding returned the wrong sizes');
    speeds.push(table.rows / seconds);
  }
  return { records: table.rows, records_per_second: median(speeds), repeats: speeds };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      copies: { type: 'string', default: '20' }, repeats: { type: 'string', default: '3' },
      encoders: { type: 'string', default: '1,2' }, 'batch-size': { type: 'string', default: '1024' },
    },
  });
  const copies = positiveInt(values.copies, 'copies');
  const repeats = positiveInt(values.repeats, 'repeats');
  const batchSize = positiveInt(values['batch-size'], 'batch-size');
  const counts = values.encoders.split(',').map((s) => positiveInt(s.trim(), 'encoders'));
  const parts = Math.max(...counts);

  await initBackend('wasm', () => {});
  const digits = await readTable(`${root}data/digits.csv.gz`, { idColumn: 'id', labelColumn: 'label' });
  const table = replicate(digits, copies);
  const model = await Autoencoder.fit(digits, { codeSize: 10, epochs: 3 });

  const progress = (message: string) => process.stderr.write(`${message}\n`);
  const encoders: EncoderProcess[] = [];
  const killAll = () => { for (const e of encoders) e.child.kill('SIGKILL'); };
  process.once('exit', killAll);
  let server: RedisServer | undefined;
  const connections: Redis[] = [];
  const closers: (() => Promise<void>)[] = [];
  try {
    const inProcess = measureInProcess(model, table, repeats);
    progress(`in-process: ${Math.round(inProcess.records_per_second)} records/s`);

    server = await startRedisServer();
    const prefix = `bench_${randomBytes(4).toString('hex')}`;
    const keys = keyspace(prefix);
    const redis = createRedis(server.url, { name: 'bench' });
    connections.push(redis);
    const datasets = split(table, parts).map((t, i) => ({ name: `digits-x${copies}-${i + 1}of${parts}`, table: t }));
    for (const d of datasets) await new DatasetStore(redis, keys).save(d.name, d.table);
    const { version } = await new ModelRegistry(redis, keys).register(MODEL, model, { dataset: datasets[0].name });

    const queueConnection = createRedis(server.url, { bullmq: true, name: 'bench:queue' });
    const eventsConnection = createRedis(server.url, { bullmq: true, name: 'bench:events' });
    connections.push(queueConnection, eventsConnection);
    const queue = makeQueue('encode', queueConnection, keys);
    const events = new QueueEvents('encode', { connection: eventsConnection, prefix: keys.bullPrefix });
    closers.push(() => queue.close(), () => events.close());
    await events.waitUntilReady();
    const env = { REDIS_URL: server.url, LATENTFLOW_PREFIX: prefix, LATENTFLOW_BACKEND: 'wasm', LATENTFLOW_ENCODER_CONCURRENCY: '1' };

    const endToEnd: EndToEnd[] = [];
    for (const count of counts) {
      // Started in parallel; each one that came up is tracked (and stopped in `finally`) even if another failed.
      const started = await Promise.allSettled(Array.from({ length: count }, async () => encoders.push(await startEncoder(env))));
      const failure = started.find((s) => s.status === 'rejected');
      if (failure) throw failure.reason;
      const speeds: number[] = [];
      const latencies: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const start = performance.now();
        const jobs = await Promise.all(datasets.map(async (d) => {
          const submitted = performance.now();
          const job = await queue.add('encode', { model: MODEL, version, dataset: d.name, batchSize });
          return { job, submitted };
        }));
        const finished = await Promise.all(jobs.map(async ({ job, submitted }) => {
          const result = await job.waitUntilFinished(events, JOB_TIMEOUT_MS);
          const done = performance.now();
          latencies.push((done - submitted) / 1000);
          return { records: result.records, done };
        }));
        const seconds = (Math.max(...finished.map((f) => f.done)) - start) / 1000;
        const records = finished.reduce((sum, f) => sum + f.records, 0);
        if (records !== table.rows) throw new Error(`encode jobs reported ${records} records, expected ${table.rows}`);
        speeds.push(records / seconds);
        progress(`${count} encoder(s), repeat ${r + 1}/${repeats}: ${Math.round(records / seconds)} records/s in ${seconds.toFixed(2)} s`);
      }
      endToEnd.push({
        encoders: count, jobs: datasets.length, records: table.rows, records_per_second: median(speeds), repeats: speeds,
        latency_seconds: { n: latencies.length, p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: Math.max(...latencies) },
      });
      await Promise.all(encoders.splice(0).map((e) => e.stop()));
    }

    const ratio = (x: number) => (x / inProcess.records_per_second).toFixed(3);
    console.log(`\nEncoding throughput, digits ×${copies} (${table.rows} records × ${table.width}), codeSize 10, wasm, `
      + `batch ${batchSize}, ${parts} job(s) per repeat, median of ${repeats} — ${machine()}\n`);
    console.log('| path | encoders | records | records/s (median) | ÷ in-process |\n|---|---:|---:|---:|---:|');
    console.log(`| in-process | - | ${inProcess.records} | ${Math.round(inProcess.records_per_second)} | 1.000 |`);
    for (const e of endToEnd) console.log(`| queue | ${e.encoders} | ${e.records} | ${Math.round(e.records_per_second)} | ${ratio(e.records_per_second)} |`);
    console.log('\n| encoders | jobs × repeats | records/job | latency p50 (s) | latency p95 (s) |\n|---:|---:|---:|---:|---:|');
    for (const e of endToEnd) {
      console.log(`| ${e.encoders} | ${e.jobs} × ${repeats} | ${Math.round(e.records / e.jobs)} | ${e.latency_seconds.p50.toFixed(2)} | ${e.latency_seconds.p95.toFixed(2)} |`);
    }
    console.log(`\n${JSON.stringify({ in_process: inProcess, end_to_end: endToEnd })}`);
  } finally {
    model.dispose();
    await Promise.all(encoders.splice(0).map((e) => e.stop()));
    process.removeListener('exit', killAll);
    for (const close of closers) await close().catch(() => {});
    await Promise.all(connections.map((c) => closeRedis(c)));
    await server?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
