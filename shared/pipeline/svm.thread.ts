/** The body of an SVM worker thread (./offload.ts svmInThread): trains, predicts the given rows, returns the model. */
import { trainSvm, type SvmOptions } from '../analytics/svm.js';
import type { Matrix } from '../analytics/matrix.js';
import { answerWith } from './thread-task.js';
import type { SvmAnswer } from './offload.js';

await answerWith(async ({ train, labels, predict, options }: { train: Matrix; labels: string[]; predict: Matrix[]; options: SvmOptions }): Promise<SvmAnswer> => {
  const svm = await trainSvm(train, labels, options);
  try {
    return { predictions: predict.map((m) => svm.predict(m)), svm: svm.toJSON() };
  } finally {
    svm.free();
  }
});
