/**
 * The hostile inputs of issue 15, measured on the code before the hardening (`--old DIR`: a tree of commit 8d775ca,
 * e.g. `git archive 8d775ca | tar -x -C /tmp/lf-old`, with node_modules linked and the native addon copied) and on
 * this tree, in the same run, for before/after figures.
 *
 * Every case runs in its own child process (this file with `--child <case>`, cwd = the tree under test, importing that
 * tree's modules by path), so a hang or a crash of the old code is measured, not fatal: each has a timeout and is
 * reported as "timed out after N s", "crashed: <first line>" or its figures. Cases that need Redis get a private
 * redis-server on a free port (never a shared one); services run as processes (`node --import tsx
 * services/<name>/main.ts`), their peak RSS read from /proc/<pid>/status (VmHWM). Each tree's models, datasets,
 * alerts and jobs are written by that tree's own code (model artifact formats differ between the trees).
 *
 * Cases: 1 `parseEntry` of one long `values` item; 2 an entry of 1,000,000 fields; 3 20 × 10 MB `values` and a 10 MB
 * `id`; 4 file inputs (a gzip IDX bomb, a 15 MiB NDJSON line plain and gzip, a 200 MB CSV line); 5 a wrong Redis
 * password; 6 a webhook receiver answering 410 with 300 MB; 7 an oversized train job followed by a normal one.
 *
 * Usage: node --import tsx bench/hostile.ts [--old /tmp/lf-old] [--json] [--only 1a,4b,...] [--keep-files] [--out DIR]
 * Writes bench/results/hostile.{json,md}. Takes about 5 minutes with --old on 2 cores (the case-4 files, about 230 MB, are
 * generated under the temporary folder first and removed after, unless --keep-files).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, open, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { constants as zc, crc32, deflateRawSync } from 'node:zlib';
import { Redis } from 'ioredis';

const THIS_FILE = fileURLToPath(import.meta.url);
const NEW_ROOT = path.resolve(path.dirname(THIS_FILE), '..');
const RESULT_MARK = '@@hostile-result ';
const PREFIX = 'hostile';
const MiB = 2 ** 20;

// ---------------------------------------------------------------------------------------------------------------
// Cases

type Figures = Record<string, string | number | boolean | null>;

interface Ctx {
  /** The tree under test (the child's cwd). */
  root: string;
  /** The private redis-server of this case, when it needs one. */
  redisUrl: string;
  /** Folder of the generated input files. */
  files: string;
}

interface CaseDef {
  id: string;
  title: string;
  /** The size used, printed with the results. */
  size: string;
  timeoutS: number;
  redis: boolean;
  run(ctx: Ctx): Promise<Figures>;
  /** One table cell from the figures. */
  cell(f: Figures): string;
}

const WINE_GOOD = 20;
const TEN_MB = 10 << 20;
const BIG_ENTRIES = 20;
const NDJSON_VALUES = Math.floor((15 * MiB) / 9);
const CSV_LINE_BYTES = 200 * MiB;
const IDX_DIMS = [8_192_000, 28, 28];
const WEBHOOK_BODY = 300 * MiB;
const OBSERVE_S = 30;
const PASSWORD_WINDOW_S = 12;
const PASSWORD_SERVICES = ['encoder', 'trainer', 'downstream'] as const;

