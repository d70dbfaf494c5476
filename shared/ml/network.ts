/**
 * A stack of dense layers held as plain tfjs variables. The autoencoder is two stacks (encoder, decoder); keeping
 * the layers as bare variables lets the training loop feed contiguous batches and add penalties on codes and weights
 * directly, without tf.layers' per-batch gather.
 */
import * as tf from '@tensorflow/tfjs';
import { stepRows, type Activation } from './model-config.js';

export interface DenseLayer {
  kernel: tf.Variable;
  bias: tf.Variable;
  activation: Activation;
}

/** Layer shapes and activations: enough to rebuild a stack from saved weights. */
export interface LayerSpec {
  inputs: number;
  units: number;
  activation: Activation;
}

/** The negative slope of the `leaky_relu` activation. */
export const LEAKY_RELU_ALPHA = 0.2;

export function activate(x: tf.Tensor, activation: Activation): tf.Tensor {
  switch (activation) {
    case 'relu': return tf.relu(x);
    case 'elu': return tf.elu(x);
    case 'selu': return tf.selu(x);
    case 'tanh': return tf.tanh(x);
    case 'sigmoid': return tf.sigmoid(x);
    case 'leaky_relu': return tf.leakyRelu(x, LEAKY_RELU_ALPHA);
    case 'softplus': return tf.softplus(x);
    case 'linear': return x;
  }
}

/** Glorot-uniform kernels (seeded, one derived seed per layer) and zero biases. */
export function buildStack(specs: LayerSpec[], seed: number): DenseLayer[] {
  return specs.map((spec, i) =>
    tf.tidy(() => {
      const limit = Math.sqrt(6 / (spec.inputs + spec.units));
      const init = tf.randomUniform([spec.inputs, spec.units], -limit, limit, 'float32', seed * 1009 + specs.length * 131 + i * 7919);
      return {
        kernel: tf.variable(init, true),
        bias: tf.variable(tf.zeros([spec.units]), true),
        activation: spec.activation,
      };
    }),
  );
}

/** A stack with the given weights (as saved by `stackWeights`). */
export function restoreStack(specs: LayerSpec[], weights: Float32Array[]): DenseLayer[] {
  return specs.map((spec, i) =>
    tf.tidy(() => ({
      kernel: tf.variable(tf.tensor2d(weights[2 * i], [spec.inputs, spec.units]), true),
      bias: tf.variable(tf.tensor1d(weights[2 * i + 1]), true),
      activation: spec.activation,
    })),
  );
}

export function forward(stack: DenseLayer[], x: tf.Tensor2D): tf.Tensor2D {
  let h: tf.Tensor2D = x;
  for (const layer of stack) h = activate(tf.add(tf.matMul(h, layer.kernel), layer.bias), layer.activation) as tf.Tensor2D;
  return h;
}

/** A forward pass over a batch of `rows` row-major rows, as a plain array (tfjs here; the native addon's has the same shape). */
export type RowsForward = (x: Float32Array, rows: number) => Float32Array;

/** Units a forward pass through `stack` touches: its input and every layer's output. */
export function stackUnits(stack: DenseLayer[]): number {
  return stack.reduce((units, l) => units + l.kernel.shape[1]!, stack[0]?.kernel.shape[0] ?? 0);
}

/** `stack`'s forward pass on tfjs, optionally followed by `then` (e.g. a softmax), as a {@link RowsForward}. */
export function tfjsForward(stack: DenseLayer[], then: (y: tf.Tensor2D) => tf.Tensor2D = (y) => y): RowsForward {
  return (x, rows) => tf.tidy(() => then(forward(stack, tf.tensor2d(x, [rows, x.length / rows]))).dataSync() as Float32Array);
}

/** Rows per batch of {@link mapBatches}: bounds the tensors of inference on large inputs. */
export const INFERENCE_BATCH = 2048;

/**
 * `fn` over row slices of a rows × inWidth matrix, into one rows × outWidth matrix. A slice holds INFERENCE_BATCH rows,
 * fewer when rows × `units` (every layer's width the pass goes through, input included) would pass MODEL_LIMITS.stepValues.
 */
export function mapBatches(values: Float32Array, rows: number, inWidth: number, outWidth: number, fn: RowsForward, units: number): Float32Array {
  const out = new Float32Array(rows * outWidth);
  const slice = stepRows(units, INFERENCE_BATCH);
  for (let start = 0; start < rows; start += slice) {
    const n = Math.min(slice, rows - start);
    out.set(fn(values.subarray(start * inWidth, (start + n) * inWidth), n), start * outWidth);
  }
  return out;
}

export function specsOf(stack: DenseLayer[]): LayerSpec[] {
  return stack.map((l) => ({ inputs: l.kernel.shape[0], units: l.kernel.shape[1]!, activation: l.activation }));
}

export function variablesOf(stack: DenseLayer[]): tf.Variable[] {
  return stack.flatMap((l) => [l.kernel, l.bias]);
}

/** Kernel then bias of each layer, copied out of the backend. */
export function stackWeights(stack: DenseLayer[]): Float32Array[] {
  return variablesOf(stack).map((v) => new Float32Array(v.dataSync()));
}

export function assignWeights(stack: DenseLayer[], weights: tf.Tensor[]): void {
  variablesOf(stack).forEach((v, i) => v.assign(weights[i]));
}

/** Awaits `run`, disposing `stacks` if it throws (on success the caller keeps them): for training freshly built stacks. */
export async function disposeOnFailure<T>(stacks: DenseLayer[][], run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    stacks.forEach(disposeStack);
    throw error;
  }
}

export function disposeStack(stack: DenseLayer[]): void {
  for (const v of variablesOf(stack)) v.dispose();
}
