// The production-version cache of the stream consumer, and its environment settings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../shared/contracts/errors.js';
import { streamEntries as entriesOf } from '../../shared/store/util.js';
import { loadConfig } from '../../shared/config.js';
import { ProductionVersions } from '../../shared/stream/versions.js';

function registry(initial: number) {
  const state = { version: initial, calls: 0 };
  return { state, models: { resolve: (_name: string, _ref: number | string) => Promise.resolve((state.calls++, state.version)) } };
}

test('the production version is cached for refreshMs, then re-read (the periodic check)', async () => {
  let now = 0;
  const { state, models } = registry(1);
  const versions = new ProductionVersions(models, 5000, () => now);
  assert.equal(await versions.get('m'), 1);
  state.version = 2;
  now = 4999;
  assert.equal(await versions.get('m'), 1, 'still cached');
  now = 5000;
  assert.equal(await versions.get('m'), 2, 're-read after refreshMs');
  assert.equal(state.calls, 2);
});

test('invalidate (a model event) drops the cached version at once, and a resolution racing it is not cached', async () => {
  const { state, models } = registry(1);
  const versions = new ProductionVersions(models, 60_000);
  assert.equal(await versions.get('m'), 1);
  state.version = 2;
  versions.invalidate('m');
  assert.equal(await versions.get('m'), 2);

  let release!: (v: number) => void;
  const slow = new ProductionVersions({ resolve: () => new Promise<number>((r) => (release = r)) }, 60_000);
  const racing = slow.get('m');
  slow.invalidate('m');
  release(1);
  assert.equal(await racing, 1);
  let calls = 0;
  const after = new ProductionVersions({ resolve: () => Promise.resolve((calls++, 3)) }, 60_000);
  assert.equal(await after.get('m'), 3);
  assert.equal(calls, 1);
});

test('stream settings from the environment, with defaults; a bad value names the variable', () => {
  assert.deepEqual(loadConfig({}).stream, { count: 256, blockMs: 1000, claimMs: 30_000, refreshMs: 5000, embeddingsMaxLen: 100_000, rateLimit: 0 });
  assert.equal(loadConfig({ LATENTFLOW_SOURCE_RATE_LIMIT: '5000' }).stream.rateLimit, 5000);
  assert.throws(() => loadConfig({ LATENTFLOW_SOURCE_RATE_LIMIT: '1.5' }), /LATENTFLOW_SOURCE_RATE_LIMIT="1.5"/);
  assert.deepEqual(loadConfig({ LATENTFLOW_STREAM_COUNT: '10', LATENTFLOW_STREAM_CLAIM_MS: '500' }).stream.claimMs, 500);
  assert.throws(() => loadConfig({ LATENTFLOW_STREAM_CLAIM_MS: 'soon' }), (e: unknown) => e instanceof ConfigError && /LATENTFLOW_STREAM_CLAIM_MS="soon"/.test(e.message));
});

test('XREADGROUP replies in RESP2 and RESP3 shapes, and a timeout', () => {
  const entries = [['1-0', ['id', 'a']]];
  assert.deepEqual(entriesOf([['k', entries]]), entries);
  assert.deepEqual(entriesOf(['k', entries]), entries);
  assert.deepEqual(entriesOf(null), []);
});
