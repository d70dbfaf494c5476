// The dashboard against requests it must refuse, on a real redis-server: bull-board's state-changing API (add a job,
// pause, update data ...) without the action token, with a cookie alone, from another origin; and the security
// headers of every response, bull-board's included.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeQueue } from '../../shared/pipeline/queues.js';
import { startDashboard, type RunningDashboard } from '../helpers/dashboard.js';
import { useRedis } from '../helpers/redis.js';

const fixture = useRedis();
const TOKEN = 'a-dashboard-token-of-some-length';

/** The cookies a response sets, as `name=value` by name. */
function setCookies(response: Response): Map<string, string> {
  return new Map(response.headers.getSetCookie().map((line) => {
    const pair = line.split(';')[0];
    return [pair.slice(0, pair.indexOf('=')), pair];
  }));
}

/** What bull-board's UI holds after opening /queues: its cookies and the X-XSRF-TOKEN its HTTP client sends back. */
async function openQueues(d: RunningDashboard, cookie?: string): Promise<{ cookie: string; xsrf: string }> {
  const page = await d.request('/queues', cookie === undefined ? {} : { headers: { cookie } });
  assert.equal(page.status, 200);
  const xsrf = setCookies(page).get('XSRF-TOKEN');
  assert.ok(xsrf, 'the queues page hands its script the action token');
  assert.match(page.headers.getSetCookie().find((l) => l.startsWith('XSRF-TOKEN=')) ?? '', /Path=\/queues; SameSite=Strict/);
  return { cookie: [cookie, xsrf].filter(Boolean).join('; '), xsrf: xsrf.slice('XSRF-TOKEN='.length) };
}

const JSON_BODY = { 'content-type': 'application/json' };
const addJob = JSON.stringify({ name: 'train', data: { model: 'planted', dataset: 'anything' }, options: {} });

describe('bull-board actions', () => {
  test('on localhost without a token: refused without the action token (no job added), done with it as its UI sends it', async (t) => {
    const d = await startDashboard(t, fixture);
    const train = makeQueue('train', fixture.redis(), d.keys);
    t.after(() => train.close());
    const add = (headers: Record<string, string>) => d.request('/queues/api/queues/train/add', { method: 'POST', headers: { ...JSON_BODY, ...headers }, body: addJob });

    const bare = await add({});
    assert.equal(bare.status, 403);
    assert.match(await bare.text(), /needs the form it came from/);
    assert.equal((await d.request('/queues/api/queues/train/pause', { method: 'PUT' })).status, 403);
    assert.equal((await d.request('/queues/api/queues/pause', { method: 'PUT', headers: JSON_BODY, body: '{"queueNames":["train"]}' })).status, 403);
    assert.equal((await d.request('/queues/api/queues/train/1/update-data', { method: 'PATCH', headers: JSON_BODY, body: '{}' })).status, 403);
    assert.equal((await add({ 'x-xsrf-token': 'a-guess' })).status, 403);
    const ui = await openQueues(d);
    assert.equal((await add({ cookie: ui.cookie, 'x-xsrf-token': ui.xsrf, origin: 'http://evil.example' })).status, 403);
    assert.equal(await train.count(), 0, 'nothing was added');
    assert.equal(await train.isPaused(), false);

    const allowed = await add({ cookie: ui.cookie, 'x-xsrf-token': ui.xsrf });
    assert.equal(allowed.status, 200, await allowed.clone().text());
    assert.equal(((await allowed.json()) as { job: { name: string } }).job.name, 'train');
    assert.equal(await train.count(), 1);
    assert.equal((await d.request('/queues/api/queues/train/pause', { method: 'PUT', headers: { 'x-xsrf-token': ui.xsrf } })).status, 200);
    assert.equal(await train.isPaused(), true);
    assert.equal((await d.request('/queues/api/queues?activeQueue=train')).status, 200, 'reads need no action token');
  });

  test('with a token: a session cookie alone cannot act; its own XSRF token can, another session\'s cannot; a bearer can', async (t) => {
    const d = await startDashboard(t, fixture, { token: TOKEN });
    const train = makeQueue('train', fixture.redis(), d.keys);
    t.after(() => train.close());
    const add = (headers: Record<string, string>) => d.request('/queues/api/queues/train/add', { method: 'POST', headers: { ...JSON_BODY, ...headers }, body: addJob });
    const session = async () => setCookies(await d.request(`/queues?token=${TOKEN}`)).get('latentflow_dashboard') ?? assert.fail('a session cookie');

    assert.equal((await add({})).status, 401);
    const mine = await openQueues(d, await session());
    const theirs = await openQueues(d, await session());
    assert.notEqual(mine.xsrf, theirs.xsrf, 'an action token per session');
    assert.equal((await add({ cookie: mine.cookie })).status, 403, 'the cookies alone are what a forged request carries');
    assert.equal((await add({ cookie: mine.cookie, 'x-xsrf-token': theirs.xsrf })).status, 403);
    assert.equal(await train.count(), 0);

    assert.equal((await add({ cookie: mine.cookie, 'x-xsrf-token': mine.xsrf })).status, 200);
    assert.equal((await add({ authorization: `Bearer ${TOKEN}` })).status, 200, 'scripts use the bearer token');
    assert.equal(await train.count(), 2);
  });
});

describe('security headers', () => {
  test('every response, bull-board\'s page, assets and API included: CSP without framing, X-Frame-Options, no X-Powered-By', async (t) => {
    const d = await startDashboard(t, fixture);
    const page = await d.request('/queues');
    const html = await page.text();
    const asset = /src="(static\/js\/[^"]+\.js)"/.exec(html)?.[1] ?? assert.fail('bull-board loads its scripts');
    assert.doesNotMatch(html, /<script(?![^>]*(src=|type="application\/json"))[^>]*>/, 'no inline script the CSP would block');
    for (const path of ['/runs', '/queues', '/queues/queue/train', `/queues/${asset}`, '/queues/api/queues', '/metrics', '/nothing-here', '/healthz']) {
      const r = await d.request(path);
      const csp = r.headers.get('content-security-policy') ?? '';
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.match(csp, /script-src 'self'(;|$)/, path);
      assert.match(csp, /default-src 'self'/, path);
      assert.equal(r.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(r.headers.get('x-powered-by'), null, path);
    }
  });
});
