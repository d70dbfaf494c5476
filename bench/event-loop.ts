/**
 * The event loop of a worker process while a cluster job computes UMAP + K-means, a classify job trains its SVM, a
 * train job fits an autoencoder, and a recommend job ranks an AutoRec's items: each on the event loop's own thread
 * (as the stages did before) vs in a worker thread (shared/pipeline/offload.ts, as they do now). A blocked event loop delays lock renewals, heartbeats, cancellations and `/metrics`; the figures are the
 * event-loop delay's p99 and maximum (perf_hooks.monitorEventLoopDelay, 10 ms resolution) and the job's wall time.
 * Codes: Fashion-MNIST's 10k test images projected to 64 dimensions by a seeded Gaussian matrix (real structure, no
 * training needed), clustered as the stage does by default with `manifold: umap` (k 10, cosine); the SVM (the
 * stage's rbf, C 10, gamma scale) trains on them with their labels and predicts them. Training: the default
 * autoencoder (784-256-128-32) for 3 epochs on the same 10k images (the thread's first run includes starting it; it is
 * kept for the next, as the trainer keeps it). Ranking: an AutoRec (defaults) trained once on FilmTrust (../shared/data),
 * every user's top 10.
 *
 * Usage: npm run bench -- event-loop [--rows 10000] [--repeats 3] [--jobs cluster,svm,train,recommend] [--out DIR]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { clusterCodes } from '../shared/analytics/cluster-codes.js';
import { accuracy } from '../shared/analytics/metrics.js';
import { trainSvm } from '../shared/analytics/svm.js';
import { readRatings } from '../shared/data/ratings.js';
import { Autoencoder } from '../shared/ml/autoencoder.js';
import { AutoRec } from '../shared/ml/autorec.js';
import { initBackend } from '../shared/ml/backend.js';
import { seededRandom } from '../shared/ml/random.js';
import { clusterCodesInThread, recommendInThread, svmInThread, trainInThread } from '../shared/pipeline/offload.js';
import { loadFashionMnist } from './fmnist-data.js';
import { machineDetails, machineMarkdown } from './machine.js';
import { writeResults } from './results-file.js';
import { median } from './stats.js';

const WIDTH = 64;
const FILMTRUST = new URL('../../shared/data/filmtrust.tsv.gz', import.meta.url);

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

/**
 * `quality` (the two sides must agree): the clustering's silhouette, the SVM's accuracy on the rows it trained on, the
 * autoencoder's final training loss, the number of users ranked.
 */
interface Figures { p99_ms: number; max_ms: number; seconds: number; quality: number }

