// Job payloads from any client are capped (shared/contracts/limits.ts JOB_LIMITS, queues.ts PAYLOAD_CAPS): the whole
// payload's size before it is parsed, free-text fields, listed users and the numbers that set a job's size. Each
// refusal is a non-retryable InputError naming the queue and the field.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InputError } from '../../shared/contracts/errors.js';
import { JOB_LIMITS } from '../../shared/contracts/limits.js';
import { PAYLOAD_CAPS, parsePayload, type QueueName } from '../../shared/contracts/queues.js';

/** Asserts that `data` is refused on `queue` with an InputError whose message matches `pattern`. */
function refused(queue: QueueName, data: unknown, pattern: RegExp): void {
  assert.throws(() => parsePayload(queue, data), (e: unknown) => {
    assert.ok(e instanceof InputError, String(e));
    assert.equal(e.retryable, false);
    assert.match(e.message, pattern);
    return true;
  });
}

const text = (n: number) => 'x'.repeat(n);

describe('job payload caps', () => {
  test(`a payload over ${JOB_LIMITS.payloadBytes} bytes as JSON is refused before its fields are checked`, () => {
    refused('train', { model: 'm', dataset: 'd', normal: text(JOB_LIMITS.payloadBytes) }, new RegExp(`^train job: the payload is \\d+ bytes as JSON, more than the ${JOB_LIMITS.payloadBytes} allowed$`));
    // Multi-byte characters count as the bytes they take.
    refused('detect', { model: 'm', dataset: 'd', note: 'é'.repeat(JOB_LIMITS.payloadBytes / 2) }, new RegExp(`the payload is ${JOB_LIMITS.payloadBytes + 37} bytes`));
    refused('recommend', { model: 'm', users: Array.from({ length: 200_000 }, (_, i) => `user-${i}`) }, /^recommend job: the payload is \d+ bytes/);
  });

  test(`free-text fields take at most ${JOB_LIMITS.textChars} characters`, () => {
    const max = text(JOB_LIMITS.textChars);
    assert.deepEqual(parsePayload('train', { model: 'm', dataset: 'd', normal: max }), { model: 'm', dataset: 'd', normal: max });
    refused('train', { model: 'm', dataset: 'd', normal: `${max}x` }, /field "normal": at most 256 characters/);
    assert.equal(parsePayload('run', { run: max, model: 'm', dataset: 'd' }).run, max);
    refused('run', { run: `${max}x`, model: 'm', dataset: 'd' }, /^run job, field "run": at most 256 characters/);
    refused('schedule', { schedule: `${max}x`, kind: 'score', model: 'm', dataset: 'd' }, /^schedule job, field "schedule": at most 256 characters/);
    refused('recommend', { model: 'm', users: ['a', `${max}x`] }, /field "users.1": at most 256 characters/);
  });

  test(`recommend lists at most ${JOB_LIMITS.users} users`, () => {
    assert.equal(parsePayload('recommend', { model: 'm', users: Array<string>(JOB_LIMITS.users).fill('u') }).users?.length, JOB_LIMITS.users);
    refused('recommend', { model: 'm', users: Array<string>(JOB_LIMITS.users + 1).fill('u') }, /field "users": at most 10000 users/);
  });

  test('numbers that set a job\'s size are capped far above real use', () => {
    const target = { model: 'm', dataset: 'd' };
    assert.equal(parsePayload('cluster', { ...target, k: PAYLOAD_CAPS.clusters }).k, 1000);
    refused('cluster', { ...target, k: PAYLOAD_CAPS.clusters + 1 }, /field "k"/);
    assert.equal(parsePayload('classify', { ...target, maxTrain: PAYLOAD_CAPS.maxTrain }).maxTrain, 100_000);
    refused('classify', { ...target, maxTrain: PAYLOAD_CAPS.maxTrain + 1 }, /field "maxTrain"/);
    refused('classify', { ...target, alpha: PAYLOAD_CAPS.alpha * 2 }, /field "alpha"/);
    refused('encode', { ...target, batchSize: 65_537 }, /field "batchSize"/);
    refused('recommend', { model: 'm', n: 1001 }, /field "n"/);
  });

  test('webhook jobs name an alert id only', () => {
    assert.deepEqual(parsePayload('webhook', { alertId: '1700000000000-0' }), { alertId: '1700000000000-0' });
    refused('webhook', { alertId: '1700000000000' }, /field "alertId": an alerts stream entry id/);
    refused('webhook', { alertId: '1-0', url: 'http://169.254.169.254/', body: '{}' }, /^webhook job: .*"url"/);
    refused('webhook', {}, /field "alertId"/);
  });
});
