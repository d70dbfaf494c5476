/** What the stream benches share: the digits model they score with, its records as stream values, and progress checks. */
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { readTable } from '../shared/data/read-table.js';
import { Autoencoder } from '../shared/ml/autoencoder.js';
import { initBackend } from '../shared/ml/backend.js';
import { STREAM_GROUP } from '../shared/store/sources.js';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface StreamModel {
  model: Autoencoder;
  /** Every digits row as a `values` field (comma-separated). */
  rows: string[];
  /** 50 rows scaled ×20: each one alerts. */
  anomalous: string[];
}

/**
 * A small autoencoder (codeSize 10, 3 epochs, wasm) trained on data/digits.csv.gz (1797×64), its threshold set above
 * every digits row's score, so only the ×20 rows alert.
 */
export async function digitsStreamModel(): Promise<StreamModel> {
  await initBackend('wasm', () => {});
  const digits = await readTable(`${root}data/digits.csv.gz`, { idColumn: 'id', labelColumn: 'label' });
  const model = await Autoencoder.fit(digits, { codeSize: 10, epochs: 3 });
  const { scores } = model.score(digits);
  const [low, high] = [Math.min(...scores), Math.max(...scores)];
  model.threshold = { method: { method: 'quantile', q: 0.99 }, value: high + (high - low) * 0.5, rows: digits.rows };
  const w = digits.width;
  const row = (i: number, factor: number) => Array.from(digits.values.subarray(i * w, (i + 1) * w), (v) => v * factor).join(',');
  return { model, rows: Array.from({ length: digits.rows }, (_, i) => row(i, 1)), anomalous: Array.from({ length: 50 }, (_, i) => row(i, 20)) };
}

/** The group `encoders` of stream `key`: entries read, pending and lag (zeros before the group exists). */
export async function groupProgress(redis: Redis, key: string): Promise<{ read: number; pending: number; lag: number }> {
  const groups = (await redis.call('XINFO', ['GROUPS', key]).catch(() => [])) as unknown[][];
  const g = groups.find((x) => x[1] === STREAM_GROUP);
  if (!g) return { read: 0, pending: 0, lag: 0 };
  const f: Record<string, unknown> = {};
  for (let i = 0; i + 1 < g.length; i += 2) f[String(g[i])] = g[i + 1];
  return { read: Number(f['entries-read']), pending: Number(f.pending), lag: Number(f.lag) };
}
