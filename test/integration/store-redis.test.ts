// Connections, the private redis-server, and the test helper's leak check; connection errors reported redacted and
// throttled, and the redaction of Redis secrets.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { describe, test } from 'node:test';
import { ConfigError } from '../../shared/contracts/errors.js';
import { closeRedis, createRedis, duplicateRedis, redact, urlSecrets } from '../../shared/store/redis.js';
import { startRedisServer } from '../../shared/store/redis-server.js';
import { projectPath } from '../helpers/cli.js';
import { openConnections, trackedRedis, useRedis } from '../helpers/redis.js';

const fixture = useRedis();

const refused = (port: number) => new Promise<boolean>((resolve) => {
  const s = createConnection({ port, host: '127.0.0.1' });
  s.once('connect', () => { s.destroy(); resolve(false); });
  s.once('error', () => resolve(true));
});

describe('createRedis and closeRedis', () => {
  test('connects with a client name; bullmq connections never give up on a command', async () => {
    const plain = trackedRedis(fixture.url(), { name: 'lf-test' });
    const bull = trackedRedis(fixture.url(), { bullmq: true });
    try {
      assert.equal(await plain.client('GETNAME'), 'lf-test');
      assert.equal(bull.options.maxRetriesPerRequest, null);
      assert.notEqual(plain.options.maxRetriesPerRequest, null);
      assert.equal(plain.options.enableReadyCheck, true);
      assert.equal(plain.options.lazyConnect, false);
    } finally {
      await closeRedis(plain);
      await closeRedis(bull);
    }
    assert.equal(plain.status, 'end');
    await closeRedis(plain); // idempotent
  });

  test('user, password and database come from the URL; rediss:// turns TLS on', async () => {
    const admin = fixture.redis();
    await admin.acl('SETUSER', 'alice', 'on', '>s3cret:/@', '~*', '+@all');
    const r = trackedRedis(`redis://alice:${encodeURIComponent('s3cret:/@')}@127.0.0.1:${new URL(fixture.url()).port}/3`);
    try {
      assert.equal(await r.acl('WHOAMI'), 'alice');
      await r.set('where', 'db3');
      assert.equal(await admin.exists('where'), 0);
    } finally {
      await closeRedis(r);
      await admin.acl('DELUSER', 'alice');
    }
    const secure = createRedis(`rediss://127.0.0.1:${new URL(fixture.url()).port}`);
    secure.on('error', () => {}); // the test server speaks no TLS
    assert.ok(secure.options.tls);
    await closeRedis(secure);
  });

  test('closeRedis ends a connection that cannot reach its server, promptly', async () => {
    const server = await startRedisServer();
    const r = createRedis(server.url);
    r.on('error', () => {});
    await r.ping();
    await server.stop();
    while (r.status !== 'reconnecting') await new Promise((res) => setTimeout(res, 10));
    const pending = r.get('k'); // queued offline, waiting for a reconnection that will never come
    const started = Date.now();
    await closeRedis(r);
    assert.equal(r.status, 'end');
    await assert.rejects(pending, /Connection is closed/);
    assert.ok(Date.now() - started < 1000);
  });
});

describe('startRedisServer', () => {
  test('starts on a free port with nothing persisted, stops and cleans up', async () => {
    const logged: string[] = [];
    const before = (await readdir(tmpdir())).filter((f) => f.startsWith('latentflow-redis-')).length;
    const server = await startRedisServer({ log: (m) => logged.push(m) });
    const r = trackedRedis(server.url);
    try {
      assert.deepEqual(await r.config('GET', 'save'), ['save', '']);
      assert.deepEqual(await r.config('GET', 'appendonly'), ['appendonly', 'no']);
      assert.deepEqual(await r.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'noeviction']);
      assert.match(logged[0], /listening on redis:\/\/127\.0\.0\.1:\d+/);
    } finally {
      await closeRedis(r);
    }
    await server.stop();
    await server.stop();
    assert.ok(await refused(server.port));
    assert.equal((await readdir(tmpdir())).filter((f) => f.startsWith('latentflow-redis-')).length, before);
    assert.match(logged[1], /stopped/);
  });

  test('without redis-server on PATH: a ConfigError that says how to install it', async () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await assert.rejects(startRedisServer(), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.message, 'redis-server is not installed: `apt-get install -y redis-server`, or set REDIS_URL');
        return true;
      });
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('test helper', () => {
  test('tracks connections and their duplicates until they end', async () => {
    const r = trackedRedis(fixture.url(), { name: 'probe' });
    const d = r.duplicate();
    assert.equal(openConnections().filter((c) => c.includes('probe')).length, 2);
    await closeRedis(d);
    await closeRedis(r);
    assert.deepEqual(openConnections().filter((c) => c.includes('probe')), []);
    assert.match(fixture.prefix(), /^t\d+_[0-9a-f]{8}$/);
  });

  test('a test file that leaves a connection open fails', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lf-leak-'));
    try {
      const helper = pathToFileURL(projectPath('test/helpers/redis.ts')).href;
      const file = path.join(dir, 'leak.test.ts');
      await writeFile(file, [
        `import { test } from 'node:test';`,
        `import { trackedRedis, useRedis } from ${JSON.stringify(helper)};`,
        `const fixture = useRedis();`,
        `test('leaks', async () => { await trackedRedis(fixture.url(), { name: 'leaky' }).ping(); });`,
      ].join('\n'));
      const result = await new Promise<{ code: number; out: string }>((resolve) => {
        // Without NODE_TEST_CONTEXT, which would make the child report to this runner instead of exiting non-zero.
        const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT'));
        execFile(process.execPath, ['--import', 'tsx', '--test', file], { cwd: projectPath('.'), env }, (error, stdout, stderr) => {
          resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout + stderr });
        });
      });
      assert.notEqual(result.code, 0);
      assert.match(result.out, /1 Redis connection\(s\) left open by the tests/);
      assert.match(result.out, /leaky/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    assert.ok(!existsSync(dir));
  });
});

