// Webhook delivery on a real redis-server and a real HTTP receiver on 127.0.0.1: retries with backoff until the
// receiver accepts, a valid HMAC-SHA256 signature, a refusal (410) failing the job at once, and a timeout retried.
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/contracts/errors.js';
import { keyspace } from '../../shared/contracts/keys.js';
import { AlertPublisher } from '../../shared/pipeline/alert-publisher.js';
import { makeQueue, makeWorker, type PipelineQueue } from '../../shared/pipeline/queues.js';
import { AlertStore, alertJson, severityOf, type Alert } from '../../shared/store/alerts.js';
import { closeRedis } from '../../shared/store/redis.js';
import { createWebhookProcessor } from '../../services/downstream/webhook.processor.js';
import { trackedRedis, useRedis } from '../helpers/redis.js';

const fixture = useRedis();
const SECRET = 'test-secret-0123456789';

interface Delivery { headers: IncomingHttpHeaders; body: Buffer; status: number }

/** A receiver answering the n-th request (0-based) with `answer(n, res)`; it records every request. */
async function receiver(t: TestContext, answer: (n: number, res: ServerResponse) => void) {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = deliveries.length;
      const delivery: Delivery = { headers: req.headers, body: Buffer.concat(chunks), status: 0 };
      deliveries.push(delivery);
      res.on('finish', () => (delivery.status = res.statusCode));
      answer(n, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/alerts?token=abc`, deliveries };
}

function harness(t: TestContext, url: string, timeoutMs = 2000) {
  const keys = keyspace(fixture.prefix());
  const connection = trackedRedis(fixture.url(), { bullmq: true, name: 'webhook-test' });
  const queue = makeQueue('webhook', connection, keys);
  const worker = makeWorker('webhook', createWebhookProcessor({ secret: SECRET, timeoutMs }), connection, keys, { concurrency: 1 });
  const publisher = new AlertPublisher({
    alerts: new AlertStore(connection, keys), redis: connection, keys, cooldownMs: 60_000,
    webhooks: { queue, url, backoffMs: 50 },
  });
  t.after(async () => {
    await worker.close();
    await queue.close();
    await closeRedis(connection);
  });
  return { queue, publisher };
}

async function settled(queue: PipelineQueue<'webhook'>, id: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await queue.getJobState(id);
    const job = state === 'completed' || state === 'failed' ? await queue.getJob(id) : undefined;
    if (job) return { job, state };
    if (Date.now() > deadline) throw new Error(`webhook job ${id} still ${state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function alert(record: string, score = 0.9): Alert {
  return {
    source: 'sensors', record, score, threshold: 0.1, severity: severityOf(score, 0.1), model: 'ae', version: 3,
    features: [{ feature: 'temp', error: 0.7 }], at: '2026-11-27T04:00:00.000Z', kind: 'anomaly',
  };
}

describe('webhook delivery', () => {
  test('a receiver failing twice (500) then accepting gets the alert once with 200, signed; the job reports 3 attempts', async (t) => {
    const hook = await receiver(t, (n, res) => {
      res.writeHead(n < 2 ? 500 : 200, { 'content-type': 'text/plain' }).end(n < 2 ? 'try later' : 'ok');
    });
    const { queue, publisher } = harness(t, hook.url);
    const result = await publisher.publish([alert('42')], { once: 'ae@3:stream.sensors' });
    assert.equal(result.published, 1);
    const [id] = result.ids;

    const done = await settled(queue, id);
    assert.equal(done.state, 'completed', done.job.failedReason);
    assert.deepEqual(done.job.returnvalue, { status: 200, attempts: 3 });
    assert.equal(done.job.opts.attempts, 5);

    assert.equal(hook.deliveries.length, 3);
    assert.deepEqual(hook.deliveries.map((d) => d.status), [500, 500, 200]);
    const accepted = hook.deliveries.filter((d) => d.status === 200);
    assert.equal(accepted.length, 1, 'accepted exactly once');
    const [d] = accepted;
    assert.equal(d.headers['content-type'], 'application/json');
    assert.equal(d.headers['x-latentflow-alert-id'], id);
    assert.deepEqual(JSON.parse(d.body.toString('utf8')), { id, ...alert('42') });
    assert.equal(d.body.toString('utf8'), alertJson(alert('42'), id));

    const header = String(d.headers['x-latentflow-signature']);
    const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(d.body).digest('hex')}`);
    assert.ok(Buffer.byteLength(header) === expected.length && timingSafeEqual(Buffer.from(header), expected), header);
    const forged = Buffer.from(`sha256=${createHmac('sha256', 'wrong').update(d.body).digest('hex')}`);
    assert.ok(!timingSafeEqual(Buffer.from(header), forged));
    // Every retry carries the same body and signature.
    assert.ok(hook.deliveries.every((x) => x.body.equals(d.body) && x.headers['x-latentflow-signature'] === header));

    // Publishing the same alert again in the same scope neither appends nor enqueues anything.
    assert.deepEqual(await publisher.publish([alert('42')], { once: 'ae@3:stream.sensors' }), { published: 0, suppressed: 0, ids: [] });
    assert.equal((await queue.getJobCounts('completed')).completed, 1);
  });

  test('a receiver answering 410 fails the job at once, with the status and its answer in the reason', async (t) => {
    const hook = await receiver(t, (_n, res) => res.writeHead(410, { 'content-type': 'text/plain' }).end('this hook is gone'));
    const { queue, publisher } = harness(t, hook.url);
    const { ids: [id] } = await publisher.publish([alert('7')]);
    const done = await settled(queue, id);
    assert.equal(done.state, 'failed');
    assert.equal(done.job.attemptsMade, 1);
    assert.match(done.job.failedReason, /HTTP 410: this hook is gone/);
    assert.doesNotMatch(done.job.failedReason, /token=abc/, 'the query string (may hold a token) is not in the reason');
    assert.equal(hook.deliveries.length, 1);
  });

  test('a receiver slower than the timeout is retried; 429 is retried too', async (t) => {
    const hook = await receiver(t, (n, res) => {
      if (n === 0) setTimeout(() => res.writeHead(200).end(), 1500);
      else if (n === 1) res.writeHead(429).end('slow down');
      else res.writeHead(204).end();
    });
    const { queue, publisher } = harness(t, hook.url, 200);
    const { ids: [id] } = await publisher.publish([alert('9')]);
    const done = await settled(queue, id);
    assert.equal(done.state, 'completed', done.job.failedReason);
    assert.deepEqual(done.job.returnvalue, { status: 204, attempts: 3 });
    assert.ok(hook.deliveries.length >= 3);
  });

  test('no receiver listening: a network error is retried up to the last attempt', async (t) => {
    const hook = await receiver(t, (_n, res) => res.writeHead(200).end());
    const closedUrl = hook.url.replace(/:\d+\//, ':1/');
    const { queue, publisher } = harness(t, closedUrl);
    const { ids: [id] } = await publisher.publish([alert('5')]);
    const done = await settled(queue, id);
    assert.equal(done.state, 'failed');
    assert.equal(done.job.attemptsMade, 5);
    assert.match(done.job.failedReason, /webhook http:\/\/127\.0\.0\.1:1\/hooks\/alerts: fetch failed/);
  });
});

describe('alert configuration', () => {
  test('defaults; a webhook URL needs a secret; secrets never appear in errors', () => {
    const c = loadConfig({});
    assert.deepEqual([c.webhook, c.alertCooldownMs, c.drift], [{ url: undefined, secret: undefined, timeoutMs: 5000 }, 60_000, { window: 500, factor: 2 }]);
    const set = loadConfig({ LATENTFLOW_WEBHOOK_URL: 'https://hooks.example/a', LATENTFLOW_WEBHOOK_SECRET: 's', LATENTFLOW_ALERT_COOLDOWN_MS: '0', LATENTFLOW_DRIFT_FACTOR: '1.5' });
    assert.deepEqual([set.webhook.url, set.alertCooldownMs, set.drift.factor], ['https://hooks.example/a', 0, 1.5]);
    assert.equal(loadConfig({ LATENTFLOW_WEBHOOK_SECRET: 'only-the-deliverer' }).webhook.secret, 'only-the-deliverer');
    assert.throws(() => loadConfig({ LATENTFLOW_WEBHOOK_URL: 'https://hooks.example/a' }), (e: unknown) => e instanceof ConfigError && /LATENTFLOW_WEBHOOK_SECRET is required/.test(e.message));
    assert.throws(() => loadConfig({ LATENTFLOW_WEBHOOK_URL: 'ftp://user:pw@x' }), (e: unknown) => e instanceof ConfigError && !/pw/.test(e.message));
    assert.throws(() => loadConfig({ LATENTFLOW_DRIFT_WINDOW: '0' }), /LATENTFLOW_DRIFT_WINDOW="0"/);
    assert.throws(() => loadConfig({ LATENTFLOW_ALERT_COOLDOWN_MS: '-1' }), /LATENTFLOW_ALERT_COOLDOWN_MS/);
  });
});
