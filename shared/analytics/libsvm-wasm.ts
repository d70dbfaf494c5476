/**
 * Loads libsvm-js's WebAssembly build (the files behind `libsvm-js/wasm`) and runs every call into it with its
 * output captured. What the stock entry point does that we avoid, and why:
 * - its emscripten glue prints through `Module.print` (stdout, bound to console.log) and `Module.printErr`; libsvm
 *   reports training progress there unless given `-q`, and the glue reports a failed streaming compile on Node
 *   ("Failed to parse URL", then falls back). The glue is evaluated here with `fetch` shadowed (so it reads the .wasm
 *   file directly) and both hooks pointing at a buffer: stdout text is dropped, stderr text is raised with the
 *   error of the call that produced it, or written to process.stderr when the call succeeded. Nothing global
 *   (console, process.stdout) is touched.
 * - the glue installs `process.on('unhandledRejection', () => process.exit(1))`, which would make any unhandled
 *   rejection anywhere in the process exit silently with status 1; the listener is removed again.
 * - libsvm's probability training shuffles with the C library's `rand()`, whose state lives in the instance and is
 *   never reseeded: the same training twice gives different models. `freshLibsvm()` makes a new instance (rand()
 *   starts from its initial state) for such trainings.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { compileFunction } from 'node:vm';

const require = createRequire(import.meta.url);

/** A trained or loaded libsvm model (libsvm-js's SVM object). Memory lives in the wasm heap: call free(). */
export interface LibsvmHandle {
  /** Pointer to libsvm's svm_model in the wasm heap (0 or null when none). */
  model: number | null;
  train(samples: ArrayLike<number>[], labels: number[]): void;
  predictOne(sample: ArrayLike<number>): number;
  predictOneProbability(sample: ArrayLike<number>): { prediction: number; estimates: { label: number; probability: number }[] };
  getLabels(): number[];
  serializeModel(): string;
  free(): void;
}

/** libsvm-js's command options (see its README); numbers for kernel and type are libsvm's codes as strings. */
export interface LibsvmOptions {
  type: string;
  kernel: string;
  degree?: number;
  gamma?: number;
  coef0?: number;
  cost?: number;
  cacheSize?: number;
  tolerance?: number;
  shrinking?: boolean;
  probabilityEstimates?: boolean;
  quiet?: boolean;
}

interface LibsvmClass {
  new (options: LibsvmOptions): LibsvmHandle;
  load(serialized: string): LibsvmHandle;
  KERNEL_TYPES: Record<'LINEAR' | 'POLYNOMIAL' | 'RBF' | 'SIGMOID', string>;
  SVM_TYPES: Record<'C_SVC', string>;
}

interface EmscriptenModule {
  print: (text: unknown) => void;
  printErr: (text: unknown) => void;
  load(): Promise<void>;
  HEAP32?: Int32Array;
  asmLibraryArg?: { DYNAMICTOP_PTR?: number };
}

/** One wasm instance of libsvm with its own heap, C library state and output buffer. */
export class LibsvmInstance {
  /** True after libsvm aborted (e.g. out of memory): the instance and every model in it are unusable. */
  broken = false;
  private readonly stderr: string[] = [];

  private constructor(
    private readonly SVM: LibsvmClass,
    private readonly module: EmscriptenModule,
  ) {
    module.print = () => {};
    module.printErr = (text) => void this.stderr.push(String(text));
  }

  get KERNEL_TYPES(): LibsvmClass['KERNEL_TYPES'] {
    return this.SVM.KERNEL_TYPES;
  }

  get C_SVC(): string {
    return this.SVM.SVM_TYPES.C_SVC;
  }

  /** The top of the wasm heap (emscripten's sbrk pointer), for leak checks: steady over train/free cycles. */
  heapTop(): number {
    const ptr = this.module.asmLibraryArg?.DYNAMICTOP_PTR;
    const heap = this.module.HEAP32;
    if (ptr === undefined || !heap) throw new Error('this libsvm build does not expose its heap top');
    return heap[ptr >> 2];
  }

