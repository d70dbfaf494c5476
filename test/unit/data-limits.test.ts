// The size limits on data files (shared/contracts/limits.ts FILE_LIMITS), checked before the expensive step: hostile
// inputs are a few MB on disk (gzip bombs made of repeated gzip members) and are refused long before they are read.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FILE_LIMITS } from '../../shared/contracts/limits.js';
import { readCsv } from '../../shared/data/csv.js';
import { encodeIdx, readIdx, readIdxTable } from '../../shared/data/idx.js';
import { readNdjson } from '../../shared/data/ndjson.js';
import { readRatings } from '../../shared/data/ratings.js';
import { readTable } from '../../shared/data/read-table.js';
import { openByteStream } from '../../shared/data/source.js';
import { TableBuilder } from '../../shared/data/table-builder.js';
import { rejectsInput } from '../helpers/assertions.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lf-data-limits-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** 64 MiB of one byte, gzip-compressed once (about 64 KB) and reused as a gzip member. */
const blocks = new Map<number, Buffer>();
function block(fill: number): Buffer {
  if (!blocks.has(fill)) blocks.set(fill, gzipSync(Buffer.alloc(64 << 20, fill)));
  return blocks.get(fill)!;
}

/**
 * A gzip file (concatenated members, which gunzip reads as one stream): `head`, then `blocks` × 64 MiB of the byte
 * `fill`, then `tail`. Written streamingly; a few MB on disk for GiBs decompressed.
 */
async function bomb(name: string, head: Uint8Array, blockCount: number, fill = 0, tail = ''): Promise<string> {
  const path = join(dir, name);
  const out = createWriteStream(path);
  out.write(gzipSync(head));
  for (let i = 0; i < blockCount; i++) if (!out.write(block(fill))) await once(out, 'drain');
  if (tail !== '') out.write(gzipSync(tail));
  out.end();
  await once(out, 'finish');
  return path;
}

