/**
 * Training speed on the Fashion-MNIST recipe (784-256-64-256-784, relu, sigmoid output, MSE, Adam 1e-3, batch 256)
 * for each TensorFlow.js backend, each in its own process, next to PyTorch measured in the same run.
 * Usage: npm run bench -- train-speed [--rows 60000] [--epochs 3] [--backends wasm,cpu,wasm-layers-unpatched]
 *   [--cpu-rows 6000] [--no-compare]. `wasm-layers-unpatched` is the baseline: tf.layers `fit` on stock wasm.
 * Slow variants (cpu, the baseline) train on the first --cpu-rows rows.
 * Prints a Markdown table and JSON; the figure is the median samples/s over epochs.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { Autoencoder } from '../shared/ml/autoencoder.js';
import { unpatchWasmMatMul } from '../shared/ml/wasm-kernels.js';
import { initBackend, type BackendName } from '../shared/ml/backend.js';
import { readIdxTable } from '../shared/data/idx.js';
import { machine } from './machine.js';
import { median } from './stats.js';

const run = promisify(execFile);
const IMAGES = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const here = fileURLToPath(new URL('.', import.meta.url));

interface Figure { backend: string; rows: number; samples_per_second: number; epochs: number[] }

/** What latentflow replaced: tf.layers `model.fit` (per-batch gather) on the unpatched wasm backend. */
async function layersBaseline(values: Float32Array, rows: number, epochs: number): Promise<number[]> {
  unpatchWasmMatMul();
  const dense = (units: number, activation: 'relu' | 'sigmoid', inputShape?: number[]) => tf.layers.dense({ units, activation, inputShape });
  const model = tf.sequential({ layers: [dense(256, 'relu', [784]), dense(64, 'relu'), dense(256, 'relu'), dense(784, 'sigmoid')] });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
  const x = tf.tensor2d(values, [rows, 784]);
  const speeds: number[] = [];
  let start = performance.now();
  await model.fit(x, x, { batchSize: 256, epochs, shuffle: true, verbose: 0, callbacks: { onEpochEnd: () => {
    speeds.push(rows / ((performance.now() - start) / 1000));
    start = performance.now();
  } } });
  x.dispose();
  model.dispose();
  return speeds;
}

async function worker(name: string, rows: number, epochs: number): Promise<Figure> {
  const baseline = name === 'wasm-layers-unpatched';
  const backend = (baseline ? 'wasm' : name) as BackendName;
  await initBackend(backend, () => {});
  const table = await readIdxTable(IMAGES);
  const data = { values: table.values.subarray(0, rows * table.width), rows, width: table.width };
  if (baseline) {
    const speeds = await layersBaseline(data.values, rows, epochs);
    return { backend: name, rows, samples_per_second: median(speeds), epochs: speeds };
  }
  const speeds: number[] = [];
  const model = await Autoencoder.fit(data, {
    encoder: [256, 64], activation: 'relu', codeActivation: 'relu', outputActivation: 'sigmoid', loss: 'mse', noise: 0,
    optimizer: 'adam', learningRate: 1e-3, lrSchedule: 'constant', batchSize: 256, epochs, validationSplit: 0, scale: 'none',
  }, { onEpoch: (p) => { speeds.push(p.samplesPerSecond); } });
  model.dispose();
  return { backend, rows, samples_per_second: median(speeds), epochs: speeds };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      worker: { type: 'string' }, rows: { type: 'string', default: '60000' }, 'cpu-rows': { type: 'string', default: '6000' },
      epochs: { type: 'string', default: '3' }, backends: { type: 'string', default: 'wasm,cpu,wasm-layers-unpatched' }, 'no-compare': { type: 'boolean', default: false },
    },
  });
  const epochs = Number(values.epochs);
  if (values.worker) {
    console.log(JSON.stringify(await worker(values.worker, Number(values.rows), epochs)));
    return;
  }
  const figures: Figure[] = [];
  for (const backend of values.backends.split(',')) {
    const rows = backend === 'wasm' || backend === 'tensorflow' ? values.rows : values['cpu-rows'];
    const { stdout } = await run(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker', backend, '--rows', rows, '--epochs', String(epochs)], { maxBuffer: 1 << 24 });
    figures.push(JSON.parse(stdout.trim().split('\n').at(-1)!) as Figure);
  }
  let peer: Figure | undefined;
  if (!values['no-compare']) {
    // OPENBLAS_NUM_THREADS: Debian's PyTorch does its matmuls in OpenBLAS, which torch.set_num_threads does not cap.
    const { stdout } = await run('/usr/bin/python3', [`${here}peer/train_speed.py`, values.rows, String(epochs), '1'], { env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } });
    peer = { ...(JSON.parse(stdout) as Figure), rows: Number(values.rows) };
  }
  console.log(`\nTraining speed, Fashion-MNIST recipe, ${epochs} epochs, median samples/s — ${machine()}\n`);
  console.log('| backend | rows | samples/s | ÷ PyTorch |\n|---|---:|---:|---:|');
  for (const f of [...figures, ...(peer ? [peer] : [])]) {
    const ratio = peer ? (f.samples_per_second / peer.samples_per_second).toFixed(3) : '-';
    console.log(`| ${f.backend} | ${f.rows} | ${Math.round(f.samples_per_second)} | ${ratio} |`);
  }
  console.log(`\n${JSON.stringify({ ours: figures, peer })}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
