/** An encoder service process for benches, started like docker-compose would start it (services/encoder/main.ts). */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface EncoderProcess { child: ChildProcess; log(): string; stop(): Promise<void> }

/** Resolves once the encoder logged `ready:` (at most 60 s), with `env` over this process's environment. */
export async function startEncoder(env: Record<string, string>): Promise<EncoderProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/encoder/main.ts'], {
    cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-20_000);
      if (stderr.includes('ready:')) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`encoder exited (${code ?? signal}) before it was ready:\n${stderr}`)));
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    await ready;
  } catch (error) {
    await stop();
    throw error;
  } finally {
    clearTimeout(timeout);
  }
  return { child, log: () => stderr, stop };
}
