// `latentflow schedule add|list|remove` and `models rollback` as a user runs them, against a private redis-server
// (no services needed: schedules and aliases live in Redis).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { keyspace } from '../../shared/contracts/keys.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { initBackend } from '../../shared/ml/backend.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { runCli } from '../helpers/cli.js';
import { useRedis } from '../helpers/redis.js';
import { lowRankMatrix } from '../helpers/synthetic.js';

describe('schedule and rollback commands', () => {
  const redis = useRedis();
  const prefix = `cli_${randomBytes(4).toString('hex')}`;
  const cli = (...args: string[]) => runCli(args, { REDIS_URL: redis.url(), LATENTFLOW_PREFIX: prefix });

  before(async () => {
    await initBackend('cpu', () => undefined);
  });

  test('schedule add (twice under one name), list, remove', async () => {
    const empty = await cli('schedule', 'list');
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /^no schedules/);

    let r = await cli('schedule', 'add', 'nightly', '--cron', '0 3 * * *', '--retrain', 'wine', '--dataset', 'wine');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^schedule nightly: cron 0 3 \* \* \*, retrain wine on wine; next run \d{4}-/);
    r = await cli('schedule', 'add', 'nightly', '--cron', '30 2 * * *', '--retrain', 'wine', '--dataset', 'wine', '--promote-if-better');
    assert.equal(r.code, 0, r.stderr);
    r = await cli('schedule', 'add', 'score-often', '--every', '10s', '--score', 'wine', '--model', 'wine');
    assert.equal(r.code, 0, r.stderr);

    const list = await cli('schedule', 'list');
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.equal(lines.length, 3, list.stdout);
    assert.match(lines[0], /^name\s+when\s+next run\s+what/);
    assert.match(list.stdout, /^score-often\s+every 10s\s+\S+\s+score wine with wine@production$/m);
    assert.match(list.stdout, /^nightly\s+cron 30 2 \* \* \*\s+\S+\s+retrain wine on wine, promote if better$/m);
    const json = JSON.parse((await cli('schedule', 'list', '--json')).stdout) as { name: string; everyMs?: number }[];
    assert.deepEqual(json.map((s) => [s.name, s.everyMs]).sort(), [['nightly', undefined], ['score-often', 10_000]]);

    r = await cli('schedule', 'remove', 'nightly');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /removed schedule nightly/);
    r = await cli('schedule', 'remove', 'nightly');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no schedule named "nightly" \(schedules: score-often\)/);
  });

  test('schedule add errors name the problem', async () => {
    const cases: [string[], RegExp][] = [
      [['--cron', '61 * * * *', '--retrain', 'm', '--dataset', 'd'], /invalid cron pattern "61 \* \* \* \*": Constraint error/],
      [['--retrain', 'm', '--dataset', 'd'], /exactly one of --cron/],
      [['--every', '10', '--retrain', 'm', '--dataset', 'd'], /an interval is a number and a unit/],
      [['--every', '10s', '--retrain', 'm'], /--retrain needs --dataset/],
      [['--every', '10s', '--score', 'd'], /--score needs --model/],
      [['--every', '10s', '--retrain', 'm', '--dataset', 'd', '--score', 'd'], /exactly one of --retrain/],
    ];
    for (const [args, message] of cases) {
      const r = await cli('schedule', 'add', 'x', ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  test('models rollback', async () => {
    const model = await Autoencoder.fit(lowRankMatrix(64, 8, 2, 0.01, 3), { encoder: [6, 3], epochs: 1, batchSize: 16, seed: 1 });
    const registry = new ModelRegistry(redis.redis(), keyspace(prefix));
    try {
      for (let i = 0; i < 2; i++) await registry.register('m', model, { dataset: 'd' });
    } finally {
      model.dispose();
    }
    await registry.promote('m', 1);
    assert.equal((await cli('models', 'promote', 'm', '2')).code, 0);
    let r = await cli('models', 'rollback', 'm');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'm@production → version 1 (was 2)');
    r = await cli('models', 'rollback', 'm');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no earlier version of alias "production" to roll back to/);
  });
});
