/**
 * Training speed of the Fashion-MNIST recipe (784-256(relu)-64(relu)-256(relu)-784(sigmoid), MSE, Adam 1e-3,
 * batch 256) through latentflow's own training loop (Autoencoder.fit) on the wasm backend as shipped, and with the
 * native OpenBLAS matmuls of shared/ml/native-blas at 1 and 2 BLAS threads, next to PyTorch (bench/peer) at 1 and
 * 2 threads. Each variant runs in its own process; the variants are interleaved round by round so that a busy machine
 * slows them alike, and the figure is the median samples/s over all timed epochs (the first epoch of each process is
 * warm-up and dropped).
 * With --profile, one extra run of --profile-variant times every wasm kernel and prints a per-step breakdown.
 *
 * Variants: `wasm` (tfjs on wasm with the transpose-first patch, no addon), `native[+kernels][+adam]-T` (tfjs training
 * with native matmuls at T OpenBLAS threads; +kernels adds installNativeTrainingKernels; +adam makes tf.train.adam
 * build a NativeAdam), `fused-T` (the fused native engine of shared/ml/native-train.ts, which Autoencoder.fit picks by
 * itself when the addon loads; the tfjs-based variants switch it off with LATENTFLOW_NATIVE_TRAIN=off), `pytorch-T`,
 * `ceiling-T` (the same step as bare addon calls without tfjs, Adam and activation gradients stood in for).
 *
 * PyTorch threads: Debian's python3-torch does its matmuls in the system OpenBLAS (libblas.so.3 → openblas-pthread),
 * whose thread pool torch.set_num_threads does not size: without OPENBLAS_NUM_THREADS it uses every core. `pytorch-T`
 * therefore also sets OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=T; `pytorch+unpinned-T` only calls set_num_threads(T), as
 * bench/peer/train_speed.py alone does (on this 2-core machine that is 2 BLAS threads whatever T says).
 *
 * With --encode, the variants are inference instead: Autoencoder.encode and .score of the recipe's model on
 * 1000-row matrices (`wasm`: no addon, tfjs kernels; `native-T`: the addon, which encode/score run on directly;
 * `pytorch-T`: the encoder / full model under torch.no_grad on 1000-row tensors), samples/s per pass over the rows.
 *
 * Usage: node --import tsx bench/native-train-speed.ts [--rows 10000] [--epochs 4] [--rounds 3]
 *   [--variants wasm,native+kernels+adam-1,fused-1,fused-2,pytorch-1,pytorch-2]
 *   [--profile] [--profile-variant native+kernels+adam-1]
 *   node --import tsx bench/native-train-speed.ts --encode [--variants wasm,native-1,native-2,pytorch-1,pytorch-2]
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { readIdxTable } from '../shared/data/idx.js';
import { Autoencoder } from '../shared/ml/autoencoder.js';
import { lastTrainingEngine } from '../shared/ml/train.js';
import { initBackend } from '../shared/ml/backend.js';
import { installNativeMatMul, installNativeTrainingKernels, loadNativeBlas, NativeAdam, nativeAdam, nativeBlasError } from '../shared/ml/native-blas.js';
import { machine } from './machine.js';
import { median } from './stats.js';

const run = promisify(execFile);
const IMAGES = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const PEER = fileURLToPath(new URL('peer/train_speed.py', import.meta.url));
const BATCH = 256;
const DEFAULT_VARIANTS = 'wasm,native+kernels+adam-1,fused-1,fused-2,pytorch-1,pytorch-2';

interface Figure { variant: string; epochs: number[]; note?: string; profile?: KernelRow[] }
interface KernelRow { kernel: string; callsPerStep: number; msPerStep: number }

/** Replaces every registered wasm kernel by a timed wrapper; returns the per-kernel totals (ms, calls). */
function timeKernels(): Map<string, { ms: number; calls: number }> {
  const totals = new Map<string, { ms: number; calls: number }>();
  for (const config of tf.getKernelsForBackend('wasm')) {
    const inner = config.kernelFunc;
    const kernelFunc: tf.KernelFunc = (args) => {
      const start = performance.now();
      try {
        return inner(args);
      } finally {
        const ms = performance.now() - start;
        let key = config.kernelName;
        if (key === tf.BatchMatMul || key === tf._FusedMatMul) {
          const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
          const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
          key += ` [${a.shape.join('x')}]${transposeA ? 'ᵀ' : ''}·[${b.shape.join('x')}]${transposeB ? 'ᵀ' : ''}`;
        }
        const t = totals.get(key) ?? { ms: 0, calls: 0 };
        t.ms += ms;
        t.calls += 1;
        totals.set(key, t);
      }
    };
    tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel({ ...config, kernelFunc });
  }
  // NativeAdam's update runs outside the kernel registry; its 2 accBeta Multiply kernels are counted twice.
  const apply = NativeAdam.prototype.applyGradients; // eslint-disable-line @typescript-eslint/unbound-method
  NativeAdam.prototype.applyGradients = function (this: NativeAdam, grads) {
    const start = performance.now();
    try {
      apply.call(this, grads);
    } finally {
      const t = totals.get('NativeAdam.applyGradients') ?? { ms: 0, calls: 0 };
      t.ms += performance.now() - start;
      t.calls += 1;
      totals.set('NativeAdam.applyGradients', t);
    }
  };
  return totals;
}

