/**
 * `npm run bench -- detect`: every detector (shared/ml/detector.ts) side by side with scikit-learn's IsolationForest
 * and a PyTorch autoencoder (bench/peer/detect_peers.py) on the very same rows, in the same run.
 *
 * Tasks, one per normal class: breast_cancer (benign normal), wine and digits (each class in turn): 70% of the normal
 * rows train (seeded split), the other 30% and every row of the other classes test. Fashion-MNIST: one model per
 * class on that class's training images, tested on the whole test set (the reference's one-class protocol).
 * Ours: the product's defaults (tabular) or the reference recipe with 10% validation rows (Fashion-MNIST), threshold
 * `fpr: 0.01`; the false-alarm rate is measured on the held-out normal rows of each task.
 *
 * Usage: npm run bench -- detect [--sets breast_cancer,wine,digits,fmnist] [--detectors ae,iforest,ensemble]
 *        [--fmnist-epochs 20] [--seed 0] [--code-size Q] [--options JSON] [--no-peer] [--out DIR]
 * `--code-size` overrides our code size on the tabular sets (to compare with the peer's narrower code); `--options`
 * overrides any model options there (e.g. '{"scale":"none","outputActivation":"sigmoid"}', to test a recipe difference).
 * Writes bench/results/detect.json and detect.md.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { auprc, auroc } from '../shared/analytics/index.js';
import { readTable } from '../shared/data/read-table.js';
import { selectRows, type Table } from '../shared/data/table.js';
import { Autoencoder } from '../shared/ml/autoencoder.js';
import { initBackend } from '../shared/ml/backend.js';
import { DETECTORS, type DetectorName, type ModelOptions } from '../shared/ml/model-config.js';
import { permutation, seededRandom } from '../shared/ml/random.js';
import { loadConfig } from '../shared/config.js';
import { loadFashionMnist, REFERENCE_RECIPE } from './fmnist-data.js';
import { machineDetails, machineMarkdown } from './machine.js';
import { writeResults } from './results-file.js';

const run = promisify(execFile);
const DATA = fileURLToPath(new URL('../data/', import.meta.url));
const FPR = 0.01;

interface Task {
  name: string;
  dataset: string;
  normal: string;
  train: Table;
  test: Table;
  isAnomaly: boolean[];
  options: ModelOptions;
}

interface Figures { auroc: number; auprc: number }
interface OurFigures extends Figures { false_alarm_rate: number; threshold: number; seconds: number }

interface TaskResult {
  name: string;
  dataset: string;
  normal: string;
  train_rows: number;
  test_rows: number;
  test_normal_rows: number;
  ours: Partial<Record<DetectorName, OurFigures>>;
  peers?: { torch_ae: Figures; sklearn_iforest: Figures };
}

/** One-class tasks of a labelled table: each of `normals` in turn, 70/30 of its rows, the rest of the table as anomalies. */
function tableTasks(dataset: string, table: Table, normals: string[], seed: number, options: ModelOptions): Task[] {
  return normals.map((normal) => {
    const normalRows = table.labels!.flatMap((l, i) => (l === normal ? [i] : []));
    const order = permutation(normalRows.length, seededRandom(`detect:${dataset}:${normal}:${seed}`));
    const cut = Math.round(normalRows.length * 0.7);
    const trainIdx = Array.from(order.subarray(0, cut), (k) => normalRows[k]).sort((a, b) => a - b);
    const held = new Set(Array.from(order.subarray(cut), (k) => normalRows[k]));
    const testIdx = table.labels!.flatMap((l, i) => (l !== normal || held.has(i) ? [i] : []));
    const test = selectRows(table, testIdx);
    return { name: `${dataset}:${normal}`, dataset, normal, train: selectRows(table, trainIdx), test, isAnomaly: test.labels!.map((l) => l !== normal), options };
  });
}

