// Classifiers on a trained encoder (shared/ml/encoder-classifier.ts), on digits: held-out accuracy against the SVM on
// the codes, the weights each kind trains (and the source model's, which none may touch), determinism, bad input,
// and tensor hygiene.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { accuracy, stratifiedSplit, trainSvm } from '../../shared/analytics/index.js';
import { InputError } from '../../shared/contracts/errors.js';
import { readTable } from '../../shared/data/read-table.js';
import { selectRows, type Table } from '../../shared/data/table.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { initBackend } from '../../shared/ml/backend.js';
import { fitEncoderClassifier, type ClassifierData, type EncoderClassifierOptions } from '../../shared/ml/encoder-classifier.js';
import { disposeStack, stackWeights } from '../../shared/ml/network.js';
import { projectPath } from '../helpers/cli.js';

/** Few steps: for the tests of behaviour rather than accuracy. */
const QUICK: EncoderClassifierOptions = { headSteps: 40, tuneSteps: 40 };

let train: Table;
let test_: Table;
let ae: Autoencoder;

before(async () => {
  await initBackend('wasm', () => {});
  const digits = await readTable(projectPath('data/digits.csv.gz'), { idColumn: 'id', labelColumn: 'label' });
  const split = stratifiedSplit(digits.labels!, 0.3, 0);
  train = selectRows(digits, split.train);
  test_ = selectRows(digits, split.test);
  ae = await Autoencoder.fit(train, { epochs: 200, seed: 0 });
});

/** The SVM of `evaluate` on the codes of `rows`, scored on the test part. */
async function svmAccuracy(rows: Table): Promise<number> {
  const svm = await trainSvm({ values: ae.encode(rows), rows: rows.rows, width: ae.codeSize }, rows.labels!, { kernel: 'rbf', C: 10, gamma: 'scale' });
  try {
    return accuracy(test_.labels!, svm.predict({ values: ae.encode(test_), rows: test_.rows, width: ae.codeSize }));
  } finally {
    svm.free();
  }
}

/** A stratified `fraction` of the training part labelled (seeded), the rest unlabelled. */
function labelShare(fraction: number, seed: number): ClassifierData & { labelledRows: Table } {
  const keep = stratifiedSplit(train.labels!, 1 - fraction, seed).train;
  const kept = new Set(keep);
  const labelledRows = selectRows(train, keep);
  return { labelledRows, labelled: labelledRows, labels: labelledRows.labels!, unlabelled: selectRows(train, train.ids.flatMap((_, i) => (kept.has(i) ? [] : [i]))) };
}

function sameWeights(a: Float32Array[], b: Float32Array[]): boolean {
  return a.length === b.length && a.every((w, i) => w.length === b[i].length && w.every((v, j) => v === b[i][j]));
}

describe('accuracy on digits (30% held out), default options', () => {
  test('finetune with every label is at least as accurate as the SVM on the codes', async (t) => {
    const svm = await svmAccuracy(train);
    const model = await fitEncoderClassifier(ae, 'finetune', { labelled: train, labels: train.labels! });
    try {
      const finetune = accuracy(test_.labels!, model.predict(test_));
      t.diagnostic(`svm ${svm.toFixed(4)}, finetune ${finetune.toFixed(4)}`);
      assert.ok(finetune >= svm, `finetune ${finetune} < svm ${svm}`);
    } finally {
      model.dispose();
    }
  });

  test('joint with 10% of the labels beats the SVM trained on the same 10% (mean of three label draws)', async (t) => {
    const svm: number[] = [];
    const joint: number[] = [];
    for (const seed of [0, 1, 2]) {
      const data = labelShare(0.1, seed);
      svm.push(await svmAccuracy(data.labelledRows));
      const model = await fitEncoderClassifier(ae, 'joint', data);
      joint.push(accuracy(test_.labels!, model.predict(test_)));
      model.dispose();
    }
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    t.diagnostic(`10% labels: svm ${svm.map((a) => a.toFixed(4)).join(' ')}, joint ${joint.map((a) => a.toFixed(4)).join(' ')}`);
    assert.ok(mean(joint) > mean(svm), `joint ${mean(joint)} ≤ svm ${mean(svm)}`);
  });
});