async function worker(variant: string, rows: number, epochs: number, profile: boolean): Promise<Figure> {
  await initBackend('wasm', () => undefined);
  let note: string | undefined;
  const [base, threads] = variant.split('-');
  const parts = base.split('+');
  if (parts[0] !== 'fused') process.env.LATENTFLOW_NATIVE_TRAIN = 'off';
  if (parts[0] === 'native' || parts[0] === 'fused') {
    const blas = loadNativeBlas();
    if (blas === undefined || !installNativeMatMul()) throw new Error(`native BLAS unavailable: ${nativeBlasError()}`);
    blas.setNumThreads(Number(threads ?? 1));
    note = `${blas.config().replace(/^OpenBLAS (\S+).*core (\S+)$/, 'OpenBLAS $1 ($2)')}, ${blas.getNumThreads()} thread(s)`;
    if (parts.includes('kernels') && !installNativeTrainingKernels()) throw new Error('training kernels unavailable');
    if (parts.includes('adam')) {
      // Autoencoder.fit builds its optimizer with tf.train.adam (shared/ml/train.ts makeOptimizer).
      const train = tf.train as unknown as { adam: (...args: Parameters<typeof tf.train.adam>) => tf.AdamOptimizer };
      const stock = train.adam.bind(tf.train);
      train.adam = (...args) => nativeAdam(...args) ?? stock(...args);
    }
  }
  const totals = profile ? timeKernels() : undefined;
  const table = await readIdxTable(IMAGES);
  const data = { values: table.values.subarray(0, rows * table.width), rows, width: table.width };
  const speeds: number[] = [];
  let profileStart = 0;
  let profileMs = 0;
  let kept: Map<string, { ms: number; calls: number }> | undefined;
  await Autoencoder.fit(data, {
    encoder: [256, 64], activation: 'relu', codeActivation: 'relu', outputActivation: 'sigmoid', loss: 'mse', noise: 0,
    optimizer: 'adam', learningRate: 1e-3, lrSchedule: 'constant', batchSize: BATCH, epochs, validationSplit: 0, scale: 'none',
  }, {
    onEpoch: (p) => {
      speeds.push(p.samplesPerSecond);
      if (p.epoch === 1) {
        totals?.clear(); // epoch 1 is warm-up
        profileStart = performance.now();
      } else if (p.epoch === epochs) {
        profileMs = performance.now() - profileStart;
        if (totals !== undefined) kept = new Map([...totals].map(([k, t]) => [k, { ...t }])); // before scoring
      }
    },
  }).then((model) => model.dispose());
  note = `${note ?? 'tfjs wasm'}; engine ${lastTrainingEngine()}`;
  const figure: Figure = { variant, epochs: speeds.slice(1), note };
  if (kept !== undefined) {
    const steps = (epochs - 1) * Math.ceil(rows / BATCH);
    figure.profile = [...kept].map(([kernel, t]) => ({ kernel, callsPerStep: t.calls / steps, msPerStep: t.ms / steps }))
      .sort((x, y) => y.msPerStep - x.msPerStep);
    figure.profile.push({ kernel: '(step wall time)', callsPerStep: 1, msPerStep: profileMs / steps });
  }
  return figure;
}

