// Run reports on a real redis-server: a short digits run through BullMQ workers built from the services' processor
// factories, then the report of the run and of its model version; and the errors a user meets (a missing run, model
// or embeddings), and a run without labels.
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { InputError } from '../../shared/contracts/errors.js';
import { readTable } from '../../shared/data/read-table.js';
import type { Table } from '../../shared/data/table.js';
import { initBackend } from '../../shared/ml/backend.js';
import { makeFlowProducer, submitRun, type RunRequest } from '../../shared/pipeline/flow.js';
import { makeQueue } from '../../shared/pipeline/queues.js';
import { buildReport } from '../../shared/report/index.js';
import { projectPath } from '../helpers/cli.js';
import { settled } from '../helpers/jobs.js';
import { startPipeline as startPipelineOf } from '../helpers/pipeline.js';
import { useRedis } from '../helpers/redis.js';

const fixture = useRedis();
let digits: Table;
let wine: Table;
/** Rows of digits whose first ten features are set to 48 (three times the largest pixel value). */
const CORRUPTED = [5, 700, 1500];

before(async () => {
  await initBackend('wasm', () => {});
  digits = await readTable(projectPath('data/digits.csv.gz'), { idColumn: 'id', labelColumn: 'label' });
  for (const row of CORRUPTED) digits.values.fill(48, row * digits.width, row * digits.width + 10);
  wine = await readTable(projectPath('data/wine.csv'), { idColumn: 'id', labelColumn: 'label' });
});

/** The in-process pipeline of test/helpers/pipeline.ts, and `run`: submit a run and wait for it (failing the test unless it completes). */
function startPipeline(t: TestContext) {
  const p = startPipelineOf(t, fixture);
  const flows = makeFlowProducer(p.connection, p.keys);
  t.after(() => flows.close());
  return {
    ...p,
    async run(request: RunRequest): Promise<string> {
      const { run } = await submitRun(flows, p.keys, request);
      const { job, state } = await settled(p.queue('run'), run, 120_000);
      assert.equal(state, 'completed', job.failedReason);
      return run;
    },
  };
}

/** The markup of one section of a report. */
function section(report: string, id: string): string {
  const start = report.indexOf(`<section id="${id}">`);
  assert.ok(start >= 0, `section ${id}`);
  return report.slice(start, report.indexOf('</section>', start));
}

const CHARTED = ['training', 'errors', 'by-label', 'codes', 'classification'] as const;

