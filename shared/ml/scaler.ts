/**
 * Per-feature preprocessing fitted on training rows and stored with the model, so that every later encode or score
 * sees inputs in the same space as training. minmax maps the training range to [0, 1]; standard to zero mean and unit
 * variance; a constant training feature maps to 0 in both.
 */
import type { SCALERS } from './model-config.js';

export type ScalerKind = (typeof SCALERS)[number];

export interface Scaler {
  kind: ScalerKind;
  /** Subtracted from each feature. */
  offset: number[];
  /** Each feature is divided by this after the offset (never 0). */
  divisor: number[];
}

export function fitScaler(kind: ScalerKind, values: Float32Array, rows: number, width: number): Scaler {
  const offset = new Array<number>(width).fill(0);
  const divisor = new Array<number>(width).fill(1);
  if (kind === 'none' || rows === 0) return { kind, offset, divisor };
  for (let j = 0; j < width; j++) {
    let min = Infinity, max = -Infinity, sum = 0, sumSq = 0;
    for (let i = 0; i < rows; i++) {
      const v = values[i * width + j];
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
      sumSq += v * v;
    }
    if (kind === 'minmax') {
      offset[j] = min;
      divisor[j] = max > min ? max - min : 1;
    } else {
      const mean = sum / rows;
      const std = Math.sqrt(Math.max(0, sumSq / rows - mean * mean));
      offset[j] = mean;
      divisor[j] = std > 1e-12 ? std : 1;
    }
  }
  return { kind, offset, divisor };
}

/** Scaled copy of row-major `values`. */
export function applyScaler(scaler: Scaler, values: Float32Array, width: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let k = 0; k < values.length; k++) {
    const j = k % width;
    out[k] = (values[k] - scaler.offset[j]) / scaler.divisor[j];
  }
  return out;
}

/** Back to the original units. */
export function invertScaler(scaler: Scaler, values: Float32Array, width: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let k = 0; k < values.length; k++) {
    const j = k % width;
    out[k] = values[k] * scaler.divisor[j] + scaler.offset[j];
  }
  return out;
}