const ENCODE_BATCH = 1000;

/** Inference speed (see the header): samples/s of encode and of score, one figure per pass over the rows. */
async function encodeWorker(variant: string, rows: number, passes: number): Promise<Figure[]> {
  const [base, threads] = variant.split('-');
  if (base === 'wasm') process.env.LATENTFLOW_NATIVE_BLAS = 'off';
  await initBackend('wasm', () => undefined);
  let note = 'tfjs wasm kernels';
  if (base === 'native') {
    const blas = loadNativeBlas();
    if (blas === undefined || !installNativeMatMul()) throw new Error(`native BLAS unavailable: ${nativeBlasError()}`);
    installNativeTrainingKernels();
    blas.setNumThreads(Number(threads ?? 1));
    note = `addon, ${blas.getNumThreads()} thread(s)`;
  }
  const table = await readIdxTable(IMAGES);
  const data = { values: table.values.subarray(0, rows * table.width), rows, width: table.width };
  const model = await Autoencoder.fit(data, {
    encoder: [256, 64], activation: 'relu', codeActivation: 'relu', outputActivation: 'sigmoid', loss: 'mse', noise: 0,
    batchSize: BATCH, epochs: 1, validationSplit: 0, scale: 'none',
  });
  const figures: Figure[] = (['encode', 'score'] as const).map((what) => {
    const speeds: number[] = [];
    for (let pass = 0; pass <= passes; pass++) {
      const start = performance.now();
      for (let r = 0; r < rows; r += ENCODE_BATCH) {
        const n = Math.min(ENCODE_BATCH, rows - r);
        const m = { values: data.values.subarray(r * data.width, (r + n) * data.width), rows: n, width: data.width };
        if (what === 'encode') model.encode(m);
        else model.score(m);
      }
      speeds.push(rows / ((performance.now() - start) / 1000));
    }
    return { variant: `${what} ${variant}`, epochs: speeds.slice(1), note }; // pass 0 is warm-up
  });
  model.dispose();
  return figures;
}

const PEER_ENCODE = `
import gzip, json, sys, time
import numpy as np, torch
rows, passes, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads); torch.manual_seed(0)
with gzip.open('${IMAGES}') as f:
    X = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:rows].astype(np.float32) / 255
L = torch.nn.Linear
enc = torch.nn.Sequential(L(784, 256), torch.nn.ReLU(), L(256, 64), torch.nn.ReLU())
dec = torch.nn.Sequential(L(64, 256), torch.nn.ReLU(), L(256, 784), torch.nn.Sigmoid())
out = {}
with torch.no_grad():
    for what in ('encode', 'score'):
        speeds = []
        for p in range(passes + 1):
            t = time.time()
            for i in range(0, rows, ${ENCODE_BATCH}):
                x = torch.from_numpy(X[i:i + ${ENCODE_BATCH}])
                z = enc(x)
                if what == 'encode': z.numpy()
                else: ((dec(z) - x) ** 2).mean(1).numpy()
            speeds.append(rows / (time.time() - t))
        out[what] = speeds[1:]
print(json.dumps({'backend': f'pytorch {torch.__version__}', **out}))
`;

/** OPENBLAS_NUM_THREADS / OMP_NUM_THREADS for a PyTorch variant (see the header), or the environment unchanged. */
function peerEnv(variant: string): NodeJS.ProcessEnv {
  const threads = /-(\d+)$/.exec(variant)?.[1] ?? '1';
  if (variant.startsWith('pytorch+unpinned')) return process.env;
  return { ...process.env, OPENBLAS_NUM_THREADS: threads, OMP_NUM_THREADS: threads };
}

/**
 * The ceiling of a native training step: the recipe's forward, backward and Adam as direct addon calls on one
 * Float32Array, no tfjs at all: 11 sgemm (the input gradient of layer 1 is not needed), bias+activation epilogues,
 * column sums for the bias gradients, one elementwise pass per activation gradient (stood in for by an epilogue pass
 * of the same memory traffic) and 8 Adam updates. Returns samples/s for each repetition.
 */
