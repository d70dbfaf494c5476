/**
 * The services as child processes of one command (`up`, `demo`, `dashboard`): started from their entry points, restarted
 * with a growing delay when one exits unexpectedly, stopped with SIGTERM (then SIGKILL after a grace period).
 *
 * Entry points: `<dist>/services/<s>/main.js` when the CLI runs compiled and they exist next to it, else
 * `services/<s>/main.ts` run with `node --import tsx`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import { ConfigError } from '../shared/contracts/errors.js';

export const SERVICES = ['trainer', 'encoder', 'downstream', 'dashboard'] as const;
export type ServiceName = (typeof SERVICES)[number];
export type Scale = Record<ServiceName, number>;

const here = path.dirname(fileURLToPath(import.meta.url));
/** The folder holding `cli/` (the project root from source, `dist/` when compiled). */
const base = path.dirname(here);
/** The project root (with package.json, data/, services/*.ts). */
export const projectRoot: string = existsSync(path.join(base, 'package.json')) ? base : path.dirname(base);

/** The pipeline's three workers, one process each, and no dashboard. */
export const DEFAULT_SCALE: Scale = { trainer: 1, encoder: 1, downstream: 1, dashboard: 0 };

/** `encoder=2,downstream=1` → the process count of each service (`previous` for those not named; 0 runs none; at most one dashboard, which owns its port). */
export function parseScale(text: string, previous: Scale = DEFAULT_SCALE): Scale {
  const scale = { ...previous };
  for (const part of text.split(',').filter((p) => p.trim() !== '')) {
    const [name, count] = part.split('=').map((s) => s.trim());
    const n = Number(count);
    if (!(SERVICES as readonly string[]).includes(name)) throw new InvalidArgumentError(`unknown service ${JSON.stringify(name)} (${SERVICES.join(', ')})`);
    const max = name === 'dashboard' ? 1 : 64;
    if (!Number.isInteger(n) || n < 0 || n > max) throw new InvalidArgumentError(`${name}: process count must be an integer in [0, ${max}], got ${JSON.stringify(count)}`);
    scale[name as ServiceName] = n;
  }
  return scale;
}

/** The command that starts one service process. */
export function serviceCommand(service: ServiceName): { file: string; args: string[] } {
  const compiled = path.join(base, 'services', service, 'main.js');
  if (path.extname(fileURLToPath(import.meta.url)) === '.js' && existsSync(compiled)) return { file: process.execPath, args: [compiled] };
  const source = path.join(projectRoot, 'services', service, 'main.ts');
  if (!existsSync(source)) throw new ConfigError(`cannot find the ${service} service: neither ${compiled} nor ${source} exists`);
  return { file: process.execPath, args: ['--import', import.meta.resolve('tsx'), source] };
}

export interface SupervisorOptions {
  scale: Scale;
  /** Environment of the children (REDIS_URL, LATENTFLOW_PREFIX, ...). */
  env: NodeJS.ProcessEnv;
  /** Where the children's output goes, each line prefixed with `[service.n]`. */
  output: Writable;
  /** Supervisor messages (starts, exits, restarts). */
  log: (message: string) => void;
  /** Grace period between SIGTERM and SIGKILL when stopping. Default 30 s. */
  stopTimeoutMs?: number;
}

interface Slot {
  label: string;
  service: ServiceName;
  child?: ChildProcess;
  exited?: Promise<void>;
  failures: number;
  restartTimer?: NodeJS.Timeout;
}

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 15_000;
/** A child that ran this long before exiting is restarted without delay growth. */
const HEALTHY_MS = 20_000;

export class Supervisor {
  private readonly slots: Slot[] = [];
  private stopping = false;

  constructor(private readonly options: SupervisorOptions) {
    for (const service of SERVICES) {
      for (let i = 1; i <= options.scale[service]; i++) this.slots.push({ label: `${service}.${i}`, service, failures: 0 });
    }
  }

  /** Labels and pids of the running children. */
  get children(): { label: string; pid: number | undefined }[] {
    return this.slots.map((s) => ({ label: s.label, pid: s.child?.pid }));
  }

  /** Children left behind by a supervisor that exits without stopping them (a crash) are killed with it. */
  private readonly killOnExit = () => this.kill();

  start(): void {
    process.once('exit', this.killOnExit);
    for (const slot of this.slots) this.launch(slot);
  }

  private launch(slot: Slot): void {
    const { file, args } = serviceCommand(slot.service);
    const started = Date.now();
    // Own process group: a Ctrl-C at the terminal reaches only the supervisor, which then stops each child once.
    const child = spawn(file, args, { env: this.options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    slot.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => this.options.output.write(`[${slot.label}] ${line}\n`));
    }
    slot.exited = new Promise<void>((resolve) => {
      child.once('error', (error) => {
        this.options.log(`${slot.label} could not start: ${error.message}`);
      });
      child.once('close', (code, signal) => {
        resolve();
        if (this.stopping) return;
        const ranMs = Date.now() - started;
        slot.failures = ranMs >= HEALTHY_MS ? 0 : slot.failures + 1;
        const delay = slot.failures === 0 ? MIN_BACKOFF_MS : Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** (slot.failures - 1));
        this.options.log(`${slot.label} (pid ${child.pid}) exited unexpectedly (${signal ?? `code ${code}`}); restarting in ${(delay / 1000).toFixed(1)} s`);
        slot.restartTimer = setTimeout(() => {
          slot.restartTimer = undefined;
          if (!this.stopping) this.launch(slot);
        }, delay);
      });
    });
    this.options.log(`${slot.label} started (pid ${child.pid})`);
  }

  /** SIGTERM to every child, SIGKILL to those still running after the grace period; resolves once all have exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    const timeout = this.options.stopTimeoutMs ?? 30_000;
    await Promise.all(this.slots.map(async (slot) => {
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      const child = slot.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        this.options.log(`${slot.label} did not stop within ${timeout / 1000} s: SIGKILL`);
        child.kill('SIGKILL');
      }, timeout);
      await slot.exited;
      clearTimeout(timer);
    }));
    process.removeListener('exit', this.killOnExit);
  }

  /** SIGKILL to every child at once (a second Ctrl-C). */
  kill(): void {
    this.stopping = true;
    for (const slot of this.slots) {
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      slot.child?.kill('SIGKILL');
    }
  }
}
