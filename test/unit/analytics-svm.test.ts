import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError, LatentflowError } from '../../shared/contracts/errors.js';
import { svmInThread } from '../../shared/pipeline/offload.js';
import { sharedLibsvm } from '../../shared/analytics/libsvm-wasm.js';
import { accuracy } from '../../shared/analytics/metrics.js';
import { stratifiedSplit } from '../../shared/analytics/split.js';
import { corruptSupportVector, loadSvm, trainSvm } from '../../shared/analytics/svm.js';
import { readWine } from '../helpers/assertions.js';

const { z, y } = readWine();
const { train, test: held } = stratifiedSplit(y, 0.3, 0);
const xTrain = train.map((i) => z[i]);
const yTrain = train.map((i) => y[i]);
const xTest = held.map((i) => z[i]);
const yTest = held.map((i) => y[i]);

/**
 * Runs `fn` with text written to process.stdout captured (console.log and emscripten's print write strings). Buffer
 * chunks pass through: under `node --test` the runner itself reports to the parent through this child's stdout in
 * binary frames.
 */
async function capturingStdout<T>(fn: () => Promise<T>): Promise<{ result: T; written: string }> {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- kept only to be put back as it was
  const original = process.stdout.write;
  let written = '';
  process.stdout.write = function (this: typeof process.stdout, chunk: unknown, ...rest: unknown[]) {
    if (typeof chunk === 'string') {
      written += chunk;
      return true;
    }
    return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  };
  try {
    return { result: await fn(), written };
  } finally {
    process.stdout.write = original;
  }
}

test('rbf SVM on wine: ≥ 0.9 test accuracy, string predictions, silent training, no exit-on-rejection hook', async () => {
  const listeners = process.listeners('unhandledRejection').length;
  const started = performance.now();
  const { result: model, written } = await capturingStdout(() => trainSvm(xTrain, yTrain));
  const ms = performance.now() - started;
  try {
    assert.equal(written, '', 'nothing printed to stdout while loading and training');
    const probe = await capturingStdout(() => Promise.resolve(console.log('probe')));
    assert.equal(probe.written, 'probe\n', 'the capture does see console output');
    assert.equal(process.listeners('unhandledRejection').length, listeners);
    const predicted = model.predict(xTest);
    assert.ok(predicted.every((p) => typeof p === 'string' && ['class_0', 'class_1', 'class_2'].includes(p)));
    const acc = accuracy(yTest, predicted);
    assert.ok(acc >= 0.9, `accuracy ${acc}`);
    // gamma='scale' as scikit-learn resolves it on these training rows: 1 / (13 · X.var()).
    assert.ok(Math.abs(model.options.gamma - 0.07525264233679234) < 1e-12);
    assert.deepEqual(model.classes, ['class_0', 'class_1', 'class_2']);
    console.error(`# wine rbf SVM: accuracy ${acc.toFixed(4)}, load + train ${ms.toFixed(1)} ms`);
  } finally {
    model.free();
  }
});

test('in a worker thread (the classify stage) the SVM predicts as in the caller\'s thread and returns its model; input errors keep their semantics', async () => {
  const options = { kernel: 'rbf', C: 10, gamma: 'scale' } as const;
  const inline = await trainSvm(xTrain, yTrain, options);
  try {
    const { predictions, svm } = await svmInThread(xTrain, yTrain, [xTest, xTrain], options);
    assert.deepEqual(predictions, [inline.predict(xTest), inline.predict(xTrain)]);
    const loaded = await loadSvm(svm);
    try {
      assert.deepEqual(loaded.predict(xTest), predictions[0]);
    } finally {
      loaded.free();
    }
  } finally {
    inline.free();
  }
  await assert.rejects(svmInThread(xTrain, yTrain.slice(1), [xTest], options), (e: unknown) => e instanceof LatentflowError && !e.retryable);
});

test('toJSON / loadSvm round-trips to identical predictions', async () => {
  const model = await trainSvm(xTrain, yTrain, { kernel: 'poly', C: 1, degree: 2, gamma: 0.1, coef0: 1 });
  const text = JSON.stringify(model);
  const loaded = await loadSvm(text);
  const loadedFromObject = await loadSvm(model.toJSON());
  try {
    assert.deepEqual(loaded.predict(xTest), model.predict(xTest));
    assert.deepEqual(loadedFromObject.predict(z), model.predict(z));
    assert.deepEqual(loaded.options, model.options);
    assert.equal(JSON.stringify(loaded), text);
  } finally {
    model.free();
    loaded.free();
    loadedFromObject.free();
  }
  await assert.rejects(loadSvm('{"format":"other"}'), InputError);
  await assert.rejects(
    loadSvm({ ...(JSON.parse(text) as object), libsvm: 'garbage' } as never),
    (e: unknown) => e instanceof InputError && /unknown text in model file/.test(String((e.cause as Error).message)),
  );
});