async function tasksOf(sets: string[], seed: number, fmnistEpochs: number, overrides: ModelOptions): Promise<Task[]> {
  const tasks: Task[] = [];
  const base: ModelOptions = { seed, ...overrides };
  for (const set of sets) {
    if (set === 'fmnist') {
      const { train, test } = await loadFashionMnist();
      for (let c = 0; c < 10; c++) {
        const normal = String(c);
        const rows = train.labels!.flatMap((l, i) => (l === normal ? [i] : []));
        tasks.push({
          name: `fmnist:${c}`, dataset: 'fmnist', normal, train: selectRows(train, rows), test, isAnomaly: test.labels!.map((l) => l !== normal),
          options: { ...REFERENCE_RECIPE, validationSplit: 0.1, epochs: fmnistEpochs, seed },
        });
      }
      continue;
    }
    const file = set === 'digits' ? 'digits.csv.gz' : `${set}.csv`;
    const table = await readTable(path.join(DATA, file), { idColumn: 'id', labelColumn: 'label' });
    const normals = set === 'breast_cancer' ? ['benign'] : [...new Set(table.labels)].sort();
    tasks.push(...tableTasks(set, table, normals, seed, base));
  }
  return tasks;
}

async function ours(task: Task, detector: DetectorName): Promise<OurFigures> {
  const started = performance.now();
  const model = await Autoencoder.fit(task.train, { ...task.options, detector }, { threshold: { method: 'fpr', value: FPR } });
  try {
    const seconds = (performance.now() - started) / 1000;
    const { scores } = model.score(task.test);
    const threshold = model.threshold!.value;
    let normals = 0, alarms = 0;
    task.isAnomaly.forEach((a, i) => {
      if (a) return;
      normals++;
      if (scores[i] > threshold) alarms++;
    });
    return { auroc: auroc(task.isAnomaly, scores), auprc: auprc(task.isAnomaly, scores), false_alarm_rate: alarms / normals, threshold, seconds };
  } finally {
    model.dispose();
  }
}

