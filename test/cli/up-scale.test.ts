// `latentflow up --scale encoder=2,downstream=1` against a given Redis: two encoder processes both take jobs, one
// killed with SIGKILL is restarted and takes jobs again, and SIGTERM stops everything with exit code 0.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import type { Queue, QueueEvents } from 'bullmq';
import { readTable } from '../../shared/data/read-table.js';
import type { Table } from '../../shared/data/table.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { initBackend } from '../../shared/ml/backend.js';
import { projectPath } from '../helpers/cli.js';
import { useRedis } from '../helpers/redis.js';
import { encodeJobs } from '../helpers/encode-jobs.js';

const fixture = useRedis();
let digits: Table;
let model: Autoencoder;

before(async () => {
  await initBackend('wasm', () => {});
  digits = await readTable(projectPath('data/digits.csv.gz'), { idColumn: 'id', labelColumn: 'label' });
  model = await Autoencoder.fit(digits, { codeSize: 8, epochs: 2 });
});
after(() => model.dispose());

/** The `up` process and its stderr, line by line. */
class Up {
  readonly lines: string[] = [];
  private waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stderr!, crlfDelay: Infinity }).on('line', (line) => {
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(line)) return true;
        w.resolve(line);
        return false;
      });
    });
  }

  /** The first line (from `from` on) that matches. */
  async waitFor(pattern: RegExp, from = 0, timeoutMs = 60_000): Promise<RegExpExecArray> {
    const seen = this.lines.slice(from).find((l) => pattern.test(l));
    if (seen !== undefined) return pattern.exec(seen)!;
    const cancel = new AbortController();
    try {
      const line = await Promise.race([
        new Promise<string>((resolve) => this.waiters.push({ test: (l) => pattern.test(l), resolve })),
        sleep(timeoutMs, undefined, { signal: cancel.signal }).then(() => {
          throw new Error(`no line matching ${pattern} within ${timeoutMs} ms; up said:\n${this.lines.join('\n')}`);
        }),
        once(this.child, 'exit', { signal: cancel.signal }).then(([code]) => {
          throw new Error(`up exited (${String(code)}) before ${pattern}:\n${this.lines.join('\n')}`);
        }),
      ]);
      return pattern.exec(line)!;
    } finally {
      cancel.abort();
    }
  }

  /** pid of a child from the supervisor's latest `<label> started (pid N)` line. */
  pid(label: string): number {
    const started = this.lines.filter((l) => l.includes(`${label} started (pid `)).at(-1);
    assert.ok(started, `no start line for ${label}`);
    return Number(/\(pid (\d+)\)/.exec(started)![1]);
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function encodeAll(queue: Queue, events: QueueEvents, version: number, datasets: string[]): Promise<Set<string>> {
  const jobs = await queue.addBulk(datasets.map((dataset) => ({ name: 'encode' as const, data: { model: 'm', version, dataset, batchSize: 64 } })));
  // One after the other: each wait adds listeners to the queue (all at once exceed its listener limit).
  for (const job of jobs) await job.waitUntilFinished(events, 60_000);
  const done = await Promise.all(jobs.map((job) => queue.getJob(job.id!)));
  return new Set(done.map((j) => j!.processedBy ?? '?'));
}

test('up --scale encoder=2,downstream=1: both encoders take jobs, a killed one is restarted, SIGTERM stops all with 0', async () => {
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  const { version, queue, events, close } = await encodeJobs(fixture, model, Object.fromEntries(names.map((n) => [n, digits])));

  const env = {
    ...process.env, REDIS_URL: fixture.url(), LATENTFLOW_PREFIX: fixture.prefix(), LATENTFLOW_BACKEND: 'wasm',
    LATENTFLOW_ENCODER_CONCURRENCY: '1', LATENTFLOW_JOB_LOCK_MS: '5000',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'up', '--scale', 'encoder=2,downstream=1'], {
    cwd: projectPath('.'), env, stdio: ['ignore', 'ignore', 'pipe'],
  });
  const up = new Up(child);
  const pids = new Set<number>();
  try {
    await up.waitFor(/running trainer\.1, encoder\.1, encoder\.2, downstream\.1 /);
    for (const label of ['trainer.1', 'encoder.1', 'encoder.2', 'downstream.1']) {
      await up.waitFor(new RegExp(`^\\[${label.replace('.', '\\.')}\\] .*ready:`));
      pids.add(up.pid(label));
    }
    const [first, second] = [up.pid('encoder.1'), up.pid('encoder.2')];
    assert.notEqual(first, second);

    const before = await encodeAll(queue, events, version, names.slice(0, 6));
    assert.deepEqual([...before].sort(), [`encode@${hostname()}:${first}`, `encode@${hostname()}:${second}`].sort(),
      'the jobs were taken by both encoder processes');

    const mark = up.lines.length;
    process.kill(first, 'SIGKILL');
    await up.waitFor(new RegExp(`encoder\\.1 \\(pid ${first}\\) exited unexpectedly \\(SIGKILL\\); restarting`), mark);
    await up.waitFor(/encoder\.1 started \(pid \d+\)/, mark);
    const restarted = up.pid('encoder.1');
    pids.add(restarted);
    assert.notEqual(restarted, first);
    await up.waitFor(/^\[encoder\.1\] .*ready:/, mark);
    assert.ok(alive(second), 'the other encoder kept running');

    const afterRestart = await encodeAll(queue, events, version, [...names, ...names.slice(0, 4)]);
    assert.ok(afterRestart.has(`encode@${hostname()}:${restarted}`), `the restarted encoder took no job (${[...afterRestart].join(', ')})`);

    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, up.lines.join('\n'));
    await up.waitFor(/latentflow up: stopped/);
    for (const pid of pids) assert.ok(!alive(pid), `child ${pid} still running after up exited`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await close();
  }
});
