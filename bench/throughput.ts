/**
 * End-to-end records/s into Redis through the queue path (encode jobs, 1 and 2 encoder processes) and the stream
 * path (XADD → encoder → codes, errors and alerts), with latency percentiles: runs the encode-throughput and
 * stream-throughput suites (see their headers for the method) and writes both into bench/results/throughput.{json,md}.
 * Usage: npm run bench -- throughput [--encoders 1,2] [--rates 1000,5000,10000,0] [--seconds 10] [--out DIR]
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { machineDetails, machineMarkdown } from './machine.js';
import { writeResults } from './results-file.js';

const run = promisify(execFile);

async function suite(name: string, args: string[]): Promise<{ markdown: string; json: unknown }> {
  console.error(`${name} ${args.join(' ')} …`);
  const { stdout } = await run(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(`./${name}.ts`, import.meta.url)), ...args], { maxBuffer: 1 << 26 });
  const lines = stdout.trim().split('\n');
  return { json: JSON.parse(lines.at(-1)!) as unknown, markdown: lines.slice(0, -1).join('\n').trim() };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { encoders: { type: 'string', default: '1,2' }, rates: { type: 'string', default: '1000,5000,10000,0' }, seconds: { type: 'string', default: '10' }, out: { type: 'string' } },
  });
  const queue = await suite('encode-throughput', ['--encoders', values.encoders]);
  const stream = await suite('stream-throughput', ['--rates', values.rates, '--seconds', values.seconds]);
  const machine = machineDetails();
  const markdown = ['# Throughput into Redis', '', machineMarkdown(machine), '', `Command: \`npm run bench -- throughput ${process.argv.slice(2).join(' ')}\``,
    '', '## Queue path (encode jobs)', '', queue.markdown, '', '## Stream path', '', stream.markdown].join('\n');
  console.log(markdown);
  const paths = await writeResults('throughput', { machine, queue: queue.json, stream: stream.json }, markdown, values.out);
  console.error(`wrote ${paths.join(', ')}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