/** The peers on every task, in one Python process. */
async function peers(tasks: Task[], fmnistEpochs: number): Promise<Map<string, TaskResult['peers']>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lf-detect-'));
  try {
    const bytes = (v: Float32Array) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    // Tasks sharing one file name are written once (Fashion-MNIST's test set is the same for every class).
    for (const t of tasks) {
      const safe = t.name.replace(/[^a-z0-9_]/gi, '_');
      // The peer reads pixels as the reference does: Fashion-MNIST already / 255 (our reader scales bytes), digits raw.
      await writeFile(path.join(dir, `${safe}.train.f32`), bytes(t.train.values));
      await writeFile(path.join(dir, `${safe}.test.f32`), bytes(t.test.values));
      await writeFile(path.join(dir, `${safe}.labels.json`), JSON.stringify(t.isAnomaly.map(Number)));
    }
    await writeFile(path.join(dir, 'tasks.json'), JSON.stringify(tasks.map((t) => ({ name: t.name.replace(/[^a-z0-9_]/gi, '_'), dataset: t.dataset, width: t.train.width, epochs: fmnistEpochs }))));
    const script = fileURLToPath(new URL('./peer/detect_peers.py', import.meta.url));
    const { stdout } = await run('/usr/bin/python3', [script, dir], { maxBuffer: 1 << 24, env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' } });
    const out = new Map<string, TaskResult['peers']>();
    for (const line of stdout.trim().split('\n')) {
      const p = JSON.parse(line) as { name: string; torch_ae: Figures; sklearn_iforest: Figures };
      out.set(p.name, { torch_ae: p.torch_ae, sklearn_iforest: p.sklearn_iforest });
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const f3 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(3));

function markdown(results: TaskResult[], detectors: DetectorName[], settings: object, machine: ReturnType<typeof machineDetails>): string {
  const lines = [`# Anomaly detection: every detector and the peers, same rows, same run`, '', machineMarkdown(machine), '', `Settings: \`${JSON.stringify(settings)}\``, ''];
  lines.push(`| task | ${detectors.map((d) => `${d} AUROC`).join(' | ')} | PyTorch AE | sklearn IForest | ${detectors.map((d) => `${d} FPR@1%`).join(' | ')} |`);
  lines.push(`|---|${detectors.map(() => '---:').join('|')}|---:|---:|${detectors.map(() => '---:').join('|')}|`);
  for (const r of results) {
    lines.push(`| ${r.name} | ${detectors.map((d) => f3(r.ours[d]?.auroc)).join(' | ')} | ${f3(r.peers?.torch_ae.auroc)} | ${f3(r.peers?.sklearn_iforest.auroc)} | ${detectors.map((d) => f3(r.ours[d]?.false_alarm_rate)).join(' | ')} |`);
  }
  lines.push('', '## Per data set: mean AUROC, tasks at or above the better peer, pooled false-alarm rate at fpr 0.01', '');
  lines.push(`| data set | tasks | ${detectors.map((d) => `${d} mean / ≥ best peer / FPR`).join(' | ')} | PyTorch AE mean | IForest mean |`);
  lines.push(`|---|---:|${detectors.map(() => '---').join('|')}|---:|---:|`);
  for (const set of [...new Set(results.map((r) => r.dataset))]) {
    const rs = results.filter((r) => r.dataset === set);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const cells = detectors.map((d) => {
      const wins = rs.filter((r) => r.peers && r.ours[d]!.auroc >= Math.max(r.peers.torch_ae.auroc, r.peers.sklearn_iforest.auroc)).length;
      const alarms = rs.reduce((s, r) => s + r.ours[d]!.false_alarm_rate * r.test_normal_rows, 0);
      const normals = rs.reduce((s, r) => s + r.test_normal_rows, 0);
      return `${f3(mean(rs.map((r) => r.ours[d]!.auroc)))} / ${rs[0].peers ? wins : '–'} of ${rs.length} / ${(alarms / normals * 100).toFixed(2)}%`;
    });
    const peerMean = (k: 'torch_ae' | 'sklearn_iforest') => (rs[0].peers ? f3(mean(rs.map((r) => r.peers![k].auroc))) : '–');
    lines.push(`| ${set} | ${rs.length} | ${cells.join(' | ')} | ${peerMean('torch_ae')} | ${peerMean('sklearn_iforest')} |`);
  }
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sets: { type: 'string', default: 'breast_cancer,wine,digits,fmnist' },
      detectors: { type: 'string', default: DETECTORS.join(',') },
      'fmnist-epochs': { type: 'string', default: '20' },
      seed: { type: 'string', default: '0' },
      'code-size': { type: 'string' }, options: { type: 'string' },
      'no-peer': { type: 'boolean', default: false },
      out: { type: 'string' },
    },
  });
  const detectors = values.detectors.split(',') as DetectorName[];
  for (const d of detectors) if (!DETECTORS.includes(d)) throw new Error(`--detectors: unknown detector ${d}`);
  const seed = Number(values.seed);
  const fmnistEpochs = Number(values['fmnist-epochs']);
  const backend = await initBackend('wasm', () => {}, { blasThreads: loadConfig().blasThreads });
  const codeSize = values['code-size'] === undefined ? undefined : Number(values['code-size']);
  const overrides = { ...(values.options === undefined ? {} : JSON.parse(values.options) as ModelOptions), ...(codeSize !== undefined ? { codeSize } : {}) };
  const tasks = await tasksOf(values.sets.split(','), seed, fmnistEpochs, overrides);
  const peerFigures = values['no-peer'] ? undefined : peers(tasks, fmnistEpochs);
  const results: TaskResult[] = [];
  for (const task of tasks) {
    const r: TaskResult = {
      name: task.name, dataset: task.dataset, normal: task.normal, train_rows: task.train.rows, test_rows: task.test.rows,
      test_normal_rows: task.isAnomaly.filter((a) => !a).length, ours: {},
    };
    for (const d of detectors) r.ours[d] = await ours(task, d);
    console.error(`${task.name}: ${detectors.map((d) => `${d} ${f3(r.ours[d]!.auroc)}`).join(', ')}`);
    results.push(r);
  }
  if (peerFigures) {
    const byName = await peerFigures;
    for (const r of results) r.peers = byName.get(r.name.replace(/[^a-z0-9_]/gi, '_'));
  }
  const settings = { seed, fmnistEpochs, fpr: FPR, backend: backend.name, ...(Object.keys(overrides).length > 0 ? { options: overrides } : {}) };
  const machine = machineDetails();
  const md = markdown(results, detectors, settings, machine);
  console.log(md);
  const written = await writeResults('detect', { machine, settings, results }, md, values.out);
  console.error(`wrote ${written.join(', ')}`);
}

await main();