function ceiling(threads: number, reps: number, steps = 40): number[] {
  const blas = loadNativeBlas();
  if (blas === undefined) throw new Error(`native BLAS unavailable: ${nativeBlasError()}`);
  blas.setNumThreads(threads);
  const widths = [784, 256, 64, 256, 784];
  let top = 0;
  const alloc = (n: number): number => ((top += n), top - n);
  const x = alloc(BATCH * 784);
  const layers = widths.slice(1).map((out, l) => {
    const inp = widths[l];
    const p = { inp, out, w: alloc(inp * out), b: alloc(out), z: alloc(BATCH * out), dz: alloc(BATCH * out) };
    return { ...p, dw: alloc(inp * out), db: alloc(out), mw: alloc(inp * out), vw: alloc(inp * out), mb: alloc(out), vb: alloc(out) };
  });
  const h = new Float32Array(top).map((_, i) => ((i * 2654435761) % 1000) / 1e4);
  const step = (): void => {
    let input = x;
    layers.forEach((L, l) => {
      blas.sgemm(false, false, BATCH, L.out, L.inp, 1, h, input, L.inp, h, L.w, L.out, 0, h, L.z, L.out);
      blas.epilogue(h, L.z, BATCH, L.out, h, L.b, L.out, l === 3 ? 5 : 1, 0, null, 0, 0);
      input = L.z;
    });
    blas.epilogue(h, layers[3].dz, BATCH, 784, h, layers[3].z, BATCH * 784, 0, 0, null, 0, 0); // loss + sigmoid gradient
    for (let l = 3; l >= 0; l--) {
      const L = layers[l];
      const inputOf = l === 0 ? x : layers[l - 1].z;
      blas.sgemm(true, false, L.inp, L.out, BATCH, 1, h, inputOf, L.inp, h, L.dz, L.out, 0, h, L.dw, L.out);
      blas.colsum(h, L.dz, BATCH, L.out, h, L.db);
      if (l > 0) {
        blas.sgemm(false, true, BATCH, L.inp, L.out, 1, h, L.dz, L.out, h, L.w, L.out, 0, h, layers[l - 1].dz, L.inp);
        blas.epilogue(h, layers[l - 1].dz, BATCH, L.inp, null, 0, 0, 1, 0, null, 0, 0); // relu gradient stand-in
      }
      blas.adam(h, L.inp * L.out, L.w, L.dw, L.mw, L.vw, L.w, L.mw, L.vw, 1e-3, 0.9, 0.999, 1e-7, 0.1, 0.001);
      blas.adam(h, L.out, L.b, L.db, L.mb, L.vb, L.b, L.mb, L.vb, 1e-3, 0.9, 0.999, 1e-7, 0.1, 0.001);
    }
  };
  for (let i = 0; i < 10; i++) step();
  const speeds: number[] = [];
  for (let r = 0; r < reps; r++) {
    const start = performance.now();
    for (let i = 0; i < steps; i++) step();
    speeds.push((steps * BATCH) / ((performance.now() - start) / 1000));
  }
  return speeds;
}

