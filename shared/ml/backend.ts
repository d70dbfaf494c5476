/**
 * TensorFlow.js backend choice, made once per process: tfjs-node (`tensorflow`) if it loads, else the wasm backend
 * (with the transposed-matmul patch of ./wasm-kernels and, when the optional addon of native/blas is built, OpenBLAS
 * matmuls and training kernels from ./native-blas), else the pure-JS `cpu` backend. `LATENTFLOW_BACKEND` (read by
 * shared/config.ts) forces one of them; a forced backend that cannot start is a ConfigError.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../contracts/errors.js';
import { installNativeMatMul, installNativeTrainingKernels, loadNativeBlas, nativeBlasError } from './native-blas.js';
import { patchWasmMatMul } from './wasm-kernels.js';

/** The backends latentflow can run on, fastest first. */
export const BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
/** `auto` picks the first of BACKENDS that starts. */
export type BackendChoice = 'auto' | BackendName;

/** The backend in use and how it was chosen. */
export interface BackendInfo {
  /** The active tfjs backend. */
  name: BackendName;
  /** What was asked for. */
  requested: BackendChoice;
  /** Why each preferred backend was skipped (auto only), e.g. `tensorflow: Cannot find package ...`. */
  reason?: string;
  /** wasm only: whether the SIMD binary is in use. */
  simd?: boolean;
  /** wasm only: XNNPACK threads (1 in Node: tfjs disables wasm threads there). */
  threads?: number;
  /** wasm only: the native OpenBLAS kernels in use (`OpenBLAS …, N thread(s)`), or why not (`off: …`). */
  native?: string;
}

export interface BackendOptions {
  /** OpenBLAS threads of the native addon (wasm backend, when built). Default 1. */
  blasThreads?: number;
}

let current: Promise<BackendInfo> | undefined;
let resolved: BackendInfo | undefined;

function message(err: unknown): string {
  const text = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  return (err as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' ? text.split(' imported from')[0] : text;
}

/** The cpu backend prints a "looks like you are running TensorFlow.js in Node.js" banner on its first write. */
function silenceCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu !== null && cpu.firstUse === true) cpu.firstUse = false;
}

async function start(name: BackendName): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed (see the warning above)`);
  await tf.ready();
  if (tf.getBackend() !== name) throw new Error(`tfjs is running '${tf.getBackend()}' instead`);
}

/** Installs the native kernels over the patched wasm ones when the addon loads; describes the outcome. */
function installNative(): string {
  const blas = loadNativeBlas();
  if (blas === undefined) return `off: ${nativeBlasError() ?? 'not built'}`;
  installNativeMatMul();
  installNativeTrainingKernels();
  return `${blas.config().split(' ').slice(0, 2).join(' ')}, ${blas.getNumThreads()} thread(s)`;
}

async function activate(name: BackendName, options: BackendOptions): Promise<Omit<BackendInfo, 'requested' | 'reason'>> {
  // The fused dense training step of ./native-train runs on any backend when the addon is built.
  loadNativeBlas()?.setNumThreads(options.blasThreads ?? 1);
  if (name !== 'wasm') {
    const specifier = '@tensorflow/tfjs-node';
    if (name === 'tensorflow') await (import(specifier) as Promise<unknown>);
    await start(name);
    return { name };
  }
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')) + path.sep);
  await start(name);
  patchWasmMatMul();
  const native = installNative();
  return { name, simd: (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean, threads: wasm.getThreadsCount(), native };
}

async function choose(requested: BackendChoice, options: BackendOptions): Promise<BackendInfo> {
  silenceCpuBanner();
  if (requested !== 'auto') {
    try {
      return { ...(await activate(requested, options)), requested };
    } catch (err) {
      throw new ConfigError(`LATENTFLOW_BACKEND=${requested}: backend "${requested}" cannot start: ${message(err)}`, { cause: err });
    }
  }
  const skipped: string[] = [];
  for (const name of BACKENDS) {
    try {
      const info: BackendInfo = { ...(await activate(name, options)), requested };
      return skipped.length > 0 ? { ...info, reason: skipped.join('; ') } : info;
    } catch (err) {
      skipped.push(`${name}: ${message(err)}`);
    }
  }
  throw new ConfigError(`LATENTFLOW_BACKEND=auto: no tfjs backend could start (${skipped.join('; ')})`);
}

function describe(info: BackendInfo): string {
  const extras = info.name === 'wasm' ? ` (SIMD ${info.simd ? 'on' : 'off'}, ${info.threads} thread(s); native matmuls: ${info.native})` : '';
  const why = info.reason !== undefined ? `; skipped ${info.reason}` : '';
  return `tfjs backend: ${info.name}${extras}, requested ${info.requested}${why}`;
}

/**
 * Selects and initialises the tfjs backend; logs the choice once.
 * Idempotent: later calls return the first call's info. A later explicit request for a different backend than the
 * one running is a ConfigError (tfjs has one active backend per process). A failed call can be retried.
 * @param choice `auto` (default) or a backend to force; an explicit backend that cannot start throws ConfigError
 *   naming LATENTFLOW_BACKEND and the reason.
 * @param log where the choice is reported; default stderr.
 * @param options the native addon's thread count (first call only).
 */
export async function initBackend(
  choice: BackendChoice = 'auto',
  log: (msg: string) => void = (msg) => process.stderr.write(`${msg}\n`),
  options: BackendOptions = {},
): Promise<BackendInfo> {
  if (current === undefined) {
    current = choose(choice, options).then((info) => {
      resolved = Object.freeze(info);
      log(describe(info));
      return info;
    });
    current.catch(() => (current = undefined));
  }
  const info = await current;
  if (choice !== 'auto' && choice !== info.name) {
    throw new ConfigError(`LATENTFLOW_BACKEND=${choice}: this process already runs the "${info.name}" backend`);
  }
  return info;
}

/** The info of the last successful `initBackend`, or undefined before it. */
export function backendInfo(): BackendInfo | undefined {
  return resolved;
}

/** RangeError messages of an allocation that failed: V8's for an ArrayBuffer, WebAssembly.Memory's for a heap growth. */
const OUT_OF_MEMORY = /Array buffer allocation failed|WebAssembly\.Memory|out of memory/i;

/**
 * Whether `error` (or any error in its `cause` chain) says that this process's TensorFlow.js runtime may be broken
 * for good: a WebAssembly.RuntimeError ("memory access out of bounds", "Aborted(...)", "unreachable": after one, the
 * wasm backend's heap is in an unknown state and every later op may fail or compute garbage), or a RangeError of an
 * allocation that failed. Nothing the process does afterwards can be trusted; a worker fails the job and exits, to
 * be restarted with a fresh runtime (shared/pipeline/queues.ts `onFatal`).
 */
export function isRuntimeCorruption(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e.name === 'RuntimeError') return true; // WebAssembly.RuntimeError (not in this project's TypeScript lib)
    if (e instanceof RangeError && OUT_OF_MEMORY.test(e.message)) return true;
  }
  return false;
}

/** Tensors currently allocated on the active backend (tf.memory().numTensors): for leak checks. */
export function currentTensorCount(): number {
  return tf.memory().numTensors;
}
