import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/contracts/errors.js';

test('configuration defaults when nothing is set', () => {
  const c = loadConfig({});
  assert.equal(c.backend, 'auto');
  assert.equal(c.logLevel, 'info');
  assert.equal(c.prefix, 'lf');
  assert.equal(c.redisUrl, undefined);
  assert.equal(c.dataDir, path.resolve('data'));
  assert.deepEqual(c.concurrency, { trainer: 1, encoder: 2, downstream: 2 });
});

test('an empty variable counts as unset; numbers and URLs are parsed', () => {
  assert.equal(loadConfig({ LATENTFLOW_BACKEND: '' }).backend, 'auto');
  const c = loadConfig({ REDIS_URL: 'rediss://user:secret@cache.example:6380/2', LATENTFLOW_ENCODER_CONCURRENCY: '4' });
  assert.equal(c.redisUrl, 'rediss://user:secret@cache.example:6380/2');
  assert.equal(c.concurrency.encoder, 4);
});

test('an invalid value names the variable and the value (never a Redis password)', () => {
  assert.throws(() => loadConfig({ LATENTFLOW_LOG_LEVEL: 'loud' }), (e: unknown) =>
    e instanceof ConfigError && /LATENTFLOW_LOG_LEVEL="loud"/.test(e.message) && !e.retryable);
  assert.throws(() => loadConfig({ LATENTFLOW_ENCODER_CONCURRENCY: '0' }), /LATENTFLOW_ENCODER_CONCURRENCY="0"/);
  assert.throws(() => loadConfig({ REDIS_URL: 'http://user:secret@x' }), (e: unknown) =>
    e instanceof ConfigError && /REDIS_URL/.test(e.message) && !/secret/.test(e.message));
});
