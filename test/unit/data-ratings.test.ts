import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { readRatings, splitRatings } from '../../shared/data/ratings.js';
import { InputError } from '../../shared/contracts/errors.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lf-ratings-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string | Buffer): Promise<string> {
  const p = path.join(dir, name);
  await writeFile(p, text);
  return p;
}

describe('ratings readers', () => {
  test('CSV with a header and timestamps, ids mapped in first-seen order', async () => {
    const r = await readRatings(await file('r.csv', 'userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3,1260759179\n7,31,4.5,1\n'));
    assert.deepEqual(r.users, ['1', '7']);
    assert.deepEqual(r.items, ['31', '1029']);
    assert.deepEqual([...r.entries.user], [0, 0, 1]);
    assert.deepEqual([...r.entries.item], [0, 1, 0]);
    assert.deepEqual([...r.entries.rating], [2.5, 3, 4.5]);
    assert.equal(r.min, 2.5);
    assert.equal(r.max, 4.5);
  });

  test('CSV without a header, CRLF and blank lines', async () => {
    const r = await readRatings(await file('r2.csv', 'a,x,1\r\n\r\nb,y,5\r\n'));
    assert.deepEqual(r.users, ['a', 'b']);
    assert.equal(r.entries.rating.length, 2);
  });

  test('MovieLens u.data: tab-separated, no header, gzip', async () => {
    const r = await readRatings(await file('u.data.gz', gzipSync('196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t1\t878887116\n')));
    assert.deepEqual(r.users, ['196', '186']);
    assert.deepEqual(r.items, ['242', '302']);
    assert.deepEqual([...r.entries.rating], [3, 3, 1]);
  });

  test('MovieLens ratings.dat: "::" separated', async () => {
    const r = await readRatings(await file('ratings.dat', '1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n'));
    assert.deepEqual(r.users, ['1', '2']);
    assert.deepEqual(r.items, ['1193', '661']);
    assert.deepEqual([...r.entries.rating], [5, 3, 4]);
  });

  test('errors name the file, line, field and value', async () => {
    const bad = await file('bad.csv', 'u,i,r\n1,2,3\n1,3,abc\n');
    await assert.rejects(readRatings(bad), (e: unknown) => e instanceof InputError && e.message.includes(bad) && /line 3/.test(e.message) && /field "rating"/.test(e.message) && /"abc"/.test(e.message));
    const wide = await file('wide.csv', '1,2,3,4,5\n');
    await assert.rejects(readRatings(wide), (e: unknown) => e instanceof InputError && /line 1/.test(e.message) && /found 5/.test(e.message));
    const empty = await file('empty-user.csv', '1,2,3\n,2,3\n');
    await assert.rejects(readRatings(empty), (e: unknown) => e instanceof InputError && /line 2/.test(e.message) && /field "user"/.test(e.message));
    await assert.rejects(readRatings(await file('none.csv', 'user,item,rating\n')), /no ratings/);
    for (const [rating, problem] of [['0x5', 'not a decimal number'], ['Infinity', 'not a finite number'], ['1e39', 'beyond the Float32 range']]) {
      const p = await file(`rating-${rating}.csv`, `u,i,r\n1,2,3\n1,3,${rating}\n`);
      await assert.rejects(readRatings(p), (e: unknown) => e instanceof InputError && e.message === `${p}, line 3, field "rating", value "${rating}": ${problem}`);
    }
    await assert.rejects(readRatings(path.join(dir, 'missing.csv')), (e: unknown) => e instanceof InputError && /file not found/.test(e.message));
  });
});

describe('ratings split', () => {
  test('seeded 90/10 split keeps every entry once and the id maps', async () => {
    const lines = Array.from({ length: 200 }, (_, k) => `u${k % 17},i${k % 23},${1 + (k % 5)}`).join('\n');
    const r = await readRatings(await file('split.csv', lines));
    const a = splitRatings(r, 0.1, 3);
    const b = splitRatings(r, 0.1, 3);
    assert.equal(a.test.entries.rating.length, 20);
    assert.equal(a.train.entries.rating.length, 180);
    assert.deepEqual(a.test.entries.user, b.test.entries.user);
    assert.deepEqual(a.test.entries.item, b.test.entries.item);
    assert.notDeepEqual([...splitRatings(r, 0.1, 4).test.entries.item], [...a.test.entries.item]);
    assert.equal(a.train.users, r.users);
    const key = (x: typeof r, k: number) => `${x.entries.user[k]}/${x.entries.item[k]}/${x.entries.rating[k]}`;
    const all = [...Array.from({ length: 180 }, (_, k) => key(a.train, k)), ...Array.from({ length: 20 }, (_, k) => key(a.test, k))].sort();
    assert.deepEqual(all, Array.from({ length: 200 }, (_, k) => key(r, k)).sort());
  });
});
