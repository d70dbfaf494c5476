/**
 * A throw-away local Redis Cluster for integration tests: three masters (no replicas) on free ports of 127.0.0.1,
 * `redis-server --cluster-enabled yes` each, joined with `redis-cli --cluster create`, ready once every node reports
 * `cluster_state:ok`. Nothing is persisted; `stop()` kills the servers and removes their folder.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const HOST = '127.0.0.1';

export interface LocalCluster {
  /** `redis://127.0.0.1:<port>` of the first node (a seed: the client discovers the others). */
  url: string;
  ports: number[];
  /** Kills every node, waits for them to exit and removes their folder. Idempotent. */
  stop(): Promise<void>;
}

export async function startRedisCluster(options: { masters?: number; timeoutMs?: number } = {}): Promise<LocalCluster> {
  const masters = options.masters ?? 3;
  const timeoutMs = options.timeoutMs ?? 20_000;
  const dir = await mkdtemp(path.join(tmpdir(), 'latentflow-cluster-'));
  const children: ChildProcess[] = [];
  const killAll = () => { for (const c of children) c.kill('SIGKILL'); };
  process.once('exit', killAll);
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= (async () => {
    process.removeListener('exit', killAll);
    await Promise.all(children.map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    })));
    await rm(dir, { recursive: true, force: true });
  })());
  try {
    const ports = await freeClusterPorts(masters);
    for (const port of ports) {
      const child = spawn('redis-server', [
        '--port', String(port), '--bind', HOST, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
        '--cluster-node-timeout', '2000', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction',
        '--dir', dir, '--daemonize', 'no', '--logfile', '',
      ], { stdio: 'ignore' });
      children.push(child);
    }
    await Promise.all(ports.map((port) => until(async () => (await cli(port, 'PING')) === 'PONG', timeoutMs, `node ${port} answers PING`)));
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: timeoutMs });
    await Promise.all(ports.map((port) => until(async () => /cluster_state:ok/.test(await cli(port, 'CLUSTER', 'INFO')), timeoutMs, `node ${port} reports cluster_state:ok`)));
    return { url: `redis://${HOST}:${ports[0]}`, ports, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A redis-cli command's output on one node ('' when it cannot connect). */
export async function cli(port: number, ...args: string[]): Promise<string> {
  try {
    return (await run('redis-cli', ['-h', HOST, '-p', String(port), ...args], { timeout: 5000 })).stdout.trim();
  } catch {
    return '';
  }
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`local Redis Cluster: timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `n` ports whose cluster bus ports (port + 10000) are free too. */
async function freeClusterPorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let tries = 0; ports.length < n && tries < 200; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (ports.includes(port) || !(await isFree(port)) || !(await isFree(port + 10_000))) continue;
    ports.push(port);
  }
  if (ports.length < n) throw new Error('local Redis Cluster: no free ports');
  return ports;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}
