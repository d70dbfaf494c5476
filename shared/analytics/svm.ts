/**
 * Support vector classification of latent codes with libsvm (libsvm-js, WebAssembly): string labels in and out,
 * scikit-learn's `gamma='scale'`, optional grid search by stratified k-fold accuracy, JSON round trip.
 *
 * A trained model stays the libsvm object that was trained (with its copy of the training rows, which its support
 * vectors point into): libsvm-js's deserialisation corrupts large models (measured: 2,037 support vectors of 64-wide
 * codes came back with NaN values and out-of-range indices, test accuracy 0.78 instead of 0.84; mljs/libsvm#16), so
 * a loaded model is checked by serialising it again and compared with its text. Models live in the wasm
 * heap, which JavaScript's GC does not see: call `free()` when done (a FinalizationRegistry frees forgotten ones).
 * Training is deterministic: the solver is, our folds are seeded, and probability training (libsvm shuffles with
 * rand()) runs in a fresh wasm instance.
 */
import { InputError, LatentflowError } from '../contracts/errors.js';
import { freshLibsvm, sharedLibsvm, type LibsvmHandle, type LibsvmInstance, type LibsvmOptions } from './libsvm-wasm.js';
import { distinctLabels, encodeLabels } from './labels.js';
import { assertSameLength, rowAccess, type Matrix, type RowAccess } from './matrix.js';
import { kFold } from './split.js';

export const SVM_KERNELS = ['linear', 'rbf', 'poly'] as const;
export type SvmKernel = (typeof SVM_KERNELS)[number];
export type Gamma = number | 'scale';

export interface GridSearchOptions {
  /** Values of C to try. Default: just `C`. */
  C?: number[];
  /** Values of gamma to try (ignored for the linear kernel). Default: just `gamma`. */
  gamma?: Gamma[];
  /** Folds of the stratified cross-validation. Default 5. */
  folds?: number;
  /** Seed of the folds. Default 0. */
  seed?: number;
}

export interface SvmOptions {
  /** Kernel. Default 'rbf'. */
  kernel?: SvmKernel;
  /** Penalty of margin violations, > 0. Default 10. */
  C?: number;
  /** Kernel coefficient of rbf and poly, > 0, or 'scale' = 1 / (width · variance of all training cells), as in
   *  scikit-learn (1 when that variance is 0). Default 'scale'. */
  gamma?: Gamma;
  /** Degree of the poly kernel. Default 3. */
  degree?: number;
  /** Constant term of the poly kernel. Default 0. */
  coef0?: number;
  /** Also fit libsvm's probability estimates (Platt scaling on an internal 5-fold CV; slower). Default false. */
  probability?: boolean;
  /** Solver stopping tolerance. Default 1e-3. */
  tolerance?: number;
  /** Kernel cache in MB. Default 100. */
  cacheSize?: number;
  /** Choose C and gamma by cross-validated accuracy before the final fit. Default: none. */
  gridSearch?: GridSearchOptions;
}

/** Options as a model was actually trained with (gamma resolved to a number). */
export interface ResolvedSvmOptions {
  kernel: SvmKernel;
  C: number;
  gamma: number;
  degree: number;
  coef0: number;
  probability: boolean;
  tolerance: number;
  cacheSize: number;
}

export interface GridSearchResult {
  folds: number;
  seed: number;
  /** Cross-validated accuracy of every (C, gamma), in grid order (C outer, gamma inner). */
  results: { C: number; gamma: Gamma; accuracy: number }[];
  /** The first entry of highest accuracy. */
  best: { C: number; gamma: Gamma; accuracy: number };
}

/** What `toJSON()` returns and `loadSvm()` takes. */
export interface SvmJson {
  format: 'latentflow-svm';
  version: 1;
  /** Class names; libsvm's label i is `classes[i]`. */
  classes: string[];
  /** Input width the model expects. */
  width: number;
  options: ResolvedSvmOptions;
  gridSearch?: GridSearchResult;
  /** libsvm's own model text (`serializeModel()`). */
  libsvm: string;
}

