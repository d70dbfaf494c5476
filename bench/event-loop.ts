/**
 * The event loop of a worker process while a cluster job computes UMAP + K-means: `clusterCodes` run on the event
 * loop's own thread (as the cluster stage did before) vs in a worker thread (shared/pipeline/offload.ts, as it does
 * now). A blocked event loop delays lock renewals, heartbeats, cancellations and `/metrics`; the figures are the
 * event-loop delay's p99 and maximum (perf_hooks.monitorEventLoopDelay, 10 ms resolution) and the job's wall time.
 * Codes: Fashion-MNIST's 10k test images projected to 64 dimensions by a seeded Gaussian matrix (real structure, no
 * training needed), clustered as the stage does by default with `manifold: umap` (k 10, cosine).
 *
 * Usage: npm run bench -- event-loop [--rows 10000] [--repeats 3] [--out DIR]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { clusterCodes } from '../shared/analytics/cluster-codes.js';
import { seededRandom } from '../shared/ml/random.js';
import { clusterCodesInThread } from '../shared/pipeline/offload.js';
import { loadFashionMnist } from './fmnist-data.js';
import { machineDetails, machineMarkdown } from './machine.js';
import { writeResults } from './results-file.js';
import { median } from './stats.js';

const WIDTH = 64;

function project(values: Float32Array, rows: number, width: number): Float32Array {
  const random = seededRandom('event-loop:projection');
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const matrix = Float32Array.from({ length: width * WIDTH }, gaussian);
  const out = new Float32Array(rows * WIDTH);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < width; j++) {
      const v = values[r * width + j];
      if (v === 0) continue;
      for (let c = 0; c < WIDTH; c++) out[r * WIDTH + c] += v * matrix[j * WIDTH + c];
    }
  }
  return out;
}

interface Figures { p99_ms: number; max_ms: number; seconds: number; silhouette: number }

async function measure(run: () => Promise<{ silhouette: number }>): Promise<Figures> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const started = performance.now();
  const { silhouette } = await run();
  const seconds = (performance.now() - started) / 1000;
  delay.disable();
  return { p99_ms: delay.percentile(99) / 1e6, max_ms: delay.max / 1e6, seconds, silhouette };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '10000' }, repeats: { type: 'string', default: '3' }, out: { type: 'string' } } });
  const { test } = await loadFashionMnist();
  const rows = Math.min(Number(values.rows), test.rows);
  const codes = project(test.values, rows, test.width);
  const options = { manifold: 'umap' as const, k: 10, seed: 0 };
  const runs: { inline: Figures; thread: Figures }[] = [];
  for (let i = 0; i < Number(values.repeats); i++) {
    // Alternated, so that both sides see the same machine.
    const inline = await measure(() => clusterCodes(codes, rows, WIDTH, options));
    const thread = await measure(() => clusterCodesInThread(codes, rows, WIDTH, options));
    console.error(`repeat ${i + 1}: inline p99 ${inline.p99_ms.toFixed(0)} ms, max ${inline.max_ms.toFixed(0)} ms, ${inline.seconds.toFixed(1)} s; thread p99 ${thread.p99_ms.toFixed(0)} ms, max ${thread.max_ms.toFixed(0)} ms, ${thread.seconds.toFixed(1)} s`);
    runs.push({ inline, thread });
  }
  const med = (side: 'inline' | 'thread', key: keyof Figures) => median(runs.map((r) => r[side][key]));
  const machine = machineDetails();
  const lines = ['# Event-loop delay during a UMAP cluster job: on the event loop vs in a worker thread', '', machineMarkdown(machine), '',
    `${rows} Fashion-MNIST test images projected to ${WIDTH}-D, UMAP (k 10, cosine) + K-means; medians of ${runs.length} alternated repeats; command: \`npm run bench -- event-loop ${process.argv.slice(2).join(' ')}\``, '',
    '| figure | on the event loop (before) | worker thread (now) | before ÷ now |', '|---|---:|---:|---:|'];
  for (const key of ['p99_ms', 'max_ms', 'seconds', 'silhouette'] as const) {
    const [a, b] = [med('inline', key), med('thread', key)];
    lines.push(`| ${key} | ${a.toFixed(key === 'silhouette' ? 4 : 1)} | ${b.toFixed(key === 'silhouette' ? 4 : 1)} | ${(a / b).toFixed(2)} |`);
  }
  const markdown = lines.join('\n');
  console.log(markdown);
  const paths = await writeResults('event-loop', { machine, settings: { rows, width: WIDTH, options }, runs }, markdown, values.out);
  console.error(`wrote ${paths.join(', ')}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
