import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/contracts/errors.js';

test('configuration defaults when nothing is set', () => {
  const c = loadConfig({});
  assert.equal(c.backend, 'auto');
  assert.equal(c.logLevel, 'info');
  assert.equal(c.logFormat, 'text');
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
  assert.throws(() => loadConfig({ LATENTFLOW_LOG_FORMAT: 'xml' }), /LATENTFLOW_LOG_FORMAT="xml"/);
  assert.equal(loadConfig({ LATENTFLOW_LOG_FORMAT: 'json' }).logFormat, 'json');
  assert.throws(() => loadConfig({ REDIS_URL: 'http://user:secret@x' }), (e: unknown) =>
    e instanceof ConfigError && /REDIS_URL/.test(e.message) && !/secret/.test(e.message));
});

test('REDIS_PASSWORD is the password of a REDIS_URL without one, as ioredis reads it back; a password in the URL wins', () => {
  const password = 'p@ss:w/rd %20?#';
  const url = loadConfig({ REDIS_URL: 'redis://redis:6379', REDIS_PASSWORD: password }).redisUrl!;
  assert.equal(decodeURIComponent(new URL(url).password), password);
  assert.equal(new URL(url).host, 'redis:6379');
  assert.equal(loadConfig({ REDIS_URL: 'rediss://user@cache.example:6380/2', REDIS_PASSWORD: 'x' }).redisUrl, 'rediss://user:x@cache.example:6380/2');
  for (const REDIS_URL of ['redis://:hunter2@h:1', 'redis://h:1/?password=hunter2']) {
    assert.equal(loadConfig({ REDIS_URL, REDIS_PASSWORD: 'swordfish' }).redisUrl, REDIS_URL);
  }
  assert.equal(loadConfig({ REDIS_PASSWORD: 'x' }).redisUrl, undefined);
  assert.throws(() => loadConfig({ REDIS_URL: 'http://h', REDIS_PASSWORD: 'swordfish' }), (e: unknown) => e instanceof ConfigError && !/swordfish/.test(e.message));
});

test('webhook secrets need 16 characters; webhook URLs carry no credentials; alert marks last 7 days by default', () => {
  const secret = '0123456789abcdef';
  assert.equal(loadConfig({ LATENTFLOW_WEBHOOK_URL: 'https://hooks.example/a?k=1', LATENTFLOW_WEBHOOK_SECRET: secret }).webhook.secret, secret);
  assert.throws(() => loadConfig({ LATENTFLOW_WEBHOOK_SECRET: secret.slice(1) }), (e: unknown) =>
    e instanceof ConfigError && /LATENTFLOW_WEBHOOK_SECRET=\(redacted\): at least 16 characters/.test(e.message) && !e.message.includes(secret.slice(1)));
  assert.throws(() => loadConfig({ LATENTFLOW_WEBHOOK_URL: 'https://me:hunter2@hooks.example/a', LATENTFLOW_WEBHOOK_SECRET: secret }), (e: unknown) =>
    e instanceof ConfigError && /LATENTFLOW_WEBHOOK_URL=\(redacted\)/.test(e.message) && !e.message.includes('hunter2'));
  assert.equal(loadConfig({}).alertsDedupMs, 7 * 24 * 3_600_000);
  assert.equal(loadConfig({ LATENTFLOW_ALERTS_DEDUP_MS: '3600000' }).alertsDedupMs, 3_600_000);
  assert.throws(() => loadConfig({ LATENTFLOW_ALERTS_DEDUP_MS: '1000' }), /LATENTFLOW_ALERTS_DEDUP_MS="1000"/);
});
