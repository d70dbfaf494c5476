/**
 * Recirculation (Hinton & McClelland 1987, shared/ml/recirculation.ts) against back-propagation on digits, at the same
 * architecture and epochs: 64 → hidden → 64, sigmoid code and outputs, minmax scaling, batch 64, seed 0, trained on a
 * stratified 80% of the 1,797 rows; the figure is the reconstruction MSE of the held-out 20% (scaled space).
 *
 * Recirculation runs at its defaults (λ = 0.75, ε = 2, constant) and over ε ∈ {1, 2, 5}; back-propagation (Adam,
 * cosine schedule, no noise) at its default rate 0.002 and over {0.002, 0.01, 0.03}. The ratio compares recirculation
 * at its defaults (and at its best ε) with back-propagation at its best rate.
 *
 * Usage: npm run bench -- recirculation [--hidden 8,16,32] [--epochs 50,200] [--out DIR]
 * Writes bench/results/recirculation.json ({machine, backend, settings, rows: [...]}) and recirculation.md.
 */
import { parseArgs } from 'node:util';
import { stratifiedSplit } from '../shared/analytics/split.js';
import { readTable } from '../shared/data/read-table.js';
import { selectRows, type Table } from '../shared/data/table.js';
import { Autoencoder } from '../shared/ml/autoencoder.js';
import { backendInfo, initBackend } from '../shared/ml/backend.js';
import { TRAINER_DEFAULTS, type ModelOptions } from '../shared/ml/model-config.js';
import { machineDetails, machineMarkdown } from './machine.js';
import { writeResults } from './results-file.js';

const EPSILONS = [1, 2, 5];
const RATES = [0.002, 0.01, 0.03];
const DEFAULT_EPSILON = TRAINER_DEFAULTS.recirculation.learningRate;
const DEFAULT_RATE = TRAINER_DEFAULTS.backprop.learningRate;

interface Run {
  mse: number;
  seconds: number;
}

/** One architecture and epoch count: every run's held-out MSE by step size. */
interface Row {
  hidden: number;
  epochs: number;
  recirculation: Record<string, Run>;
  backprop: Record<string, Run>;
  /** Recirculation at its defaults ÷ back-propagation at its best rate. */
  ratio: number;
  /** Recirculation at its best ε ÷ back-propagation at its best rate. */
  tunedRatio: number;
}

async function heldOutMse(train: Table, held: Table, options: ModelOptions): Promise<Run> {
  const started = performance.now();
  const model = await Autoencoder.fit(train, options);
  const seconds = (performance.now() - started) / 1000;
  const errors = model.score(held).errors;
  model.dispose();
  return { mse: errors.reduce((s, e) => s + e, 0) / errors.length, seconds };
}

const best = (runs: Record<string, Run>): [string, Run] => Object.entries(runs).sort((a, b) => a[1].mse - b[1].mse)[0];
const list = (text: string) => text.split(',').map(Number);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { hidden: { type: 'string', default: '8,16,32' }, epochs: { type: 'string', default: '50,200' }, out: { type: 'string' } } });
  await initBackend('auto', (line) => console.error(line));
  const digits = await readTable('data/digits.csv.gz', { idColumn: 'id', labelColumn: 'label' });
  const split = stratifiedSplit(digits.labels!, 0.2, 0);
  const train = selectRows(digits, split.train);
  const held = selectRows(digits, split.test);
  const rows: Row[] = [];
  for (const hidden of list(values.hidden)) {
    for (const epochs of list(values.epochs)) {
      const same = { encoder: [hidden], epochs, batchSize: 64, seed: 0 } satisfies ModelOptions;
      const row: Row = { hidden, epochs, recirculation: {}, backprop: {}, ratio: NaN, tunedRatio: NaN };
      for (const learningRate of EPSILONS) row.recirculation[learningRate] = await heldOutMse(train, held, { ...same, trainer: 'recirculation', learningRate });
      for (const learningRate of RATES) {
        row.backprop[learningRate] = await heldOutMse(train, held, { ...same, codeActivation: 'sigmoid', outputActivation: 'sigmoid', noise: 0, learningRate });
      }
      row.ratio = row.recirculation[DEFAULT_EPSILON].mse / best(row.backprop)[1].mse;
      row.tunedRatio = best(row.recirculation)[1].mse / best(row.backprop)[1].mse;
      console.error(`hidden ${hidden}, ${epochs} epochs: recirculation ${row.recirculation[DEFAULT_EPSILON].mse.toFixed(5)}, backprop best ${best(row.backprop)[1].mse.toFixed(5)}, ratio ${row.ratio.toFixed(2)}`);
      rows.push(row);
    }
  }
  const machine = machineDetails();
  const backend = backendInfo();
  const f = (x: number) => x.toFixed(5);
  const markdown = [
    '# Recirculation vs back-propagation on digits', '', machineMarkdown(machine), '',
    `Backend: ${backend?.name ?? 'unknown'}${backend?.native ? ` (native matmuls: ${backend.native})` : ''}. Command: \`${['npm run bench -- recirculation', ...process.argv.slice(2)].join(' ')}\``, '',
    'Held-out reconstruction MSE (stratified 20% of 1,797 rows, minmax-scaled space) of 64 → hidden → 64 autoencoders with sigmoid',
    'code and outputs, batch 64, seed 0, the same initial weights. Recirculation: λ = 0.75, constant ε; back-propagation: Adam,',
    'cosine-decayed rate, no noise. Ratio: recirculation at its default ε = 2 ÷ back-propagation at its best rate;',
    'tuned: recirculation at its best ε ÷ the same.', '',
    `| hidden | epochs | ${EPSILONS.map((e) => `recirc. ε=${e}`).join(' | ')} | ${RATES.map((r) => `backprop lr=${r}`).join(' | ')} | ratio | tuned |`,
    `|---:|---:|${EPSILONS.map(() => '---:').join('|')}|${RATES.map(() => '---:').join('|')}|---:|---:|`,
    ...rows.map((r) => `| ${r.hidden} | ${r.epochs} | ${EPSILONS.map((e) => f(r.recirculation[e].mse)).join(' | ')} | ${RATES.map((l) => f(r.backprop[l].mse)).join(' | ')} | ${r.ratio.toFixed(2)} | ${r.tunedRatio.toFixed(2)} |`),
    '', `Seconds per fit (recirculation ε=${DEFAULT_EPSILON} / backprop lr=${DEFAULT_RATE}): ${rows.map((r) => `${r.hidden}×${r.epochs}: ${r.recirculation[DEFAULT_EPSILON].seconds.toFixed(2)} / ${r.backprop[DEFAULT_RATE].seconds.toFixed(2)}`).join('; ')}.`,
  ].join('\n');
  console.log(markdown);
  const settings = { split: 'stratified 0.2, seed 0', batchSize: 64, seed: 0, lambda: 0.75, epsilons: EPSILONS, rates: RATES };
  const paths = await writeResults('recirculation', { machine, backend, settings, rows }, markdown, values.out);
  console.error(`wrote ${paths.join(', ')}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