describe('secrets', () => {
  test('redact: URL passwords, password query parameters, AUTH arguments and the secrets it is given', () => {
    assert.equal(redact('at rediss://alice:s%3Acret@host:6380/0 now'), 'at rediss://alice:***@host:6380/0 now');
    assert.equal(redact('redis://:pw@h redis://h:6379'), 'redis://:***@h redis://h:6379');
    assert.equal(redact('redis://h:6379/?db=1&password=p%40ss&x=1'), 'redis://h:6379/?db=1&password=***&x=1');
    assert.equal(redact("command: { name: 'hello', args: [ '3', 'AUTH', 'default', 'hunter22' ] }"), "command: { name: 'hello', args: [ *** ] }");
    assert.equal(redact("command: { name: 'auth', args: [ 'hunter22' ] }"), "command: { name: 'auth', args: [ *** ] }");
    assert.equal(redact("['3', 'AUTH', 'default', 'hunter22', 'SETNAME', 'x']"), "['3', 'AUTH', '***', 'SETNAME', 'x']");
    assert.equal(redact('sent AUTH default hunter22'), 'sent AUTH ***');
    assert.equal(redact('ERR AUTH <password> called without any password configured'), 'ERR AUTH <password> called without any password configured');
    assert.equal(redact('the key is s3cr&t, encoded s3cr%26t', ['s3cr&t']), 'the key is ***, encoded ***');
    assert.deepEqual(urlSecrets('redis://u:p%40ss@h:1/?password=q%26r').sort(), ['p%40ss', 'p@ss', 'q%26r', 'q&r'].sort());
    assert.deepEqual(urlSecrets('not a url'), []);
  });

  test('a wrong password: one redacted line, then throttled; no listener sees the password; recovery is reported', async () => {
    const server = await startRedisServer();
    const admin = createRedis(server.url);
    const secret = 'wrong-pw-7d1f3a';
    const lines: string[] = [];
    const seen: string[] = [];
    try {
      await admin.config('SET', 'requirepass', 'the-right-one');
      const r = createRedis(`redis://:${secret}@127.0.0.1:${server.port}`, { name: 'probe', log: (m) => lines.push(m) });
      const copies = [duplicateRedis(r), r.duplicate()];
      for (const c of [r, ...copies]) c.on('error', (error: Error) => seen.push(inspect(error)));
      await new Promise((resolve) => setTimeout(resolve, 3000));
      assert.ok(seen.length > 10, `ioredis retried (${seen.length} errors)`);
      assert.equal(lines.length, 1, `one line for the connection and its duplicates in 3 s:\n${lines.join('\n')}`);
      assert.match(lines[0], /^probe: WRONGPASS/);
      for (const text of [...lines, ...seen]) assert.ok(!text.includes(secret), text);
      assert.match(seen[0], /args: \[ '\*\*\*' \]/, 'the failed HELLO keeps its name, not its arguments');

      await admin.config('SET', 'requirepass', secret);
      assert.equal(await r.ping(), 'PONG');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.match(lines.at(-1) ?? '', /^probe: connected \(\d+ more error\(s\) not shown\)$/);
      await Promise.all([r, ...copies].map((c) => closeRedis(c)));
    } finally {
      await closeRedis(admin);
      await server.stop();
    }
  });
});