async function rejectsWithInputError(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof InputError, `an InputError, got ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

describe('run reports', () => {
  test('digits: every chart inline, the confusion matrix of the held-out rows, top anomalies with features, no URL', async (t) => {
    const p = startPipeline(t);
    await p.datasets.save('digits', digits);
    const run = await p.run({ run: 'digits-report', model: 'digits-ae', dataset: 'digits', options: { codeSize: 10, epochs: 5, seed: 0 } });

    const started = Date.now();
    const report = await buildReport(p.connection, p.keys, { run });
    t.diagnostic(`report of run ${run}: ${(report.length / 1024).toFixed(0)} KiB in ${Date.now() - started} ms`);
    assert.match(report, /^<!DOCTYPE html>\n<html lang="en">/);
    assert.ok(report.trimEnd().endsWith('</html>'));
    assert.ok(!/https?:\/\//.test(report), `no URL: ${/.{60}https?:\/\/.{60}/.exec(report)?.[0]}`);
    assert.ok(!/<script|<link|<img|<iframe|src=|@import|url\((?!#)/i.test(report), `nothing loaded, nothing run: ${/.{60}(<script|<link|<img|<iframe|src=|@import|url\((?!#)).{60}/i.exec(report)?.[0]}`);
    assert.ok(report.length < 2_000_000, `${report.length} bytes`);
    for (const id of CHARTED) assert.match(section(report, id), /<svg /, `section ${id} has an inline chart`);
    assert.equal(section(report, 'codes').match(/<svg /g)?.length, 2, 'codes by cluster and by label');
    assert.equal(report.match(/<svg /g)?.length, 6);
    assert.ok(!report.includes('class="note"'), 'nothing missing');
    assert.match(section(report, 'metadata'), /digits-report[\s\S]*train[\s\S]*encode[\s\S]*cluster[\s\S]*classify[\s\S]*detect/);
    assert.match(section(report, 'metadata'), /<th>backend<\/th><td>wasm<\/td>/);

    // The confusion matrix covers exactly the held-out rows, in the stored result and in the chart.
    const target = { model: 'digits-ae', version: 1, dataset: 'digits' };
    const classify = await p.embeddings.readResult<{ tested: number; confusion: { labels: string[]; matrix: number[][] } }>(target, 'classify');
    assert.deepEqual(classify?.confusion.labels, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.equal(classify.confusion.matrix.flat().reduce((a, b) => a + b, 0), classify.tested);
    assert.equal(classify.tested, 540);
    const counts = /counts_marks"[^>]*>(.*?)<\/g>/.exec(section(report, 'classification'))?.[1].match(/>\d+</g)?.map((c) => Number(c.slice(1, -1)));
    assert.equal(counts?.length, 100);
    assert.equal(counts.reduce((a, b) => a + b, 0), 540);

    // The corrupted rows lead the top anomalies, each named with its worst features and attribution (among the corrupted ones).
    const anomalies = section(report, 'anomalies');
    const rows = anomalies.match(/<tr><td class="num">\d+<\/td>.*<\/tr>/g) ?? [];
    assert.equal(rows.length, 10);
    const corrupted = new Set(digits.features.slice(0, 10));
    for (const row of rows.slice(0, 3)) {
      const id = /<td><code>([^<]*)<\/code>/.exec(row)?.[1];
      assert.ok(CORRUPTED.map((r) => digits.ids[r]).includes(id!), `corrupted record first, got ${id}`);
      // Its three worst reconstructed features, then the three its attribution names.
      const features = [...row.matchAll(/<code>(px\d+)<\/code> \(/g)].map((m) => m[1]);
      assert.equal(features.length, 6, row);
      assert.ok(features.every((f) => corrupted.has(f)), `${id}: ${features.join(', ')}`);
      assert.match(row, /class="yes"/);
    }

    // The same embeddings through the model version, by number, alias-free default (latest) and digit string.
    const byModel = await buildReport(p.connection, p.keys, { model: 'digits-ae', version: 1 });
    assert.match(byModel, /<h1>latentflow report: model digits-ae@1<\/h1>/);
    for (const id of CHARTED) assert.match(section(byModel, id), /<svg /);
    assert.ok(!/https?:\/\//.test(byModel));
    assert.ok(!section(byModel, 'metadata').includes('<h3>Run</h3>'));
    assert.equal((await buildReport(p.connection, p.keys, { model: 'digits-ae' })).length > 0, true);
    const meta = await p.models.meta('digits-ae', 1);
    assert.equal(meta.losses?.loss.length, 5);
    assert.equal(meta.losses?.valLoss?.length, 5);

    await rejectsWithInputError(buildReport(p.connection, p.keys, { run: 'no-such-run' }), /no run "no-such-run"/);
    await rejectsWithInputError(buildReport(p.connection, p.keys, { model: 'nope' }), /model "nope" does not exist \(models: digits-ae\)/);
    await rejectsWithInputError(buildReport(p.connection, p.keys, { model: 'digits-ae', version: '7' }), /model "digits-ae" has no version 7/);
    await rejectsWithInputError(buildReport(p.connection, p.keys, { model: 'digits-ae', version: 'production' }), /no alias "production"/);
  });

  test('a run without labels has no label charts and says why; a version without embeddings is a clear error', async (t) => {
    const p = startPipeline(t);
    await p.datasets.save('wine-unlabelled', { ...wine, labels: undefined });
    const run = await p.run({ run: 'wine-report', model: 'wine-ae', dataset: 'wine-unlabelled', options: { epochs: 5 }, stages: ['cluster', 'detect'] });
    const report = await buildReport(p.connection, p.keys, { run });
    assert.ok(!/https?:\/\//.test(report));
    for (const id of ['training', 'errors', 'codes']) assert.match(section(report, id), /<svg /);
    for (const id of ['by-label', 'classification']) {
      assert.ok(!section(report, id).includes('<svg'), `no chart in ${id}`);
      assert.match(section(report, id), /class="note">The dataset has no labels/);
    }
    assert.equal(section(report, 'codes').match(/<svg /g)?.length, 1, 'by cluster only');

    // A second version, trained but never encoded.
    const train = makeQueue('train', p.connection, p.keys);
    t.after(() => train.close());
    const job = await train.add('train', { model: 'wine-ae', dataset: 'wine-unlabelled', options: { epochs: 2 } });
    assert.equal((await settled(train, job.id!)).state, 'completed');
    await rejectsWithInputError(buildReport(p.connection, p.keys, { model: 'wine-ae' }),
      /model wine-ae@2 has no embeddings of its training dataset "wine-unlabelled"/);
  });
});
