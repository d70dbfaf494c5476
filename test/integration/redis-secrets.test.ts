// A wrong Redis password, against a private redis-server that requires one: real service processes and CLI commands
// never print the password (as a URL password or a `?password=` parameter), and the dashboard's log of the failing
// connection stays a few lines, not one per reconnection. /readyz says Redis does not answer, and nothing more.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { keyspace } from '../../shared/contracts/keys.js';
import { silentLogger } from '../../shared/pipeline/log.js';
import { closeRedis, createRedis, type RedisClient } from '../../shared/store/redis.js';
import { startRedisServer, type RedisServer } from '../../shared/store/redis-server.js';
import { createDashboard } from '../../services/dashboard/app.js';
import { projectPath, runCli } from '../helpers/cli.js';

const SECRET = 'Wr0ng-pa55word-9f2c7e';
let server: RedisServer;
let admin: RedisClient;

before(async () => {
  server = await startRedisServer();
  admin = createRedis(server.url, { name: 'admin' });
  await admin.config('SET', 'requirepass', 'the-right-password-5b1d');
});

after(async () => {
  await closeRedis(admin);
  await server.stop();
});

/** The three ways a password reaches the services: in the URL, as its query parameter (ioredis reads both), or REDIS_PASSWORD. */
const FORMS = ['a URL password', 'a password query parameter', 'REDIS_PASSWORD'] as const;
const wrongUrl = (form: (typeof FORMS)[number]) => (form === 'a URL password'
  ? `redis://:${SECRET}@127.0.0.1:${server.port}`
  : form === 'a password query parameter' ? `redis://127.0.0.1:${server.port}/?password=${SECRET}` : `redis://127.0.0.1:${server.port}`);
const wrongEnv = (form: (typeof FORMS)[number]): Record<string, string> => (form === 'REDIS_PASSWORD'
  ? { REDIS_URL: wrongUrl(form), REDIS_PASSWORD: SECRET } : { REDIS_URL: wrongUrl(form) });

/** Runs a service for `ms` (or until it exits); everything it wrote to stdout and stderr. */
function runService(name: string, env: Record<string, string>, ms: number): Promise<{ output: string; exited: boolean }> {
  const child = spawn(process.execPath, ['--import', 'tsx', projectPath(`services/${name}/main.ts`)], {
    cwd: projectPath('.'), env: { ...process.env, LATENTFLOW_BACKEND: 'cpu', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ output, exited: code !== null });
    });
  });
}

describe('a wrong Redis password is never printed', () => {
  test('the dashboard service (every form): no password, a throttled log', { timeout: 60_000 }, async () => {
    // Two at a time: three dashboards starting at once on two cores may print nothing within the 8 s.
    const dashboard = (form: (typeof FORMS)[number]) => runService('dashboard', { ...wrongEnv(form), LATENTFLOW_DASHBOARD_PORT: '0' }, 8_000);
    const runs = [...await Promise.all(FORMS.slice(0, 2).map(dashboard)), await dashboard(FORMS[2])];
    for (const { output } of runs) {
      assert.ok(!output.includes(SECRET), output);
      assert.match(output, /warn \[redis\] lf:dashboard: WRONGPASS/);
      const lines = output.trim().split('\n');
      // The backend line, the first error, one more after 5 s: ioredis meanwhile retried dozens of times.
      assert.ok(lines.length <= 4, `${lines.length} lines in 8 s:\n${output}`);
    }
  });

  for (const name of ['trainer', 'encoder', 'downstream'] as const) {
    test(`the ${name} service: no password, a throttled log`, { timeout: 60_000 }, async () => {
      for (const { output } of await Promise.all(FORMS.map((form) => runService(name, wrongEnv(form), 8_000)))) {
        assert.match(output, /WRONGPASS/, 'the reason is shown');
        assert.ok(!output.includes(SECRET), output);
        // At most a few lines per worker and per connection in 8 s (ioredis retries dozens of times), and no error object
        // dumped whole, with its command and arguments (BullMQ prints the errors nobody listens to).
        const lines = output.trim().split('\n');
        assert.ok(lines.length <= 24, `${lines.length} lines in 8 s:\n${output}`);
        assert.doesNotMatch(output, /command: \{|args: \[/, 'no error dumped with its command');
      }
    });
  }

  test('with Redis refusing it, a service still stops on one SIGTERM (within the 10 s deadline)', { timeout: 60_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', projectPath('services/trainer/main.ts')], {
      cwd: projectPath('.'), env: { ...process.env, LATENTFLOW_BACKEND: 'cpu', REDIS_URL: wrongUrl('a URL password') }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 3000));
    const signalled = Date.now();
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(killer);
    assert.equal(code, 1, output);
    assert.ok(Date.now() - signalled < 15_000, `exited ${Date.now() - signalled} ms after SIGTERM`);
    assert.match(output, /SIGTERM: Redis is unreachable/);
    assert.ok(!output.includes(SECRET), output);
  });

  test('a CLI command: exit 2 with the redacted URL and the reason, no password', { timeout: 60_000 }, async () => {
    for (const form of FORMS) {
      const result = await runCli(['dataset', 'list'], wrongEnv(form));
      const output = result.stdout + result.stderr;
      assert.equal(result.code, 2, output);
      assert.ok(!output.includes(SECRET), output);
      assert.match(result.stderr, /latentflow: cannot use Redis at redis:\/\/(:\*\*\*@127\.0\.0\.1:\d+|127\.0\.0\.1:\d+\/\?password=\*\*\*) \(WRONGPASS .*\): check REDIS_URL/);
      assert.ok(output.trim().split('\n').length <= 2, output);
    }
  });

  test('the right password as REDIS_PASSWORD (the compose file\'s way) connects', { timeout: 60_000 }, async () => {
    const result = await runCli(['dataset', 'list'], { REDIS_URL: `redis://127.0.0.1:${server.port}`, REDIS_PASSWORD: 'the-right-password-5b1d' });
    assert.equal(result.code, 0, result.stdout + result.stderr);
  });
});

test('/readyz: 503 without the reason (it answers anyone), while the log has it', async (t) => {
  const keys = keyspace('readyz');
  const good = `redis://:the-right-password-5b1d@127.0.0.1:${server.port}`;
  const logged: string[] = [];
  const redis = createRedis(good, { name: 'dashboard', log: (m) => logged.push(m) });
  const dashboard = await createDashboard({ redis, keys, token: undefined, log: silentLogger });
  const http: Server = createServer(dashboard.app);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    // BullMQ's queues close only over a connection that works again.
    await admin.config('SET', 'requirepass', 'the-right-password-5b1d');
    for (let i = 0; i < 600 && redis.status !== 'ready'; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
    await dashboard.close();
    await closeRedis(redis);
  });
  const readyz = () => fetch(`http://127.0.0.1:${(http.address() as AddressInfo).port}/readyz`);
  assert.equal((await readyz()).status, 200);

  await admin.config('SET', 'requirepass', SECRET); // the dashboard's password is wrong from its next connection on
  await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
  const started = Date.now();
  const answer = await readyz();
  assert.equal(answer.status, 503);
  assert.equal(await answer.text(), 'redis does not answer');
  assert.ok(Date.now() - started < 3_000, 'within its 2 s timeout');
  assert.match(logged.join('\n'), /dashboard: WRONGPASS/);
  assert.ok(!logged.join('\n').includes('the-right-password-5b1d'));
});
