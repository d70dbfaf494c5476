/** Where benchmark results go: `bench/results/<suite>.json` and `.md`, with the machine they were measured on. */
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export interface MachineDetails {
  cpu: string;
  cores: number;
  memory_gib: number;
  os: string;
  node: string;
  tfjs: string;
  date: string;
}

export function machineDetails(): MachineDetails {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown CPU', cores: os.cpus().length, memory_gib: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`, node: process.version,
    tfjs: (require('@tensorflow/tfjs/package.json') as { version: string }).version, date: new Date().toISOString(),
  };
}

export function machineMarkdown(m: MachineDetails): string {
  return `Machine: ${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB, ${m.os}; Node ${m.node}, TensorFlow.js ${m.tfjs}; ${m.date}`;
}

/** Writes `<suite>.json` and `<suite>.md` under bench/results (or `dir`); returns the paths. */
export async function writeResults(suite: string, json: unknown, markdown: string, dir = fileURLToPath(new URL('./results/', import.meta.url))): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths = [`${dir}${suite}.json`, `${dir}${suite}.md`];
  await writeFile(paths[0], `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(paths[1], `${markdown}\n`);
  return paths;
}
