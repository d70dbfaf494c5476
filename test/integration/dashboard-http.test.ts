// The dashboard over HTTP on a real redis-server: who may see and change what (token, browser sessions in Redis,
// localhost-only Host, per-session action tokens, cross-origin refusals), promote and rollback through its forms, retrying a failed run, escaping of
// user data, the live alerts stream with catch-up, health checks and error pages.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { get } from 'node:http';
import type { ReadableStreamReadResult } from 'node:stream/web';
import { after, before, describe, test } from 'node:test';
import { type Keyspace } from '../../shared/contracts/keys.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { initBackend } from '../../shared/ml/backend.js';
import { makeFlowProducer, submitRun } from '../../shared/pipeline/flow.js';
import { makeQueue } from '../../shared/pipeline/queues.js';
import { AlertStore, type Alert } from '../../shared/store/alerts.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { scanKeys } from '../../shared/store/redis.js';
import { startPipeline } from '../helpers/pipeline.js';
import { settled } from '../helpers/jobs.js';
import { startDashboard, type RunningDashboard } from '../helpers/dashboard.js';
import { useRedis } from '../helpers/redis.js';
import { lowRankMatrix } from '../helpers/synthetic.js';

const fixture = useRedis();
const TOKEN = 'a-dashboard-token-of-some-length';
let model: Autoencoder;

before(async () => {
  await initBackend('cpu', () => undefined);
  model = await Autoencoder.fit(lowRankMatrix(64, 8, 2, 0.01, 3), { encoder: [6, 3], epochs: 2, batchSize: 16, seed: 1 });
});
after(() => model.dispose());

/** A GET with a Host header of our choosing (fetch does not let one set it). */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { host } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    }).on('error', reject);
  });
}

/** Opens a page with ?token= as a browser does; returns the session cookie (`name=value`) and its Set-Cookie line. */
async function login(d: RunningDashboard, init: RequestInit = {}): Promise<{ cookie: string; setCookie: string }> {
  const response = await d.request(`/runs?token=${TOKEN}`, init);
  assert.equal(response.status, 303);
  const setCookie = response.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0], setCookie };
}

