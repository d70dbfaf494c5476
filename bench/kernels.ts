/**
 * Matmul GFLOPS for the Fashion-MNIST dense autoencoder 784-256-64-256-784 at batch 256: the forward product X·W
 * and the two backward products dY·Wᵀ (input gradient) and Xᵀ·dY (weight gradient) of each layer, on the cpu
 * backend, wasm as shipped, wasm with the transposed-matmul patch, and wasm with the native OpenBLAS kernels at 1
 * and 2 threads (when the addon is built: npm run build:native). Median of several repetitions, variants
 * interleaved. Writes bench/results/kernels.{json,md}.
 * Run: npm run bench -- kernels [--reps 7]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../shared/ml/backend.js';
import { installNativeMatMul, loadNativeBlas, uninstallNativeMatMul } from '../shared/ml/native-blas.js';
import { patchWasmMatMul, unpatchWasmMatMul } from '../shared/ml/wasm-kernels.js';
import { machineDetails, machineMarkdown } from './machine.js';
import { writeResults } from './results-file.js';
import { median } from './stats.js';

interface Case { label: string; a: [number, number]; b: [number, number]; transposeA: boolean; transposeB: boolean }
interface Variant { name: string; backend: 'cpu' | 'wasm'; patched: boolean; blasThreads?: number }

const BATCH = 256;
const WIDTHS = [784, 256, 64, 256, 784];
const REPS_ARG = process.argv.indexOf('--reps');
const REPS = REPS_ARG > 0 ? Math.max(1, Number(process.argv[REPS_ARG + 1]) || 7) : 7;
const MIN_REP_SECONDS = 0.05;

const CASES: Case[] = WIDTHS.slice(1).flatMap((out, i) => {
  const inp = WIDTHS[i];
  return [
    { label: `${inp}→${out} fwd X·W`, a: [BATCH, inp], b: [inp, out], transposeA: false, transposeB: false },
    { label: `${inp}→${out} dX = dY·Wᵀ`, a: [BATCH, out], b: [inp, out], transposeA: false, transposeB: true },
    { label: `${inp}→${out} dW = Xᵀ·dY`, a: [BATCH, inp], b: [BATCH, out], transposeA: true, transposeB: false },
  ];
});

const VARIANTS: Variant[] = [
  { name: 'cpu', backend: 'cpu', patched: false },
  { name: 'wasm', backend: 'wasm', patched: false },
  { name: 'wasm + fix', backend: 'wasm', patched: true },
  ...(loadNativeBlas() ? [1, 2].map((t): Variant => ({ name: `native ${t}T`, backend: 'wasm', patched: true, blasThreads: t })) : []),
];

function flops(c: Case): number {
  const [m, k] = c.transposeA ? [c.a[1], c.a[0]] : c.a;
  const n = c.transposeB ? c.b[0] : c.b[1];
  return 2 * m * n * k;
}

function seconds(run: () => void, iterations: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function use(v: Variant): Promise<void> {
  await tf.setBackend(v.backend);
  if (v.backend !== 'wasm') return;
  uninstallNativeMatMul();
  if (v.patched) patchWasmMatMul();
  else unpatchWasmMatMul();
  if (v.blasThreads !== undefined) {
    loadNativeBlas()!.setNumThreads(v.blasThreads);
    installNativeMatMul();
  }
}

/** Variants interleaved repetition by repetition, so a busy machine slows them alike. */
async function measure(c: Case): Promise<Record<string, number>> {
  const runs = new Map<string, { run: () => void; iterations: number; gflops: number[]; inputs: tf.Tensor[] }>();
  for (let rep = -1; rep < REPS; rep++) {
    for (const v of VARIANTS) {
      await use(v);
      let r = runs.get(v.name);
      if (r === undefined) {
        const [a, b] = [tf.randomNormal(c.a, 0, 1, 'float32', 1), tf.randomNormal(c.b, 0, 1, 'float32', 2)];
        const run = (): void => tf.matMul(a, b, c.transposeA, c.transposeB).dispose();
        seconds(run, 2);
        const iterations = Math.max(1, Math.ceil(MIN_REP_SECONDS / Math.max(seconds(run, 1), 1e-6)));
        runs.set(v.name, (r = { run, iterations, gflops: [], inputs: [a, b] }));
      }
      if (rep >= 0) r.gflops.push((flops(c) * r.iterations) / seconds(r.run, r.iterations) / 1e9);
    }
  }
  for (const v of VARIANTS) {
    await use(v);
    tf.dispose(runs.get(v.name)!.inputs);
  }
  return Object.fromEntries([...runs].map(([name, r]) => [name, median(r.gflops)]));
}

await initBackend('wasm', () => undefined);
const results: Record<string, Record<string, number>> = {};
for (const c of CASES) results[c.label] = await measure(c);
await use(VARIANTS[2]);

const fmt = (x: number): string => x.toFixed(2);
const lines = [
  `| matmul (batch ${BATCH}) | ${VARIANTS.map((v) => v.name).join(' | ')} | fix speed-up |`,
  `|---|${VARIANTS.map(() => '---:').join('|')}|---:|`,
  ...CASES.map((c) => {
    const r = results[c.label];
    return `| ${c.label} | ${VARIANTS.map((v) => fmt(r[v.name])).join(' | ')} | ${fmt(r['wasm + fix'] / r.wasm)}× |`;
  }),
];
const totalFlops = CASES.reduce((s, c) => s + flops(c), 0);
const step = Object.fromEntries(
  VARIANTS.map((v) => [v.name, totalFlops / CASES.reduce((s, c) => s + flops(c) / (results[c.label][v.name] * 1e9), 0) / 1e9]),
);
lines.push(`| **all 12 (one train step)** | ${VARIANTS.map((v) => `**${fmt(step[v.name])}**`).join(' | ')} | **${fmt(step['wasm + fix'] / step.wasm)}×** |`);
const machine = machineDetails();
const markdown = `# Matmul GFLOPS, Fashion-MNIST autoencoder shapes\n\n${machineMarkdown(machine)}\n\nMedian of ${REPS} repetitions; command: \`npm run bench -- kernels\`\n\n${lines.join('\n')}`;
console.log(markdown);
const json = { machine, unit: 'GFLOPS', batch: BATCH, reps: REPS, native: loadNativeBlas()?.config() ?? null, cases: results, trainStep: step };
console.log(JSON.stringify(json, null, 2));
console.error(`wrote ${(await writeResults('kernels', json, markdown)).join(', ')}`);
