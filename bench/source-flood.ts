/**
 * One producer flooding its source while another source trickles: does the quiet source still get its alerts in time?
 * Usage: npm run bench -- source-flood [--seconds 10] [--repeats 5] [--quiet-rate 50] [--flood-rate 40000] [--limits 2000,8000] [--producer-nice 0]
 *
 * One encoder process (wasm, COUNT 256, block 100 ms) scores two sources with the digits model of stream-setup.ts.
 * The quiet source gets `--quiet-rate` records/s, every one anomalous, so each alerts; its latency is alert arrival
 * on the alerts pub/sub channel − the record's XADD time (carried in its id; one machine, one clock). The flood
 * source gets `--flood-rate` normal records/s from a process of its own (so the flood does not delay this process's
 * clock readings), beyond what one encoder scores; `--producer-nice 19` runs it at the lowest CPU priority, as a
 * producer on another host would take none of the encoder's cores. Each repeat runs these phases of `--seconds` in turn,
 * each with a fresh flood source: quiet alone (idle); quiet + the flood into a stream that is no source (the cost of
 * the producer thread and Redis alone, the machine's share); quiet + flood, no limit; quiet + flood added with
 * `source add --rate-limit L`, for each L of `--limits`. Reports per phase the quiet source's p50/p99/max over the
 * repeats' records pooled, p99 ÷ idle p99, each repeat's p99 and the median over repeats of its p99 ÷ the same
 * repeat's idle p99, and what the encoder took from the flood per second.
 * Prints the machine, a Markdown table and JSON; `--out DIR` writes source-flood.{md,json} there.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Keyspace } from '../shared/contracts/keys.js';
import { SourceStore } from '../shared/store/sources.js';
import { machine } from './machine.js';
import { writeResults } from './results-file.js';
import { median, percentile } from './stats.js';
import { digitsStreamModel, groupProgress, startStreamBench, STREAM_MODEL, type StreamBench } from './stream-setup.js';

const QUIET = 'quiet';
const root = fileURLToPath(new URL('..', import.meta.url));

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

/**
 * Plain JS: the flood producer, a process of its own: reads {url, key, rows, rate} from its first stdin line, paces
 * XADDs in 10 ms ticks until stdin ends, then prints the count sent.
 */
const FLOOD_PRODUCER = `
const Redis = require('ioredis');
let input = '';
let config;
let stop = false;
process.stdin.on('data', (chunk) => {
  input += chunk;
  const nl = input.indexOf('\\n');
  if (config === undefined && nl >= 0) run(JSON.parse(input.slice(0, nl)));
});
process.stdin.on('end', () => { stop = true; });
async function run(c) {
  config = c;
  const redis = new Redis(c.url);
  const start = Date.now();
  let sent = 0;
  while (!stop) {
    const due = Math.floor(((Date.now() - start) / 1000) * c.rate);
    if (due > sent) {
      const p = redis.pipeline();
      for (; sent < due; sent++) p.xadd(c.key, 'MAXLEN', '~', '1000000', '*', 'id', 'f' + sent, 'values', c.rows[sent % c.rows.length]);
      await p.exec();
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await redis.quit();
  process.stdout.write(String(sent));
}
`;

/** Starts the flood producer under `nice -n <niceness>` (0: the bench's own priority). */
const round = (x: number, digits = 1) => Number(x.toFixed(digits));

function startFlood(o: { url: string; key: string; rows: string[]; rate: number; niceness: number }): { stop(): Promise<number> } {
  const child = spawn('nice', ['-n', String(o.niceness), process.execPath, '-e', FLOOD_PRODUCER], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.write(`${JSON.stringify({ url: o.url, key: o.key, rows: o.rows, rate: o.rate })}\n`);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`the flood producer exited with ${code}`))));
  });
  return {
    stop() {
      child.stdin.end();
      return exited;
    },
  };
}

