/**
 * The install step that builds the native addon (native/install.mjs, run by `npm ci`): it builds and says so where it
 * can, and where it cannot it says why and still exits 0, so an install never fails on it. Runs on a copy of native/
 * (a failed rebuild deletes the addon it replaces). Needs npm's node-gyp: `npm test` names it in npm_config_node_gyp.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNativeBlas } from '../../shared/ml/native-blas.js';

const NATIVE = fileURLToPath(new URL('../../native', import.meta.url));
const gyp = process.env.npm_config_node_gyp;
const skip = gyp === undefined ? 'npm_config_node_gyp is unset (run through npm test)'
  : loadNativeBlas() === undefined ? 'this machine cannot build the addon (no compiler or OpenBLAS), so there is no success to check' : false;

describe('npm ci\'s native addon step', { skip }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lf-native-install-'));
  cpSync(NATIVE, path.join(dir, 'native'), { recursive: true, filter: (from) => !from.includes(`${path.sep}build`) });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const install = (env: Record<string, string>) => spawnSync(process.execPath, [path.join(dir, 'native', 'install.mjs')], {
    encoding: 'utf8', env: { ...process.env, ...env },
  });
  const addon = path.join(dir, 'native', 'blas', 'build', 'Release', 'latentflow_blas.node');

  test('a failed build exits 0 with one line naming the failure and the remedy', () => {
    const run = install({ CC: '/bin/false', CXX: '/bin/false' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^latentflow: native OpenBLAS addon not built \(build failed: .*\); training runs on plain wasm\. For native speed: apt-get install -y .*libopenblas-dev/m);
    assert.ok(!existsSync(addon));
  });

  test('LATENTFLOW_NATIVE=skip skips it and says so', () => {
    const run = install({ LATENTFLOW_NATIVE: 'skip' });
    assert.equal(run.status, 0);
    assert.match(run.stdout, /not built \(LATENTFLOW_NATIVE=skip\)/);
  });

  test('with a compiler and OpenBLAS it builds an addon that loads, and says so', () => {
    const run = install({});
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^latentflow: native OpenBLAS addon built: training uses wasm with native OpenBLAS matmuls$/m);
    assert.ok(existsSync(addon));
  });
});
