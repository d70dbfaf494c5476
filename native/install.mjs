// `npm ci` / `npm install` step: builds the optional native OpenBLAS addon (native/blas) when this machine can, so a
// plain install trains at the benchmarked wasm + OpenBLAS speed, and prints one line saying which backend training
// will use and why. It never fails the install: without a compiler, OpenBLAS or Node's headers, training runs on
// plain wasm. LATENTFLOW_NATIVE=skip skips it. node-gyp is npm's own; it is pointed at the headers next to this Node
// (…/include/node), because its default, downloading them, fails offline.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const project = path.join(here, 'blas');
const addon = path.join(project, 'build', 'Release', 'latentflow_blas.node');
const say = (line) => console.log(`latentflow: ${line}`);
const plainWasm = (why) => say(`native OpenBLAS addon not built (${why}); training runs on plain wasm. For native speed: apt-get install -y g++ make python3 libopenblas-dev, then npm run build:native`);

function tfjsNode() {
  try {
    createRequire(import.meta.url)('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

/** Whether the built addon is newer than every source it is built from (npm may run this twice: the package links itself). */
function upToDate() {
  if (!existsSync(addon)) return false;
  const built = statSync(addon).mtimeMs;
  const sources = [path.join(project, 'binding.gyp'), ...readdirSync(path.join(project, 'src')).map((f) => path.join(project, 'src', f))];
  return sources.every((f) => statSync(f).mtimeMs <= built);
}

function nodeHeaders() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.dirname(path.dirname(realpathSync(process.execPath)));
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function loads() {
  const check = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)})`], { encoding: 'utf8' });
  return check.status === 0 ? undefined : (check.stderr.split('\n').find((l) => /Error/.test(l)) ?? 'it does not load').trim();
}

function main() {
  if (tfjsNode()) return say('@tensorflow/tfjs-node loads: training uses the tensorflow backend (the native addon is not needed)');
  if (process.env.LATENTFLOW_NATIVE === 'skip') return plainWasm('LATENTFLOW_NATIVE=skip');
  if (process.platform !== 'linux') return plainWasm(`the addon is built for Linux only, this is ${process.platform}`);
  if (!upToDate()) {
    const nodedir = nodeHeaders();
    if (nodedir === undefined) return plainWasm(`no Node headers next to ${process.execPath} (…/include/node/node_api.h)`);
    // npm names its bundled node-gyp in npm_config_node_gyp for lifecycle scripts; elsewhere, one on PATH.
    const gyp = process.env.npm_config_node_gyp;
    const [command, args] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];
    const build = spawnSync(command, [...args, 'rebuild', '-C', project, `--nodedir=${nodedir}`], { encoding: 'utf8', maxBuffer: 16 << 20 });
    if (build.error !== undefined) return plainWasm(`node-gyp could not run: ${build.error.message}`);
    if (build.status !== 0) {
      const output = `${build.stdout}\n${build.stderr}`.split('\n');
      const reason = output.find((l) => /fatal error|not found|No such file/i.test(l)) ?? output.find((l) => /error/i.test(l)) ?? `node-gyp exited ${build.status}`;
      return plainWasm(`build failed: ${reason.trim()}`);
    }
  }
  const problem = loads();
  if (problem !== undefined) return plainWasm(`built but ${problem}`);
  say('native OpenBLAS addon built: training uses wasm with native OpenBLAS matmuls');
}

try {
  main();
} catch (error) {
  plainWasm(`unexpected: ${error instanceof Error ? error.message : String(error)}`);
}
