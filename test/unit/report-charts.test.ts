// The report's charts: Vega-Lite specs rendered to SVG in Node; each has the marks it should, escapes its text and
// holds no URL.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../../shared/analytics/random.js';
import { codesScatter, confusionMatrixChart, errorByLabelChart, errorHistogram, lossChart, MAX_SCATTER_POINTS } from '../../shared/report/charts.js';

/** The items (leaf elements) of every SVG group of the named mark (`<name>_marks`), one array per group. */
function marks(svg: string, name: string): string[][] {
  const groups = [...svg.matchAll(new RegExp(`<g class="mark-[a-z]+ role-mark ${name}_marks"[^>]*>(.*?)</g>`, 'g'))];
  return groups.map((g) => g[1].match(/<(path|line|text|rect)\b[^>]*?(\/>|>[^<]*<\/\1>)/g) ?? []);
}

/** Every check an inline chart must pass: SVG root, no namespace attributes, no URL, no script. */
function assertInlineSvg(svg: string): void {
  assert.ok(/^<svg [^>]*viewBox=/.test(svg), 'an <svg> root with a viewBox');
  assert.ok(!svg.includes('xmlns'), 'no xmlns attribute');
  assert.ok(!/https?:\/\//.test(svg), `no URL: ${/.{80}https?:\/\/.{80}/.exec(svg)?.[0]}`);
  assert.ok(!/<script|<foreignObject|<image/i.test(svg), 'no script, foreign object or image');
}

function gaussian(seed: number): () => number {
  const random = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

test('loss chart: one line per series, validation only when present', async () => {
  const epochs = Array.from({ length: 12 }, (_, i) => ({ epoch: i + 1, loss: 1 / (i + 1), valLoss: 1.2 / (i + 1) }));
  const both = await lossChart(epochs, { width: 300, height: 150 });
  assertInlineSvg(both);
  assert.equal(marks(both, 'loss').length, 2);
  assert.match(both, />validation</);
  const training = await lossChart(epochs.map(({ epoch, loss }) => ({ epoch, loss })));
  assert.equal(marks(training, 'loss').length, 1);
  assert.ok(!training.includes('>validation<'), 'no validation series');
});

test('error histogram: bars and one threshold rule; the largest errors clamped into the last bar with a note', async () => {
  const g = gaussian(1);
  const errors = Float32Array.from({ length: 1000 }, () => 0.05 + 0.01 * Math.abs(g()));
  errors[3] = 5; // far beyond the rest
  const svg = await errorHistogram(errors, { threshold: 0.08, bins: 30 });
  assertInlineSvg(svg);
  const [bars] = marks(svg, 'bars');
  assert.ok(bars.length >= 5 && bars.length <= 31, `${bars.length} bars`);
  assert.equal(marks(svg, 'threshold')[0]?.length, 1, 'one threshold rule');
  assert.match(svg, /the last bar also counts 1 record with error above/);

  const plain = await errorHistogram(errors.subarray(4), { threshold: null });
  assert.equal(marks(plain, 'threshold').length, 0);
  assert.ok(!plain.includes('last bar'), 'nothing clamped');
});

test('error by label: one box per label in natural order, labels escaped', async () => {
  const g = gaussian(2);
  const labels = ['10', '2', '<b>&"x', 'http://example.com/x'];
  const rows = Array.from({ length: 400 }, (_, i) => labels[i % 4]);
  const errors = Float32Array.from(rows, () => 0.1 + 0.02 * g());
  const svg = await errorByLabelChart(errors, rows);
  assertInlineSvg(svg);
  const boxes = [...svg.matchAll(/role-mark boxes_layer_1_layer_0_marks"[^>]*>(.*?)<\/g>/g)].map((m) => m[1].match(/<path/g)?.length);
  assert.deepEqual(boxes, [4], 'four boxes');
  assert.ok(svg.indexOf('>2<') < svg.indexOf('>10<'), '"2" before "10"');
  assert.match(svg, /&lt;b&gt;&amp;/);
  assert.ok(!svg.includes('<b>'), 'no raw <b>');
  assert.match(svg, /http:&#47;&#47;example\.com/, 'a URL in the data is kept as text, not as a URL');
});

test('codes scatter: one point per record up to the sample size, seeded; groups escaped', async () => {
  const g = gaussian(3);
  const points = Array.from({ length: 30 }, (_, i) => ({ x: g(), y: g(), group: i % 3 === 0 ? '<script>alert(1)</script>' : `c${i % 3}` }));
  const small = await codesScatter(points, { groupTitle: 'label', xTitle: 'PC1', yTitle: 'PC2' });
  assertInlineSvg(small);
  assert.equal(marks(small, 'points')[0].length, 30);
  assert.match(small, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);

  const many = Array.from({ length: 5000 }, (_, i) => ({ x: g(), y: g(), group: i % 7 }));
  const sampled = await codesScatter(many);
  assert.equal(marks(sampled, 'points')[0].length, MAX_SCATTER_POINTS);
  assert.equal(await codesScatter(many), sampled, 'the same sample every time');
  assert.ok(sampled.length < 400_000, `${sampled.length} bytes`);
});

test('confusion matrix: a cell and a count per (true, predicted) pair', async () => {
  const svg = await confusionMatrixChart({ labels: ['a', 'b', 'c'], matrix: [[50, 1, 0], [0, 47, 3], [2, 0, 61]] });
  assertInlineSvg(svg);
  assert.equal(marks(svg, 'cells')[0].length, 9);
  const counts = marks(svg, 'counts')[0].map((t) => Number(/>([^<]*)</.exec(t)?.[1]));
  assert.deepEqual(counts.sort((a, b) => a - b), [0, 0, 0, 1, 2, 3, 47, 50, 61]);
});
