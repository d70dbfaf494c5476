/**
 * One producer flooding its source while another source trickles: does the quiet source still get its alerts in time?
 * Usage: npm run bench -- source-flood [--seconds 10] [--repeats 5] [--quiet-rate 50] [--flood-rate 40000] [--limits 2000,8000]
 *
 * One encoder process (wasm, COUNT 256, block 100 ms) scores two sources with the digits model of stream-setup.ts.
 * The quiet source gets `--quiet-rate` records/s, every one anomalous, so each alerts; its latency is alert arrival
 * on the alerts pub/sub channel − the record's XADD time (carried in its id; one machine, one clock). The flood
 * source gets `--flood-rate` normal records/s from a worker thread of its own (so the flood does not delay this
 * thread's clock readings), beyond what one encoder scores. Each repeat runs these phases of `--seconds` in turn,
 * each with a fresh flood source: quiet alone (idle); quiet + the flood into a stream that is no source (the cost of
 * the producer thread and Redis alone, the machine's share); quiet + flood, no limit; quiet + flood added with
 * `source add --rate-limit L`, for each L of `--limits`. Reports per phase the quiet source's p50/p99/max over the
 * repeats' records pooled, p99 ÷ idle p99, each repeat's p99, and what the encoder took from the flood per second.
 * Prints the machine, a Markdown table and JSON; `--out DIR` writes source-flood.{md,json} there.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { Redis } from 'ioredis';
import { keyspace, type Keyspace } from '../shared/contracts/keys.js';
import { ModelRegistry } from '../shared/store/models.js';
import { closeRedis, createRedis } from '../shared/store/redis.js';
import { startRedisServer, type RedisServer } from '../shared/store/redis-server.js';
import { SourceStore } from '../shared/store/sources.js';
import { startEncoder, type EncoderProcess } from './encoder-process.js';
import { machine } from './machine.js';
import { writeResults } from './results-file.js';
import { median, percentile } from './stats.js';
import { digitsStreamModel, groupProgress } from './stream-setup.js';

const MODEL = 'bench';
const QUIET = 'quiet';

/** `idle`, `flood` (no limit) or `flood, limit <L>/s`. */
type Phase = string;

interface PhaseRun {
  phase: Phase;
  latencies: number[];
  /** The quiet source's XADD → alert, ms. */
  quiet: { n: number; p50: number; p99: number; max: number };
  /** Records the encoder took from the flood source per second during the phase. */
  flood_taken_per_second: number;
  flood_offered: number;
}

/** Plain JS: the flood producer's thread paces XADDs in 10 ms ticks until told to stop, then posts the count sent. */
const FLOOD_PRODUCER = `
const { parentPort, workerData } = require('node:worker_threads');
const Redis = require('ioredis');
const { url, key, rows, rate } = workerData;
const redis = new Redis(url);
let stop = false;
parentPort.on('message', () => { stop = true; });
(async () => {
  const start = Date.now();
  let sent = 0;
  while (!stop) {
    const due = Math.floor(((Date.now() - start) / 1000) * rate);
    if (due > sent) {
      const p = redis.pipeline();
      for (; sent < due; sent++) p.xadd(key, 'MAXLEN', '~', '1000000', '*', 'id', 'f' + sent, 'values', rows[sent % rows.length]);
      await p.exec();
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await redis.quit();
  parentPort.postMessage(sent);
})();
`;

function startFlood(url: string, key: string, rows: string[], rate: number): { stop(): Promise<number> } {
  const worker = new Worker(FLOOD_PRODUCER, { eval: true, workerData: { url, key, rows, rate } });
  const sent = new Promise<number>((resolve, reject) => {
    worker.once('message', (n: number) => resolve(n));
    worker.once('error', reject);
  });
  return {
    async stop() {
      worker.postMessage('stop');
      const n = await sent;
      await worker.terminate();
      return n;
    },
  };
}

