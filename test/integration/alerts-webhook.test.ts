// Webhook delivery on a real redis-server and real HTTP receivers on 127.0.0.1: retries with backoff until the
// receiver accepts, a timestamped HMAC-SHA256 signature, a refusal (410) failing the job at once, a timeout retried;
// jobs name only an alert (never a URL or a body); answers read up to a cap; the URL's query never in a reason or log.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/contracts/errors.js';
import { keyspace } from '../../shared/contracts/keys.js';
import { WEBHOOK_LIMITS } from '../../shared/contracts/limits.js';
import { AlertPublisher } from '../../shared/pipeline/alert-publisher.js';
import { createLogger } from '../../shared/pipeline/log.js';
import { makeQueue, makeWorker, type PipelineQueue } from '../../shared/pipeline/queues.js';
import { signBody, verifySignature } from '../../shared/pipeline/webhook.js';
import { AlertStore, alertJson, severityOf, type Alert } from '../../shared/store/alerts.js';
import { closeRedis } from '../../shared/store/redis.js';
import { createWebhookProcessor } from '../../services/downstream/webhook.processor.js';
import { trackedRedis, useRedis } from '../helpers/redis.js';

const fixture = useRedis();
const SECRET = 'test-secret-0123456789';
/** The query of every receiver's URL: a token that must never show in a reason or a log line. */
const QUERY_TOKEN = 'tok3n-in-the-query';

interface Delivery { headers: IncomingHttpHeaders; body: Buffer; status: number; url: string }

/** A receiver answering the n-th request (0-based) with `answer(n, res, req)`; it records every request. */
async function receiver(t: TestContext, answer: (n: number, res: ServerResponse, req: IncomingMessage) => void) {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = deliveries.length;
      const delivery: Delivery = { headers: req.headers, body: Buffer.concat(chunks), status: 0, url: req.url ?? '' };
      deliveries.push(delivery);
      res.on('finish', () => (delivery.status = res.statusCode));
      answer(n, res, req);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/alerts?token=${QUERY_TOKEN}#frag`, deliveries };
}

