/**
 * A private, throw-away `redis-server` child process: what `latentflow up` and the demo use when REDIS_URL is unset,
 * and what every integration test file runs against. Nothing is persisted (`--save '' --appendonly no`), keys are
 * never evicted (`noeviction`, which BullMQ requires), it listens on 127.0.0.1 only, on a free port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, LatentflowError } from '../contracts/errors.js';

export interface RedisServerOptions {
  /** Receives one line when the server is up and one when it stops. Default: silent. */
  log?: (message: string) => void;
  /** How long to wait for the first PING reply, in ms. Default 10000. */
  timeoutMs?: number;
}

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Stops the server (no save), waits for the process to exit and removes its working folder. Idempotent. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const NOT_INSTALLED = 'redis-server is not installed: `apt-get install -y redis-server`, or set REDIS_URL';

/** Starts `redis-server` from PATH on a free port and resolves once it answers PING. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'latentflow-redis-'));
  try {
    // A free port can be taken by someone else before redis binds it: try a few.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        return await launch(port, dir, options);
      } catch (error) {
        if (attempt >= 3 || !(error instanceof PortTaken)) throw error;
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

class PortTaken extends Error {}

async function launch(port: number, dir: string, options: RedisServerOptions): Promise<RedisServer> {
  const args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no',
    '--maxmemory-policy', 'noeviction', '--dir', dir, '--daemonize', 'no', '--logfile', ''];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => { output = (output + chunk.toString('utf8')).slice(-4000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  // A redis-server left behind by a crashed parent is killed with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const failed = Promise.race([
    spawnError.then((error) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new ConfigError(NOT_INSTALLED, { cause: error });
      return new LatentflowError(`redis-server could not start: ${error.message}`, false, { cause: error });
    }),
    exited.then((code) => {
      if (/address already in use/i.test(output)) return new PortTaken(output);
      return new LatentflowError(`redis-server exited (${code}) before answering PING:\n${output.trim()}`, false);
    }),
  ]);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const ready = waitForPing(port, timeoutMs);
  const outcome = await Promise.race([ready.promise, failed]);
  if (outcome !== true) {
    ready.cancel();
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      child.kill('SIGKILL');
      await exited;
    }
    if (outcome === false) {
      throw new LatentflowError(`redis-server on port ${port} did not answer PING within ${timeoutMs / 1000} s:\n${output.trim()}`, false);
    }
    throw outcome;
  }

  const url = `redis://${HOST}:${port}`;
  options.log?.(`redis-server (pid ${child.pid}) listening on ${url}`);
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    stop: () => (stopping ??= stop(child, exited, dir, killOnExit).then(() => options.log?.(`redis-server on ${url} stopped`))),
  };
}

async function stop(child: ChildProcess, exited: Promise<unknown>, dir: string, killOnExit: () => void): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    // SIGTERM makes redis-server shut down cleanly; with `--save ''` it writes nothing.
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  process.removeListener('exit', killOnExit);
  await rm(dir, { recursive: true, force: true });
}

/** A port that was free a moment ago on 127.0.0.1 (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not find a free port'))));
    });
  });
}

/** Resolves true once `PING` gets `+PONG` (retrying every 50 ms), false after `timeoutMs`. */
function waitForPing(port: number, timeoutMs: number): { promise: Promise<boolean>; cancel(): void } {
  let cancelled = false;
  const deadline = Date.now() + timeoutMs;
  const promise = (async () => {
    while (!cancelled && Date.now() < deadline) {
      if (await pingOnce(port)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  })();
  return { promise, cancel: () => { cancelled = true; } };
}

function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: HOST });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