async function measurePhase(o: {
  phase: Phase; url: string; redis: Redis; subscriber: Redis; keys: Keyspace; rows: string[]; anomalous: string[];
  seconds: number; quietRate: number; floodRate: number; limit?: number;
  /** false: the flood goes to a stream that is no source (the machine's share of the cost: producer and Redis). */
  consumed: boolean;
}): Promise<PhaseRun> {
  const sources = new SourceStore(o.redis, o.keys);
  const flood = `flood-${randomBytes(3).toString('hex')}`;
  const floodKey = o.keys.stream.input(flood);
  if (o.phase !== 'idle' && o.consumed) {
    await sources.add(flood, { model: MODEL, ...(o.limit !== undefined ? { rateLimit: o.limit } : {}) });
    await sleep(1500); // encoders pick sources up within their refresh interval (1 s here)
  }
  const latencies: number[] = [];
  const onMessage = (_channel: string, message: string) => {
    const alert = JSON.parse(message) as { source: string; record: string; kind?: string };
    if (alert.source === QUIET && alert.kind !== 'drift') latencies.push(Date.now() - Number(alert.record.split(':')[1]));
  };
  const producer = o.phase === 'idle' ? undefined : startFlood(o.url, floodKey, o.rows, o.floodRate);
  await sleep(1000); // the flood under way before the quiet records are timed
  const read0 = (await groupProgress(o.redis, floodKey)).read;
  o.subscriber.on('message', onMessage);
  const start = Date.now();
  for (let i = 0; Date.now() - start < o.seconds * 1000; i++) {
    const due = start + (i * 1000) / o.quietRate;
    if (due > Date.now()) await sleep(due - Date.now());
    const now = Date.now();
    await o.redis.xadd(o.keys.stream.input(QUIET), 'MAXLEN', '~', '100000', '*', 'id', `q${i}:${now}`, 'values', o.anomalous[i % o.anomalous.length]);
  }
  const elapsed = (Date.now() - start) / 1000;
  const read1 = (await groupProgress(o.redis, floodKey)).read;
  await sleep(1000); // the last quiet alerts arrive
  o.subscriber.off('message', onMessage);
  const offered = producer ? await producer.stop() : 0;
  if (o.phase !== 'idle') await sources.remove(flood, { purge: true });
  await o.redis.del(floodKey);
  return {
    phase: o.phase, latencies,
    quiet: { n: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies) },
    flood_taken_per_second: Math.round((read1 - read0) / elapsed),
    flood_offered: offered,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' }, repeats: { type: 'string', default: '5' },
      'quiet-rate': { type: 'string', default: '50' }, 'flood-rate': { type: 'string', default: '40000' },
      limits: { type: 'string', default: '2000,8000' }, out: { type: 'string' },
    },
  });
  const [seconds, repeats, quietRate, floodRate] = [values.seconds, values.repeats, values['quiet-rate'], values['flood-rate']].map(Number);
  const limits = values.limits.split(',').map(Number);
  if (![seconds, repeats, quietRate, floodRate, ...limits].every((x) => x > 0)) throw new Error('--seconds, --repeats, --quiet-rate, --flood-rate and --limits must be positive');

  const { model, rows, anomalous } = await digitsStreamModel();
  let server: RedisServer | undefined;
  let encoder: EncoderProcess | undefined;
  const connections: Redis[] = [];
  try {
    server = await startRedisServer();
    const keys = keyspace(`bench_${randomBytes(4).toString('hex')}`);
    const redis = createRedis(server.url, { name: 'bench' });
    const subscriber = createRedis(server.url, { name: 'bench:alerts' });
    connections.push(redis, subscriber);
    const registry = new ModelRegistry(redis, keys);
    await registry.promote(MODEL, (await registry.register(MODEL, model, { dataset: 'digits' })).version);
    await subscriber.subscribe(keys.alertsChannel());
    await new SourceStore(redis, keys).add(QUIET, { model: MODEL });
    encoder = await startEncoder({
      REDIS_URL: server.url, LATENTFLOW_PREFIX: keys.prefix, LATENTFLOW_BACKEND: 'wasm', LATENTFLOW_STREAM_COUNT: '256',
      LATENTFLOW_STREAM_BLOCK_MS: '100', LATENTFLOW_STREAM_REFRESH_MS: '1000', LATENTFLOW_ALERT_COOLDOWN_MS: '0', LATENTFLOW_DRIFT_FACTOR: '1e12',
    });
    const common = { url: server.url, redis, subscriber, keys, rows, anomalous, seconds, quietRate, floodRate };
    const phases: { phase: Phase; consumed: boolean; limit?: number }[] = [
      { phase: 'idle', consumed: false }, { phase: 'flood, no source (producer and Redis only)', consumed: false }, { phase: 'flood', consumed: true },
      ...limits.map((limit) => ({ phase: `flood, limit ${limit}/s`, consumed: true, limit })),
    ];
    await measurePhase({ ...common, phase: 'idle', consumed: false, seconds: 3 }); // warm-up: the model loaded, connections made
    const runs: PhaseRun[] = [];
    for (let r = 0; r < repeats; r++) {
      for (const { phase, consumed, limit } of phases) {
        const run = await measurePhase({ ...common, phase, consumed, ...(limit !== undefined ? { limit } : {}) });
        process.stderr.write(`repeat ${r + 1} ${phase}: quiet p50 ${run.quiet.p50} ms, p99 ${run.quiet.p99} ms (n ${run.quiet.n}); flood taken ${run.flood_taken_per_second}/s\n`);
        runs.push(run);
      }
    }
    const summary = phases.map(({ phase }) => {
      const of = runs.filter((x) => x.phase === phase);
      const pooled = of.flatMap((x) => x.latencies);
      return {
        phase, n: pooled.length, p50: percentile(pooled, 50), p99: percentile(pooled, 99), max: Math.max(...pooled),
        p99_per_repeat: of.map((x) => x.quiet.p99),
        flood_taken_per_second: median(of.map((x) => x.flood_taken_per_second)),
      };
    });
    const idle = summary[0].p99;
    const markdown = [
      `Quiet source (${quietRate} records/s, each alerting) beside a flood source offered ${floodRate} records/s; one encoder process (wasm), digits model, COUNT 256; ${seconds} s per phase, ${repeats} repeats (phases alternated; latency percentiles over the repeats' records pooled, flood figures their median) — ${machine()}`,
      '',
      '| phase | quiet XADD→alert p50 (ms) | p99 (ms) | max (ms) | p99 ÷ idle p99 | p99 of each repeat (ms) | flood records taken/s |',
      '|---|---:|---:|---:|---:|---|---:|',
      ...summary.map((s) => `| ${s.phase} | ${s.p50} | ${s.p99} | ${s.max} | ${(s.p99 / idle).toFixed(2)} | ${s.p99_per_repeat.join(', ')} | ${s.flood_taken_per_second} |`),
    ].join('\n');
    console.log(`\n${markdown}`);
    const json = { machine: machine(), seconds, repeats, quiet_rate: quietRate, flood_rate: floodRate, limits, summary, runs: runs.map(({ latencies: _, ...r }) => r) };
    console.log(`\n${JSON.stringify(json)}`);
    if (values.out !== undefined) console.error(`wrote ${(await writeResults('source-flood', json, markdown, values.out)).join(', ')}`);
  } finally {
    model.dispose();
    await encoder?.stop();
    await Promise.all(connections.map((c) => closeRedis(c)));
    await server?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
