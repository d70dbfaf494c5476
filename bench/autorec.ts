/**
 * AutoRec on real ratings (FilmTrust, Guo et al. IJCAI 2013, as distributed with LibRec; read from ../shared/data,
 * never copied), side by side with the peer script ../shared/reference/ratings_reference.py run in the same bench:
 * PyTorch I-AutoRec as published, the global mean and the bias model.
 *
 * - Defaults, explicit ratings: test RMSE and top-10 ranking (held-out ratings ≥ the top fifth of the scale relevant;
 *   every item the user did not rate in training ranked) next to the global mean, the bias model and popularity, on
 *   the peer's own split (its test entries from bench/peer/ratings_split.py, so the RMSEs compare one to one) and on
 *   latentflow's seeded splits 0 and 1.
 * - Defaults, implicit feedback (`implicit: true`, every rating a click): the ranking next to popularity, every
 *   held-out pair relevant.
 * - `--sweep`: the choices behind the defaults, each measured on split seed 0 (the one the defaults were tuned on;
 *   the peer split and seed 1 check them): the published recipe, then each departure in turn, then one change at a
 *   time from the defaults ("…" rows; the rating-only rows leave out the presence network).
 *
 * Usage: npm run bench -- autorec [--file PATH] [--sweep] [--peer-lambdas 1,10 | --no-peer] [--out DIR]
 * Needs python3-numpy (the peer's split) and, unless --no-peer, python3-torch. Writes bench/results/autorec.json
 * ({machine, backend, file, peer, runs, sweep}) and autorec.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readRatings, splitRatings, subsetRatings, type Ratings } from '../shared/data/ratings.js';
import { evaluateAutoRecOn, type AutoRecEvaluation } from '../shared/evaluation/autorec-evaluate.js';
import type { AutoRecOptions } from '../shared/ml/autorec-config.js';
import { backendInfo, initBackend } from '../shared/ml/backend.js';
import { machineDetails, machineMarkdown } from './machine.js';
import { writeResults } from './results-file.js';

const FILMTRUST = fileURLToPath(new URL('../../shared/data/filmtrust.tsv.gz', import.meta.url));
const PEER_SCRIPT = fileURLToPath(new URL('../../shared/reference/ratings_reference.py', import.meta.url));
const SPLIT_SCRIPT = fileURLToPath(new URL('./peer/ratings_split.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

/** The sweep: what each row changes from the published recipe or from the defaults. */
const PUBLISHED: AutoRecOptions = { baseline: 'mean', ranking: 'rating', validation: 0, hidden: 500, lambda: 10, batchSize: 32, epochs: 100 };
const SWEEP: { label: string; options: AutoRecOptions }[] = [
  { label: 'published recipe: 500 hidden, λ 10, ratings less the mean, batch 32', options: PUBLISHED },
  { label: '+ early stopping on 5% of the training ratings', options: { ...PUBLISHED, validation: 0.05 } },
  { label: '+ residuals of the bias model (no output bias, decoder from zero)', options: { ...PUBLISHED, validation: 0.05, baseline: 'biases' } },
  ...[50, 100, 200].map((hidden) => ({ label: `… hidden ${hidden}`, options: { ranking: 'rating' as const, hidden } })),
  { label: '… λ 20', options: { ranking: 'rating', lambda: 20 } },
  { label: '… batch 32', options: { ranking: 'rating', batchSize: 32 } },
  { label: '… U-AutoRec', options: { ranking: 'rating', variant: 'user' } },
  { label: 'defaults (ranked by presence × rating)', options: {} },
  { label: '… presence network 100 hidden, λ 50 (the size both networks shared before)', options: { presenceHidden: 100, presenceLambda: 50 } },
  { label: '… presence network 500 hidden', options: { presenceHidden: 500 } },
  { label: '… patience 10', options: { patience: 10 } },
  { label: '… negative weight 0.1', options: { negativeWeight: 0.1 } },
];

interface Run {
  split: string;
  label: string;
  options: AutoRecOptions;
  report: AutoRecEvaluation;
}