const CASES: CaseDef[] = [
  parseCase('1a', 40_000),
  parseCase('1b', 150_000),
  {
    id: '2', title: 'Source entry of 1,000,000 fields between good entries, real encoder process',
    size: `1,000,000 fields (one XADD of 2,000,004 arguments) between ${WINE_GOOD} good entries; observed ${OBSERVE_S} s from the encoder's ready line (less once drained)`,
    timeoutS: 150, redis: true, run: wideEntry,
    cell: (f) => `after ${duration(f.observed_s)}: pending ${f.pending}, DLQ ${f.dlq}, scored ${f.scored}/${WINE_GOOD}; `
      + (f.drained_s === null ? 'pending never reached 0' : `pending 0 after ${duration(f.drained_s)}`)
      + `; encoder peak RSS ${bytes(f.encoder_peak_rss)}` + (f.warning ? `; log: ${String(f.warning)}` : ''),
  },
  {
    id: '3', title: `${BIG_ENTRIES} entries with a 10 MiB \`values\` and one with a 10 MiB \`id\`, real encoder process`,
    size: `${BIG_ENTRIES} × 10 MiB values + 1 × 10 MiB id (anomalous values) between ${WINE_GOOD} good entries`,
    timeoutS: 180, redis: true, run: bigFields,
    cell: (f) => `encoder peak RSS ${bytes(f.encoder_peak_rss)}; DLQ ${f.dlq} entries, ${bytes(f.dlq_bytes)}; `
      + `10 MiB id in codes/errors/alerts: ${yn(f.id_in_codes)}/${yn(f.id_in_errors)}/${yn(f.id_in_alerts)}; `
      + `Redis used_memory +${bytes(f.redis_growth)}; codes written ${f.scored} (${WINE_GOOD} good entries)`
      + (f.drained_s === null ? `; not drained after ${duration(f.observed_s)}` : `; drained after ${duration(f.drained_s)}`),
  },
  fileCase('4a', 'gzip IDX bomb read with readTable', `header 8,192,000×28×28 unsigned byte, zeros (6.42 GB decompressed)`, 'bomb-images-idx3-ubyte.gz'),
  fileCase('4b', 'One NDJSON line with a long `values` array (plain file)', `one line of 15 MiB, ${NDJSON_VALUES.toLocaleString('en-US')} values`, 'long-line.ndjson'),
  fileCase('4c', 'The same NDJSON line, gzip-compressed', `the 15 MiB line of 4b, .ndjson.gz`, 'long-line.ndjson.gz'),
  fileCase('4d', 'CSV with one line of 200 MiB (scaled down from the issue\'s 1 GB)', 'header `id,x`, then one line `1,` + 200 MiB of digits', 'long-line.csv'),
  {
    id: '5', title: 'Services with a wrong Redis password (server with requirepass)',
    size: `REDIS_URL redis://default:<wrong>@…; encoder, trainer and downstream at once; output for ${PASSWORD_WINDOW_S} s from spawn, then SIGTERM`,
    timeoutS: 90, redis: true, run: wrongPassword,
    cell: (f) => PASSWORD_SERVICES.map((name) => `${name}: ${f[`${name}_lines`]} lines, password shown ${f[`${name}_password_shown`]}×, `
      + (f[`${name}_exit`] === null ? `still up after ${PASSWORD_WINDOW_S} s, then ${String(f[`${name}_sigterm`])}` : `exited (code ${f[`${name}_exit`]})`)).join('; '),
  },
  {
    id: '6', title: 'Webhook receiver answering HTTP 410 with a 300 MiB body',
    size: '300 MiB 410 answer; LATENTFLOW_WEBHOOK_TIMEOUT_MS=60000; one attempt',
    timeoutS: 150, redis: true, run: webhook410,
    cell: (f) => `job ${f.state} after ${duration(f.settled_s)}; receiver's socket took ${bytes(f.receiver_sent)} of 300 MiB; `
      + `downstream peak RSS ${bytes(f.downstream_peak_rss)} (${bytes(f.downstream_idle_rss)} idle)`,
  },
  {
    id: '7', title: 'Oversized train job then a normal one, wasm trainer process (LATENTFLOW_NATIVE_BLAS=off)',
    size: '`options.encoder: [3000000, 2]` on wine, then a default-options wine job; one attempt each',
    timeoutS: 240, redis: true, run: oversizedTrain,
    cell: (f) => `1st ${f.first_state} after ${duration(f.first_s)}${f.first_reason ? ` (${String(f.first_reason)})` : ''}; `
      + `2nd ${f.second_state}${f.second_s !== null ? ` after ${duration(f.second_s)}` : ''}${f.second_reason ? ` (${String(f.second_reason)})` : ''}; `
      + `trainer peak RSS ${bytes(f.trainer_peak_rss)}; trainer ${f.trainer_exit === null ? 'still running' : `exited (code ${f.trainer_exit})`}`,
  },
];

function parseCase(id: string, digits: number): CaseDef {
  return {
    id, title: `\`parseEntry\` of one \`values\` item of ${digits.toLocaleString('en-US')} digits followed by \`x\``,
    size: `N = ${digits.toLocaleString('en-US')} (wine's 13 features; the other 12 items are \`1\`)`,
    timeoutS: 120, redis: false,
    run: async (ctx) => {
      const { parseEntry } = await load<typeof import('../shared/stream/entries.js')>(ctx, 'shared/stream/entries.ts');
      const features = Array.from({ length: 13 }, (_, j) => `f${j}`);
      const values = `${'1'.repeat(digits)}x${',1'.repeat(12)}`;
      const start = performance.now();
      const parsed = parseEntry(['id', 'e1', 'values', values], features);
      return { seconds: (performance.now() - start) / 1000, outcome: parsed.ok ? 'accepted' : `refused: ${cut(parsed.reason, 90)}` };
    },
    cell: (f) => `${duration(f.seconds)}; ${String(f.outcome)}`,
  };
}

function fileCase(id: string, title: string, size: string, file: string): CaseDef {
  return {
    id, title, size, timeoutS: 150, redis: false,
    run: async (ctx) => {
      const { readTable } = await load<typeof import('../shared/data/read-table.js')>(ctx, 'shared/data/read-table.ts');
      const start = performance.now();
      let outcome: string;
      let messageBytes = 0;
      try {
        const table = await readTable(path.join(ctx.files, file));
        outcome = `read ${table.rows} × ${table.width}`;
      } catch (error) {
        messageBytes = error instanceof Error ? Buffer.byteLength(error.message) : 0;
        outcome = `error: ${cut(errorLine(error).split(`${ctx.files}${path.sep}`).join(''), 170)}`;
      }
      return { seconds: secondsSince(start), outcome, error_message_bytes: messageBytes, peak_rss: process.resourceUsage().maxRSS * 1024 };
    },
    cell: (f) => `${String(f.outcome)}${Number(f.error_message_bytes) > 1000 ? ` (message of ${bytes(f.error_message_bytes)})` : ''}; ${duration(f.seconds)}; peak RSS ${bytes(f.peak_rss)}`,
  };
}