describe('weights', () => {
  test('frozen keeps the encoder, finetune and joint change it; the source autoencoder never changes', async () => {
    const source = ae.toArtifact();
    const { encoder: original, decoder } = ae.copyStacks();
    const originalWeights = stackWeights(original);
    disposeStack([...original, ...decoder]);
    const data = labelShare(0.2, 0);
    for (const kind of ['frozen', 'finetune', 'joint'] as const) {
      const model = await fitEncoderClassifier(ae, kind, data, QUICK);
      try {
        assert.equal(sameWeights(model.encoderWeights(), originalWeights), kind === 'frozen', `${kind}: encoder ${kind === 'frozen' ? 'changed' : 'unchanged'}`);
      } finally {
        model.dispose();
      }
      assert.ok(ae.toArtifact().equals(source), `${kind} changed the source autoencoder`);
    }
  });

  test('the same seed gives the same classifier; another seed another', async () => {
    const data = labelShare(0.2, 0);
    const run = async (seed: number) => {
      const model = await fitEncoderClassifier(ae, 'joint', data, { ...QUICK, seed });
      try {
        return { probabilities: model.probabilities(test_), history: model.history.map((h) => h.loss) };
      } finally {
        model.dispose();
      }
    };
    const [a, b, c] = [await run(3), await run(3), await run(4)];
    assert.deepEqual(a.history, b.history);
    assert.deepEqual(a.probabilities, b.probabilities);
    assert.notDeepEqual(a.probabilities, c.probabilities);
  });
});

describe('contract', () => {
  test('bad options, kinds and data are InputErrors naming the field and value', async () => {
    const data = { labelled: train, labels: train.labels! };
    const named = (field: string, value: string) => (e: unknown) =>
      e instanceof InputError && e.message.includes(`field "${field}"`) && e.message.includes(`value "${value}"`);
    await assert.rejects(fitEncoderClassifier(ae, 'finetune', data, { tuneRate: 2 }), named('tuneRate', '2'));
    await assert.rejects(fitEncoderClassifier(ae, 'finetune', data, { batchSize: 0 }), named('batchSize', '0'));
    await assert.rejects(fitEncoderClassifier(ae, 'joint', data, { alpha: -1 }), named('alpha', '-1'));
    await assert.rejects(fitEncoderClassifier(ae, 'finetune', data, { epochs: 5 } as never), named('epochs', '5'));
    await assert.rejects(fitEncoderClassifier(ae, 'svm' as never, data), named('kind', 'svm'));
    await assert.rejects(fitEncoderClassifier(ae, 'frozen', { labelled: train, labels: train.labels!.slice(1) }), (e: unknown) => e instanceof InputError && /field "labels"/.test(e.message));
    await assert.rejects(fitEncoderClassifier(ae, 'frozen', { labelled: train, labels: train.labels!.map(() => '7') }), /at least 2 classes/);
    await assert.rejects(fitEncoderClassifier(ae, 'frozen', { labelled: { values: new Float32Array(6), rows: 2, width: 3 }, labels: ['a', 'b'] }), /model expects 64/);
  });

  test('training, predicting and disposing leave no tensor behind', async () => {
    const model0 = await fitEncoderClassifier(ae, 'joint', labelShare(0.2, 0), QUICK);
    model0.dispose();
    const before = tf.memory().numTensors;
    for (const kind of ['frozen', 'finetune', 'joint'] as const) {
      const model = await fitEncoderClassifier(ae, kind, labelShare(0.2, 0), QUICK);
      assert.equal(model.predict(test_).length, test_.rows);
      assert.deepEqual(model.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      model.dispose();
    }
    await assert.rejects(fitEncoderClassifier(ae, 'finetune', { labelled: train, labels: train.labels! }, { hidden: -1 }), InputError);
    assert.equal(tf.memory().numTensors, before);
  });
});
