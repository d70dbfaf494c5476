/**
 * The stream path end to end: records XADDed to `<prefix>:in:<source>` → one encoder process (consumer group) →
 * codes + errors in Redis + alerts. Usage:
 *   npm run bench -- stream-throughput [--rates 1000,5000,0] [--seconds 10] [--count 256] [--anomaly-every 20]
 *
 * data/digits.csv.gz (1797×64) rows are sent with distinct ids (`values` as comma-separated numbers, and a `ts`
 * field with the XADD time in ms); every `--anomaly-every`-th record is multiplied by 20, so it alerts. A small
 * autoencoder (codeSize 10, 3 epochs, wasm) is trained in-process and promoted to production; its threshold is
 * set above every normal row's error, so only the injected records alert. For each offered rate (records/s; 0 =
 * as fast as the producer can pipeline), a fresh source is fed for `--seconds`, paced in 10 ms ticks;
 * throughput = records ÷ (first XADD → the consumer group has acknowledged everything). Latency = alert arrival on
 * the alerts pub/sub channel − the record's `ts`, over every alert (same clock: one machine). The encoder runs with
 * LATENTFLOW_STREAM_COUNT=`--count`, block 100 ms, cool-down and drift off.
 * Prints the machine, a Markdown table and JSON.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Keyspace } from '../shared/contracts/keys.js';
import { SourceStore } from '../shared/store/sources.js';
import { digitsStreamModel, groupProgress, startStreamBench, STREAM_MODEL, type StreamBench } from './stream-setup.js';
import { machine } from './machine.js';
import { percentile } from './stats.js';


interface Run {
  /** Offered records/s (0: unthrottled). */
  offered: number;
  records: number;
  seconds: number;
  records_per_second: number;
  alerts: number;
  /** XADD → alert on the pub/sub channel, ms. */
  latency_ms: { n: number; p50: number; p99: number; max: number };
}

async function groupDone(redis: Redis, key: string, total: number): Promise<boolean> {
  const { read, pending, lag } = await groupProgress(redis, key);
  return read >= total && pending === 0 && lag === 0;
}

async function measure(o: {
  redis: Redis; subscriber: Redis; keys: Keyspace; rows: string[]; anomalous: string[]; rate: number; seconds: number; anomalyEvery: number;
}): Promise<Run> {
  const source = `bench-${o.rate}-${randomBytes(2).toString('hex')}`;
  await new SourceStore(o.redis, o.keys).add(source, { model: STREAM_MODEL });
  const key = o.keys.stream.input(source);
  await sleep(1500); // the encoder picks up new sources within its refresh interval (1 s here)
  const latencies: number[] = [];
  let alerts = 0;
  const onMessage = (_channel: string, message: string) => {
    const alert = JSON.parse(message) as { source: string; record: string; kind?: string };
    if (alert.source !== source || alert.kind === 'drift') return;
    alerts++;
    latencies.push(Date.now() - Number(alert.record.split(':')[1]));
  };
  o.subscriber.on('message', onMessage);
  const total = o.rate > 0 ? Math.round(o.rate * o.seconds) : 20_000 * o.seconds;
  const start = Date.now();
  let sent = 0;
  while (sent < total) {
    const due = o.rate > 0 ? Math.min(total, Math.floor(((Date.now() - start) / 1000) * o.rate)) : Math.min(total, sent + 2000);
    if (due > sent) {
      const p = o.redis.pipeline();
      const now = Date.now();
      for (; sent < due; sent++) {
        const anomalous = sent % o.anomalyEvery === o.anomalyEvery - 1;
        const row = anomalous ? o.anomalous[sent % o.anomalous.length] : o.rows[sent % o.rows.length];
        // The record id carries the XADD time, so the alert (which names the record) gives the latency.
        p.xadd(key, 'MAXLEN', '~', '1000000', '*', 'id', `${sent}:${now}`, 'values', row, 'ts', String(now));
      }
      await p.exec();
    }
    if (o.rate > 0) await sleep(10);
  }
  while (!(await groupDone(o.redis, key, total))) await sleep(20);
  const seconds = (Date.now() - start) / 1000;
  await sleep(200);
  o.subscriber.off('message', onMessage);
  return {
    offered: o.rate, records: total, seconds, records_per_second: total / seconds, alerts,
    latency_ms: { n: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies) },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rates: { type: 'string', default: '1000,5000,0' }, seconds: { type: 'string', default: '10' },
      count: { type: 'string', default: '256' }, 'anomaly-every': { type: 'string', default: '20' },
    },
  });
  const rates = values.rates.split(',').map((r) => Number(r.trim()));
  const seconds = Number(values.seconds);
  const anomalyEvery = Number(values['anomaly-every']);
  if (rates.some((r) => !Number.isFinite(r) || r < 0) || !(seconds > 0) || !(anomalyEvery >= 2)) throw new Error('bad --rates, --seconds or --anomaly-every');

  const { model, rows, anomalous } = await digitsStreamModel();

  let bench: StreamBench | undefined;
  try {
    bench = await startStreamBench(model, { LATENTFLOW_STREAM_COUNT: values.count });
    const { redis, subscriber, keys } = bench;
    const runs: Run[] = [];
    for (const rate of rates) {
      const r = await measure({ redis, subscriber, keys, rows, anomalous, rate, seconds, anomalyEvery });
      process.stderr.write(`offered ${rate || 'max'}: ${Math.round(r.records_per_second)} records/s, alert latency p50 ${r.latency_ms.p50} ms, p99 ${r.latency_ms.p99} ms\n`);
      runs.push(r);
    }
    console.log(`\nStream path, one encoder process (wasm), digits 64 features, codeSize 10, COUNT ${values.count}, 1 alert per ${anomalyEvery} records, ${seconds} s per rate — ${machine()}\n`);
    console.log('| offered records/s | records | achieved records/s | alerts | XADD→alert p50 (ms) | p99 (ms) | max (ms) |\n|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of runs) {
      console.log(`| ${r.offered || 'unthrottled'} | ${r.records} | ${Math.round(r.records_per_second)} | ${r.alerts} | ${r.latency_ms.p50} | ${r.latency_ms.p99} | ${r.latency_ms.max} |`);
    }
    console.log(`\n${JSON.stringify({ machine: machine(), count: Number(values.count), seconds, anomaly_every: anomalyEvery, runs })}`);
  } finally {
    model.dispose();
    await bench?.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
