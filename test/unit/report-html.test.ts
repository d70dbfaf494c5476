// The report document: self-contained HTML5 in which every piece of data is escaped and no URL appears, with a note
// for each section the data does not allow.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderCharts } from '../../shared/report/index.js';
import type { ReportData } from '../../shared/report/data.js';
import { renderHtml } from '../../shared/report/html.js';

const EVIL = '<script>alert("x")</script> http://evil.example/&';

function fixture(withLabels: boolean): ReportData {
  const errors = Float32Array.from({ length: 60 }, (_, i) => 0.01 + (i % 7) / 100);
  const labels = withLabels ? Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? EVIL : `class_${i % 3}`)) : undefined;
  return {
    title: 'run r-1',
    generatedAt: '2026-01-01T00:00:00.000Z',
    model: {
      model: 'm', version: 2, dataset: 'd', createdAt: '2026-01-01T00:00:00.000Z', inputWidth: 3, codeSize: 2,
      features: [EVIL, 'b', 'c'], config: { codeSize: 2, encoder: [8, 2], note: EVIL }, threshold: 0.05, epochs: 2, seconds: 1,
      samplesPerSecond: 100, finalLoss: 0.1, fingerprint: 'abc', bytes: 10,
    },
    aliases: ['production'],
    dataset: {
      name: 'd', rows: 60, width: 3, features: [EVIL, 'b', 'c'], hasLabels: withLabels, labelSet: withLabels ? [EVIL, 'class_1', 'class_2'] : [],
      chunkRows: 4096, chunks: 1, source: `https://data.example/${EVIL}`, importedAt: '2026-01-01T00:00:00.000Z', fingerprint: 'abc',
    },
    training: { bestEpoch: 2, stoppedEarly: false, trainRows: 54, validationRows: 6 },
    losses: [{ epoch: 1, loss: 0.2, valLoss: 0.25 }, { epoch: 2, loss: 0.1, valLoss: 0.12 }],
    threshold: { value: 0.05, source: 'model' },
    errors,
    ...(labels ? { labels } : {}),
    view: {
      points: Array.from(errors, (e, i) => ({ x: i, y: e, cluster: String(i % 2), ...(labels ? { label: labels[i] } : {}) })),
      xTitle: 'z1', yTitle: 'z2', method: 'codes', records: 60,
    },
    ...(withLabels ? {
      classification: {
        model: 'm', version: 2, dataset: 'd', accuracy: 0.9, macroF1: 0.9, trained: 42, tested: 18, predicted: 60,
        confusion: { labels: [EVIL, 'class_1', 'class_2'], matrix: [[6, 0, 0], [1, 5, 0], [0, 1, 5]] },
      },
    } : {}),
    anomalies: [{ id: EVIL, error: 0.07, anomalous: true, label: EVIL, features: [{ feature: EVIL, error: 0.5 }], attribution: [{ feature: EVIL, contribution: 0.3 }], pValue: 0.001 }],
    notes: withLabels ? {} : { labels: 'The dataset has no labels: no errors by label, no colouring by label, no SVM confusion matrix.' },
  };
}

function assertSafe(page: string): void {
  assert.ok(page.startsWith('<!DOCTYPE html>\n<html lang="en">'), 'an HTML5 document');
  assert.ok(!/https?:\/\//.test(page), `no URL: ${/.{60}https?:\/\/.{60}/.exec(page)?.[0]}`);
  assert.ok(!page.includes('<script'), 'no script, not even from the data');
  // Quotes matter in attributes only: vega leaves them as they are in SVG text.
  assert.ok(!/="[^"]*<|alert\("x"\)"/.test(page), 'no attribute broken by the data');
  assert.equal(page.match(/<style>/g)?.length, 1, 'one inline style sheet');
}

test('every piece of data is escaped and no URL appears, in the tables and in the charts', async () => {
  const data = fixture(true);
  const page = renderHtml(data, await renderCharts(data));
  assertSafe(page);
  assert.equal(page.match(/<svg /g)?.length, 6);
  assert.match(page, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;&#47;script&gt; http:&#47;&#47;evil\.example&#47;&amp;/);
  assert.match(page, /<h1>latentflow report: run r-1<\/h1>/);
  assert.ok(!page.includes('class="note"'));
});

test('without labels: no label charts, and a note says why', async () => {
  const data = fixture(false);
  const charts = await renderCharts(data);
  assert.deepEqual(Object.keys(charts).sort(), ['codesByCluster', 'errors', 'loss']);
  const page = renderHtml(data, charts);
  assertSafe(page);
  const notes = page.match(/<p class="note">The dataset has no labels/g) ?? [];
  assert.equal(notes.length, 3, 'in the by-label, codes and classification sections');
});