  static async create(): Promise<LibsvmInstance> {
    const module = evaluateGlue();
    const stderr: string[] = [];
    module.print = () => {};
    module.printErr = (text) => void stderr.push(String(text));
    try {
      await module.load();
    } catch (e) {
      throw new Error(`libsvm wasm failed to load${stderr.length ? `: ${stderr.join('\n')}` : ''}`, { cause: e });
    }
    const loadSVM = require('libsvm-js/src/loadSVM.js') as (m: EmscriptenModule) => LibsvmClass;
    return new LibsvmInstance(loadSVM(module), module);
  }

  /** A new, untrained model object in this instance. */
  create(options: LibsvmOptions): LibsvmHandle {
    return new this.SVM(options);
  }

  /** A model object from libsvm's serialization; throws with libsvm's complaint when it cannot parse the text. */
  load(serialized: string): LibsvmHandle {
    const { result: handle, stderr } = this.capture(() => this.SVM.load(serialized));
    if (!handle.model) throw new Error(`libsvm could not parse the model text${stderr.length ? `: ${stderr.join(' | ')}` : ''}`);
    this.forward(stderr);
    return handle;
  }

  /** Runs `fn` (which calls into this instance) with its output captured, forwarding libsvm's stderr text. */
  call<T>(fn: () => T): T {
    const { result, stderr } = this.capture(fn);
    this.forward(stderr);
    return result;
  }

  /**
   * Runs `fn` and returns what libsvm wrote to stderr meanwhile (stdout text is dropped). A throw is rethrown as an
   * Error carrying that text; emscripten's abort() throws a string and leaves the instance unusable.
   */
  private capture<T>(fn: () => T): { result: T; stderr: string[] } {
    if (this.broken) throw new Error('libsvm aborted earlier in this wasm instance; its models are unusable');
    this.stderr.length = 0;
    try {
      return { result: fn(), stderr: [...this.stderr] };
    } catch (e) {
      if (!(e instanceof Error)) this.broken = true;
      const said = this.stderr.length ? ` (libsvm: ${this.stderr.join(' | ')})` : '';
      throw new Error(`libsvm failed: ${e instanceof Error ? e.message : String(e)}${said}`, { cause: e });
    } finally {
      this.stderr.length = 0;
    }
  }

  private forward(stderr: string[]): void {
    if (stderr.length) process.stderr.write(stderr.map((l) => `libsvm: ${l}\n`).join(''));
  }
}

let glue: ((...args: unknown[]) => void) | undefined;

/** Evaluates the emscripten glue of libsvm-js's wasm build as a new CommonJS module and returns its Module. */
function evaluateGlue(): EmscriptenModule {
  const file = require.resolve('libsvm-js/out/wasm/libsvm.js');
  glue ??= compileFunction(readFileSync(file, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname', 'fetch'], {
    filename: file,
  }) as (...args: unknown[]) => void;
  const before = new Set(process.listeners('unhandledRejection'));
  const module: { exports: unknown } = { exports: {} };
  try {
    glue(module.exports, createRequire(file), module, file, dirname(file), undefined);
  } finally {
    for (const listener of process.listeners('unhandledRejection')) {
      if (!before.has(listener)) process.removeListener('unhandledRejection', listener);
    }
  }
  return module.exports as EmscriptenModule;
}

let shared: Promise<LibsvmInstance> | undefined;

/** The process-wide instance (loaded on first use; replaced if libsvm aborted in it). */
export async function sharedLibsvm(): Promise<LibsvmInstance> {
  if (shared) {
    const instance = await shared.catch(() => undefined);
    if (instance && !instance.broken) return instance;
  }
  shared = LibsvmInstance.create();
  return shared;
}

/** A new instance, for a call that must not depend on earlier calls (libsvm's rand() state). */
export function freshLibsvm(): Promise<LibsvmInstance> {
  return LibsvmInstance.create();
}