// -- 2 and 3: the encoder's stream path --------------------------------------------------------------------------

interface StreamSetup {
  redis: Redis;
  input: string;
  dlq: string;
  codes: string;
  errors: string;
  alerts: string;
  /** Row `i % rows` of wine as comma-separated `values`, × factor. */
  values(i: number, factor?: number): string;
}

/** Trains a small wine model with the tree's own code, registers and promotes it, and adds source `plant`. */
async function streamSetup(ctx: Ctx): Promise<StreamSetup> {
  const { initBackend } = await load<typeof import('../shared/ml/backend.js')>(ctx, 'shared/ml/backend.ts');
  const { readTable } = await load<typeof import('../shared/data/read-table.js')>(ctx, 'shared/data/read-table.ts');
  const { Autoencoder } = await load<typeof import('../shared/ml/autoencoder.js')>(ctx, 'shared/ml/autoencoder.ts');
  const { keyspace, streamDataset } = await load<typeof import('../shared/contracts/keys.js')>(ctx, 'shared/contracts/keys.ts');
  const { ModelRegistry } = await load<typeof import('../shared/store/models.js')>(ctx, 'shared/store/models.ts');
  const { SourceStore } = await load<typeof import('../shared/store/sources.js')>(ctx, 'shared/store/sources.ts');
  await initBackend('wasm', () => {});
  const wine = await readTable(path.join(ctx.root, 'data/wine.csv'), { idColumn: 'id', labelColumn: 'label' });
  const model = await Autoencoder.fit(wine, { codeSize: 4, epochs: 10, seed: 1 });
  const redis = new Redis(ctx.redisUrl);
  const keys = keyspace(PREFIX);
  const registry = new ModelRegistry(redis, keys);
  const { version } = await registry.register('wine', model, { dataset: 'wine' });
  await registry.promote('wine', version);
  model.dispose();
  await new SourceStore(redis, keys).add('plant', { model: 'wine' });
  const target = ['wine', version, streamDataset('plant')] as const;
  return {
    redis, input: keys.stream.input('plant'), dlq: keys.stream.dlq('plant'), alerts: keys.alerts(),
    codes: keys.embeddings.codes(...target), errors: keys.embeddings.errors(...target),
    values: (i, factor = 1) => {
      const r = i % wine.rows;
      return Array.from(wine.values.subarray(r * wine.width, (r + 1) * wine.width), (v) => v * factor).join(',');
    },
  };
}

async function addGood(s: StreamSetup, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) await s.redis.xadd(s.input, '*', 'id', `g${i}`, 'values', s.values(i));
}

/** The `encoders` group's pending count and lag (undefined before the group exists). */
async function groupState(s: StreamSetup): Promise<{ pending: number; lag: number } | undefined> {
  const groups = (await s.redis.call('XINFO', 'GROUPS', s.input).catch(() => [])) as unknown[][];
  for (const flat of groups) {
    const f: Record<string, unknown> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) f[String(flat[i])] = flat[i + 1];
    if (f.name === 'encoders') return { pending: Number(f.pending), lag: f.lag === null ? -1 : Number(f.lag) };
  }
  return undefined;
}

interface Watch { drained_s: number | null; observed_s: number; pending: number | null; scored: number; dlq: number }

/** Polls the group until it is drained, every good entry scored and each of the `expectBad` others scored or dead-lettered, or `limitS` seconds passed. */
async function watchStream(s: StreamSetup, limitS: number, expectBad: number): Promise<Watch> {
  const start = performance.now();
  let drained: number | null = null;
  for (;;) {
    const state = await groupState(s);
    const scored = await s.redis.hlen(s.codes);
    const dlq = await s.redis.xlen(s.dlq);
    const elapsed = secondsSince(start);
    const isDrained = state !== undefined && state.pending === 0 && state.lag === 0;
    if (isDrained) drained ??= elapsed;
    else drained = null;
    if ((isDrained && scored >= WINE_GOOD && scored + dlq >= WINE_GOOD + expectBad) || elapsed >= limitS) {
      return { drained_s: drained, observed_s: elapsed, pending: state?.pending ?? null, scored, dlq };
    }
    await sleep(250);
  }
}

