// Model size limits (MODEL_LIMITS, STEP_VALUES_LIMIT): options and networks beyond them are refused with the field,
// value and limit named, before anything is allocated; and the one test of what counts as a broken tfjs runtime.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UnrecoverableError } from 'bullmq';
import { ConfigError, InputError } from '../../shared/contracts/errors.js';
import { parsePayload } from '../../shared/contracts/queues.js';
import type { Ratings } from '../../shared/data/ratings.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { AutoRec } from '../../shared/ml/autorec.js';
import { checkAutoRecSize, resolveAutoRecConfig } from '../../shared/ml/autorec-config.js';
import { currentTensorCount, initBackend, isRuntimeCorruption } from '../../shared/ml/backend.js';
import { ModelOptionsSchema, resolveModelConfig } from '../../shared/ml/model-config.js';
import { toJobError } from '../../shared/pipeline/queues.js';

before(async () => {
  await initBackend('wasm', () => {});
});

/** Asserts that `run` throws a ConfigError whose message matches every pattern. */
function refuses(run: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `a ConfigError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

describe('autoencoder options', () => {
  test('a layer wider than 65,536 units, 1e9 epochs, too many layers or rows per step: refused naming field, value and limit', () => {
    refuses(() => resolveModelConfig({ encoder: [3_000_000, 2] }, 64), /encoder\.0: 3,000,000 units: a layer may have at most 65,536/);
    refuses(() => resolveModelConfig({ codeSize: 70_000 }, 64), /codeSize: 70,000 units/);
    refuses(() => resolveModelConfig({ epochs: 1e9 }, 64), /epochs: 1,000,000,000 epochs: the limit is 100,000/);
    refuses(() => resolveModelConfig({ batchSize: 65_537 }, 64), /batchSize: 65,537 rows per step: the limit is 65,536/);
    refuses(() => resolveModelConfig({ encoder: [...Array<number>(32).fill(8), 2] }, 64), /encoder: 33 encoder layers: the limit is 32/);
    refuses(() => resolveModelConfig({ encoder: [8, 2], decoder: Array<number>(32).fill(8) }, 64), /decoder: 32 decoder hidden layers .*: the limit is 31/);
    assert.equal(resolveModelConfig({ epochs: 100_000, encoder: [...Array<number>(31).fill(8), 2] }, 64).epochs, 100_000, 'the limits themselves are allowed');
  });

  test('a train job with such options fails as non-retryable bad input naming the payload field', () => {
    for (const [options, field] of [[{ encoder: [3_000_000, 2] }, 'options.encoder.0'], [{ epochs: 1e9 }, 'options.epochs']] as const) {
      assert.throws(() => parsePayload('train', { model: 'm', dataset: 'd', options }), (e: unknown) =>
        e instanceof InputError && !e.retryable && e.message.includes(`field "${field}"`));
    }
    assert.ok(!ModelOptionsSchema.safeParse({ epochs: 1e9 }).success);
  });

  test('a train job\'s options reach the trainer as given: a recirculation job is not refused for backprop\'s defaults', () => {
    const p = parsePayload('train', { model: 'm', dataset: 'd', options: { trainer: 'recirculation', codeSize: 8 } });
    assert.ok(p.kind !== 'autorec');
    assert.deepEqual(p.options, { trainer: 'recirculation', codeSize: 8 }, 'no defaults filled in (noise 0.2 and tanh codes would conflict)');
    assert.equal(resolveModelConfig(p.options, 64).codeActivation, 'sigmoid');
  });

  test('a 1M-wide input with default options: refused naming the width, the network, its parameters and the limit', () => {
    refuses(() => resolveModelConfig({}, 1_000_000),
      /the input has 1,000,000 features: a layer \(the input included\) may have at most 65,536 units/,
      /the network 1000000-256-128-32-128-256-1000000 has 513,074,528 parameters; the limit is 20,000,000: use fewer features or narrower layers/);
  });

  test('20,000,000 parameters: the largest network passes, one unit more is refused (recirculation too)', () => {
    assert.deepEqual(resolveModelConfig({ encoder: [152, 2] }, 65_536).decoder, [152]);
    refuses(() => resolveModelConfig({ encoder: [153, 2] }, 65_536), /the network 65536-153-2-153-65536 has 20,120,472 parameters; the limit is 20,000,000/);
    assert.equal(resolveModelConfig({ trainer: 'recirculation', codeSize: 152 }, 65_536).codeSize, 152);
    refuses(() => resolveModelConfig({ trainer: 'recirculation', codeSize: 153 }, 65_536), /the network 65536-153-65536 has 20,119,705 parameters/);
  });

  test('rows per step × units of the network is bounded: the message gives the largest batch size', () => {
    refuses(() => resolveModelConfig({ encoder: [65_536, 2], batchSize: 4096 }, 64),
      /field "batchSize": 4,096 rows per step through the 131,202 units of the network 64-65536-2-65536-64 are 537,403,392 values; the limit is 33,554,432: use a batchSize of at most 255/);
    assert.equal(resolveModelConfig({ encoder: [65_536, 2], batchSize: 255 }, 64).batchSize, 255);
  });

  test('Autoencoder.fit refuses an oversized network before allocating any tensor', async () => {
    const before = currentTensorCount();
    const data = { values: new Float32Array(3 * 64).fill(0.5), rows: 3, width: 64, source: 'three rows' };
    await assert.rejects(Autoencoder.fit(data, { encoder: [3_000_000, 2] }), ConfigError);
    await assert.rejects(Autoencoder.fit(data, { encoder: [40_000, 1000, 2] }), /the network 64-40000-1000-2-1000-40000-64 has [\d,]+ parameters; the limit is 20,000,000/);
    assert.equal(currentTensorCount(), before);
  });
});

/** `users` × `items` ratings with one rating per item (cheap to build, wide as a rating vector). */
function ratings(users: number, items: number): Ratings {
  const n = items;
  return {
    users: Array.from({ length: users }, (_, u) => `u${u}`),
    items: Array.from({ length: items }, (_, i) => `i${i}`),
    entries: { user: Int32Array.from({ length: n }, (_, k) => k % users), item: Int32Array.from({ length: n }, (_, k) => k), rating: new Float32Array(n).fill(3) },
    min: 1, max: 5,
  };
}

describe('AutoRec options', () => {
  test('hidden units, epochs and batch size beyond the limits: refused naming field, value and limit', () => {
    refuses(() => resolveAutoRecConfig({ hidden: 100_000 }), /hidden: 100,000 hidden units: the limit is 65,536/);
    refuses(() => resolveAutoRecConfig({ epochs: 1e9 }), /epochs: 1,000,000,000 epochs: the limit is 100,000/);
    refuses(() => resolveAutoRecConfig({ batchSize: 1e6 }), /batchSize: 1,000,000 vectors per step: the limit is 65,536/);
    assert.throws(() => parsePayload('train', { kind: 'autorec', model: 'm', dataset: 'r', options: { epochs: 1e9 } }),
      (e: unknown) => e instanceof InputError && e.message.includes('field "options.epochs"'));
  });

  test('a network of 2 × hidden × (users or items) parameters beyond the limit is refused at fit time, before allocating', async () => {
    const before = currentTensorCount();
    await assert.rejects(AutoRec.fit(ratings(70_000, 20), { hidden: 500 }), (e: unknown) => e instanceof ConfigError
      && /70,000 users × 20 items: the input has 70,000 users .*at most 65,536 units; the network 70000-500-70000 has 70,070,500 parameters; the limit is 20,000,000/.test(e.message));
    await assert.rejects(AutoRec.fit(ratings(20, 30_000), { variant: 'user', hidden: 500 }),
      /the network 30000-500-30000 has 30,030,500 parameters; the limit is 20,000,000: use fewer hidden units \(hidden\), or variant "item"/);
    assert.equal(currentTensorCount(), before);
    assert.doesNotThrow(() => checkAutoRecSize(resolveAutoRecConfig({ hidden: 152, presenceHidden: 152 }), 65_536, 10));
    refuses(() => checkAutoRecSize(resolveAutoRecConfig({ hidden: 152, presenceHidden: 152, batchSize: 256 }), 65_536, 10), /use a batchSize of at most 255/);
    // The presence network (ranking) is sized on its own, and the remedy names the option that sizes the larger one.
    refuses(() => checkAutoRecSize(resolveAutoRecConfig({ hidden: 152 }), 65_536, 10), /65536-300-65536 has 39,387,436 parameters; the limit is 20,000,000: use fewer hidden units \(presenceHidden\)/);
    assert.doesNotThrow(() => checkAutoRecSize(resolveAutoRecConfig({ hidden: 152, ranking: 'rating' }), 65_536, 10));
  });
});

type WasmGlobal = { Module: new (bytes: Uint8Array) => object; Instance: new (module: object) => { exports: { f(): void } } };
/** Runs the exported `f` of a tiny wasm module: a genuine WebAssembly.RuntimeError. */
function trap(bytes: number[]): unknown {
  const wasm = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;
  try {
    new wasm.Instance(new wasm.Module(Uint8Array.from(bytes))).exports.f();
  } catch (error) {
    return error;
  }
  throw new Error('no trap');
}
const HEADER = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0];
const EXPORT_F = [7, 5, 1, 1, 0x66, 0, 0];
/** `f` executes `unreachable`. */
const UNREACHABLE = [...HEADER, ...EXPORT_F, 0x0a, 5, 1, 3, 0, 0, 0x0b];
/** One 64 KiB page of memory; `f` loads from byte 70,000. */
const OUT_OF_BOUNDS = [...HEADER, 5, 3, 1, 0, 1, ...EXPORT_F, 0x0a, 0x0c, 1, 0x0a, 0, 0x41, 0xf0, 0xa2, 0x04, 0x28, 2, 0, 0x1a, 0x0b];

describe('isRuntimeCorruption', () => {
  test('wasm traps and failed allocations, also as a cause; never bad input or ordinary errors', () => {
    const oob = trap(OUT_OF_BOUNDS);
    assert.match(String(oob), /RuntimeError: memory access out of bounds/);
    let allocation: unknown;
    try {
      new ArrayBuffer(2 ** 45);
    } catch (error) {
      allocation = error;
    }
    for (const e of [oob, trap(UNREACHABLE), allocation, new Error('training failed', { cause: oob })]) assert.ok(isRuntimeCorruption(e), String(e));
    let invalid: unknown;
    try {
      new Float32Array(-1);
    } catch (error) {
      invalid = error;
    }
    for (const e of [invalid, new InputError('bad', { field: 'x' }), new Error('boom'), 'Aborted()', undefined]) assert.ok(!isRuntimeCorruption(e), String(e));
  });

  test('a job failing that way fails at once (unrecoverable) with the reason, the original error as its cause', () => {
    const oob = trap(OUT_OF_BOUNDS);
    const failure = toJobError(oob);
    assert.ok(failure instanceof UnrecoverableError);
    assert.match(failure.message, /TensorFlow\.js runtime of process \d+ broke during this job \(RuntimeError: memory access out of bounds\); the job is not retried/);
    assert.equal(failure.cause, oob);
    assert.ok(isRuntimeCorruption(failure));
    assert.ok(!(toJobError(new Error('ECONNRESET')) instanceof UnrecoverableError), 'a transient fault is still retried');
  });
});