function harness(t: TestContext, url: string, options: { timeoutMs?: number; fetch?: typeof fetch } = {}) {
  const keys = keyspace(fixture.prefix());
  const connection = trackedRedis(fixture.url(), { bullmq: true, name: 'webhook-test' });
  const queue = makeQueue('webhook', connection, keys);
  const store = new AlertStore(connection, keys);
  const logged: string[] = [];
  const processor = createWebhookProcessor({ url, secret: SECRET, timeoutMs: options.timeoutMs ?? 2000, alerts: store, fetch: options.fetch });
  const log = createLogger('downstream', 'debug', (line) => logged.push(line));
  const worker = makeWorker('webhook', processor, connection, keys, { concurrency: 1, log });
  const publisher = new AlertPublisher({ alerts: store, redis: connection, keys, cooldownMs: 60_000, webhooks: { queue, backoffMs: 50 } });
  t.after(async () => {
    await worker.close();
    await queue.close();
    await closeRedis(connection);
  });
  return { queue, publisher, store, logged };
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

/** Answers `status` with a body of `total` bytes written as fast as the client reads it; `sent()` counts what went out. */
function streamingAnswer(status: number, total: number) {
  let sent = 0;
  let closedEarly = false;
  const chunk = Buffer.alloc(64 << 10, 'x');
  const answer = (_n: number, res: ServerResponse) => {
    res.on('close', () => (closedEarly = !res.writableFinished));
    res.writeHead(status, { 'content-type': 'text/plain' });
    const pump = () => {
      while (!res.destroyed && sent < total) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    pump();
  };
  return { answer, sent: () => sent, closedEarly: () => closedEarly };
}

describe('webhook delivery', () => {
  test('a receiver failing twice (500) then accepting gets the stored alert once with 200, signed with a timestamp; the job reports 3 attempts', async (t) => {
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
    assert.deepEqual(done.job.data, { alertId: id }, 'the job names the alert only');

    assert.equal(hook.deliveries.length, 3);
    assert.deepEqual(hook.deliveries.map((d) => d.status), [500, 500, 200]);
    const accepted = hook.deliveries.filter((d) => d.status === 200);
    assert.equal(accepted.length, 1, 'accepted exactly once');
    const [d] = accepted;
    assert.equal(d.url, `/hooks/alerts?token=${QUERY_TOKEN}`, 'delivered to the configured URL');
    assert.equal(d.headers['content-type'], 'application/json');
    assert.equal(d.headers['x-latentflow-alert-id'], id);
    assert.deepEqual(JSON.parse(d.body.toString('utf8')), { id, ...alert('42') });
    assert.equal(d.body.toString('utf8'), alertJson(alert('42'), id));

    // t=<unix seconds>,sha256=<HMAC of "<t>.<body>">; the timestamp header repeats t.
    const header = String(d.headers['x-latentflow-signature']);
    const m = /^t=(\d+),sha256=([0-9a-f]{64})$/.exec(header);
    assert.ok(m, header);
    assert.equal(d.headers['x-latentflow-timestamp'], m[1]);
    assert.ok(Math.abs(Number(m[1]) - Date.now() / 1000) < 60, 'a current timestamp');
    assert.equal(m[2], createHmac('sha256', SECRET).update(`${m[1]}.`).update(d.body).digest('hex'));
    assert.ok(verifySignature(d.body, header, SECRET));
    assert.ok(!verifySignature(d.body, header, 'another-secret-0123456789'));
    // Every retry carries the same body and alert id, each signed validly.
    assert.ok(hook.deliveries.every((x) => x.body.equals(d.body) && x.headers['x-latentflow-alert-id'] === id
      && verifySignature(x.body, String(x.headers['x-latentflow-signature']), SECRET)));

    // Publishing the same alert again in the same scope neither appends nor enqueues anything.
    assert.deepEqual(await publisher.publish([alert('42')], { once: 'ae@3:stream.sensors' }), { published: 0, suppressed: 0, ids: [] });
    assert.equal((await queue.getJobCounts('completed')).completed, 1);
  });

  test('a receiver answering 410 fails the job at once, with the status and its answer (path and query redacted) in the reason', async (t) => {
    const hook = await receiver(t, (_n, res, req) => res.writeHead(410, { 'content-type': 'text/plain' }).end(`this hook is gone: ${req.url}`));
    const { queue, publisher, logged } = harness(t, hook.url);
    const { ids: [id] } = await publisher.publish([alert('7')]);
    const done = await settled(queue, id);
    assert.equal(done.state, 'failed');
    assert.equal(done.job.attemptsMade, 1);
    assert.match(done.job.failedReason, /HTTP 410: this hook is gone: \(redacted\)/);
    assert.doesNotMatch(done.job.failedReason, new RegExp(QUERY_TOKEN), 'the query string (may hold a token) is not in the reason');
    assert.ok(logged.some((l) => l.includes('HTTP 410')), logged.join('\n'));
    assert.ok(logged.every((l) => !l.includes(QUERY_TOKEN) && !l.includes('frag')), logged.join('\n'));
    assert.equal(hook.deliveries.length, 1);
  });

  test('a receiver slower than the timeout is retried; 429 is retried too', async (t) => {
    const hook = await receiver(t, (n, res) => {
      if (n === 0) setTimeout(() => res.writeHead(200).end(), 1500);
      else if (n === 1) res.writeHead(429).end('slow down');
      else res.writeHead(204).end();
    });
    const { queue, publisher } = harness(t, hook.url, { timeoutMs: 200 });
    const { ids: [id] } = await publisher.publish([alert('9')]);
    const done = await settled(queue, id);
    assert.equal(done.state, 'completed', done.job.failedReason);
    assert.deepEqual(done.job.returnvalue, { status: 204, attempts: 3 });
    assert.ok(hook.deliveries.length >= 3);
  });

  test('no receiver listening: a network error is retried up to the last attempt; neither reason nor log shows the path or query', async (t) => {
    const hook = await receiver(t, (_n, res) => res.writeHead(200).end());
    const closedUrl = hook.url.replace(/:\d+\//, ':1/');
    const { queue, publisher, logged } = harness(t, closedUrl);
    const { ids: [id] } = await publisher.publish([alert('5')]);
    const done = await settled(queue, id);
    assert.equal(done.state, 'failed');
    assert.equal(done.job.attemptsMade, 5);
    assert.match(done.job.failedReason, /webhook http:\/\/127\.0\.0\.1:1\/…: fetch failed/);
    assert.equal(logged.filter((l) => l.includes(`webhook job ${id} failed`)).length, 5, logged.join('\n'));
    for (const text of [done.job.failedReason, ...(done.job.stacktrace ?? []), ...logged]) {
      assert.ok(!text.includes(QUERY_TOKEN) && !text.includes('#frag') && !text.includes('/hooks/alerts'), text);
    }
  });

  test('a fetch whose error quotes the whole URL (as node-fetch\'s do): the reason and log show it without path, query or fragment', async (t) => {
    const hook = await receiver(t, (_n, res) => res.writeHead(200).end());
    const quoting: typeof fetch = (input) => {
      const url = input as string;
      return Promise.reject(new TypeError(`request to ${url} failed`, { cause: new Error(`reason: refused by ${url}`) }));
    };
    const { queue, publisher, logged } = harness(t, hook.url, { fetch: quoting });
    const { ids: [id] } = await publisher.publish([alert('6')]);
    const done = await settled(queue, id);
    assert.equal(done.state, 'failed');
    assert.match(done.job.failedReason, /request to http:\/\/127\.0\.0\.1:\d+\/… failed: reason: refused by http:\/\/127\.0\.0\.1:\d+\/…$/);
    for (const text of [done.job.failedReason, ...(done.job.stacktrace ?? []), ...logged]) {
      assert.ok(!text.includes(QUERY_TOKEN) && !text.includes('frag') && !text.includes('/hooks/alerts'), text);
    }
  });

  test('an endless 200 answer completes the job in one attempt: the answer is not read to its end', async (t) => {
    const big = streamingAnswer(200, 300 << 20);
    const hook = await receiver(t, big.answer);
    const { queue, publisher } = harness(t, hook.url);
    const { ids: [id] } = await publisher.publish([alert('8')]);
    const done = await settled(queue, id);
    assert.equal(done.state, 'completed', done.job.failedReason);
    assert.deepEqual(done.job.returnvalue, { status: 200, attempts: 1 });
    for (let i = 0; i < 200 && !big.closedEarly(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(big.closedEarly(), 'the connection was closed before the answer ended');
    assert.ok(big.sent() < 64 << 20, `${big.sent()} bytes of 300 MiB left the receiver`);
  });

  test(`a 410 with a 300 MiB answer fails at once; at most ${WEBHOOK_LIMITS.responseBytes} bytes are read, 200 characters quoted`, async (t) => {
    const big = streamingAnswer(410, 300 << 20);
    const hook = await receiver(t, big.answer);
    const { queue, publisher } = harness(t, hook.url);
    const { ids: [id] } = await publisher.publish([alert('11')]);
    const done = await settled(queue, id);
    assert.equal(done.state, 'failed');
    assert.equal(done.job.attemptsMade, 1);
    assert.match(done.job.failedReason, /HTTP 410: x{200}$/);
    for (let i = 0; i < 200 && !big.closedEarly(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(big.closedEarly(), 'the connection was closed before the answer ended');
    assert.ok(big.sent() < 64 << 20, `${big.sent()} bytes of 300 MiB left the receiver`);
  });
});

describe('webhook jobs from any client', () => {
  test('a job naming its own url and body is refused; nothing is sent anywhere', async (t) => {
    const configured = await receiver(t, (_n, res) => res.writeHead(200).end());
    const elsewhere = await receiver(t, (_n, res) => res.writeHead(200).end());
    const { queue, publisher } = harness(t, configured.url);
    const { ids: [alertId] } = await publisher.publish([alert('1')]);
    await settled(queue, alertId);
    const before = configured.deliveries.length;

    const forged = await queue.add('webhook', { url: elsewhere.url, body: '{"any":"thing"}', alertId } as never, { attempts: 3 });
    const done = await settled(queue, forged.id!);
    assert.equal(done.state, 'failed');
    assert.equal(done.job.attemptsMade, 1, 'not retried');
    assert.match(done.job.failedReason, /webhook job/);
    assert.match(done.job.failedReason, /url|body/);
    assert.equal(elsewhere.deliveries.length, 0);
    assert.equal(configured.deliveries.length, before);
  });

  test('an alert id not in the stream, or not an id, fails at once naming alertId; an existing id sends the stored alert', async (t) => {
    const hook = await receiver(t, (_n, res) => res.writeHead(200).end());
    const { queue, publisher } = harness(t, hook.url);
    const missing = await queue.add('webhook', { alertId: '1-0' }, { attempts: 3 });
    const junk = await queue.add('webhook', { alertId: '../../admin' }, { attempts: 3 });
    const [a, b] = await Promise.all([settled(queue, missing.id!), settled(queue, junk.id!)]);
    assert.deepEqual([a.state, a.job.attemptsMade, b.state, b.job.attemptsMade], ['failed', 1, 'failed', 1]);
    assert.match(a.job.failedReason, /field "alertId", value "1-0": no such alert in the alerts stream/);
    assert.match(b.job.failedReason, /field "alertId"/);
    assert.equal(hook.deliveries.length, 0);

    // Any client may ask for a stored alert to be sent again: it goes, as stored, to the configured URL only.
    const { ids: [id] } = await publisher.publish([alert('3')]);
    await settled(queue, id);
    const again = await queue.add('webhook', { alertId: id });
    assert.equal((await settled(queue, again.id!)).state, 'completed');
    assert.equal(hook.deliveries.length, 2);
    assert.ok(hook.deliveries.every((d) => d.body.toString() === alertJson(alert('3'), id)));
  });
});

describe('webhook signatures', () => {
  const body = alertJson(alert('1'), '1700000000000-0');
  const t0 = 1_700_000_000;

  test('a signature holds within the tolerance only, for that body, secret and timestamp', () => {
    const header = signBody(body, SECRET, t0);
    assert.match(header, /^t=1700000000,sha256=[0-9a-f]{64}$/);
    assert.ok(verifySignature(body, header, SECRET, { now: t0 }));
    assert.ok(verifySignature(Buffer.from(body), header, SECRET, { now: t0 + 300 }));
    assert.ok(verifySignature(body, header, SECRET, { now: t0 - 300 }));
    assert.ok(!verifySignature(body, header, SECRET, { now: t0 + 301 }), 'a replay after 5 minutes is refused');
    assert.ok(verifySignature(body, header, SECRET, { now: t0 + 3000, toleranceSeconds: 3600 }));
    assert.ok(!verifySignature(`${body} `, header, SECRET, { now: t0 }));
    assert.ok(!verifySignature(body, header, `${SECRET}x`, { now: t0 }));
    assert.ok(!verifySignature(body, header.replace('t=1700000000', 't=1700000001'), SECRET, { now: t0 }), 'the timestamp is signed');
    assert.ok(!verifySignature(body, undefined, SECRET, { now: t0 }));
    assert.ok(!verifySignature(body, '', SECRET, { now: t0 }));
    const untimed = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    assert.ok(!verifySignature(body, untimed, SECRET, { now: t0 }), 'the old, untimed signature is refused');
  });
});

describe('alert configuration', () => {
  test('defaults; a webhook URL needs a secret of 16 characters or more; secrets never appear in errors', () => {
    const c = loadConfig({});
    assert.deepEqual([c.webhook, c.alertCooldownMs, c.drift, c.alertsDedupMs], [{ url: undefined, secret: undefined, timeoutMs: 5000 }, 60_000, { window: 500, factor: 2, alpha: 0.001 }, 7 * 24 * 3_600_000]);
    const set = loadConfig({ LATENTFLOW_WEBHOOK_URL: 'https://hooks.example/a', LATENTFLOW_WEBHOOK_SECRET: SECRET, LATENTFLOW_ALERT_COOLDOWN_MS: '0', LATENTFLOW_DRIFT_FACTOR: '1.5' });
    assert.deepEqual([set.webhook.url, set.webhook.secret, set.alertCooldownMs, set.drift.factor], ['https://hooks.example/a', SECRET, 0, 1.5]);
    assert.equal(loadConfig({ LATENTFLOW_WEBHOOK_SECRET: 'only-the-deliverer' }).webhook.secret, 'only-the-deliverer');
    assert.throws(() => loadConfig({ LATENTFLOW_WEBHOOK_URL: 'https://hooks.example/a' }), (e: unknown) => e instanceof ConfigError && /LATENTFLOW_WEBHOOK_SECRET is required/.test(e.message));
    assert.throws(() => loadConfig({ LATENTFLOW_WEBHOOK_URL: 'https://hooks.example/a', LATENTFLOW_WEBHOOK_SECRET: 'short-secret-15' }),
      (e: unknown) => e instanceof ConfigError && /LATENTFLOW_WEBHOOK_SECRET.*at least 16 characters/.test(e.message) && !e.message.includes('short-secret-15'));
    assert.throws(() => loadConfig({ LATENTFLOW_WEBHOOK_URL: 'ftp://user:pw@x' }), (e: unknown) => e instanceof ConfigError && !/pw/.test(e.message));
    assert.throws(() => loadConfig({ LATENTFLOW_WEBHOOK_URL: 'https://user:pa55word@hooks.example/a', LATENTFLOW_WEBHOOK_SECRET: SECRET }),
      (e: unknown) => e instanceof ConfigError && /must not carry a user or password/.test(e.message) && !e.message.includes('pa55word'));
    assert.throws(() => loadConfig({ LATENTFLOW_DRIFT_WINDOW: '0' }), /LATENTFLOW_DRIFT_WINDOW="0"/);
    assert.throws(() => loadConfig({ LATENTFLOW_ALERT_COOLDOWN_MS: '-1' }), /LATENTFLOW_ALERT_COOLDOWN_MS/);
  });
});