async function measurePhase(o: {
  phase: Phase; url: string; redis: Redis; subscriber: Redis; keys: Keyspace; rows: string[]; anomalous: string[];
  seconds: number; quietRate: number; floodRate: number; niceness: number; limit?: number;
  /** false: the flood goes to a stream that is no source (the machine's share of the cost: producer and Redis). */
  consumed: boolean;
}): Promise<PhaseRun> {
  const sources = new SourceStore(o.redis, o.keys);
  const flood = `flood-${randomBytes(3).toString('hex')}`;
  const floodKey = o.keys.stream.input(flood);
  if (o.phase !== 'idle' && o.consumed) {
    await sources.add(flood, { model: STREAM_MODEL, ...(o.limit !== undefined ? { rateLimit: o.limit } : {}) });
    await sleep(1500); // encoders pick sources up within their refresh interval (1 s here)
  }
  const latencies: number[] = [];
  const onMessage = (_channel: string, message: string) => {
    const alert = JSON.parse(message) as { source: string; record: string; kind?: string };
    if (alert.source === QUIET && alert.kind !== 'drift') latencies.push(performance.now() - Number(alert.record.split(':')[1]));
  };
  const producer = o.phase === 'idle' ? undefined : startFlood({ url: o.url, key: floodKey, rows: o.rows, rate: o.floodRate, niceness: o.niceness });
  await sleep(1000); // the flood under way before the quiet records are timed
  const read0 = (await groupProgress(o.redis, floodKey)).read;
  o.subscriber.on('message', onMessage);
  const start = Date.now();
  for (let i = 0; Date.now() - start < o.seconds * 1000; i++) {
    const due = start + (i * 1000) / o.quietRate;
    if (due > Date.now()) await sleep(due - Date.now());
    const now = performance.now(); // the same process reads the alert: a monotonic clock of µs resolution
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
    quiet: { n: latencies.length, p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), max: round(Math.max(...latencies)) },
    flood_taken_per_second: Math.round((read1 - read0) / elapsed),
    flood_offered: offered,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' }, repeats: { type: 'string', default: '5' },
      'quiet-rate': { type: 'string', default: '50' }, 'flood-rate': { type: 'string', default: '40000' },
      limits: { type: 'string', default: '2000,8000' }, 'producer-nice': { type: 'string', default: '0' }, out: { type: 'string' },
    },
  });
  const [seconds, repeats, quietRate, floodRate] = [values.seconds, values.repeats, values['quiet-rate'], values['flood-rate']].map(Number);
  const limits = values.limits.split(',').map(Number);
  const niceness = Number(values['producer-nice']);
  if (!(Number.isInteger(niceness) && niceness >= 0 && niceness <= 19)) throw new Error('--producer-nice must be an integer from 0 to 19');
  if (![seconds, repeats, quietRate, floodRate, ...limits].every((x) => x > 0)) throw new Error('--seconds, --repeats, --quiet-rate, --flood-rate and --limits must be positive');

  const { model, rows, anomalous } = await digitsStreamModel();
  let bench: StreamBench | undefined;
  try {
    bench = await startStreamBench(model, { LATENTFLOW_STREAM_COUNT: '256' }, ({ redis, keys }) => new SourceStore(redis, keys).add(QUIET, { model: STREAM_MODEL }));
    const { url, redis, subscriber, keys } = bench;
    const common = { url, redis, subscriber, keys, rows, anomalous, seconds, quietRate, floodRate, niceness };
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
        phase, n: pooled.length, p50: round(percentile(pooled, 50)), p99: round(percentile(pooled, 99)), max: round(Math.max(...pooled)),
        p99_per_repeat: of.map((x) => x.quiet.p99),
        // Each repeat's p99 over the idle p99 of the same repeat (phases alternate, so both saw the same machine).
        p99_ratio_median: round(median(of.map((x, r) => x.quiet.p99 / runs.filter((y) => y.phase === 'idle')[r].quiet.p99)), 2),
        flood_taken_per_second: median(of.map((x) => x.flood_taken_per_second)),
      };
    });
    const idle = summary[0].p99;
    const markdown = [
      `Quiet source (${quietRate} records/s, each alerting) beside a flood source offered ${floodRate} records/s (producer niceness ${niceness}); one encoder process (wasm), digits model, COUNT 256; ${seconds} s per phase, ${repeats} repeats (phases alternated; latency percentiles over the repeats' records pooled, flood figures their median) — ${machine()}`,
      '',
      '| phase | quiet XADD→alert p50 (ms) | p99 (ms) | max (ms) | pooled p99 ÷ idle | p99 of each repeat (ms) | median of each repeat\'s p99 ÷ its idle p99 | flood records taken/s |',
      '|---|---:|---:|---:|---:|---|---:|---:|',
      ...summary.map((s) => `| ${s.phase} | ${s.p50} | ${s.p99} | ${s.max} | ${(s.p99 / idle).toFixed(2)} | ${s.p99_per_repeat.join(', ')} | ${s.p99_ratio_median.toFixed(2)} | ${s.flood_taken_per_second} |`),
    ].join('\n');
    console.log(`\n${markdown}`);
    const json = { machine: machine(), seconds, repeats, quiet_rate: quietRate, flood_rate: floodRate, producer_niceness: niceness, limits, summary, runs: runs.map(({ latencies: _, ...r }) => r) };
    console.log(`\n${JSON.stringify(json)}`);
    if (values.out !== undefined) console.error(`wrote ${(await writeResults('source-flood', json, markdown, values.out)).join(', ')}`);
  } finally {
    model.dispose();
    await bench?.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