test('grid search is deterministic and picks the best cross-validated (C, gamma)', async () => {
  const options = { gridSearch: { C: [0.1, 1, 10], gamma: ['scale' as const, 0.01, 1], folds: 4, seed: 3 } };
  const a = await trainSvm(xTrain, yTrain, options);
  const b = await trainSvm(xTrain, yTrain, options);
  try {
    assert.deepEqual(a.gridSearch, b.gridSearch);
    const search = a.gridSearch!;
    assert.equal(search.results.length, 9);
    assert.equal(search.best.accuracy, Math.max(...search.results.map((r) => r.accuracy)));
    assert.equal(a.options.C, search.best.C);
    assert.ok(accuracy(yTest, a.predict(xTest)) >= 0.9);
    assert.deepEqual(a.predict(xTest), b.predict(xTest));
  } finally {
    a.free();
    b.free();
  }
});

test('probability models are deterministic, rows sum to 1; a linear model has no probabilities', async () => {
  const p1 = await trainSvm(xTrain, yTrain, { probability: true, kernel: 'linear', C: 1 });
  const p2 = await trainSvm(xTrain, yTrain, { probability: true, kernel: 'linear', C: 1 });
  const plain = await trainSvm(xTrain, yTrain, { kernel: 'linear', C: 1 });
  try {
    const probabilities = p1.predictProbability(xTest);
    assert.deepEqual(p2.predictProbability(xTest), probabilities);
    for (const row of probabilities) assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-9);
    const argmax = probabilities.map((row) => p1.classes[row.indexOf(Math.max(...row))]);
    assert.ok(accuracy(yTest, argmax) >= 0.9);
    assert.throws(() => plain.predictProbability(xTest), InputError);
  } finally {
    p1.free();
    p2.free();
    plain.free();
  }
});

test('freed models release their wasm memory; bad inputs raise InputError', async () => {
  const instance = await sharedLibsvm();
  (await trainSvm(xTrain, yTrain)).free(); // warm up the allocator
  const top = instance.heapTop();
  for (let i = 0; i < 30; i++) (await trainSvm(xTrain, yTrain, { probability: i % 10 === 0 })).free();
  assert.equal(instance.heapTop(), top, 'heap top unchanged after 30 train/free cycles');

  const model = await trainSvm(xTrain, yTrain);
  assert.throws(() => model.predict([[1, 2, 3]]), InputError);
  model.free();
  model.free();
  assert.throws(() => model.predict(xTest), /freed/);
  await assert.rejects(trainSvm(xTrain, yTrain.map(() => 'one')), InputError);
  await assert.rejects(trainSvm(xTrain, yTrain.slice(1)), InputError);
  await assert.rejects(trainSvm(xTrain, yTrain, { C: 0 }), InputError);
  await assert.rejects(trainSvm(xTrain, yTrain, { gamma: -1 }), InputError);
  await assert.rejects(trainSvm(xTrain, yTrain, { kernel: 'sigmoid' as never }), InputError);
});

test('corruptSupportVector finds the support vector lines libsvm-js garbles (NaN, index 0, past the width, out of order)', () => {
  const head = 'svm_type c_svc\nkernel_type rbf\nnr_class 2\ntotal_sv 2\nSV\n';
  assert.equal(corruptSupportVector(`${head}0.5 1:0.1 2:0.2 \n-0.5 1:0.3 3:1 \n`, 3), undefined);
  assert.equal(corruptSupportVector(`${head}0.5 1:0.1 2:0.2 \n-0.5 0:-nan 2:1 \n`, 3), 2);
  assert.equal(corruptSupportVector(`${head}0.5 1:0.1 171233668:4.79 \n`, 3), 1);
  assert.equal(corruptSupportVector(`${head}0.5 2:0.1 1:0.2 \n`, 3), 1);
  assert.equal(corruptSupportVector('no SV section', 3), 0);
});
