// `dataset import --from-data-dir`: only files inside LATENTFLOW_DATA_DIR are read, after resolving symbolic links,
// the IDX labels file found next to the images included; the path read is the path checked. Real symlinks in a
// temporary directory, and the command itself against a private redis-server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, realpath, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { resolveDataFile } from '../../cli/dataset-import.js';
import { encodeIdx } from '../../shared/data/idx.js';
import { readRatings } from '../../shared/data/ratings.js';
import { readTable } from '../../shared/data/read-table.js';
import { rejectsInput } from '../helpers/assertions.js';
import { runCli } from '../helpers/cli.js';
import { useRedis } from '../helpers/redis.js';

let root: string;
/** LATENTFLOW_DATA_DIR for these tests. */
let dataDir: string;
/** A directory next to it, outside. */
let outside: string;

const images = encodeIdx({ dims: [2, 1, 2], data: Uint8Array.from([0, 255, 255, 0]) });
const labels = (a: number, b: number) => encodeIdx({ dims: [2], data: Uint8Array.from([a, b]) });

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lf-data-dir-'));
  dataDir = path.join(root, 'data');
  outside = path.join(root, 'outside');
  await mkdir(path.join(dataDir, 'sub'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(dataDir, '..weird.csv'), 'x,y\n1,2\n');
  await writeFile(path.join(dataDir, 'sub', 'inside.csv'), 'x,y\n3,4\n');
  await writeFile(path.join(outside, 'secret.csv'), 'x,y\n6,6\n');
  await symlink(path.join(outside, 'secret.csv'), path.join(dataDir, 'out-link.csv'));
  await symlink(path.join(dataDir, 'sub', 'inside.csv'), path.join(dataDir, 'in-link.csv'));
  await symlink(outside, path.join(dataDir, 'out-dir'));
  // IDX images whose labels file, found next to them by name, is a symlink out of the directory.
  await writeFile(path.join(dataDir, 'leak-images-idx3-ubyte.gz'), gzipSync(images));
  await writeFile(path.join(outside, 'leak-labels-idx1-ubyte.gz'), gzipSync(labels(6, 6)));
  await symlink(path.join(outside, 'leak-labels-idx1-ubyte.gz'), path.join(dataDir, 'leak-labels-idx1-ubyte.gz'));
  // And a pair that is entirely inside.
  await writeFile(path.join(dataDir, 'ok-images-idx3-ubyte.gz'), gzipSync(images));
  await writeFile(path.join(dataDir, 'ok-labels-idx1-ubyte.gz'), gzipSync(labels(3, 4)));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('files in the data directory', () => {
  test('a name starting with ".." inside the directory is accepted; ".." itself and paths out are refused', async () => {
    assert.equal(await resolveDataFile('..weird.csv', dataDir, true), path.join(await realpath(dataDir), '..weird.csv'));
    assert.equal(await resolveDataFile('sub/../..weird.csv', dataDir, true), path.join(await realpath(dataDir), '..weird.csv'));
    for (const file of ['../outside/secret.csv', '..', path.join(outside, 'secret.csv'), '/etc/passwd', '.']) {
      await rejectsInput(resolveDataFile(file, dataDir, true), file, `outside the data directory ${dataDir}`);
    }
    await rejectsInput(resolveDataFile('absent.csv', dataDir, true), 'absent.csv', 'no such file in the data directory');
    assert.equal(await resolveDataFile('../anything.csv', dataDir, false), '../anything.csv', 'without --from-data-dir any path is read');
  });

  test('symbolic links are followed once: a link out (file or directory) is refused, a link inside is read at its real path', async () => {
    await rejectsInput(resolveDataFile('out-link.csv', dataDir, true), 'out-link.csv', 'outside the data directory');
    await rejectsInput(resolveDataFile('out-dir/secret.csv', dataDir, true), 'out-dir/secret.csv', 'outside the data directory');
    await rejectsInput(readTable('out-link.csv', { within: dataDir }), 'out-link.csv', 'outside the data directory');
    assert.equal(await resolveDataFile('in-link.csv', dataDir, true), path.join(await realpath(dataDir), 'sub', 'inside.csv'));
    const table = await readTable('in-link.csv', { within: dataDir });
    assert.deepEqual(Array.from(table.values), [3, 4]);
  });

  test('the path read is the path checked: re-pointing a link after the check does not change what is read', async () => {
    const link = path.join(dataDir, 'swap.csv');
    await writeFile(path.join(dataDir, 'sub', 'ratings.csv'), 'u1,i1,4\n');
    await writeFile(path.join(outside, 'ratings.csv'), 'u9,i9,1\n');
    await symlink(path.join(dataDir, 'sub', 'ratings.csv'), link);
    const checked = await resolveDataFile('swap.csv', dataDir, true);
    await unlink(link);
    await symlink(path.join(outside, 'ratings.csv'), link);
    assert.deepEqual((await readRatings(checked)).users, ['u1']);
  });

  test('the IDX labels file found next to the images is checked too: a link out is refused, not read', async () => {
    await rejectsInput(readTable('leak-images-idx3-ubyte.gz', { within: dataDir }), 'leak-labels-idx1-ubyte.gz', 'outside the data directory');
    await rejectsInput(readTable('ok-images-idx3-ubyte.gz', { within: dataDir, labelsFile: path.join(outside, 'leak-labels-idx1-ubyte.gz') }), 'outside the data directory');
    const ok = await readTable('ok-images-idx3-ubyte.gz', { within: dataDir });
    assert.deepEqual(ok.labels, ['3', '4']);
    // Without a data directory the same files are read as before.
    assert.deepEqual((await readTable(path.join(dataDir, 'leak-images-idx3-ubyte.gz'))).labels, ['6', '6']);
  });
});

describe('latentflow dataset import --from-data-dir', () => {
  const redis = useRedis();
  const prefix = `datadir_${randomBytes(4).toString('hex')}`;
  const cli = (...args: string[]) => runCli(['dataset', 'import', ...args, '--from-data-dir', '--json'], { REDIS_URL: redis.url(), LATENTFLOW_PREFIX: prefix, LATENTFLOW_DATA_DIR: dataDir });

  test('imports a file named "..weird.csv" and IDX images with their labels from inside the directory', { timeout: 60_000 }, async () => {
    const weird = await cli('..weird.csv', '--name', 'weird');
    assert.equal(weird.code, 0, weird.stderr);
    assert.equal((JSON.parse(weird.stdout) as { rows: number }).rows, 1);
    const idx = await cli('ok-images-idx3-ubyte.gz', '--name', 'ok');
    assert.equal(idx.code, 0, idx.stderr);
    assert.deepEqual((JSON.parse(idx.stdout) as { labelSet: string[] }).labelSet, ['3', '4']);
  });

  test('refuses images whose labels file links out of the directory, naming it', { timeout: 60_000 }, async () => {
    const r = await cli('leak-images-idx3-ubyte.gz', '--name', 'leak');
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stderr, /leak-labels-idx1-ubyte\.gz: resolves outside the data directory/);
  });
});
