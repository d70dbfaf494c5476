/**
 * A stack of dense layers held as plain tfjs variables. The autoencoder is two stacks (encoder, decoder); keeping
 * the layers as bare variables lets the training loop feed contiguous batches and add penalties on codes and weights
 * directly, without tf.layers' per-batch gather.
 */
import * as tf from '@tensorflow/tfjs';
import type { Activation } from './model-config.js';

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

export function disposeStack(stack: DenseLayer[]): void {
  for (const v of variablesOf(stack)) v.dispose();
}
