/**
 * Settings of the stream consumer, read from the environment here (they belong to the stream path only):
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | LATENTFLOW_STREAM_COUNT | 256 | entries per XREADGROUP, i.e. the largest batch scored at once |
 * | LATENTFLOW_STREAM_BLOCK_MS | 1000 | how long one XREADGROUP waits for entries (a batch is whatever arrived, up to COUNT) |
 * | LATENTFLOW_STREAM_CLAIM_MS | 30000 | entries delivered but not acknowledged for this long (their consumer died) are taken over with XAUTOCLAIM (keep it well above the time one batch takes, or a live consumer's batch is scored twice — harmlessly, since every effect is idempotent) |
 * | LATENTFLOW_STREAM_REFRESH_MS | 5000 | how often the sources hash and each model's `production` alias are re-read (promotions also arrive at once on the model-events channel) |
 */
import { z } from 'zod';
import { ConfigError } from '../contracts/errors.js';

export interface StreamOptions {
  count: number;
  blockMs: number;
  claimMs: number;
  refreshMs: number;
}

const ms = (fallback: number, min: number) => z.coerce.number().int().min(min).max(3_600_000).default(fallback);

const Schema = z.object({
  LATENTFLOW_STREAM_COUNT: z.coerce.number().int().min(1).max(65_536).default(256),
  LATENTFLOW_STREAM_BLOCK_MS: ms(1000, 10),
  LATENTFLOW_STREAM_CLAIM_MS: ms(30_000, 50),
  LATENTFLOW_STREAM_REFRESH_MS: ms(5000, 50),
});

export function loadStreamOptions(env: NodeJS.ProcessEnv = process.env): StreamOptions {
  const present = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('LATENTFLOW_STREAM_') && v !== undefined && v !== ''));
  const parsed = Schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0]);
    throw new ConfigError(`${name}=${JSON.stringify(env[name])}: ${issue.message}`);
  }
  const e = parsed.data;
  return { count: e.LATENTFLOW_STREAM_COUNT, blockMs: e.LATENTFLOW_STREAM_BLOCK_MS, claimMs: e.LATENTFLOW_STREAM_CLAIM_MS, refreshMs: e.LATENTFLOW_STREAM_REFRESH_MS };
}
