// The pipeline commands as a user runs them: `latentflow up` (the three services as child processes) against a
// private redis-server, then dataset import → run --wait → models, embeddings, jobs, alerts, and the errors a user sees.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunSummaryJson } from '../../cli/run.js';
import { projectPath, runCli } from '../helpers/cli.js';
import { syntheticRatings } from '../helpers/ratings.js';
import { useRedis } from '../helpers/redis.js';

const prefix = `cli_${randomBytes(4).toString('hex')}`;
let up: ChildProcess | undefined;
let upLog = '';
let dir: string;
let runId = '';

describe('pipeline commands against `latentflow up`', () => {
  // Registered before useRedis() so that it runs before the helper stops the server.
  after(async () => {
    if (up && up.exitCode === null && up.signalCode === null) {
      const exited = once(up, 'exit');
      up.kill('SIGTERM');
      const timer = setTimeout(() => up?.kill('SIGKILL'), 20_000);
      const [code] = (await exited) as [number | null];
      clearTimeout(timer);
      assert.equal(code, 0, `latentflow up exited with ${code}:\n${upLog.slice(-3000)}`);
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const redis = useRedis();
  const env = () => ({ REDIS_URL: redis.url(), LATENTFLOW_PREFIX: prefix, LATENTFLOW_LOG_LEVEL: 'info' });
  const cli = (...args: string[]) => runCli(args, env());

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lf-pipeline-cli-'));
    up = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'up'], {
      cwd: projectPath('.'), env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    up.stdout!.on('data', (chunk: Buffer) => { upLog += chunk.toString(); });
    up.stderr!.on('data', (chunk: Buffer) => { upLog += chunk.toString(); });
    const deadline = Date.now() + 45_000;
    while ((upLog.match(/ready: queue/g) ?? []).length < 3) {
      if (up.exitCode !== null) throw new Error(`latentflow up exited early:\n${upLog}`);
      if (Date.now() > deadline) throw new Error(`the services did not report ready within 45 s:\n${upLog}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  describe('a run from import to alerts', () => {
    test('dataset import stores the file as a named dataset', async () => {
      const r = await cli('dataset', 'import', projectPath('data/wine.csv'), '--name', 'wine', '--id', 'id', '--label', 'label');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /rows × features\s+178 × 13/);
      const list = await cli('dataset', 'list');
      assert.match(list.stdout, /^wine\s+178\s+13\s+class_0 class_1 class_2/m);
    });

    test('run --wait --json prints the summary with exactly its keys', async () => {
      const r = await cli('run', 'wine', '--epochs', '20', '--wait', '--json', '--no-report');
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout) as RunSummaryJson;
      assert.deepEqual(Object.keys(s), ['run', 'model', 'version', 'dataset', 'records', 'embeddings', 'clustering', 'classification', 'anomalies']);
      assert.deepEqual(Object.keys(s.clustering!), ['k', 'nmi', 'ari', 'silhouette']);
      assert.deepEqual(Object.keys(s.classification!), ['accuracy']);
      assert.deepEqual(Object.keys(s.anomalies!), ['threshold', 'alerts']);
      assert.equal(s.records, 178);
      assert.equal(s.embeddings, 178);
      assert.equal(s.model, 'wine');
      assert.equal(s.version, 1);
      assert.equal(s.clustering!.k, 3);
      assert.ok(s.classification!.accuracy > 0.8, `SVM accuracy ${s.classification!.accuracy}`);
      // Not a terminal: one line per finished stage on stderr, in execution order.
      const stages = ['trained wine@1', 'encoded 178 records', 'clustered', 'classified', 'detected'].map((t) => r.stderr.indexOf(t));
      assert.ok(stages.every((at, i) => at >= 0 && (i === 0 || at > stages[i - 1])), r.stderr);
      runId = s.run;
    });

    test('models list shows the new version; show and promote work on it', async () => {
      const list = await cli('models', 'list');
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^wine\s+1\s+-\s+wine\s+13→\d+\s+20\s/m);
      const promote = await cli('models', 'promote', 'wine', '1');
      assert.equal(promote.code, 0, promote.stderr);
      const show = await cli('models', 'show', 'wine@production');
      assert.match(show.stdout, /^model\s+wine@1$/m);
      assert.match(show.stdout, /^aliases\s+production$/m);
    });

    test('embeddings export writes one row per record in dataset order', async () => {
      const r = await cli('embeddings', 'export', 'wine', '--format', 'csv');
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 179);
      assert.match(lines[0], /^id,z1,(z\d+,)*error,cluster,prediction$/);
      assert.match(lines[1], /^0,/);
      assert.match(lines[178], /^177,.*,[0-9]+,class_[012]$/);
      const out = path.join(dir, 'wine.ndjson');
      const nd = await cli('embeddings', 'export', 'wine', '--model', 'wine@1', '--format', 'ndjson', '--out', out);
      assert.equal(nd.code, 0, nd.stderr);
    });

    test('jobs shows counts per queue, and every stage of a run by its id', async () => {
      const counts = await cli('jobs');
      assert.equal(counts.code, 0, counts.stderr);
      assert.match(counts.stdout, /^queue\s+waiting\s+prioritized\s+waiting-children\s+active\s+completed\s+failed\s+delayed$/m);
      for (const q of ['train', 'encode', 'cluster', 'classify', 'detect', 'run']) assert.match(counts.stdout, new RegExp(`^${q}\\s+0\\s+0\\s+0\\s+0\\s+1\\s+0\\s+0$`, 'm'));
      const one = await cli('jobs', runId);
      assert.equal(one.code, 0, one.stderr);
      assert.equal((one.stdout.match(/\bcompleted\b/g) ?? []).length, 6, one.stdout);
      const train = await cli('jobs', runId, '--queue', 'train', '--json');
      assert.equal((JSON.parse(train.stdout) as { state: string }).state, 'completed');
    });

    test('alerts tail prints one line per alert', async () => {
      const r = await cli('alerts', 'tail', '--count', '5');
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.ok(lines.length >= 1 && lines.length <= 5, r.stdout);
      for (const line of lines) assert.match(line, /^\d{4}-\d\d-\d\dT\S+\s+(low|medium|high|critical)\s+wine\/wine@1\s+record \S+\s+error \S+ \/ \S+\s+\S+:/);
    });

    test('run on a file imports it first; without labels the classify stage is left out', async () => {
      const text = await readFile(projectPath('data/wine.csv'), 'utf8');
      const file = path.join(dir, 'wine-unlabelled.csv');
      await writeFile(file, text.trim().split(/\r?\n/).map((l) => l.split(',').slice(0, -1).join(',')).join('\n'));
      const r = await cli('run', file, '--id', 'id', '--epochs', '5', '--k', '3', '--wait', '--json', '--no-report');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /imported .*wine-unlabelled\.csv as dataset wine-unlabelled \(178 × 13\)/);
      assert.match(r.stderr, /no labels: skipping the classify stage/);
      const s = JSON.parse(r.stdout) as RunSummaryJson;
      assert.equal(s.model, 'wine-unlabelled');
      assert.equal(s.classification, null);
      assert.equal(s.clustering?.k, 3);
      assert.equal(s.clustering?.nmi, null);
    });

    test('a full run on digits: codes for all 1797 records, SVM ≥ 0.95, and an export of 1797 rows', async () => {
      const r = await cli('run', projectPath('data/digits.csv.gz'), '--id', 'id', '--label', 'label', '--code-size', '10', '--epochs', '60', '--wait', '--json', '--no-report');
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout) as RunSummaryJson;
      assert.deepEqual([s.records, s.embeddings], [1797, 1797]);
      assert.ok(s.classification!.accuracy >= 0.95, `SVM accuracy ${s.classification!.accuracy}`);
      const out = path.join(dir, 'digits.csv');
      const e = await cli('embeddings', 'export', 'digits', '--format', 'csv', '--out', out);
      assert.equal(e.code, 0, e.stderr);
      const lines = (await readFile(out, 'utf8')).trim().split('\n');
      assert.equal(lines.length, 1798);
      assert.ok(lines.slice(1).every((l) => l.split(',').length === lines[0].split(',').length && !/,,/.test(l)), 'every record has code, error, cluster and prediction');
    });
  });

  describe('AutoRec recommendations', () => {
    test('autorec run trains through the queues and stores top-N lists; recommend prints a user\'s', async () => {
      const ratings = syntheticRatings({ users: 120, items: 60, observed: 0.15, seed: 3 });
      const file = path.join(dir, 'ratings.csv');
      const lines = ['user,item,rating'];
      for (let e = 0; e < ratings.entries.rating.length; e++) lines.push(`${ratings.users[ratings.entries.user[e]]},${ratings.items[ratings.entries.item[e]]},${ratings.entries.rating[e]}`);
      await writeFile(file, lines.join('\n'));
      const r = await cli('autorec', 'run', file, '--model', 'rec', '--n', '4', '--hidden', '16', '--epochs', '10', '--wait', '--json');
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { model: string; version: number; users: number; n: number };
      assert.deepEqual([out.model, out.version, out.users, out.n], ['rec', 1, 120, 4]);
      assert.match(r.stderr, /imported .*ratings\.csv as ratings dataset ratings \(\d+ ratings, 120 users × 60 items\)/);

      const shown = await cli('recommend', '--model', 'rec', '--user', 'u5', '--json');
      assert.equal(shown.code, 0, shown.stderr);
      const top = JSON.parse(shown.stdout) as { source: string; items: { item: string; rating: number }[] };
      assert.equal(top.source, 'stored');
      assert.equal(top.items.length, 4);
      const rated = new Set<string>();
      for (let e = 0; e < ratings.entries.rating.length; e++) if (ratings.users[ratings.entries.user[e]] === 'u5') rated.add(ratings.items[ratings.entries.item[e]]);
      for (const { item } of top.items) assert.ok(!rated.has(item), `u5 already rated ${item}`);
      // More than were stored: computed from the model; the stored four are its first four.
      const more = await cli('recommend', '--model', 'rec@1', '--user', 'u5', '--n', '6', '--json');
      const computed = JSON.parse(more.stdout) as { source: string; items: { item: string }[] };
      assert.equal(computed.source, 'computed');
      assert.deepEqual(computed.items.slice(0, 4).map((i) => i.item), top.items.map((i) => i.item));
      const table = await cli('recommend', '--model', 'rec', '--user', 'u5');
      assert.match(table.stdout, /^rank\s+item\s+score\s+predicted rating/m);

      const listed = await cli('dataset', 'list', '--ratings');
      assert.match(listed.stdout, /^ratings\s+\d+\s+120\s+60/m);
      const shownModel = await cli('models', 'show', 'rec');
      assert.match(shownModel.stdout, /kind\s+AutoRec \(I-AutoRec\)/);
      const wrong = await cli('recommend', '--model', 'wine', '--user', 'u5');
      assert.equal(wrong.code, 2);
      assert.match(wrong.stderr, /wine@\d+ is an autoencoder, not an AutoRec recommender/);
    });
  });

  describe('errors a user sees', () => {
    test('importing a file with a non-number names the line, column and value', async () => {
      const file = path.join(dir, 'bad.csv');
      await writeFile(file, 'id,a,b,label\n1,0.5,1,x\n2,0.1,oops,y\n');
      const r = await cli('dataset', 'import', file, '--id', 'id', '--label', 'label');
      assert.equal(r.code, 2);
      assert.match(r.stderr, /bad\.csv, line 3.*column "b".*"oops"/);
    });

    test('run on a missing dataset fails clearly and submits nothing', async () => {
      const r = await cli('run', 'nosuch', '--wait');
      assert.equal(r.code, 2);
      assert.match(r.stderr, /dataset "nosuch" does not exist \(datasets: digits, wine, wine-unlabelled\)/);
    });

    test('a run whose training fails reports the stage and its reason', async () => {
      const r = await cli('run', 'wine', '--code-size', '40', '--epochs', '2', '--wait');
      assert.equal(r.code, 2);
      assert.match(r.stderr, /the train stage failed .*code size 40 must be smaller than the input width 13/);
    });

    test('jobs cancel stops a running run: its training stops, every stage fails, no version is added; an unknown id is an error', async () => {
      const versions = async () => ((JSON.parse((await cli('models', 'list', '--json')).stdout) as { name: string; versions: unknown[] }[]).find((m) => m.name === 'long')?.versions ?? []).length;
      const submitted = await cli('run', 'wine', '--model', 'long', '--epochs', '100000', '--run-id', 'long-run', '--stages', 'detect', '--priority', '1');
      assert.equal(submitted.code, 0, submitted.stderr);
      const epoch = async () => (JSON.parse((await cli('jobs', 'long-run', '--queue', 'train', '--json')).stdout) as { progress: { epoch?: number } }).progress.epoch ?? 0;
      for (let i = 0; i < 60 && await epoch() === 0; i++) await new Promise((r) => setTimeout(r, 200));
      const r = await cli('jobs', 'cancel', 'long-run', '--json');
      assert.equal(r.code, 0, r.stderr);
      const jobs = JSON.parse(r.stdout) as { queue: string; before: string; after: string }[];
      assert.deepEqual(jobs.find((j) => j.queue === 'train'), { queue: 'train', before: 'active', after: 'failed' });
      for (let i = 0; i < 20 && !/^run\s+failed/m.test((await cli('jobs', 'long-run')).stdout); i++) await new Promise((r) => setTimeout(r, 200));
      const states = (await cli('jobs', 'long-run')).stdout;
      for (const q of ['train', 'encode', 'detect', 'run']) assert.match(states, new RegExp(`^${q}\\s+failed`, 'm'), states);
      assert.match(states, /cancelled: job long-run was cancelled/);
      assert.equal(await versions(), 0);
      const unknown = await cli('jobs', 'cancel', 'nosuch');
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /no unfinished job with id "nosuch"/);
    });

    test('--from-data-dir refuses a path outside the data directory', async () => {
      const r = await cli('dataset', 'import', '../package.json', '--from-data-dir');
      assert.equal(r.code, 2);
      assert.match(r.stderr, /outside the data directory/);
    });

    test('without REDIS_URL a pipeline command says how to get one', async () => {
      const r = await runCli(['models', 'list'], { REDIS_URL: '' });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /REDIS_URL is not set \(run `latentflow up` to start a private Redis, or set REDIS_URL\)/);
    });
  });

  test('report writes the HTML report of a run or a model version; run --wait --report writes the run\'s and says where', async () => {
    const out = path.join(dir, 'reports', 'wine-run.html');
    const r = await cli('report', runId, '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), out);
    const page = await readFile(out, 'utf8');
    assert.match(page, new RegExp(`<h1>latentflow report: run ${runId}</h1>`));
    assert.equal(page.match(/<svg /g)?.length, 6);
    assert.ok(!/https?:\/\//.test(page), 'no URL');

    const model = await cli('report', 'wine@1', '--out', path.join(dir, 'wine-model.html'));
    assert.equal(model.code, 0, model.stderr);
    assert.match(await readFile(path.join(dir, 'wine-model.html'), 'utf8'), /<h1>latentflow report: model wine@1<\/h1>/);

    const waited = path.join(dir, 'waited.html');
    const run = await cli('run', 'wine', '--epochs', '3', '--wait', '--json', '--report', waited);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as RunSummaryJson).model, 'wine', 'stdout is the summary only');
    assert.ok(run.stderr.includes(`report: ${waited}`), run.stderr);
    assert.match(await readFile(waited, 'utf8'), /<svg /);

    const missing = await cli('report', 'nosuch');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no run "nosuch", and model "nosuch" does not exist/);
  });
});