/** The peer's held-out entries (line numbers = entry indices: readRatings keeps every non-empty line in order). */
function peerSplit(file: string, ratings: Ratings): { train: Ratings; test: Ratings } {
  const out = spawnSync(PYTHON, [SPLIT_SCRIPT, file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (out.status !== 0) throw new Error(`${SPLIT_SCRIPT} failed (install python3-numpy): ${out.stderr}`);
  const test = JSON.parse(out.stdout) as number[];
  const n = ratings.entries.rating.length;
  if (test.some((k) => k >= n)) throw new Error(`the peer split names line numbers beyond the ${n} ratings read`);
  const held = new Set(test);
  const train = Array.from({ length: n }, (_, k) => k).filter((k) => !held.has(k));
  return { train: subsetRatings(ratings, train), test: subsetRatings(ratings, test) };
}

/** The peer script's JSON summary (its last printed object). */
function runPeer(file: string, lambdas: string): Record<string, number | string> {
  console.error(`peer: ${PYTHON} ${PEER_SCRIPT} ${file} ${lambdas.split(',').join(' ')} (PyTorch, 1 thread)…`);
  const out = spawnSync(PYTHON, [PEER_SCRIPT, file, ...lambdas.split(',')], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' }, maxBuffer: 64 << 20 });
  if (out.status !== 0) throw new Error(`the peer script failed (install python3-torch): ${out.stderr}`);
  return JSON.parse(out.stdout.slice(out.stdout.indexOf('{'))) as Record<string, number | string>;
}

async function measure(split: string, label: string, data: { train: Ratings; test: Ratings }, options: AutoRecOptions): Promise<Run> {
  const report = await evaluateAutoRecOn(data.train, data.test, { model: options });
  const rmse = report.rmse === null ? '' : `RMSE ${report.rmse.toFixed(4)} (bias ${report.baselines.bias_rmse.toFixed(4)}), `;
  console.error(`${split} · ${label}: ${rmse}NDCG@10 ${report.ranking.ndcg.toFixed(4)} (popularity ${report.popularity.ndcg.toFixed(4)}), ${report.seconds.toFixed(1)} s`);
  return { split, label, options, report };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    file: { type: 'string', default: FILMTRUST }, sweep: { type: 'boolean', default: false },
    'peer-lambdas': { type: 'string', default: '1,10' }, 'no-peer': { type: 'boolean', default: false }, out: { type: 'string' },
  } });
  const file = values.file;
  if (!existsSync(file)) throw new Error(`no ratings file at ${file} (FilmTrust is in ../shared/data; or pass --file)`);
  await initBackend('auto', (line) => console.error(line));
  const ratings = await readRatings(file);
  const splits: [string, { train: Ratings; test: Ratings }][] = [
    ['peer split', peerSplit(file, ratings)], ['seed 0', splitRatings(ratings, 0.1, 0)], ['seed 1', splitRatings(ratings, 0.1, 1)],
  ];
  const runs: Run[] = [];
  for (const [split, data] of splits) runs.push(await measure(split, 'defaults', data, {}));
  for (const [split, data] of splits) runs.push(await measure(split, 'defaults, implicit', data, { implicit: true }));
  const sweep: Run[] = [];
  if (values.sweep) for (const { label, options } of SWEEP) sweep.push(await measure('seed 0', label, splits[1][1], options));
  const peer = values['no-peer'] ? undefined : runPeer(file, values['peer-lambdas']);

  const f = (x: number | null | undefined) => (x === null || x === undefined ? '–' : x.toFixed(4));
  const explicit = runs.filter((r) => r.label === 'defaults');
  const implicit = runs.filter((r) => r.label !== 'defaults');
  const onPeer = explicit[0].report;
  const peerLambdas = peer === undefined ? [] : Object.keys(peer).filter((k) => /^iautorec_lambda_.*_rmse$/.test(k));
  const backend = backendInfo();
  const machine = machineDetails();
  const markdown = [
    '# AutoRec on real ratings (FilmTrust)', '', machineMarkdown(machine), '',
    `Backend: ${backend?.name ?? 'unknown'}${backend?.native ? ` (native matmuls: ${backend.native})` : ''}. Command: \`${['npm run bench -- autorec', ...process.argv.slice(2)].join(' ')}\``, '',
    `FilmTrust (Guo, Zhang & Yorke-Smith, IJCAI 2013, as distributed with LibRec): ${ratings.entries.rating.length} ratings, ${ratings.users.length} users × ${ratings.items.length} items, scale ${ratings.min}–${ratings.max}. 90/10 splits;`,
    'the peer split is the one ../shared/reference/ratings_reference.py draws (numpy RandomState(0)), so its figures and ours are on the same held-out ratings.',
    `Ranking: top 10 of every item with training ratings that the user did not rate in training; relevant = held-out rating ≥ ${Number(onPeer.ranking_protocol.relevance?.toFixed(6))} (the top fifth of the scale) for explicit ratings, any held-out pair for implicit feedback.`,
    '', '## Test RMSE on the peer split, side by side', '',
    '| model | test RMSE | NDCG@10 | seconds |', '|---|---:|---:|---:|',
    `| global mean (peer / latentflow) | ${peer ? f(Number(peer.global_mean_rmse)) : '–'} / ${f(onPeer.baselines.global_mean_rmse)} | | |`,
    `| bias model μ + b_u + b_i, reg 10 (peer / latentflow) | ${peer ? f(Number(peer.bias_baseline_rmse)) : '–'} / ${f(onPeer.baselines.bias_rmse)} | | |`,
    `| popularity | | ${f(onPeer.popularity.ndcg)} | |`,
    ...peerLambdas.map((k) => `| PyTorch I-AutoRec (peer: 500 sigmoid, Adam 1e-3, 200 epochs), λ = ${k.split('_')[2]} | ${f(Number(peer![k]))} | | ${peer![k.replace('_rmse', '_seconds')]} |`),
    `| **latentflow AutoRec, defaults** | **${f(onPeer.rmse)}** | **${f(onPeer.ranking.ndcg)}** | ${onPeer.seconds.toFixed(1)} |`,
    '', '## Defaults on every split', '',
    '| split | test RMSE | global mean | bias model | Precision@10 | Recall@10 | NDCG@10 | HitRate@10 | popularity NDCG@10 | popularity HitRate@10 | users | epochs (best) | seconds |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|',
    ...explicit.map(({ split, report: r }) => `| ${split} | ${f(r.rmse)} | ${f(r.baselines.global_mean_rmse)} | ${f(r.baselines.bias_rmse)} | ${f(r.ranking.precision)} | ${f(r.ranking.recall)} | ${f(r.ranking.ndcg)} | ${f(r.ranking.hit_rate)} | ${f(r.popularity.ndcg)} | ${f(r.popularity.hit_rate)} | ${r.ranking_protocol.users} | ${r.epochs} (${r.best_epoch}) | ${r.seconds.toFixed(1)} |`),
    '', '## Implicit feedback (`--implicit`: every rating a click), defaults', '',
    '| split | Precision@10 | Recall@10 | NDCG@10 | HitRate@10 | popularity NDCG@10 | popularity HitRate@10 | users | seconds |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...implicit.map(({ split, report: r }) => `| ${split} | ${f(r.ranking.precision)} | ${f(r.ranking.recall)} | ${f(r.ranking.ndcg)} | ${f(r.ranking.hit_rate)} | ${f(r.popularity.ndcg)} | ${f(r.popularity.hit_rate)} | ${r.ranking_protocol.users} | ${r.seconds.toFixed(1)} |`),
    ...(sweep.length === 0 ? [] : [
      '', '## Sweep (split seed 0; each row changes what it names from the row above it, "…" rows from the defaults)', '',
      '| run | options | test RMSE | NDCG@10 | epochs (best) | seconds |', '|---|---|---:|---:|---|---:|',
      ...sweep.map(({ label, options, report: r }) => `| ${label} | \`${JSON.stringify(options)}\` | ${f(r.rmse)} | ${f(r.ranking.ndcg)} | ${r.epochs} (${r.best_epoch}) | ${r.seconds.toFixed(1)} |`),
      '', `Bias model on this split: ${f(sweep[0].report.baselines.bias_rmse)}; popularity NDCG@10: ${f(sweep[0].report.popularity.ndcg)}.`,
    ]),
  ].join('\n');
  console.log(markdown);
  const paths = await writeResults('autorec', { machine, backend, file: file.split('/').at(-1), peer, runs, sweep }, markdown, values.out);
  console.error(`wrote ${paths.join(', ')}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
