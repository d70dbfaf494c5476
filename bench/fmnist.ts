/**
 * The Fashion-MNIST recipe of ../shared/reference/REFERENCE.md, our side and (with --compare) PyTorch + scikit-learn's
 * fmnist_reference.py measured in the same sitting, at the same thread count:
 * AE 784-256(relu)-64(relu)-256(relu)-784(sigmoid), MSE, Adam 1e-3, batch 256, pixels / 255; K-means k = 10 with 10
 * restarts on the 10k test codes; RBF SVM (C = 10, gamma 'scale') trained on the first 10k training codes and tested
 * on the test codes; one-class: one AE per class on that class's training images, AUROC of the per-image error on the
 * whole test set.
 *
 * With --compare, scikit-learn's K-means and SVC also run on OUR codes (bench/peer/same_codes.py), so the two stages
 * are compared on identical inputs too.
 *
 * Usage: npm run bench -- fmnist [--epochs 20] [--threads 1,2] [--compare] [--no-oneclass] [--rows N] [--out DIR] [--json]
 * Writes bench/results/fmnist.json ({machine, settings, runs: [{threads, ours, peer, ratios, peer_on_our_codes,
 * ratios_on_our_codes}]}) and fmnist.md.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { accuracy, auroc, ari, clusteringAccuracy, fitKMeans, nmi, trainSvm } from '../shared/analytics/index.js';
import { loadConfig } from '../shared/config.js';
import { selectRows } from '../shared/data/table.js';
import { sliceRows } from '../shared/pipeline/rows.js';
import { Autoencoder } from '../shared/ml/autoencoder.js';
import { initBackend, type BackendName } from '../shared/ml/backend.js';
import { saveCodes } from './codes-file.js';
import { loadFashionMnist, REFERENCE_RECIPE } from './fmnist-data.js';
import { machineDetails, machineMarkdown } from './machine.js';
import { writeResults } from './results-file.js';
import { median } from './stats.js';

const run = promisify(execFile);
const PEER = process.env.LATENTFLOW_PEER_DIR ?? fileURLToPath(new URL('../../shared/reference/', import.meta.url));

/** The figures both sides report, with the same keys. */
export interface FmnistFigures {
  train_samples_per_second: number;
  encode_samples_per_second: number;
  test_mse: number;
  kmeans_acc: number;
  kmeans_nmi: number;
  kmeans_ari: number;
  kmeans_seconds: number;
  svm_acc: number;
  svm_seconds: number;
  oneclass_auroc_per_class?: number[];
  oneclass_auroc_mean?: number;
}

/** Ours only: the SVM trained on fewer of the 10k training codes (the classify stage's maxTrain), tested alike. */
export interface SvmSubsample {
  rows: number;
  svm_acc: number;
  svm_seconds: number;
}

async function ours(epochs: number, rows: number, oneclass: boolean, backend: BackendName, codesDir?: string): Promise<FmnistFigures & { svm_subsample: SvmSubsample[] }> {
  await initBackend(backend, () => {}, { blasThreads: loadConfig().blasThreads });
  const { train, test } = await loadFashionMnist(rows);
  const speeds: number[] = [];
  const model = await Autoencoder.fit(train, { ...REFERENCE_RECIPE, epochs, seed: 0 }, { onEpoch: (p) => { speeds.push(p.samplesPerSecond); } });
  try {
    const { errors, codes } = model.score(test, { codes: true });
    const testMse = errors.reduce((s, e) => s + e, 0) / errors.length;
    // Encode speed: batches of 1000 as the peer measures it, median of 5 passes over the test set.
    const passes: number[] = [];
    for (let pass = 0; pass < 5; pass++) {
      const started = performance.now();
      for (let r = 0; r < test.rows; r += 1000) model.encode({ values: test.values.subarray(r * 784, Math.min(test.rows, r + 1000) * 784), rows: Math.min(1000, test.rows - r), width: 784 });
      passes.push(test.rows / ((performance.now() - started) / 1000));
    }
    const testCodes = { values: codes!, rows: test.rows, width: 64 };
    let started = performance.now();
    const km = fitKMeans(testCodes, { k: 10, restarts: 10, seed: 0 });
    const kmeansSeconds = (performance.now() - started) / 1000;
    const svmRows = Math.min(10_000, train.rows);
    const trainCodes = { values: model.encode(sliceRows(train, 0, svmRows)), rows: svmRows, width: 64 };
    if (codesDir !== undefined) await saveCodes(codesDir, 64, { values: trainCodes.values, labels: train.labels!.slice(0, svmRows) }, { values: codes!, labels: test.labels! });
    started = performance.now();
    const svm = await trainSvm(trainCodes, train.labels!.slice(0, svmRows), { kernel: 'rbf', C: 10, gamma: 'scale' });
    const predicted = svm.predict(testCodes);
    const svmSeconds = (performance.now() - started) / 1000;
    svm.free();
    const svmSubsample: SvmSubsample[] = [];
    for (const n of [2500, 5000].filter((r) => r < svmRows)) {
      started = performance.now();
      const small = await trainSvm({ values: trainCodes.values.subarray(0, n * 64), rows: n, width: 64 }, train.labels!.slice(0, n), { kernel: 'rbf', C: 10, gamma: 'scale' });
      const p = small.predict(testCodes);
      svmSubsample.push({ rows: n, svm_acc: accuracy(test.labels!, p), svm_seconds: (performance.now() - started) / 1000 });
      small.free();
    }
    const figures: FmnistFigures & { svm_subsample: SvmSubsample[] } = {
      train_samples_per_second: median(speeds), encode_samples_per_second: median(passes), test_mse: testMse,
      kmeans_acc: clusteringAccuracy(test.labels!, km.assignments), kmeans_nmi: nmi(test.labels!, km.assignments), kmeans_ari: ari(test.labels!, km.assignments),
      kmeans_seconds: kmeansSeconds, svm_acc: accuracy(test.labels!, predicted), svm_seconds: svmSeconds,
      svm_subsample: svmSubsample,
    };
    if (oneclass) {
      const per: number[] = [];
      for (let c = 0; c < 10; c++) {
        const normal = selectRows(train, train.labels!.flatMap((l, i) => (l === String(c) ? [i] : [])));
        const one = await Autoencoder.fit(normal, { ...REFERENCE_RECIPE, epochs, seed: 0 });
        const scores = one.score(test).errors;
        one.dispose();
        per.push(auroc(test.labels!.map((l) => (l === String(c) ? 0 : 1)), scores));
      }
      figures.oneclass_auroc_per_class = per;
      figures.oneclass_auroc_mean = per.reduce((s, a) => s + a, 0) / per.length;
    }
    return figures;
  } finally {
    model.dispose();
  }
}

