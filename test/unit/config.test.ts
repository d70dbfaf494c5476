import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/contracts/errors.js';

test('configuration defaults when nothing is set', () => {
  assert.deepEqual(loadConfig({}), { backend: 'auto', logLevel: 'info' });
});

test('an empty variable counts as unset', () => {
  assert.equal(loadConfig({ LATENTFLOW_BACKEND: '' }).backend, 'auto');
});

test('an invalid value names the variable and the value', () => {
  assert.throws(() => loadConfig({ LATENTFLOW_LOG_LEVEL: 'loud' }), (e: unknown) =>
    e instanceof ConfigError && /LATENTFLOW_LOG_LEVEL="loud"/.test(e.message) && !e.retryable);
});
