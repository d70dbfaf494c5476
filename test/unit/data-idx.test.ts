import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { decodeIdx, encodeIdx, readIdx, readIdxTable, type Idx } from '../../shared/data/idx.js';
import { rejectsInput } from '../helpers/assertions.js';

const FASHION = '/usr/share/datasets/fashion-mnist';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lf-data-idx-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeIdx(name: string, idx: Idx | Uint8Array, gzip = false): Promise<string> {
  const path = join(dir, name);
  const bytes = idx instanceof Uint8Array ? idx : encodeIdx(idx);
  await writeFile(path, gzip ? gzipSync(bytes) : bytes);
  return path;
}

/** Three 2×2 "images" and their labels. */
const images: Idx = { dims: [3, 2, 2], data: Uint8Array.from([0, 255, 51, 102, 1, 2, 3, 4, 255, 255, 0, 0]) };
const labels: Idx = { dims: [3], data: Uint8Array.from([7, 0, 9]) };

test('IDX round trip: header bytes, dims and data survive, plain and gzip', async () => {
  const bytes = encodeIdx(images);
  assert.deepEqual(Array.from(bytes.subarray(0, 16)), [0, 0, 0x08, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2]);
  for (const gzip of [false, true]) {
    const back = await readIdx(await writeIdx(`rt${gzip ? '.gz' : ''}`, images, gzip));
    assert.deepEqual(back.dims, [3, 2, 2]);
    assert.ok(back.data instanceof Uint8Array);
    assert.deepEqual(Array.from(back.data), Array.from(images.data));
  }
});

test('every IDX element type decodes big-endian values, negatives included', () => {
  const samples: Idx[] = [
    { dims: [4], data: Int8Array.from([-128, -1, 0, 127]) },
    { dims: [2, 2], data: Int16Array.from([-32768, -2, 300, 32767]) },
    { dims: [3], data: Int32Array.from([-2147483648, 65536, 2147483647]) },
    { dims: [2], data: Float32Array.from([-1.5, 3.25]) },
    { dims: [2], data: Float64Array.from([-1e300, Math.PI]) },
  ];
  for (const idx of samples) {
    const back = decodeIdx(encodeIdx(idx), 'mem');
    assert.equal(back.data.constructor, idx.data.constructor);
    assert.deepEqual(back.dims, idx.dims);
    assert.deepEqual(Array.from(back.data), Array.from(idx.data));
  }
  const int16 = encodeIdx(samples[1]);
  assert.deepEqual(Array.from(int16.subarray(4 * 3, 4 * 3 + 2)), [0x80, 0x00]);
});

test('readIdxTable: rows of flattened pixels / 255, features px0.., ids row numbers, labels as text', async () => {
  const imgPath = await writeIdx('img-idx3-ubyte.gz', images, true);
  const lblPath = await writeIdx('lbl-idx1-ubyte', labels);
  const t = await readIdxTable(imgPath, lblPath);
  assert.equal(t.rows, 3);
  assert.equal(t.width, 4);
  assert.deepEqual(t.features, ['px0', 'px1', 'px2', 'px3']);
  assert.deepEqual(t.ids, ['0', '1', '2']);
  assert.deepEqual(t.labels, ['7', '0', '9']);
  assert.deepEqual(Array.from(t.values.subarray(0, 4)), [0, 1, Math.fround(0.2), Math.fround(0.4)]);
  assert.ok(t.values.every((v) => v >= 0 && v <= 1));
  const raw = await readIdxTable(imgPath, undefined, { scale: 1 });
  assert.equal(raw.labels, undefined);
  assert.deepEqual(Array.from(raw.values.subarray(4, 8)), [1, 2, 3, 4]);
  await rejectsInput(readIdxTable(imgPath, undefined, { scale: 0 }), 'field "scale"', 'value "0"');
});

test('bad magic, truncated and trailing data name the file and the numbers', async () => {
  const good = encodeIdx(images);
  await rejectsInput(readIdx(await writeIdx('csv-idx3-ubyte', new TextEncoder().encode('a,b\n1,2\n'))), 'csv-idx3-ubyte', 'bad IDX magic number 61 2c 62 0a');
  const badType = Uint8Array.from(good);
  badType[2] = 0x0a;
  await rejectsInput(readIdx(await writeIdx('type-idx3-ubyte', badType)), 'bad IDX magic number 00 00 0a 03');
  await rejectsInput(readIdx(await writeIdx('short-idx3-ubyte', good.subarray(0, 3))), 'too short');
  await rejectsInput(readIdx(await writeIdx('hdr-idx3-ubyte', good.subarray(0, 10))), 'truncated IDX header', '16 bytes', 'has 10');
  const cut = await rejectsInput(readIdx(await writeIdx('cut-idx3-ubyte.gz', good.subarray(0, good.length - 5), true)), 'cut-idx3-ubyte.gz', 'truncated IDX data', '3×2×2', '28 bytes', 'has 23');
  assert.equal(cut.where.source, join(dir, 'cut-idx3-ubyte.gz'));
  const long = new Uint8Array(good.length + 2);
  long.set(good);
  await rejectsInput(readIdx(await writeIdx('long-idx3-ubyte', long)), 'long-idx3-ubyte', 'trailing bytes after IDX data', '3×2×2', 'need 28 bytes');
  await rejectsInput(readIdx(join(dir, 'absent-idx3-ubyte')), 'absent-idx3-ubyte', 'file not found');
});

test('float and double values that are not finite in Float32 name the image and pixel', async () => {
  const path = await writeIdx('big-idx3-ubyte', { dims: [2, 1, 2], data: Float64Array.from([1, 2, 3, 1e39]) });
  await rejectsInput(readIdxTable(path), path, 'row 1', 'column "px1"', 'value "1e+39"', 'beyond the Float32 range');
  const nan = await writeIdx('nan-idx3-ubyte', { dims: [1, 1, 2], data: Float32Array.from([NaN, 1]) });
  await rejectsInput(readIdxTable(nan), nan, 'row 0', 'column "px0"', 'not a finite number');
});

test('an images/labels count mismatch names both files and both counts', async () => {
  const imgPath = await writeIdx('three-idx3-ubyte', images);
  const lblPath = await writeIdx('two-idx1-ubyte', { dims: [2], data: Uint8Array.from([1, 2]) });
  const err = await rejectsInput(readIdxTable(imgPath, lblPath), lblPath, imgPath, '2 labels', '3 images');
  assert.equal(err.where.source, lblPath);
  await rejectsInput(readIdxTable(imgPath, imgPath), 'one-dimensional', '3×2×2');
});

test('Fashion-MNIST t10k: 10000 labels in 10 classes, 10000 × 784 images in [0, 1]', async (t) => {
  const labelsPath = join(FASHION, 't10k-labels-idx1-ubyte.gz');
  const imagesPath = join(FASHION, 't10k-images-idx3-ubyte.gz');
  if (!existsSync(labelsPath) || !existsSync(imagesPath)) {
    t.skip(`${FASHION} not installed`);
    return;
  }
  const lbl = await readIdx(labelsPath);
  assert.deepEqual(lbl.dims, [10000]);
  assert.equal(new Set(lbl.data).size, 10);
  const table = await readIdxTable(imagesPath, labelsPath);
  assert.equal(table.rows, 10000);
  assert.equal(table.width, 784);
  assert.equal(new Set(table.labels).size, 10);
  let max = 0;
  for (const v of table.values) if (v > max) max = v;
  assert.equal(max, 1);
});
