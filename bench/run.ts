/** `npm run bench -- <suite> [options]`: runs bench/<suite>.ts (see SUITES). */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SUITES = ['fmnist', 'fmnist-classify', 'fmnist-cluster', 'dashboard', 'throughput', 'kernels', 'train-speed', 'encode-throughput', 'stream-throughput', 'recirculation', 'hostile', 'autorec', 'detect', 'event-loop', 'source-flood'];
const [suite, ...rest] = process.argv.slice(2);
if (!suite || !SUITES.includes(suite)) {
  console.error(`usage: npm run bench -- <suite> [options]; suites: ${SUITES.join(', ')}`);
  process.exit(2);
}
const file = fileURLToPath(new URL(`./${suite}.ts`, import.meta.url));
if (!existsSync(file)) throw new Error(`missing ${file}`);
const result = spawnSync(process.execPath, ['--import', 'tsx', file, ...rest], { stdio: 'inherit' });
process.exit(result.status ?? 1);
