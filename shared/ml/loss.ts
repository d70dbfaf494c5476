/** Reconstruction losses, per cell: the training objective and every reported error share these definitions. */
import * as tf from '@tensorflow/tfjs';
import type { LOSSES } from './model-config.js';

export type LossKind = (typeof LOSSES)[number];

const EPSILON = 1e-7;

/** Element-wise error between a reconstruction and its target: squared error, or binary cross-entropy. */
export function cellErrors(reconstruction: tf.Tensor2D, target: tf.Tensor2D, loss: LossKind): tf.Tensor2D {
  return tf.tidy(() => {
    if (loss === 'mse') return tf.squaredDifference(reconstruction, target);
    const p = tf.clipByValue(reconstruction, EPSILON, 1 - EPSILON);
    return tf.neg(tf.add(tf.mul(target, tf.log(p)), tf.mul(tf.sub(1, target), tf.log(tf.sub(1, p))))) as tf.Tensor2D;
  });
}