async function measure(run: () => Promise<number>): Promise<Figures> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  // The monitor measures each tick from the one before: let it tick before the work starts (a synchronous block
  // from the first instant would otherwise go unseen).
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = performance.now();
  const quality = await run();
  const seconds = (performance.now() - started) / 1000;
  // A stall that lasts to the end of `run` is recorded when the monitor's timer fires after it: let it fire.
  await new Promise((resolve) => setTimeout(resolve, 50));
  delay.disable();
  return { p99_ms: delay.percentile(99) / 1e6, max_ms: delay.max / 1e6, seconds, quality };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rows: { type: 'string', default: '10000' }, repeats: { type: 'string', default: '3' }, jobs: { type: 'string', default: 'cluster,svm,train,recommend' }, out: { type: 'string' } },
  });
  const backend = (await initBackend('auto', () => {})).name;
  const { test } = await loadFashionMnist();
  const rows = Math.min(Number(values.rows), test.rows);
  const codes = project(test.values, rows, test.width);
  const labels = test.labels!.slice(0, rows);
  const data = { values: codes, rows, width: WIDTH };
  const options = { manifold: 'umap' as const, k: 10, seed: 0 };
  const images = { ...test, rows, values: test.values.subarray(0, rows * test.width), ids: test.ids.slice(0, rows), labels: undefined };
  const fit = { epochs: 3, seed: 0 };
  const recommender = values.jobs.includes('recommend') ? await AutoRec.fit(await readRatings(FILMTRUST.pathname), { seed: 0 }) : undefined;
  const recommenderArtifact = recommender?.save();
  const svm = { kernel: 'rbf', C: 10, gamma: 'scale' } as const;
  const jobs = {
    cluster: {
      inline: async () => (await clusterCodes(codes, rows, WIDTH, options)).silhouette,
      thread: async () => (await clusterCodesInThread(codes, rows, WIDTH, options)).silhouette,
    },
    svm: {
      inline: async () => {
        const model = await trainSvm(data, labels, svm);
        try {
          return accuracy(labels, model.predict(data));
        } finally {
          model.free();
        }
      },
      thread: async () => accuracy(labels, (await svmInThread(data, labels, [data], svm)).predictions[0]),
    },
    train: {
      inline: async () => {
        const model = await Autoencoder.fit(images, fit);
        try {
          return model.history.epochs.at(-1)!.loss;
        } finally {
          model.dispose();
        }
      },
      thread: async () => {
        const model = Autoencoder.fromArtifact(await trainInThread({ task: { kind: 'autoencoder', table: images, options: fit }, backend }, () => {}));
        try {
          return model.history.epochs.at(-1)!.loss;
        } finally {
          model.dispose();
        }
      },
    },
    recommend: {
      inline: async () => {
        let users = 0;
        for await (const batch of recommender!.recommendAll(10)) users += batch.length;
        return users;
      },
      thread: async () => recommendInThread({ task: { kind: 'recommend', artifact: recommenderArtifact!, source: 'FilmTrust AutoRec', n: 10 }, backend }, () => {}),
    },
  };
  const chosen = values.jobs.split(',').map((j) => j.trim()) as (keyof typeof jobs)[];
  for (const job of chosen) if (!(job in jobs)) throw new Error(`--jobs: unknown job "${job}" (${Object.keys(jobs).join(', ')})`);
  const runs: { job: keyof typeof jobs; inline: Figures; thread: Figures }[] = [];
  for (let i = 0; i < Number(values.repeats); i++) {
    for (const job of chosen) {
      // Alternated, so that both sides see the same machine.
      const inline = await measure(jobs[job].inline);
      const thread = await measure(jobs[job].thread);
      console.error(`repeat ${i + 1}, ${job}: inline p99 ${inline.p99_ms.toFixed(0)} ms, max ${inline.max_ms.toFixed(0)} ms, ${inline.seconds.toFixed(1)} s; thread p99 ${thread.p99_ms.toFixed(0)} ms, max ${thread.max_ms.toFixed(0)} ms, ${thread.seconds.toFixed(1)} s`);
      runs.push({ job, inline, thread });
    }
  }
  const machine = machineDetails();
  const lines = ['# Event-loop delay during cluster, classify, train and recommend work: on the event loop vs in a worker thread', '', machineMarkdown(machine), '',
    `${rows} Fashion-MNIST test images projected to ${WIDTH}-D; cluster: UMAP (k 10, cosine) + K-means, quality = silhouette; svm: rbf C 10 gamma scale trained on all of them, quality = training accuracy; train: the default autoencoder, 3 epochs on the ${rows} images (784 pixels; ${backend} backend), quality = final loss; recommend: AutoRec (defaults) on FilmTrust, every user's top 10, quality = users ranked; medians of ${Number(values.repeats)} alternated repeats; command: \`npm run bench -- event-loop ${process.argv.slice(2).join(' ')}\``];
  for (const job of chosen) {
    const mine = runs.filter((r) => r.job === job);
    const med = (side: 'inline' | 'thread', key: keyof Figures) => median(mine.map((r) => r[side][key]));
    lines.push('', `## ${job}`, '', '| figure | on the event loop (before) | worker thread (now) | before ÷ now |', '|---|---:|---:|---:|');
    for (const key of ['p99_ms', 'max_ms', 'seconds', 'quality'] as const) {
      const [a, b] = [med('inline', key), med('thread', key)];
      lines.push(`| ${key} | ${a.toFixed(key === 'quality' ? 4 : 1)} | ${b.toFixed(key === 'quality' ? 4 : 1)} | ${(a / b).toFixed(2)} |`);
    }
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
