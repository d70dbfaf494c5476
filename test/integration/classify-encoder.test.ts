// `classify` jobs with a classifier built on the model's encoder, through a BullMQ worker on a private redis-server:
// a fine-tuned classifier on digits predicts every record, stores its result, and leaves the registered model as it
// was (an svm job on the same target still stores the SVM); a payload naming an unknown classifier fails at once,
// naming the field.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { MODEL_LIMITS } from '../../shared/contracts/limits.js';
import { RESULTS } from '../../shared/contracts/queues.js';
import { readTable } from '../../shared/data/read-table.js';
import type { Table } from '../../shared/data/table.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { initBackend } from '../../shared/ml/backend.js';
import { projectPath } from '../helpers/cli.js';
import { settled } from '../helpers/jobs.js';
import { startPipeline } from '../helpers/pipeline.js';
import { useRedis } from '../helpers/redis.js';

const fixture = useRedis();
let digits: Table;
let artifact: Buffer;

before(async () => {
  await initBackend('wasm', () => {});
  digits = await readTable(projectPath('data/digits.csv.gz'), { idColumn: 'id', labelColumn: 'label' });
  const model = await Autoencoder.fit(digits, { epochs: 60, seed: 0 });
  artifact = model.toArtifact();
  model.dispose();
});

describe('classify jobs on the encoder', () => {
  test('finetune: held-out accuracy, a prediction per record, the stored result, the model untouched', async (t) => {
    const p = startPipeline(t, fixture);
    await p.datasets.save('digits', digits);
    const model = Autoencoder.fromArtifact(artifact);
    const { version } = await p.models.register('digits-ae', model, { dataset: 'digits' });
    model.dispose();
    const target = { model: 'digits-ae', version, dataset: 'digits' };
    const encode = await p.queue('encode').add('encode', target);
    assert.equal((await settled(p.queue('encode'), encode.id!)).state, 'completed');

    const started = Date.now();
    const job = await p.queue('classify').add('classify', { ...target, classifier: 'finetune' });
    const done = await settled(p.queue('classify'), job.id!, 120_000);
    assert.equal(done.state, 'completed', done.job.failedReason);
    const r = RESULTS.classify.parse(done.job.returnvalue);
    t.diagnostic(`finetune job: ${((Date.now() - started) / 1000).toFixed(1)} s, accuracy ${r.accuracy.toFixed(4)}, macro-F1 ${r.macroF1.toFixed(4)}`);
    assert.equal(r.classifier, 'finetune');
    assert.deepEqual([r.trained, r.tested, r.predicted], [1257, 540, 1797]);
    assert.ok(r.accuracy >= 0.95, `accuracy ${r.accuracy}`);

    const predictions = await p.embeddings.readAssignments(target, 'predictions');
    assert.equal(predictions.size, 1797);
    const correct = digits.ids.filter((id, i) => predictions.get(id) === digits.labels![i]).length;
    assert.ok(correct / 1797 >= 0.95, `${correct} of 1797 predictions right`);
    const stored = await p.embeddings.readResult<{ classifier: string; options: { alpha: number }; confusion: { labels: string[] } }>(target, 'classify');
    assert.equal(stored?.classifier, 'finetune');
    assert.equal(stored.options.alpha, 1);
    assert.equal(stored.confusion.labels.length, 10);

    // The svm path on the same target still stores its own kind of result.
    const svmJob = await p.queue('classify').add('classify', { ...target, classifier: 'svm' });
    const svmDone = await settled(p.queue('classify'), svmJob.id!);
    assert.equal(svmDone.state, 'completed', svmDone.job.failedReason);
    const svm = RESULTS.classify.parse(svmDone.job.returnvalue);
    t.diagnostic(`svm job: accuracy ${svm.accuracy.toFixed(4)}`);
    assert.equal(svm.classifier, 'svm');
    const svmStored = await p.embeddings.readResult<{ classifier: string; maxTrain: number; svm: unknown }>(target, 'classify');
    assert.deepEqual([svmStored?.classifier, svmStored?.maxTrain, typeof svmStored?.svm], ['svm', 10_000, 'object']);

    const { model: reloaded } = await p.models.load('digits-ae', version);
    try {
      assert.ok(reloaded.toArtifact().equals(artifact), 'the registered model changed');
    } finally {
      reloaded.dispose();
    }
  });

  test('an unknown classifier fails at once, naming the field', async (t) => {
    const p = startPipeline(t, fixture);
    const job = await p.queue('classify').add('classify', { model: 'm', dataset: 'd', classifier: 'knn' } as never);
    const failed = await settled(p.queue('classify'), job.id!);
    assert.equal(failed.state, 'failed');
    assert.match(failed.job.failedReason, /field "classifier"/);
    assert.equal(failed.job.attemptsMade, 1);
  });

  test(`a label column of more than ${MODEL_LIMITS.classes} distinct values (an id, say) fails at once, before any classifier trains`, async (t) => {
    const p = startPipeline(t, fixture);
    await p.datasets.save('digits', { ...digits, labels: digits.ids.map((id) => `label-${id}`) });
    const model = Autoencoder.fromArtifact(artifact);
    const { version } = await p.models.register('digits-ae', model, { dataset: 'digits' });
    model.dispose();
    const target = { model: 'digits-ae', version, dataset: 'digits' };
    assert.equal((await settled(p.queue('encode'), (await p.queue('encode').add('encode', target)).id!)).state, 'completed');
    const job = await p.queue('classify').add('classify', target);
    const failed = await settled(p.queue('classify'), job.id!);
    assert.equal(failed.state, 'failed');
    assert.match(failed.job.failedReason, /dataset "digits" has 1797 distinct labels; a classifier learns at most 1000/);
    assert.equal(failed.job.attemptsMade, 1);
  });
});