const registry = new FinalizationRegistry<{ instance: LibsvmInstance; handle: LibsvmHandle }>(({ instance, handle }) => {
  if (!instance.broken) instance.call(() => handle.free());
});

/** A trained SVM classifier. Not safe to use after `free()`. */
export class SvmModel {
  private handle: LibsvmHandle | null;
  private readonly token = {};

  /** @internal Use {@link trainSvm} or {@link loadSvm}. */
  constructor(
    private readonly instance: LibsvmInstance,
    handle: LibsvmHandle,
    readonly classes: string[],
    readonly width: number,
    readonly options: ResolvedSvmOptions,
    readonly gridSearch?: GridSearchResult,
  ) {
    this.handle = handle;
    registry.register(this, { instance, handle }, this.token);
  }

  private live(): LibsvmHandle {
    if (!this.handle) throw new Error('this SVM model was freed');
    return this.handle;
  }

  private rowsOf(x: Matrix): RowAccess {
    const a = rowAccess(x, 'x', true);
    if (a.rows > 0 && a.width !== this.width) throw new InputError(`has width ${a.width}, the model expects ${this.width}`, { field: 'x' });
    return a;
  }

  /** The predicted class of every row. */
  predict(x: Matrix): string[] {
    const a = this.rowsOf(x);
    const handle = this.live();
    return this.instance.call(() => Array.from({ length: a.rows }, (_, i) => this.classes[handle.predictOne(a.row(i))]));
  }

  /** Class probabilities of every row, columns in the order of `classes`. Needs a model trained with `probability`. */
  predictProbability(x: Matrix): number[][] {
    if (!this.options.probability) throw new InputError('the model was trained without probability: true', { field: 'probability' });
    const a = this.rowsOf(x);
    const handle = this.live();
    return this.instance.call(() =>
      Array.from({ length: a.rows }, (_, i) => {
        const p = new Array<number>(this.classes.length).fill(0);
        for (const e of handle.predictOneProbability(a.row(i)).estimates) p[e.label] = e.probability;
        return p;
      }),
    );
  }

  toJSON(): SvmJson {
    const handle = this.live();
    const libsvm = this.instance.call(() => handle.serializeModel());
    return {
      format: 'latentflow-svm',
      version: 1,
      classes: [...this.classes],
      width: this.width,
      options: { ...this.options },
      ...(this.gridSearch ? { gridSearch: this.gridSearch } : {}),
      libsvm,
    };
  }

  /** Releases the model's wasm memory. Idempotent. */
  free(): void {
    if (!this.handle) return;
    const handle = this.handle;
    this.handle = null;
    registry.unregister(this.token);
    if (!this.instance.broken) this.instance.call(() => handle.free());
  }
}

function resolveGamma(gamma: Gamma, x: RowAccess, rows: ArrayLike<number>): number {
  if (gamma !== 'scale') return gamma;
  let sum = 0, sumSq = 0;
  for (let k = 0; k < rows.length; k++) {
    const r = x.row(rows[k]);
    for (let j = 0; j < x.width; j++) {
      sum += r[j];
      sumSq += r[j] * r[j];
    }
  }
  const n = rows.length * x.width;
  const variance = Math.max(sumSq / n - (sum / n) ** 2, 0);
  return variance > 0 ? 1 / (x.width * variance) : 1;
}

function checkPositive(value: unknown, field: string): void {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw new InputError('must be a finite number > 0', { field, value });
}