/**
 * The reference script at `threads` threads. Debian's PyTorch runs its matmuls in the system OpenBLAS, which
 * `torch.set_num_threads` does not cap: OPENBLAS_NUM_THREADS does (without it "1 thread" uses every core).
 */
async function peer(epochs: number, threads: number, oneclass: boolean): Promise<FmnistFigures> {
  const script = `${PEER}fmnist_reference.py`;
  if (!existsSync(script)) throw new Error(`--compare needs ${script} (set LATENTFLOW_PEER_DIR)`);
  const { stdout } = await run('/usr/bin/python3', [script, String(epochs), String(threads)], { maxBuffer: 1 << 24, env: { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) } });
  const p = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, number & number[]>;
  return {
    train_samples_per_second: p.train_samples_per_s, encode_samples_per_second: p.encode_samples_per_s, test_mse: p.test_recon_mse,
    kmeans_acc: p.kmeans_acc, kmeans_nmi: p.kmeans_nmi, kmeans_ari: p.kmeans_ari, kmeans_seconds: p.kmeans_s,
    svm_acc: p.svm_acc, svm_seconds: p.svm_s,
    ...(oneclass ? { oneclass_auroc_per_class: p.oneclass_auroc_per_class, oneclass_auroc_mean: p.oneclass_auroc_mean } : {}),
  };
}

