// fit → encode → score on the shipped wine data, as a user runs them, plus the errors a user sees.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli, projectPath } from '../helpers/cli.js';

let dir: string;
const wine = projectPath('data/wine.csv');

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lf-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('latentflow --help', () => {
  test('lists every command with its options', async () => {
    const { code, stdout } = await runCli(['--help']);
    assert.equal(code, 0);
    for (const command of ['fit', 'encode', 'score', 'evaluate']) assert.match(stdout, new RegExp(`^${command} `, 'm'));
    for (const flag of ['--encoder', '--code-size', '--activation', '--code-activation', '--output-activation', '--loss', '--l1', '--l2',
      '--sparsity', '--noise', '--optimizer', '--lr', '--batch-size', '--epochs', '--patience', '--scale', '--seed', '--normal', '--json']) {
      assert.ok(stdout.includes(`  ${flag} `), `help lacks ${flag}`);
    }
  });
});

describe('fit, encode, score', () => {
  const model = () => path.join(dir, 'wine.lfm');

  test('fit saves a model artifact and reports the training', async () => {
    const r = await runCli(['fit', wine, '--id', 'id', '--label', 'label', '--code-size', '4', '--epochs', '40', '--out', model()]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /epochs\s+40/);
    assert.match(r.stdout, /layers\s+13-52-13-4-13-52-13/);
    assert.match(r.stderr, /tfjs backend: wasm/);
    assert.ok((await readFile(model())).subarray(0, 4).toString() === 'LFM2');
  });

  test('encode writes one code row per record, keyed by id', async () => {
    const out = path.join(dir, 'codes.csv');
    const r = await runCli(['encode', model(), wine, '--id', 'id', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    assert.equal(lines[0], 'id,z1,z2,z3,z4');
    assert.equal(lines.length, 179);
    assert.match(lines[1], /^0,(-?[\d.e-]+,){3}-?[\d.e-]+$/);
  });

  test('score flags a corrupted record and names the corrupted feature first', async () => {
    const text = await readFile(wine, 'utf8');
    const [header, ...rows] = text.trim().split(/\r?\n/);
    const cells = rows[5].split(',');
    const column = header.split(',').indexOf('proline');
    cells[column] = String(Number(cells[column]) * 8);
    const file = path.join(dir, 'corrupted.csv');
    await writeFile(file, [header, ...rows.slice(0, 5), cells.join(','), ...rows.slice(6)].join('\n'));
    const r = await runCli(['score', model(), file, '--id', 'id']);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout.trim().split('\n');
    assert.equal(out[0], 'id,error,score,p_value,anomaly,top_features,attribution');
    const bad = out.find((l) => l.startsWith(`${cells[0]},`))!.split(',');
    assert.equal(bad[4], '1');
    assert.ok(Number(bad[3]) < 0.01, `p-value ${bad[3]}`);
    assert.match(bad[5], /^proline:/, 'worst reconstructed feature');
    assert.match(bad[6], /^proline:/, 'attribution: setting proline to its median lowers the score most');
    const flagged = out.slice(1).filter((l) => l.split(',')[4] === '1').length;
    assert.ok(flagged <= 10, `${flagged} of 178 flagged at the 0.99 quantile threshold`);
  });
});

describe('errors a user sees', () => {
  test('a non-number names file, line, column and value, and exits 2', async () => {
    const file = path.join(dir, 'bad.csv');
    await writeFile(file, 'id,a,b,label\n1,0.5,1,x\n2,0.1,oops,y\n3,0.2,3,x\n');
    const r = await runCli(['fit', file, '--id', 'id', '--label', 'label', '--code-size', '1', '--out', path.join(dir, 'x.lfm')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.csv, line 3.*column "b".*"oops"/);
  });

  test('a code as wide as the input names the flag', async () => {
    const r = await runCli(['fit', wine, '--id', 'id', '--label', 'label', '--code-size', '13', '--out', path.join(dir, 'x.lfm')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /code size 13 must be smaller than the input width 13 .*--code-size/);
  });

  test('an unknown normal label lists the labels', async () => {
    const r = await runCli(['evaluate', wine, '--id', 'id', '--label', 'label', '--normal', 'class_9', '--epochs', '1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /class_9.*class_0, class_1, class_2/);
  });

  test('an invalid backend names the variable', async () => {
    const r = await runCli(['evaluate', wine, '--label', 'label'], { LATENTFLOW_BACKEND: 'gpu' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /LATENTFLOW_BACKEND="gpu"/);
  });
});