async function wideEntry(ctx: Ctx): Promise<Figures> {
  const s = await streamSetup(ctx);
  await addGood(s, 0, WINE_GOOD / 2);
  // One XADD of 2,000,004 arguments, passed to ioredis as one array (never spread into a call). An EVAL cannot build
  // it server-side: Lua's unpack() stops at about 8,000 values ("too many results to unpack").
  const args = [s.input, '*', 'id', 'huge'];
  for (let i = 0; i < 1_000_000; i++) args.push(`field${i}`, String(i));
  await s.redis.call('XADD', args);
  args.length = 0;
  await addGood(s, WINE_GOOD / 2, WINE_GOOD);
  const encoder = startService(ctx, 'encoder', {});
  try {
    await encoder.ready(90);
    const w = await watchStream(s, OBSERVE_S, 1);
    const warning = encoder.stderr().split('\n').find((l) => /source plant: .*(error|exceed|dead-letter|limit)/i.test(l));
    return { ...w, encoder_peak_rss: encoder.rss.peak(), warning: warning === undefined ? null : cut(warning.replace(/^.*?source plant: /, ''), 110) };
  } finally {
    await encoder.stop();
    s.redis.disconnect();
  }
}

async function bigFields(ctx: Ctx): Promise<Figures> {
  const s = await streamSetup(ctx);
  await addGood(s, 0, WINE_GOOD / 2);
  const digits = '1'.repeat(TEN_MB);
  for (let i = 0; i < BIG_ENTRIES; i++) await s.redis.xadd(s.input, '*', 'id', `big-values-${i}`, 'values', `${s.values(i)},${digits}`);
  const bigId = 'anomalous-'.repeat(TEN_MB / 10);
  // Anomalous values: scored, the record would raise an alert keyed by the 10 MiB id.
  await s.redis.xadd(s.input, '*', 'id', bigId, 'values', s.values(1, 50));
  await addGood(s, WINE_GOOD / 2, WINE_GOOD);
  const before = await usedMemory(s.redis);
  const encoder = startService(ctx, 'encoder', {});
  try {
    await encoder.ready(90);
    const w = await watchStream(s, 120, BIG_ENTRIES + 1);
    await sleep(500);
    const peak = encoder.rss.peak();
    const dlqBytes = Number(await s.redis.call('MEMORY', 'USAGE', s.dlq, 'SAMPLES', '0') ?? 0);
    const inCodes = (await s.redis.hexists(s.codes, bigId)) === 1;
    const inErrors = (await s.redis.zscore(s.errors, bigId)) !== null;
    let inAlerts = false;
    for (const [, flat] of (await s.redis.xrange(s.alerts, '-', '+')) as [string, string[]][]) {
      if (flat.some((v) => v.length >= TEN_MB)) inAlerts = true;
    }
    return {
      ...w, encoder_peak_rss: peak, dlq_bytes: dlqBytes, id_in_codes: inCodes, id_in_errors: inErrors, id_in_alerts: inAlerts,
      redis_growth: (await usedMemory(s.redis)) - before,
    };
  } finally {
    await encoder.stop();
    s.redis.disconnect();
  }
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

// -- 5: a wrong password -----------------------------------------------------------------------------------------

async function wrongPassword(ctx: Ctx): Promise<Figures> {
  const admin = new Redis(ctx.redisUrl);
  await admin.config('SET', 'requirepass', randomBytes(16).toString('hex'));
  admin.disconnect();
  const wrong = `wrong-${randomBytes(8).toString('hex')}`;
  const url = new URL(ctx.redisUrl);
  const env = { REDIS_URL: `redis://default:${wrong}@${url.host}` };
  // The three services at once: the encoder was the one reported; the trainer and downstream stay up and keep retrying.
  const services = PASSWORD_SERVICES.map((name) => startService(ctx, name, env));
  const figures: Figures = {};
  try {
    await sleep(PASSWORD_WINDOW_S * 1000);
    PASSWORD_SERVICES.forEach((name, i) => {
      const service = services[i];
      const text = service.stderr() + service.stdout();
      figures[`${name}_lines`] = text.split('\n').filter((l) => l.trim() !== '').length;
      figures[`${name}_password_shown`] = text.split(wrong).length - 1;
      figures[`${name}_exit`] = service.child.exitCode ?? (service.child.signalCode !== null ? -1 : null);
    });
  } finally {
    const stopped = await Promise.all(services.map((service) => service.stop()));
    PASSWORD_SERVICES.forEach((name, i) => { figures[`${name}_sigterm`] = stopped[i]; });
  }
  return figures;
}

// -- 6: a webhook receiver answering 410 with 300 MiB ------------------------------------------------------------

async function webhook410(ctx: Ctx): Promise<Figures> {
  let sent = 0;
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(410, { 'content-type': 'text/plain', 'content-length': String(WEBHOOK_BODY) });
    const chunk = Buffer.alloc(MiB, 'x');
    let written = 0;
    const pump = () => {
      while (written < WEBHOOK_BODY && !res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    res.on('close', () => { sent += req.socket.bytesWritten; });
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const { keyspace } = await load<typeof import('../shared/contracts/keys.js')>(ctx, 'shared/contracts/keys.ts');
  const { AlertStore, alertJson } = await load<typeof import('../shared/store/alerts.js')>(ctx, 'shared/store/alerts.ts');
  const { makeQueue } = await load<typeof import('../shared/pipeline/queues.js')>(ctx, 'shared/pipeline/queues.ts');
  const { PAYLOADS } = await load<typeof import('../shared/contracts/queues.js')>(ctx, 'shared/contracts/queues.ts');
  const keys = keyspace(PREFIX);
  const redis = new Redis(ctx.redisUrl, { maxRetriesPerRequest: null });
  const downstream = startService(ctx, 'downstream', {
    LATENTFLOW_WEBHOOK_URL: hookUrl, LATENTFLOW_WEBHOOK_SECRET: randomBytes(16).toString('hex'), LATENTFLOW_WEBHOOK_TIMEOUT_MS: '60000',
  });
  const queue = makeQueue('webhook', redis, keys);
  try {
    await downstream.ready(90);
    await sleep(1000);
    const idle = downstream.rss.current();
    const alert = {
      source: 'plant', record: 'r1', score: 2, threshold: 1, severity: 'medium' as const, model: 'wine', version: 1,
      features: [{ feature: 'alcohol', error: 1 }], at: new Date().toISOString(), kind: 'anomaly' as const,
    };
    const [alertId] = await new AlertStore(redis, keys).publish([alert]);
    // The old payload names the URL and the body; the new one only the alert, read from the alerts stream.
    const oldShape = 'url' in (PAYLOADS.webhook as unknown as { shape: Record<string, unknown> }).shape;
    const payload = oldShape ? { url: hookUrl, body: alertJson(alert, alertId), alertId } : { alertId };
    const start = performance.now();
    const job = await queue.add('webhook', payload, { attempts: 1 });
    let state = 'waiting';
    let reason = '';
    while (secondsSince(start) < 120) {
      const current = await queue.getJob(job.id!);
      state = (await current?.getState()) ?? 'missing';
      if (state === 'failed' || state === 'completed') {
        reason = current?.failedReason ?? '';
        break;
      }
      await sleep(200);
    }
    const settled = secondsSince(start);
    await sleep(500);
    return {
      state, settled_s: settled, reason: cut(reason, 120), receiver_sent: sent, downstream_idle_rss: idle, downstream_peak_rss: downstream.rss.peak(),
    };
  } finally {
    await downstream.stop();
    await queue.close();
    redis.disconnect();
    server.closeAllConnections();
    server.close();
  }
}

// -- 7: an oversized train job, then a normal one ----------------------------------------------------------------

async function oversizedTrain(ctx: Ctx): Promise<Figures> {
  const { readTable } = await load<typeof import('../shared/data/read-table.js')>(ctx, 'shared/data/read-table.ts');
  const { keyspace } = await load<typeof import('../shared/contracts/keys.js')>(ctx, 'shared/contracts/keys.ts');
  const { DatasetStore } = await load<typeof import('../shared/store/datasets.js')>(ctx, 'shared/store/datasets.ts');
  const { makeQueue } = await load<typeof import('../shared/pipeline/queues.js')>(ctx, 'shared/pipeline/queues.ts');
  const keys = keyspace(PREFIX);
  const redis = new Redis(ctx.redisUrl, { maxRetriesPerRequest: null });
  await new DatasetStore(redis, keys).save('wine', await readTable(path.join(ctx.root, 'data/wine.csv'), { idColumn: 'id', labelColumn: 'label' }));
  const trainer = startService(ctx, 'trainer', { LATENTFLOW_NATIVE_BLAS: 'off' });
  const queue = makeQueue('train', redis, keys);
  try {
    await trainer.ready(90);
    const start = performance.now();
    const first = await queue.add('train', { model: 'huge', dataset: 'wine', options: { encoder: [3_000_000, 2] } }, { attempts: 1 });
    const second = await queue.add('train', { model: 'wine-ok', dataset: 'wine' }, { attempts: 1 });
    const settled: Record<string, { state: string; s: number | null; reason: string }> = {};
    for (const id of [first.id!, second.id!]) settled[id] = { state: 'waiting', s: null, reason: '' };
    let exitedAt: number | null = null;
    while (secondsSince(start) < 200) {
      for (const id of [first.id!, second.id!]) {
        if (settled[id].s !== null) continue;
        const job = await queue.getJob(id);
        const state = (await job?.getState()) ?? 'missing';
        settled[id].state = state;
        if (state === 'failed' || state === 'completed') settled[id] = { state, s: secondsSince(start), reason: job?.failedReason ?? '' };
      }
      if (trainer.child.exitCode !== null || trainer.child.signalCode !== null) exitedAt ??= secondsSince(start);
      const done = settled[first.id!].s !== null && settled[second.id!].s !== null;
      // A trainer that exited takes no further job (no supervisor here): give the queue 3 s, then stop waiting.
      if (done || (exitedAt !== null && secondsSince(start) > exitedAt + 3)) break;
      await sleep(250);
    }
    const [a, b] = [settled[first.id!], settled[second.id!]];
    return {
      first_state: a.state, first_s: a.s, first_reason: cut(a.reason, 110),
      second_state: b.state, second_s: b.s, second_reason: cut(b.reason, 110),
      trainer_peak_rss: trainer.rss.peak(), trainer_exit: trainer.child.exitCode ?? (trainer.child.signalCode !== null ? -1 : null),
      trainer_exited_s: exitedAt,
    };
  } finally {
    await trainer.stop();
    await queue.close();
    redis.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Processes

/** Peak RSS of a process: VmHWM of /proc/<pid>/status, sampled every 200 ms (kept after the process exits). */
class RssWatch {
  private peakBytes = 0;
  private lastBytes = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 200);
    this.timer.unref();
  }

  sample(): void {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
      this.lastBytes = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
      this.peakBytes = Math.max(this.peakBytes, hwm, this.lastBytes);
    } catch {
      // gone
    }
  }

  peak(): number {
    this.sample();
    return this.peakBytes;
  }

  current(): number {
    this.sample();
    return this.lastBytes;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

interface Service {
  child: ChildProcess;
  rss: RssWatch;
  exited: Promise<void>;
  stderr(): string;
  stdout(): string;
  /** Resolves once the service logged `ready:`; throws when it exits first or after `timeoutS`. */
  ready(timeoutS: number): Promise<void>;
  /** SIGTERM, then SIGKILL after 20 s: `exited`, `exited N s after SIGTERM`, or `killed (ignored SIGTERM for 20 s)`. */
  stop(): Promise<string>;
}

/** `node --import tsx services/<name>/main.ts` of the tree under test, on this case's Redis (wasm backend). */
function startService(ctx: Ctx, name: 'encoder' | 'downstream' | 'trainer', env: Record<string, string>): Service {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ctx.root, `services/${name}/main.ts`)], {
    cwd: ctx.root, stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env, REDIS_URL: ctx.redisUrl, LATENTFLOW_PREFIX: PREFIX, LATENTFLOW_BACKEND: 'wasm', LATENTFLOW_LOG_LEVEL: 'info',
      LATENTFLOW_DATA_DIR: path.join(ctx.root, 'data'), ...env,
    },
  });
  const rss = new RssWatch(child.pid!);
  let err = '';
  let out = '';
  const keep = (text: string, chunk: Buffer) => (text.length < 4 * MiB ? text + chunk.toString('utf8') : text);
  child.stderr.on('data', (chunk: Buffer) => { err = keep(err, chunk); });
  child.stdout.on('data', (chunk: Buffer) => { out = keep(out, chunk); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => rss.stop());
  return {
    child, rss, exited, stderr: () => err, stdout: () => out,
    async ready(timeoutS) {
      const deadline = Date.now() + timeoutS * 1000;
      while (!err.includes('ready:')) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before it was ready: ${cut(err.trim(), 300)}`);
        if (Date.now() > deadline) throw new Error(`${name} not ready after ${timeoutS} s: ${cut(err.trim(), 300)}`);
        await sleep(100);
      }
    },
    async stop() {
      rss.sample();
      let how = 'exited';
      if (child.exitCode === null && child.signalCode === null) {
        const signalled = Date.now();
        child.kill('SIGTERM');
        const killed = await Promise.race([exited.then(() => false), sleep(20_000, undefined, { ref: false }).then(() => true)]);
        how = `exited ${((Date.now() - signalled) / 1000).toFixed(1)} s after SIGTERM`;
        if (killed) {
          child.kill('SIGKILL');
          await exited;
          how = 'killed (ignored SIGTERM for 20 s)';
        }
      }
      rss.stop();
      return how;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Child mode: one case on one tree, its figures printed as one marked JSON line.

async function child(caseId: string, ctx: Ctx): Promise<void> {
  const def = CASES.find((c) => c.id === caseId);
  if (!def) throw new Error(`unknown case ${caseId}`);
  const figures = await def.run(ctx);
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(figures)}\n`);
}

async function load<T>(ctx: Ctx, relative: string): Promise<T> {
  return (await import(pathToFileURL(path.join(ctx.root, relative)).href)) as T;
}

// ---------------------------------------------------------------------------------------------------------------
// Parent mode

interface Outcome {
  status: 'ok' | 'timeout' | 'crashed';
  /** Wall time of the child process (setup included), s. */
  wall_s: number;
  /** Peak RSS of the child process itself (the case driver; services are measured separately). */
  child_peak_rss: number;
  figures?: Figures;
  error?: string;
}

async function runCase(def: CaseDef, root: string, files: string): Promise<Outcome> {
  const { startRedisServer } = await import('../shared/store/redis-server.js');
  const server = def.redis ? await startRedisServer() : undefined;
  const start = performance.now();
  try {
    const args = ['--import', 'tsx', THIS_FILE, '--child', def.id, '--root', root, '--files', files, ...(server ? ['--redis', server.url] : [])];
    // Its own process group, so a timeout ends the services it started too.
    const proc = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const rss = new RssWatch(proc.pid!);
    let out = '';
    let err = '';
    proc.stdout.on('data', (chunk: Buffer) => { out += chunk.toString('utf8'); });
    proc.stderr.on('data', (chunk: Buffer) => { if (err.length < MiB) err += chunk.toString('utf8'); });
    const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    const timedOut = await Promise.race([exited.then(() => false), sleep(def.timeoutS * 1000, undefined, { ref: false }).then(() => true)]);
    const peak = rss.peak();
    rss.stop();
    killGroup(proc.pid!);
    const code = await exited;
    const wall = secondsSince(start);
    if (timedOut) return { status: 'timeout', wall_s: wall, child_peak_rss: peak, error: `timed out after ${def.timeoutS} s` };
    const line = out.split('\n').find((l) => l.startsWith(RESULT_MARK));
    if (line === undefined) return { status: 'crashed', wall_s: wall, child_peak_rss: peak, error: `crashed (exit ${code}): ${crashLine(err)}` };
    return { status: 'ok', wall_s: wall, child_peak_rss: peak, figures: JSON.parse(line.slice(RESULT_MARK.length)) as Figures };
  } finally {
    await server?.stop();
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is gone
  }
}

/** The line of a crashed process's stderr that says what happened. */
function crashLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const telling = lines.find((l) => /FATAL|Error\b|error:|Aborted|out of memory|Killed/i.test(l) && !l.startsWith('at '));
  return cut(telling ?? lines[0] ?? '(no output)', 160);
}

function describe(def: CaseDef, o: Outcome | undefined): string {
  if (o === undefined) return '—';
  if (o.status !== 'ok') return o.error ?? o.status;
  return def.cell(o.figures!);
}

/** The generated input files of case 4 (kept in `dir` between runs with --keep-files). */
async function makeFiles(dir: string, log: (m: string) => void): Promise<Record<string, number>> {
  await mkdir(dir, { recursive: true });
  const sizes: Record<string, number> = {};
  const bomb = path.join(dir, 'bomb-images-idx3-ubyte.gz');
  if (!existsSync(bomb)) {
    log('writing the gzip IDX bomb …');
    await writeIdxBomb(bomb);
  }
  const ndjson = path.join(dir, 'long-line.ndjson');
  const line = `{"values":[${new Array<string>(NDJSON_VALUES).fill('0.123456').join(',')}]}\n`;
  if (!existsSync(ndjson)) await writeFile(ndjson, line);
  const ndjsonGz = `${ndjson}.gz`;
  if (!existsSync(ndjsonGz)) {
    const { gzipSync } = await import('node:zlib');
    await writeFile(ndjsonGz, gzipSync(line));
  }
  const csv = path.join(dir, 'long-line.csv');
  if (!existsSync(csv)) {
    const file = await open(csv, 'w');
    await file.write('id,x\n1,');
    const digits = Buffer.alloc(8 * MiB, '9');
    for (let n = 0; n < CSV_LINE_BYTES; n += digits.length) await file.write(digits);
    await file.write('\n');
    await file.close();
  }
  for (const f of [bomb, ndjson, ndjsonGz, csv]) sizes[path.basename(f)] = (await stat(f)).size;
  return sizes;
}

/**
 * A gzip file of an IDX header claiming 8,192,000×28×28 unsigned bytes followed by that many zeros (6.42 GB), built
 * from one deflated MiB of zeros repeated (each segment ends in a full flush, so each stands alone), with the true
 * CRC-32 and length in the trailer: a valid gzip stream of about 6 MB.
 */
async function writeIdxBomb(file: string): Promise<void> {
  const header = Buffer.alloc(16);
  header.set([0, 0, 0x08, 3]);
  IDX_DIMS.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  const total = IDX_DIMS.reduce((a, b) => a * b, 1);
  const segments = total / MiB;
  if (!Number.isInteger(segments)) throw new Error('the IDX bomb is built from whole MiB of zeros');
  const zeros = Buffer.alloc(MiB);
  const flush = { level: 6, finishFlush: zc.Z_FULL_FLUSH };
  const first = Buffer.concat([header, zeros.subarray(0, MiB - header.length)]);
  const firstDeflated = deflateRawSync(first, flush);
  const zerosDeflated = deflateRawSync(zeros, flush);
  const tail = zeros.subarray(0, header.length);
  const out = createWriteStream(file);
  const write = (b: Buffer) => (out.write(b) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  await write(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]));
  await write(firstDeflated);
  let crc = crc32(first);
  for (let i = 1; i < segments; i++) {
    await write(zerosDeflated);
    crc = crc32(zeros, crc);
  }
  await write(deflateRawSync(tail, { level: 6 }));
  crc = crc32(tail, crc);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE((total + header.length) % 2 ** 32, 4);
  await write(trailer);
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

async function parent(values: { old?: string; json?: boolean; only?: string; 'keep-files'?: boolean; out?: string }): Promise<void> {
  const { machineDetails, machineMarkdown } = await import('./machine.js');
  const { writeResults } = await import('./results-file.js');
  const log = (m: string) => console.error(m);
  const trees: { tree: 'old' | 'new'; root: string }[] = [];
  if (values.old !== undefined) {
    const old = path.resolve(values.old);
    for (const need of ['shared/stream/entries.ts', 'services/encoder/main.ts', 'node_modules']) {
      if (!existsSync(path.join(old, need))) throw new Error(`--old ${old}: missing ${need} (see the header of bench/hostile.ts)`);
    }
    trees.push({ tree: 'old', root: old });
  }
  trees.push({ tree: 'new', root: NEW_ROOT });
  const only = values.only?.split(',').map((s) => s.trim());
  const cases = CASES.filter((c) => only === undefined || only.includes(c.id));
  const files = path.join(tmpdir(), 'latentflow-hostile-files');
  const started = performance.now();
  const fileSizes = cases.some((c) => c.id.startsWith('4')) ? await makeFiles(files, log) : {};
  const results: { id: string; title: string; size: string; old?: Outcome; new?: Outcome }[] = [];
  try {
    for (const def of cases) {
      const row: (typeof results)[number] = { id: def.id, title: def.title, size: def.size };
      for (const { tree, root } of trees) {
        log(`case ${def.id} (${tree}) …`);
        const outcome = await runCase(def, root, files);
        row[tree] = outcome;
        log(`  ${describe(def, outcome)}  [${outcome.wall_s} s]`);
      }
      results.push(row);
    }
  } finally {
    if (values['keep-files'] !== true) await rm(files, { recursive: true, force: true });
  }
  const totalS = secondsSince(started);
  const machine = machineDetails();
  const command = `node --import tsx bench/hostile.ts ${process.argv.slice(2).join(' ')}`.trim();
  const json = {
    machine, command, total_s: totalS, old_root: values.old ?? null, new_root: NEW_ROOT, backend: 'wasm', file_sizes: fileSizes,
    cases: results,
  };
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
  const markdown = [
    '# Hostile inputs (issue 15): before and after', '', machineMarkdown(machine), '',
    `Command: \`${command}\` (old: ${values.old === undefined ? 'not run' : `commit 8d775ca at ${values.old}`}; new: the working tree). `
    + `Each case in its own child process per tree, on a private redis-server; services as processes (wasm backend); `
    + `peak RSS is VmHWM. Total ${totalS.toFixed(0)} s.`, '',
    '| case | size | old | new |', '|---|---|---|---|',
    ...results.map((r) => {
      const def = CASES.find((c) => c.id === r.id)!;
      return `| ${r.id}. ${esc(r.title)} | ${esc(r.size)} | ${esc(describe(def, r.old))} | ${esc(describe(def, r.new))} |`;
    }),
  ].join('\n');
  if (values.json === true) console.log(JSON.stringify(json, null, 2));
  else console.log(markdown);
  log(`wrote ${(await writeResults('hostile', json, markdown, values.out === undefined ? undefined : `${path.resolve(values.out)}/`)).join(', ')} (${totalS.toFixed(0)} s)`);
}

// ---------------------------------------------------------------------------------------------------------------
// Formatting

function secondsSince(start: number): number {
  return Math.round((performance.now() - start) / 10) / 100;
}

/** Seconds as `44.1 s`, or `0.12 ms` when short. */
function duration(s: unknown): string {
  const v = Number(s);
  if (v >= 1) return `${v.toFixed(1)} s`;
  if (v >= 0.001) return `${(v * 1000).toFixed(0)} ms`;
  return `${(v * 1000).toFixed(2)} ms`;
}

function cut(text: string, n: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > n ? `${flat.slice(0, n - 1)}…` : flat;
}

function errorLine(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return `${error.name}${code !== undefined ? ` [${code}]` : ''}: ${error.message.slice(0, 1000)}`;
}

function bytes(n: unknown): string {
  const v = Number(n);
  if (!Number.isFinite(v)) return '?';
  if (Math.abs(v) >= 2 ** 30) return `${(v / 2 ** 30).toFixed(2)} GiB`;
  if (Math.abs(v) >= MiB) return `${(v / MiB).toFixed(0)} MiB`;
  if (Math.abs(v) >= 1024) return `${(v / 1024).toFixed(0)} KiB`;
  return `${v} B`;
}

function yn(v: unknown): string {
  return v === true ? 'yes' : 'no';
}

// ---------------------------------------------------------------------------------------------------------------

const { values } = parseArgs({
  options: {
    old: { type: 'string' }, json: { type: 'boolean' }, only: { type: 'string' }, 'keep-files': { type: 'boolean' }, out: { type: 'string' },
    child: { type: 'string' }, root: { type: 'string' }, files: { type: 'string' }, redis: { type: 'string' },
  },
});

const main = values.child !== undefined
  ? child(values.child, { root: values.root ?? process.cwd(), redisUrl: values.redis ?? '', files: values.files ?? '' }).then(() => process.exit(0))
  : parent(values);
main.catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