/** scikit-learn's K-means and SVC on our codes, timed like the reference, at `threads` threads. */
async function peerOnOurCodes(dir: string, threads: number): Promise<Partial<FmnistFigures>> {
  const script = fileURLToPath(new URL('./peer/same_codes.py', import.meta.url));
  const { stdout } = await run('/usr/bin/python3', [script, dir, String(threads)], { maxBuffer: 1 << 24 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Partial<FmnistFigures>;
}

/** ours ÷ peer for speeds, peer ÷ ours for seconds (above 1 = we are faster), ours ÷ peer for quality. */
function ratios(o: FmnistFigures, p: Partial<FmnistFigures>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(o) as (keyof FmnistFigures)[]) {
    const [a, b] = [o[key], p[key]];
    if (typeof a !== 'number' || typeof b !== 'number') continue;
    out[key] = key.endsWith('_seconds') ? b / a : a / b;
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      worker: { type: 'string' }, epochs: { type: 'string', default: '20' }, threads: { type: 'string', default: '1' },
      rows: { type: 'string', default: '60000' }, compare: { type: 'boolean', default: false }, 'no-oneclass': { type: 'boolean', default: false },
      backend: { type: 'string', default: 'wasm' }, out: { type: 'string' }, 'codes-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const epochs = Number(values.epochs);
  const oneclass = !values['no-oneclass'];
  if (values.worker !== undefined) {
    console.log(JSON.stringify(await ours(epochs, Number(values.rows), oneclass, values.backend as BackendName, values['codes-dir'])));
    return;
  }
  const runs: {
    threads: number; ours: FmnistFigures & { svm_subsample: SvmSubsample[] }; peer?: FmnistFigures; ratios?: Record<string, number>;
    /** scikit-learn on our codes: the stages compared on identical inputs. */
    peer_on_our_codes?: Partial<FmnistFigures>; ratios_on_our_codes?: Record<string, number>;
  }[] = [];
  for (const threads of values.threads.split(',').map(Number)) {
    // Each side in its own process, one after the other, with the thread count in the environment.
    const env = { ...process.env, LATENTFLOW_BLAS_THREADS: String(threads) };
    console.error(`threads ${threads}: ours (${values.backend}, ${epochs} epochs${oneclass ? ', one-class' : ''}) …`);
    const codesDir = await mkdtemp(path.join(tmpdir(), 'lf-fmnist-'));
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker', '1', '--epochs', String(epochs), '--rows', values.rows, '--backend', values.backend, '--codes-dir', codesDir, ...(oneclass ? [] : ['--no-oneclass'])], { maxBuffer: 1 << 24, env });
      const o = JSON.parse(stdout.trim().split('\n').at(-1)!) as FmnistFigures & { svm_subsample: SvmSubsample[] };
      if (!values.compare) {
        runs.push({ threads, ours: o });
        continue;
      }
      console.error(`threads ${threads}: PyTorch + scikit-learn …`);
      const p = await peer(epochs, threads, oneclass);
      const same = await peerOnOurCodes(codesDir, threads);
      runs.push({ threads, ours: o, peer: p, ratios: ratios(o, p), peer_on_our_codes: same, ratios_on_our_codes: ratios(o, same) });
    } finally {
      await rm(codesDir, { recursive: true, force: true });
    }
  }
  const machine = machineDetails();
  const settings = { epochs, rows: Number(values.rows), backend: values.backend, oneclass };
  const fmt = (key: keyof FmnistFigures, v: number | number[] | undefined) => {
    if (typeof v !== 'number') return '-';
    return key.endsWith('per_second') ? Math.round(v).toLocaleString('en') : key.endsWith('seconds') ? v.toFixed(2) : v.toFixed(4);
  };
  const lines = [`# Fashion-MNIST: latentflow vs PyTorch + scikit-learn`, '', machineMarkdown(machine), '',
    `Settings: ${epochs} epochs, ${settings.rows} training rows, backend ${values.backend}; command: \`npm run bench -- fmnist ${process.argv.slice(2).join(' ')}\``];
  for (const r of runs) {
    lines.push('', `## ${r.threads} thread${r.threads > 1 ? 's' : ''}`, '', '| figure | latentflow | peer | ratio |', '|---|---:|---:|---:|');
    const keys = Object.keys(r.ours).filter((k) => k !== 'oneclass_auroc_per_class' && k !== 'svm_subsample') as (keyof FmnistFigures)[];
    for (const key of keys) {
      lines.push(`| ${key} | ${fmt(key, r.ours[key])} | ${fmt(key, r.peer?.[key])} | ${r.ratios?.[key]?.toFixed(3) ?? '-'} |`);
    }
    if (r.ours.svm_subsample.length > 0) {
      lines.push('', 'SVM trained on fewer codes (the classify stage\'s `maxTrain`), same test set:', '', '| training rows | accuracy | seconds |', '|---:|---:|---:|',
        ...r.ours.svm_subsample.map((x) => `| ${x.rows} | ${x.svm_acc.toFixed(4)} | ${x.svm_seconds.toFixed(2)} |`),
        `| 10000 | ${r.ours.svm_acc.toFixed(4)} | ${r.ours.svm_seconds.toFixed(2)} |`);
    }
    if (r.peer_on_our_codes) {
      lines.push('', 'The same K-means and SVM stages on identical inputs (our codes), scikit-learn at the same thread count:', '',
        '| figure | latentflow | scikit-learn on our codes | ratio |', '|---|---:|---:|---:|');
      for (const key of Object.keys(r.peer_on_our_codes) as (keyof FmnistFigures)[]) {
        lines.push(`| ${key} | ${fmt(key, r.ours[key])} | ${fmt(key, r.peer_on_our_codes[key])} | ${r.ratios_on_our_codes?.[key]?.toFixed(3) ?? '-'} |`);
      }
    }
  }
  lines.push('', 'Ratios: ours ÷ peer for speeds and quality, peer ÷ ours for seconds (above 1: latentflow is faster or better).');
  const markdown = lines.join('\n');
  // --json: the results file's JSON on stdout instead of the table (the table still goes to fmnist.md).
  console.log(values.json ? JSON.stringify({ machine, settings, runs }, null, 2) : markdown);
  const paths = await writeResults('fmnist', { machine, settings, runs }, markdown, values.out);
  console.error(`wrote ${paths.join(', ')}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