async function spawn(variant: string, rows: number, epochs: number, profile = false): Promise<Figure> {
  if (variant.startsWith('pytorch')) {
    const threads = /-(\d+)$/.exec(variant)?.[1] ?? '1';
    const env = peerEnv(variant);
    const { stdout } = await run('/usr/bin/python3', [PEER, String(rows), String(epochs), threads], { env });
    const out = JSON.parse(stdout) as { backend: string; epochs: number[] };
    return { variant, epochs: out.epochs.slice(1), note: `${out.backend}, OpenBLAS threads ${env.OPENBLAS_NUM_THREADS ?? 'unset (all cores)'}` };
  }
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker', variant, '--rows', String(rows), '--epochs', String(epochs)];
  const { stdout } = await run(process.execPath, profile ? [...args, '--profile'] : args, { maxBuffer: 1 << 24 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Figure;
}

/** One inference variant in its own process: figures for encode and score. */
async function spawnEncode(variant: string, rows: number, passes: number): Promise<Figure[]> {
  if (variant.startsWith('pytorch')) {
    const threads = /-(\d+)$/.exec(variant)?.[1] ?? '1';
    const env = peerEnv(variant);
    const { stdout } = await run('/usr/bin/python3', ['-c', PEER_ENCODE, String(rows), String(passes), threads], { env });
    const out = JSON.parse(stdout) as { backend: string; encode: number[]; score: number[] };
    const note = `${out.backend}, OpenBLAS threads ${env.OPENBLAS_NUM_THREADS ?? 'unset (all cores)'}`;
    return [{ variant: `encode ${variant}`, epochs: out.encode, note }, { variant: `score ${variant}`, epochs: out.score, note }];
  }
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--encode', '--worker', variant, '--rows', String(rows), '--epochs', String(passes + 1)];
  const { stdout } = await run(process.execPath, args, { maxBuffer: 1 << 24 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Figure[];
}

async function encodeMain(variants: string[], rows: number, passes: number, rounds: number): Promise<void> {
  const all = new Map<string, Figure>();
  for (let round = 0; round < rounds; round++) {
    for (const v of variants) {
      try {
        for (const f of await spawnEncode(v, rows, passes)) {
          const kept = all.get(f.variant) ?? { variant: f.variant, epochs: [] };
          kept.epochs.push(...f.epochs);
          kept.note = f.note;
          all.set(f.variant, kept);
        }
      } catch (err) {
        all.set(`encode ${v}`, { variant: `encode ${v}`, epochs: [], note: `failed: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}` });
      }
      process.stderr.write(`round ${round + 1}/${rounds} ${v}\n`);
    }
  }
  const speed = (k: string): number => (all.get(k)?.epochs.length ? median(all.get(k)!.epochs) : NaN);
  console.log(`\nInference speed, Fashion-MNIST recipe model, ${rows} rows in ${ENCODE_BATCH}-row calls, median samples/s over ${rounds}×${passes} passes — ${machine()}\n`);
  console.log('| variant | encode samples/s | ÷ PyTorch | score samples/s | ÷ PyTorch | note |\n|---|---:|---:|---:|---:|---|');
  for (const v of variants) {
    const threads = /-(\d+)$/.exec(v)?.[1] ?? '1';
    const peer = variants.includes(`pytorch-${threads}`) ? `pytorch-${threads}` : undefined;
    const ratio = (what: string): string => (peer ? (speed(`${what} ${v}`) / speed(`${what} ${peer}`)).toFixed(3) : '-');
    console.log(`| ${v} | ${Math.round(speed(`encode ${v}`))} | ${ratio('encode')} | ${Math.round(speed(`score ${v}`))} | ${ratio('score')} | ${all.get(`encode ${v}`)?.note ?? ''} |`);
  }
  console.log(`\n${JSON.stringify({ rows, passes, rounds, figures: [...all.values()].map((f) => ({ ...f, samples_per_second: speed(f.variant) })) })}`);
}

function printProfile(figure: Figure): void {
  const rows = figure.profile!;
  const wall = rows.find((r) => r.kernel === '(step wall time)')!.msPerStep;
  const kernels = rows.filter((r) => r.kernel !== '(step wall time)');
  const inKernels = kernels.reduce((s, r) => s + r.msPerStep, 0);
  const group = (r: KernelRow): string =>
    r.kernel.startsWith(tf.BatchMatMul) || r.kernel.startsWith(tf._FusedMatMul) ? 'matmul' : r.kernel;
  const grouped = new Map<string, { ms: number; calls: number }>();
  for (const r of kernels) {
    const g = grouped.get(group(r)) ?? { ms: 0, calls: 0 };
    g.ms += r.msPerStep;
    g.calls += r.callsPerStep;
    grouped.set(group(r), g);
  }
  console.log(`\nPer-kernel time of one training step (${figure.variant}; ${figure.note ?? ''}), ms/step\n`);
  console.log('| kernel | calls/step | ms/step | % of step |\n|---|---:|---:|---:|');
  for (const [k, g] of [...grouped].sort((x, y) => y[1].ms - x[1].ms)) {
    console.log(`| ${k} | ${g.calls.toFixed(1)} | ${g.ms.toFixed(3)} | ${((100 * g.ms) / wall).toFixed(1)} |`);
  }
  console.log(`| (kernel calls per step: ${kernels.filter((r) => !r.kernel.startsWith('NativeAdam')).reduce((c, r) => c + r.callsPerStep, 0).toFixed(0)}) | | | |`);
  console.log(`| outside kernels (tfjs dispatch, tape, JS) | | ${(wall - inKernels).toFixed(3)} | ${((100 * (wall - inKernels)) / wall).toFixed(1)} |`);
  console.log(`| **step** | | **${wall.toFixed(3)}** | 100 |\n`);
  console.log('| matmul | calls/step | ms/step |\n|---|---:|---:|');
  for (const r of kernels.filter((x) => group(x) === 'matmul')) console.log(`| ${r.kernel} | ${r.callsPerStep.toFixed(1)} | ${r.msPerStep.toFixed(3)} |`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      worker: { type: 'string' }, rows: { type: 'string', default: '10000' }, epochs: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '3' }, variants: { type: 'string', default: DEFAULT_VARIANTS },
      profile: { type: 'boolean', default: false }, 'profile-variant': { type: 'string', default: 'native+kernels+adam-1' },
      encode: { type: 'boolean', default: false },
    },
  });
  const [rows, epochs, rounds] = [Number(values.rows), Number(values.epochs), Number(values.rounds)];
  if (values.encode) {
    if (values.worker !== undefined) console.log(JSON.stringify(await encodeWorker(values.worker, rows, epochs - 1)));
    else await encodeMain(values.variants === DEFAULT_VARIANTS ? ['wasm', 'native-1', 'native-2', 'pytorch-1', 'pytorch-2'] : values.variants.split(','), rows, epochs - 1, rounds);
    return;
  }
  if (values.worker?.startsWith('ceiling-')) {
    const speeds = ceiling(Number(values.worker.slice('ceiling-'.length)), epochs - 1);
    console.log(JSON.stringify({ variant: values.worker, epochs: speeds, note: 'native step without tfjs (upper bound)' }));
    return;
  }
  if (values.worker !== undefined) {
    console.log(JSON.stringify(await worker(values.worker, rows, epochs, values.profile)));
    return;
  }
  const variants = values.variants.split(',');
  const all = new Map<string, Figure>(variants.map((v) => [v, { variant: v, epochs: [] }]));
  for (let round = 0; round < rounds; round++) {
    for (const v of variants) {
      try {
        const f = await spawn(v, rows, epochs);
        all.get(v)!.epochs.push(...f.epochs);
        all.get(v)!.note = f.note;
      } catch (err) {
        all.get(v)!.note = `failed: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`;
      }
      process.stderr.write(`round ${round + 1}/${rounds} ${v}: ${all.get(v)!.epochs.map(Math.round).join(', ')}\n`);
    }
  }
  const speed = (v: string): number => (all.get(v)!.epochs.length > 0 ? median(all.get(v)!.epochs) : NaN);
  console.log(`\nTraining speed, Fashion-MNIST recipe, ${rows} rows, batch ${BATCH}, median samples/s over ${rounds}×${epochs - 1} epochs — ${machine()}\n`);
  const peer = (v: string): string | undefined => {
    const threads = /-(\d+)$/.exec(v)?.[1] ?? '1';
    return variants.includes(`pytorch-${threads}`) ? `pytorch-${threads}` : undefined;
  };
  console.log('| variant | samples/s | ÷ PyTorch (same threads) | note |\n|---|---:|---:|---|');
  for (const v of variants) {
    const p = peer(v === 'wasm' ? 'wasm-1' : v);
    const ratio = p !== undefined ? (speed(v) / speed(p)).toFixed(3) : '-';
    console.log(`| ${v} | ${Math.round(speed(v))} | ${ratio} | ${all.get(v)!.note ?? ''} |`);
  }
  if (values.profile) printProfile(await spawn(values['profile-variant'], rows, epochs, true));
  console.log(`\n${JSON.stringify({ rows, epochs, rounds, figures: [...all.values()].map((f) => ({ ...f, samples_per_second: speed(f.variant) })) })}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
