/** Starts a service's entry point as its own process, as docker-compose or `latentflow up` would. */
import { spawn, type ChildProcess } from 'node:child_process';
import { projectPath } from './cli.js';

export interface ServiceProcess {
  child: ChildProcess;
  /** Everything the process wrote to stderr so far. */
  log(): string;
  /** Resolves the exit code (null when a signal ended it) once the process has exited, however it ended. */
  exited: Promise<number | null>;
  /** SIGTERM, then wait for the exit; resolves the exit code. */
  stop(): Promise<number | null>;
}

export interface ServiceOptions {
  /** Options for node itself, before the entry point (e.g. V8's `--wasm-max-mem-pages=N` to bound the wasm heap). */
  nodeArgs?: string[];
}

export async function startService(name: 'trainer' | 'encoder' | 'downstream', env: Record<string, string>, options: ServiceOptions = {}): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', projectPath(`services/${name}/main.ts`)], {
    cwd: projectPath('.'), env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('ready:')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready:\n${stderr}`)));
  });
  await ready;
  return {
    child,
    log: () => stderr,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
  };
}
