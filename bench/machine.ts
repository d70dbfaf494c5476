/** One line describing the machine a benchmark ran on. */
import os from 'node:os';

export function machine(): string {
  return `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}`;
}
