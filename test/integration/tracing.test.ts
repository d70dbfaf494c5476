// OpenTelemetry with OTEL_EXPORTER_OTLP_ENDPOINT set, against an in-process OTLP/HTTP collector: one run's jobs, on a
// real redis-server and real BullMQ workers, make one trace — the flow's submission, then a `process <queue>` span per
// stage and attempt carrying the run id as job id — and JSON log lines written during a stage carry its trace id.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { keyspace } from '../../shared/contracts/keys.js';
import { RUN_STAGES } from '../../shared/contracts/queues.js';
import { makeFlowProducer, submitRun } from '../../shared/pipeline/flow.js';
import { createLogger } from '../../shared/pipeline/log.js';
import { makeQueue, makeWorker } from '../../shared/pipeline/queues.js';
import { startTracing } from '../../shared/pipeline/tracing.js';
import { closeRedis } from '../../shared/store/redis.js';
import { settled } from '../helpers/jobs.js';
import { trackedRedis, useRedis } from '../helpers/redis.js';

const fixture = useRedis();

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: { stringValue?: string; intValue?: string } }[];
}

function attribute(span: OtlpSpan, key: string): string | undefined {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value?.stringValue ?? value?.intValue;
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

test('a run is one trace: its submission, then a process span per stage attempt with the run id; logs carry the trace id', async (t) => {
  const received: { service: string; spans: OtlpSpan[] }[] = [];
  const collector = createServer((req, res) => {
    void body(req).then((text) => {
      assert.equal(req.url, '/v1/traces');
      const payload = JSON.parse(text) as { resourceSpans: { resource: { attributes: { key: string; value: { stringValue: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const r of payload.resourceSpans) {
        const service = r.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
        received.push({ service, spans: r.scopeSpans.flatMap((s) => s.spans) });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  collector.listen(0, '127.0.0.1');
  await new Promise((r) => collector.once('listening', r));
  t.after(() => new Promise((r) => collector.close(r)));
  const stopTracing = startTracing('test', { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}` });

  const keys = keyspace(fixture.prefix());
  const connection = trackedRedis(fixture.url(), { bullmq: true, name: 'tracing' });
  const lines: string[] = [];
  const log = createLogger('test', 'info', (line) => lines.push(line), 'json');
  const target = { model: 'm', version: 1, dataset: 'd' };
  const workers = [
    makeWorker('train', (job) => {
      log.info('training');
      // The first attempt fails: its retry is a second process span of the same trace.
      if (job.attemptsMade === 0) return Promise.reject(new Error('transient'));
      return Promise.resolve({ ...target, epochs: 1, finalLoss: 1, threshold: 1, seconds: 0, backend: 'wasm', samplesPerSecond: 1 } as never);
    }, connection, keys, { concurrency: 1 }),
    makeWorker('encode', () => Promise.resolve({ ...target, records: 1, meanError: 1 } as never), connection, keys, { concurrency: 1 }),
    makeWorker('run', () => Promise.resolve({ run: 'traced', ...target, records: 1, embeddings: 1 } as never), connection, keys, { concurrency: 1 }),
  ];
  const flows = makeFlowProducer(connection, keys);
  const runQueue = makeQueue('run', connection, keys);
  try {
    await submitRun(flows, keys, { run: 'traced', model: 'm', dataset: 'd', stages: [] });
    const done = await settled(runQueue, 'traced', 30_000);
    assert.equal(done.state, 'completed', done.job.failedReason);
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all([flows.close(), runQueue.close()]);
    await closeRedis(connection);
    await stopTracing();
  }

  const spans = received.flatMap((r) => r.spans);
  assert.deepEqual([...new Set(received.map((r) => r.service))], ['latentflow-test']);
  const processed = spans.filter((s) => s.name.startsWith('process ') && attribute(s, 'bullmq.job.id') === 'traced');
  assert.deepEqual(processed.map((s) => s.name).sort(), ['process encode', 'process run', 'process train', 'process train'], 'a span per stage and attempt');
  const traceIds = new Set(processed.map((s) => s.traceId));
  assert.equal(traceIds.size, 1, 'every stage in one trace');
  const [traceId] = traceIds;
  const inTrace = spans.filter((s) => s.traceId === traceId);
  const root = inTrace.filter((s) => s.parentSpanId === undefined || s.parentSpanId === '' || !inTrace.some((p) => p.spanId === s.parentSpanId));
  assert.equal(root.length, 1, `one root: ${root.map((s) => s.name).join(', ')}`);
  assert.ok(!root[0].name.startsWith('process'), `the root is the submission (${root[0].name})`);
  for (const s of processed) assert.ok(inTrace.some((p) => p.spanId === s.parentSpanId), `${s.name} hangs in the tree`);
  const depth = (s: OtlpSpan): number => { const parent = inTrace.find((p) => p.spanId === s.parentSpanId); return parent ? 1 + depth(parent) : 0; };
  t.diagnostic(`trace ${traceId}: ${inTrace.map((s) => `${'  '.repeat(depth(s))}${s.name}`).join(' | ')}`);
  for (const stage of RUN_STAGES.filter((q) => ['train', 'encode', 'run'].includes(q))) assert.ok(processed.some((s) => s.name === `process ${stage}`));

  const training = lines.map((l) => JSON.parse(l) as Record<string, string>).filter((o) => o.msg === 'training');
  assert.equal(training.length, 2);
  for (const o of training) assert.equal(o.traceId, traceId, JSON.stringify(o));
});