function checkGamma(value: unknown, field: string): void {
  if (value !== 'scale') checkPositive(value, field);
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Trains on `rows` of x (indices) and returns the libsvm model object (not yet freed). */
function fit(instance: LibsvmInstance, x: RowAccess, ids: Int32Array, rows: ArrayLike<number>, o: ResolvedSvmOptions): LibsvmHandle {
  const kernel = { linear: instance.KERNEL_TYPES.LINEAR, rbf: instance.KERNEL_TYPES.RBF, poly: instance.KERNEL_TYPES.POLYNOMIAL }[o.kernel];
  const options: LibsvmOptions = {
    type: instance.C_SVC,
    kernel,
    degree: o.degree,
    gamma: o.gamma,
    coef0: o.coef0,
    cost: o.C,
    cacheSize: o.cacheSize,
    tolerance: o.tolerance,
    shrinking: true,
    probabilityEstimates: o.probability,
    quiet: true,
  };
  const samples = Array.from({ length: rows.length }, (_, k) => x.row(rows[k]));
  const labels = Array.from({ length: rows.length }, (_, k) => ids[rows[k]]);
  const handle = instance.create(options);
  try {
    instance.call(() => handle.train(samples, labels));
  } catch (e) {
    if (!instance.broken) instance.call(() => handle.free());
    throw e;
  }
  return handle;
}

async function gridSearch(
  instance: LibsvmInstance,
  x: RowAccess,
  labels: readonly string[],
  ids: Int32Array,
  base: ResolvedSvmOptions & { gammaSetting: Gamma },
  g: GridSearchOptions,
): Promise<GridSearchResult> {
  const folds = g.folds ?? 5;
  const seed = g.seed ?? 0;
  const Cs = g.C ?? [base.C];
  const gammas = base.kernel === 'linear' ? [base.gammaSetting] : (g.gamma ?? [base.gammaSetting]);
  if (Cs.length === 0 || gammas.length === 0) throw new InputError('needs at least one value of C and of gamma', { field: 'gridSearch' });
  Cs.forEach((c, i) => checkPositive(c, `gridSearch.C[${i}]`));
  gammas.forEach((v, i) => checkGamma(v, `gridSearch.gamma[${i}]`));
  const splits = kFold(labels, folds, seed);
  const results: GridSearchResult['results'] = [];
  for (const C of Cs) {
    for (const gamma of gammas) {
      let correct = 0;
      for (const { train, test } of splits) {
        const o = { ...base, C, gamma: resolveGamma(gamma, x, train), probability: false };
        const handle = fit(instance, x, ids, train, o);
        try {
          instance.call(() => {
            for (const i of test) if (handle.predictOne(x.row(i)) === ids[i]) correct++;
          });
        } finally {
          instance.call(() => handle.free());
        }
        await yieldToEventLoop();
      }
      results.push({ C, gamma, accuracy: correct / x.rows });
    }
  }
  const best = results.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
  return { folds, seed, results, best };
}

/**
 * Trains a C-SVC on the rows of `x` with their string `labels` (at least 2 classes). With `gridSearch`, every
 * (C, gamma) is scored by stratified k-fold accuracy first and the best (the first on ties) is used for the final
 * fit on all rows. Yields to the event loop between grid-search fits.
 */
export async function trainSvm(x: Matrix, labels: readonly string[], options: SvmOptions = {}): Promise<SvmModel> {
  const data = rowAccess(x, 'x');
  assertSameLength(labels.length, data.rows, 'labels', 'x');
  const classes = distinctLabels(labels).map(String);
  if (classes.length < 2) throw new InputError(`needs at least 2 classes, got ${classes.length}`, { field: 'labels' });
  const ids = encodeLabels(labels, classes);

  const { kernel = 'rbf', C = 10, gamma = 'scale', degree = 3, coef0 = 0, probability = false, tolerance = 1e-3, cacheSize = 100 } = options;
  if (!SVM_KERNELS.includes(kernel)) throw new InputError(`must be one of ${SVM_KERNELS.join(', ')}`, { field: 'kernel', value: kernel });
  checkPositive(C, 'C');
  checkGamma(gamma, 'gamma');
  checkPositive(tolerance, 'tolerance');
  checkPositive(cacheSize, 'cacheSize');
  if (!Number.isInteger(degree) || degree < 1) throw new InputError('must be an integer ≥ 1', { field: 'degree', value: degree });
  if (!Number.isFinite(coef0)) throw new InputError('must be a finite number', { field: 'coef0', value: coef0 });

  const instance = await sharedLibsvm();
  const all = Array.from({ length: data.rows }, (_, i) => i);
  const base = { kernel, C, gamma: 0, degree, coef0, probability, tolerance, cacheSize, gammaSetting: gamma };
  const search = options.gridSearch ? await gridSearch(instance, data, labels, ids, base, options.gridSearch) : undefined;
  const chosenGamma = search && kernel !== 'linear' ? search.best.gamma : gamma;
  const resolved: ResolvedSvmOptions = {
    kernel,
    C: search ? search.best.C : C,
    gamma: resolveGamma(chosenGamma, data, all),
    degree,
    coef0,
    probability,
    tolerance,
    cacheSize,
  };

  // Probability training runs in a fresh instance: libsvm shuffles with rand(), which is never reseeded.
  const trainer = probability ? await freshLibsvm() : instance;
  return new SvmModel(trainer, fit(trainer, data, ids, all, resolved), classes, data.width, resolved, search);
}

/**
 * The 1-based line (after `SV`) of the first support vector in libsvm model text whose `index:value` pairs are not
 * strictly increasing indices in 1..width with finite values, or undefined when every one is well formed.
 */
export function corruptSupportVector(text: string, width: number): number | undefined {
  const lines = text.split('\n');
  const start = lines.indexOf('SV') + 1;
  if (start === 0) return 0;
  for (let l = start; l < lines.length; l++) {
    if (lines[l].trim() === '') continue;
    let previous = 0;
    for (const token of lines[l].trim().split(' ')) {
      const colon = token.indexOf(':');
      if (colon < 0) continue; // a coefficient
      const index = Number(token.slice(0, colon));
      const value = Number(token.slice(colon + 1));
      if (!Number.isInteger(index) || index <= previous || index > width || !Number.isFinite(value)) return l - start + 1;
      previous = index;
    }
  }
  return undefined;
}

/** Rebuilds a model from {@link SvmModel.toJSON} output (an object or its JSON text). */
export async function loadSvm(json: SvmJson | string): Promise<SvmModel> {
  let j: SvmJson;
  try {
    j = (typeof json === 'string' ? JSON.parse(json) : json) as SvmJson;
  } catch (e) {
    throw new InputError('is not valid JSON', { field: 'svm' }, { cause: e });
  }
  if (j?.format !== 'latentflow-svm' || j.version !== 1) throw new InputError('is not a latentflow SVM model (format/version)', { field: 'svm' });
  if (!Array.isArray(j.classes) || j.classes.length < 2 || typeof j.libsvm !== 'string' || !Number.isInteger(j.width)) {
    throw new InputError('lacks classes, width or the libsvm model text', { field: 'svm' });
  }
  const instance = await sharedLibsvm();
  let handle: LibsvmHandle;
  try {
    handle = instance.load(j.libsvm);
  } catch (e) {
    throw new InputError('holds libsvm model text that libsvm cannot read', { field: 'svm.libsvm' }, { cause: e });
  }
  // A model that does not serialise back to the text it was loaded from was corrupted by libsvm-js's loader.
  const again = instance.call(() => handle.serializeModel());
  if (corruptSupportVector(again, j.width) !== undefined && corruptSupportVector(j.libsvm, j.width) === undefined) {
    instance.call(() => handle.free());
    throw new LatentflowError(`libsvm-js could not load this ${j.libsvm.length}-character model intact (its support vectors came back corrupt)`, false);
  }
  const labels = instance.call(() => handle.getLabels());
  if (labels.length !== j.classes.length || labels.some((l) => !Number.isInteger(l) || l < 0 || l >= j.classes.length)) {
    instance.call(() => handle.free());
    throw new InputError(`has libsvm labels ${labels.join(',')} that do not index its ${j.classes.length} classes`, { field: 'svm' });
  }
  return new SvmModel(instance, handle, [...j.classes], j.width, { ...j.options }, j.gridSearch);
}