/** The action token our forms carry, read from a page. */
async function actionToken(response: Response): Promise<string> {
  const m = /name="action" value="([0-9a-f]+)"/.exec(await response.text());
  assert.ok(m, 'the page has an action form');
  return m[1];
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const body = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

function alert(record: string): Alert {
  return { source: 'payments', record, score: 4, threshold: 1, severity: 'high', model: 'm', version: 1, features: [{ feature: '<i>amount</i>', error: 3 }], at: new Date().toISOString() };
}

describe('access', () => {
  test('without a token: pages open on localhost, refused under any other Host name (DNS rebinding)', async (t) => {
    const d = await startDashboard(t, fixture);
    assert.equal((await d.request('/runs')).status, 200);
    assert.equal((await d.request('/')).headers.get('location'), '/runs');
    const rebound = await getWithHost(d.base + '/runs', 'attacker.example:8080');
    assert.equal(rebound.status, 403);
    assert.match(rebound.body, /only to localhost/);
    assert.equal((await d.request('/healthz')).status, 200);
    assert.equal(await (await d.request('/readyz')).text(), 'ready');
  });

  test('with a token: 401 without it, bearer or session cookie (set by ?token=) with it; health checks stay open', async (t) => {
    const d = await startDashboard(t, fixture, { token: TOKEN });
    for (const path of ['/runs', '/models', '/metrics', '/queues', '/alerts/events']) assert.equal((await d.request(path)).status, 401, path);
    assert.equal((await d.request('/runs', { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status, 401);
    assert.equal((await d.request('/runs', { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
    assert.match(await (await d.request('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })).text(), /latentflow_jobs_completed_total/);
    const login = await d.request(`/models?token=${TOKEN}&x=1`);
    assert.equal(login.status, 303);
    assert.equal(login.headers.get('location'), '/models?x=1', 'the token leaves the address bar');
    const cookie = login.headers.get('set-cookie') ?? '';
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Strict/i);
    assert.equal((await d.request('/models', { headers: { cookie: cookie.split(';')[0] } })).status, 200);
    assert.equal((await d.request('/healthz')).status, 200);
    assert.equal((await d.request('/readyz')).status, 200);
  });

  test('a session: the cookie carries a random id, never the token; Redis keeps it (hashed) for sessionMs; Secure behind TLS', async (t) => {
    const d = await startDashboard(t, fixture, { token: TOKEN, sessionMs: 90_000 });
    const { cookie, setCookie } = await login(d);
    const id = cookie.slice(cookie.indexOf('=') + 1);
    assert.ok(id.length >= 40, 'a long random id');
    assert.ok(!setCookie.includes(TOKEN), 'the token is not in the cookie');
    assert.match(setCookie, /; Max-Age=90(;|$)/);
    assert.match(setCookie, /; Path=\/(;|$)/);
    assert.doesNotMatch(setCookie, /Secure/i, 'plain HTTP: a Secure cookie would never come back');
    const key = d.keys.dashboardSession(createHash('sha256').update(id).digest('hex'));
    const ttl = await fixture.redis().pttl(key);
    assert.ok(ttl > 80_000 && ttl <= 90_000, `session TTL ${ttl} ms`);
    const stored = await scanKeys(fixture.redis(), `${fixture.prefix()}*`);
    assert.ok(stored.every((k) => !k.includes(id)), 'Redis never holds a usable cookie value');
    assert.equal((await d.request('/runs', { headers: { cookie } })).status, 200);

    assert.equal((await d.request('/runs', { headers: { cookie: `latentflow_dashboard=${TOKEN}` } })).status, 401, 'the token is no cookie value');
    assert.equal((await d.request('/runs', { headers: { cookie: 'latentflow_dashboard=made-up-session-id' } })).status, 401);

    const behindProxy = await login(d, { headers: { 'x-forwarded-proto': 'https' } });
    assert.match(behindProxy.setCookie, /; Secure(;|$)/);
    assert.notEqual(behindProxy.cookie, cookie, 'every login gets its own session');

    await fixture.redis().del(key);
    assert.equal((await d.request('/runs', { headers: { cookie } })).status, 401, 'a session gone from Redis is gone');
  });

  test('a session expires after sessionMs', async (t) => {
    const d = await startDashboard(t, fixture, { token: TOKEN, sessionMs: 1_000 });
    const { cookie, setCookie } = await login(d);
    assert.match(setCookie, /; Max-Age=1(;|$)/);
    assert.equal((await d.request('/runs', { headers: { cookie } })).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    assert.equal((await d.request('/runs', { headers: { cookie } })).status, 401);
  });
});

describe('actions', () => {
  test('promote and rollback through the model page\'s forms; refused without the form\'s token or from another origin', async (t) => {
    const d = await startDashboard(t, fixture, { token: TOKEN });
    const models = new ModelRegistry(fixture.redis(), d.keys);
    await models.register('fraud', model, { dataset: 'tx' });
    await models.register('fraud', model, { dataset: 'tx' });
    const { cookie } = await login(d);
    const cookieOnly = { cookie };
    const page = await d.request('/models/fraud', { headers: cookieOnly });
    const token = await actionToken(page);

    const other = await login(d);
    const otherToken = await actionToken(await d.request('/models/fraud', { headers: { cookie: other.cookie } }));
    assert.notEqual(otherToken, token, 'each session has its own action token');
    const crossSession = await d.request('/models/fraud/promote', { method: 'POST', headers: { ...cookieOnly, ...FORM }, body: body({ version: '1', action: otherToken }) });
    assert.equal(crossSession.status, 403, 'another session\'s action token does not work');

    const noForm = await d.request('/models/fraud/promote', { method: 'POST', headers: { ...cookieOnly, ...FORM }, body: body({ version: '1' }) });
    assert.equal(noForm.status, 403, 'a cookie alone cannot change state');
    const crossOrigin = await d.request('/models/fraud/promote', {
      method: 'POST', headers: { ...cookieOnly, origin: 'https://attacker.example', ...FORM }, body: body({ version: '1', action: token }),
    });
    assert.equal(crossOrigin.status, 403);
    assert.deepEqual(await models.aliases('fraud'), {});

    const promote = (version: string) => d.request('/models/fraud/promote', { method: 'POST', headers: { ...cookieOnly, ...FORM }, body: body({ version, action: token }) });
    assert.equal((await promote('1')).headers.get('location'), '/models/fraud?promoted=1');
    assert.equal((await promote('2')).status, 303);
    assert.deepEqual(await models.aliases('fraud'), { production: 2 });
    const shown = await (await d.request('/models/fraud?promoted=2', { headers: cookieOnly })).text();
    assert.match(shown, /production now points at version 2/);

    const rollback = await d.request('/models/fraud/rollback', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(rollback.status, 303, 'a bearer token is enough for scripts');
    assert.deepEqual(await models.aliases('fraud'), { production: 1 });
    const missing = await promote('9');
    assert.equal(missing.status, 400);
    assert.match(await missing.text(), /version 9/);
  });

  test('a failed run is retried as a new run with the same request', async (t) => {
    const d = await startDashboard(t, fixture);
    const keys = d.keys;
    const flows = makeFlowProducer(fixture.redis(), keys);
    const train = makeQueue('train', fixture.redis(), keys);
    const runQueue = makeQueue('run', fixture.redis(), keys);
    t.after(async () => {
      await flows.close();
      await train.close();
      await runQueue.close();
    });
    await submitRun(flows, keys, { run: 'r-1', model: 'm', dataset: 'nowhere', options: { codeSize: 3, epochs: 2 }, k: 4, manifold: 'umap', umapMetric: 'euclidean', stages: ['cluster', 'detect'] });
    startPipeline(t, fixture, keys);
    assert.equal((await settled(train, 'r-1', 20_000)).state, 'failed');
    assert.equal((await settled(runQueue, 'r-1', 10_000)).state, 'failed', 'the run fails with its train stage');

    const page = await d.request('/runs');
    const html = (await page.text()).replaceAll('&#47;', '/'); // attribute values as the browser reads them
    assert.match(html, /data-run="r-1"/);
    const token = /action="\/runs\/r-1\/retry"><input type="hidden" name="action" value="([0-9a-f]+)"/.exec(html)?.[1];
    assert.ok(token, 'the failed run has a retry button');
    const retried = await d.request('/runs/r-1/retry', { method: 'POST', headers: FORM, body: body({ action: token }) });
    assert.equal(retried.status, 303);
    const id = decodeURIComponent(/retried=([^&]+)/.exec(retried.headers.get('location') ?? '')?.[1] ?? '');
    assert.match(id, /^r-1-retry-\d+$/);
    const again = await train.getJob(id);
    assert.deepEqual(again?.data, { model: 'm', dataset: 'nowhere', options: { codeSize: 3, epochs: 2 } });
    const cluster = await makeQueueJob(keys, 'cluster', id);
    assert.deepEqual([cluster?.k, cluster?.manifold, cluster?.metric], [4, 'umap', 'euclidean']);
    assert.equal(await makeQueueJob(keys, 'classify', id), undefined, 'the stages of the original run, no more');
  });

  test('an unfinished run has a cancel button; cancelling it fails its jobs as cancelled', async (t) => {
    const d = await startDashboard(t, fixture);
    const keys = d.keys;
    const flows = makeFlowProducer(fixture.redis(), keys);
    const train = makeQueue('train', fixture.redis(), keys);
    t.after(async () => {
      await flows.close();
      await train.close();
    });
    await submitRun(flows, keys, { run: 'r-2', model: 'm', dataset: 'nowhere', options: { codeSize: 3, epochs: 2 }, stages: ['detect'] });
    const html = (await (await d.request('/runs')).text()).replaceAll('&#47;', '/');
    assert.ok(!html.includes('action="/runs/r-2/retry"'), 'no retry before it failed');
    const token = /action="\/runs\/r-2\/cancel"><input type="hidden" name="action" value="([0-9a-f]+)"/.exec(html)?.[1];
    assert.ok(token, 'the waiting run has a cancel button');
    const cancelled = await d.request('/runs/r-2/cancel', { method: 'POST', headers: FORM, body: body({ action: token }) });
    assert.equal(cancelled.status, 303);
    assert.equal(cancelled.headers.get('location'), '/runs?cancelled=r-2');
    startPipeline(t, fixture, keys);
    const failed = await settled(train, 'r-2', 20_000);
    assert.equal(failed.state, 'failed');
    assert.match(failed.job.failedReason, /^cancelled: job r-2 was cancelled/, 'taken after the request: failed before it reads the dataset');
  });
});

async function makeQueueJob(keys: Keyspace, q: 'cluster' | 'classify', id: string): Promise<Record<string, unknown> | undefined> {
  const queue = makeQueue(q, fixture.redis(), keys);
  try {
    return (await queue.getJob(id))?.data;
  } finally {
    await queue.close();
  }
}

describe('pages', () => {
  test('user data is escaped; unknown pages and bad requests get a page that says why', async (t) => {
    const d = await startDashboard(t, fixture);
    await new AlertStore(fixture.redis(), d.keys).append([alert('<script>alert(1)</script>')]);
    const html = await (await d.request('/alerts')).text();
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;&#47;script&gt;'));
    assert.ok(!html.includes('<script>alert(1)'));
    assert.ok(html.includes('&lt;i&gt;amount&lt;&#47;i&gt;'));
    const missing = await d.request('/models/nothing-here');
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /no model &quot;nothing-here&quot;/);
    const report = await d.request('/runs/no-such-run/report');
    assert.equal(report.status, 400);
    for (const path of ['/runs', '/models', '/datasets', '/sources', '/schedules', '/alerts']) {
      const r = await d.request(path);
      assert.equal(r.status, 200, path);
      assert.match(r.headers.get('content-security-policy') ?? '', /script-src 'self'/, path);
    }
  });

  test('the live alerts stream: catch-up after an id, then new alerts as server-sent events', async (t) => {
    const d = await startDashboard(t, fixture);
    const alerts = new AlertStore(fixture.redis(), d.keys);
    const [first] = await alerts.append([alert('a-1')]);
    await alerts.append([alert('a-2')]);
    await new Promise((resolve) => setTimeout(resolve, 500)); // the feed has passed them on (to no one) before we connect
    const firstId = first.status === 'appended' ? first.id : assert.fail('appended');
    const controller = new AbortController();
    const response = await d.request(`/alerts/events?after=${firstId}`, { signal: controller.signal });
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    const reader = response.body!.getReader();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const chunk = (await reader.read()) as ReadableStreamReadResult<Uint8Array>;
        if (chunk.done) assert.fail(`stream ended before ${needle}`);
        text += Buffer.from(chunk.value).toString();
      }
    };
    await readUntil('"record":"a-2"');
    assert.ok(!text.includes('"record":"a-1"'), `only what came after the id:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await alerts.append([alert('a-3')]);
    await readUntil('"record":"a-3"');
    assert.match(text, /id: \d+-\d+\nevent: alert\ndata: \{"id":"\d+-\d+","source":"payments"/);
    controller.abort();
  });
});