/** The IDX header bytes (magic and dimensions) for unsigned-byte data of `dims`. */
function idxHeader(dims: number[]): Uint8Array {
  const full = encodeIdx({ dims: dims.map(() => 0), data: new Uint8Array(0) });
  const view = new DataView(full.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  return full;
}

test('IDX: a gzip bomb whose header claims 6.4 G values is refused from its header, before any data is read', { timeout: 20_000 }, async () => {
  // 100 × 64 MiB = 6.4 GiB of zeros behind a header claiming 8,192,000 images of 28×28.
  const path = await bomb('bomb-images-idx3-ubyte.gz', idxHeader([8_192_000, 28, 28]), 100);
  const err = await rejectsInput(readIdx(path), path, 'dimensions 8192000×28×28', '6,422,528,000 values', `limit of ${FILE_LIMITS.values.toLocaleString('en-US')} values per table`);
  assert.equal(err.where.source, path);
  await rejectsInput(readTable(path), path, '6,422,528,000 values');
});

test('IDX: rows wider than the features limit are refused from the header', async () => {
  const path = join(dir, 'wide-images-idx3-ubyte');
  await writeFile(path, idxHeader([2, 300, 300]));
  await rejectsInput(readIdx(path), path, 'dimensions 2×300×300', 'rows of 90,000 values', 'limit of 65,536 features');
});

test('IDX: data beyond what the dimensions call for is refused as soon as it starts, not after reading it all', { timeout: 20_000 }, async () => {
  // A valid 1000 × 28 × 28 file, then 6.4 GiB more.
  const images = encodeIdx({ dims: [1000, 28, 28], data: new Uint8Array(784_000) });
  const path = await bomb('tail-images-idx3-ubyte.gz', images, 100);
  await rejectsInput(readIdxTable(path), path, 'trailing bytes after IDX data', '1000×28×28', 'need 784016 bytes');
  // The same file cut short is truncated, naming what it has.
  const cut = join(dir, 'cut-images-idx3-ubyte.gz');
  await writeFile(cut, gzipSync(images.subarray(0, 500_000)));
  await rejectsInput(readIdx(cut), cut, 'truncated IDX data', 'need 784016 bytes, file has 500000');
});

test('gzip data that decompresses beyond the limit is refused as the stream passes it, naming the file and the limit', { timeout: 20_000 }, async () => {
  const path = await bomb('big.csv.gz', Buffer.from('x\n'), 4, 0x0a);
  const stream = await openByteStream(path, 64 << 20);
  let read = 0;
  const consume = async () => {
    for await (const chunk of stream) read += (chunk as Buffer).length;
  };
  await rejectsInput(consume(), path, 'gzip data decompresses to more than 64 MiB, the limit for one file');
  assert.ok(read <= 64 << 20, `read ${read} bytes`);
  assert.equal(FILE_LIMITS.decompressedBytes, 4 * 2 ** 30, 'the default limit is 4 GiB');
});

test('CSV: a 1 GiB record is an input error naming the file, the line and the limit (not ERR_STRING_TOO_LONG)', { timeout: 20_000 }, async () => {
  // "a,b" then "1," followed by 1 GiB of digits.
  const path = await bomb('long-record.csv.gz', Buffer.from('a,b\n1,'), 16, 0x31, '\n');
  const err = await rejectsInput(readCsv(path), path, 'line 2', 'record longer than 16 MiB, the limit for one record');
  assert.equal(err.where.line, 2);
  // A giant first line (where the delimiter is detected) is refused the same way.
  const head = await bomb('long-header.csv.gz', Buffer.from('a'), 16, 0x61);
  await rejectsInput(readCsv(head), head, 'line 1', 'line longer than 16 MiB, the limit for one line');
});

test('NDJSON: a 1 GiB line is refused at the limit, naming the file and the line', { timeout: 20_000 }, async () => {
  const path = await bomb('long.ndjson.gz', Buffer.from('{"x":1}\n{"x":'), 16, 0x31, '}\n');
  const err = await rejectsInput(readNdjson(path), path, 'line 2', 'line longer than 16 MiB, the limit for one line');
  assert.equal(err.where.line, 2);
});

test('NDJSON: a long line just under the limit, arriving in thousands of small chunks, is read', { timeout: 60_000 }, async () => {
  // A line of about 15 MiB (mostly a text field); gunzip hands it over in 16 KiB pieces.
  const line = `{"id":"a","x":2,"note":"${'n'.repeat(15 << 20)}"}\n`;
  assert.ok(line.length < FILE_LIMITS.lineBytes);
  const path = join(dir, 'wide.ndjson.gz');
  await writeFile(path, gzipSync(`${line}{"id":"b","x":3}\n`));
  const t = await readNdjson(path, { idColumn: 'id', columns: ['x'] });
  assert.deepEqual(t.ids, ['a', 'b']);
  assert.deepEqual(Array.from(t.values), [2, 3]);
});

test('ratings: a 1 GiB line is refused at the limit', { timeout: 20_000 }, async () => {
  const path = await bomb('long-ratings.csv.gz', Buffer.from('1,2,3\n4,'), 16, 0x31, ',5\n');
  await rejectsInput(readRatings(path), path, 'line 2', 'line longer than 16 MiB');
});

test('more feature columns than the limit are refused from the header', async () => {
  const path = join(dir, 'wide.csv');
  const names = Array.from({ length: FILE_LIMITS.features + 1 }, (_, j) => `f${j}`);
  await writeFile(path, `${names.join(',')}\n${names.map(() => '1').join(',')}\n`);
  await rejectsInput(readCsv(path), path, '65,537 feature columns, more than the limit of 65,536');
  // Exactly at the limit is fine.
  await writeFile(path, `${names.slice(1).join(',')}\n${names.slice(1).map(() => '1').join(',')}\n`);
  assert.equal((await readCsv(path)).width, FILE_LIMITS.features);
});

test('a table beyond its values limit is refused at the row that passes it, naming the line', () => {
  const builder = new TableBuilder('t.csv', ['a', 'b', 'c'], { maxValues: 10 });
  for (let line = 2; line <= 4; line++) builder.addRow(line);
  assert.throws(() => builder.addRow(5), (err: unknown) => {
    assert.ok(err instanceof Error && err.message.startsWith('t.csv, line 5, row 3: more than 3 rows of 3 features: the limit is 10 values per table'), String(err));
    return true;
  });
  assert.equal(builder.finish().rows, 3);
});

test('ids and labels longer than 512 bytes (UTF-8) are refused, naming the line and column', async () => {
  const ok = 'i'.repeat(FILE_LIMITS.idBytes);
  const path = join(dir, 'ids.csv');
  await writeFile(path, `id,x,label\n${ok},1,${'é'.repeat(256)}\n`);
  const t = await readCsv(path, { idColumn: 'id', labelColumn: 'label' });
  assert.deepEqual([t.ids[0].length, t.labels![0].length], [512, 256]);
  await writeFile(path, `id,x,label\n${ok}i,1,a\n`);
  await rejectsInput(readCsv(path, { idColumn: 'id', labelColumn: 'label' }), path, 'line 2', 'column "id"', 'id longer than 512 bytes');
  // 257 two-byte characters: 514 bytes.
  await writeFile(path, `id,x,label\na,1,${'é'.repeat(257)}\n`);
  await rejectsInput(readCsv(path, { idColumn: 'id', labelColumn: 'label' }), path, 'line 2', 'column "label"', 'label longer than 512 bytes');
  const nd = join(dir, 'ids.ndjson');
  await writeFile(nd, `{"id":"a","x":1}\n{"id":"${'b'.repeat(600)}","x":2}\n`);
  await rejectsInput(readNdjson(nd, { idColumn: 'id' }), nd, 'line 2', 'id longer than 512 bytes');
  const ratings = join(dir, 'ids-ratings.csv');
  await writeFile(ratings, `u1,i1,4\n${'u'.repeat(513)},i1,4\n`);
  await rejectsInput(readRatings(ratings), ratings, 'line 2', 'field "user"', 'user id longer than 512 bytes');
});
