/** The machine a benchmark ran on: details for the results files, and one line for the printed tables. */
import { createRequire } from 'node:module';
import os from 'node:os';

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

/** One line describing the machine. */
export function machine(): string {
  return `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}`;
}
