/** Starts a service's entry point as its own process, as docker-compose or `latentflow up` would. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { projectPath } from './cli.js';

export interface ServiceProcess {
  child: ChildProcess;
  /** Everything the process wrote to stderr so far. */
  log(): string;
  /** SIGTERM, then wait for the exit; resolves the exit code. */
  stop(): Promise<number | null>;
}

export async function startService(name: 'trainer' | 'encoder' | 'downstream', env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', projectPath(`services/${name}/main.ts`)], {
    cwd: projectPath('.'), env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
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
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}
