/*
 * latentflow_blas: single-precision GEMM over Float32Array views, backed by the system OpenBLAS (cblas.h), plus the
 * bias + activation epilogue of tfjs's _FusedMatMul. Written for tensors that live in the tfjs wasm backend's
 * linear memory: the caller passes one Float32Array over the wasm heap (a fresh view per call: memory growth replaces
 * the buffer) and element offsets into it. Every index an operation will touch is bounds-checked against the views
 * before any work is done; an out-of-range request throws a RangeError and touches nothing.
 *
 * All matrices are row-major. Calls are synchronous: the JS thread waits while OpenBLAS (possibly multi-threaded)
 * runs, and the views must not be detached meanwhile (nothing can run JS in between, so they cannot be).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cblas.h>
#include <node_api.h>

/* Provided by OpenBLAS (declared in its cblas.h on Debian; repeated for other cblas.h variants). */
extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);

#include "common.h"

/*
 * sgemm(transA, transB, M, N, K, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc[, batch, strideA, strideB,
 *       strideC]) -> undefined
 * C[i] = alpha · op(A[i]) · op(B[i]) + beta · C[i] for i < batch, row-major, offsets/strides in elements of the
 * respective views. op(A) is M×K (A stored K×M when transA), op(B) is K×N (B stored N×K when transB). strideA or
 * strideB 0 broadcasts that operand over the batch; strideC must separate the outputs (≥ M·ldc... checked as
 * non-overlapping when batch > 1). a, b and c may be the same Float32Array.
 */
static napi_value Sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 20;
  napi_value argv[20];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 16 && argc != 20) FAIL("sgemm: expected 16 or 20 arguments");
  bool ta, tb;
  int64_t M, N, K, aOff, lda, bOff, ldb, cOff, ldc, batch = 1, sA = 0, sB = 0, sC = 0;
  double alpha, beta;
  f32view a, b, c;
  if (get_bool(env, argv[0], &ta) || get_bool(env, argv[1], &tb) || get_i64(env, argv[2], &M) ||
      get_i64(env, argv[3], &N) || get_i64(env, argv[4], &K) || get_f64(env, argv[5], &alpha) ||
      get_view(env, argv[6], 0, &a) || get_i64(env, argv[7], &aOff) || get_i64(env, argv[8], &lda) ||
      get_view(env, argv[9], 0, &b) || get_i64(env, argv[10], &bOff) || get_i64(env, argv[11], &ldb) ||
      get_f64(env, argv[12], &beta) || get_view(env, argv[13], 0, &c) || get_i64(env, argv[14], &cOff) ||
      get_i64(env, argv[15], &ldc)) {
    napi_throw_type_error(env, NULL, "sgemm: bad argument types");
    return NULL;
  }
  if (argc == 20 && (get_i64(env, argv[16], &batch) || get_i64(env, argv[17], &sA) || get_i64(env, argv[18], &sB) ||
                     get_i64(env, argv[19], &sC))) {
    napi_throw_type_error(env, NULL, "sgemm: bad batch arguments");
    return NULL;
  }
  if (M < 0 || N < 0 || K < 0 || M > INT32_MAX || N > INT32_MAX || K > INT32_MAX) FAIL("sgemm: bad dimensions");
  if (lda > INT32_MAX || ldb > INT32_MAX || ldc > INT32_MAX) FAIL("sgemm: leading dimension too large");
  if (!fits((int64_t)a.length, aOff, ta ? K : M, ta ? M : K, lda, batch, sA)) FAIL("sgemm: A out of range");
  if (!fits((int64_t)b.length, bOff, tb ? N : K, tb ? K : N, ldb, batch, sB)) FAIL("sgemm: B out of range");
  if (!fits((int64_t)c.length, cOff, M, N, ldc, batch, sC)) FAIL("sgemm: C out of range");
  if (batch > 1 && M > 0 && N > 0 && sC < (M - 1) * ldc + N) FAIL("sgemm: C batch entries overlap");
  if (M == 0 || N == 0) return NULL;
  const enum CBLAS_TRANSPOSE opA = ta ? CblasTrans : CblasNoTrans, opB = tb ? CblasTrans : CblasNoTrans;
  for (int64_t i = 0; i < batch; i++) {
    float *ci = c.data + cOff + i * sC;
    if (K == 0) { /* OpenBLAS rejects lda < 1 here; the product is empty: C = beta·C */
      for (int64_t r = 0; r < M; r++)
        for (int64_t j = 0; j < N; j++) ci[r * ldc + j] = beta == 0 ? 0.0f : (float)beta * ci[r * ldc + j];
      continue;
    }
    cblas_sgemm(CblasRowMajor, opA, opB, (blasint)M, (blasint)N, (blasint)K, (float)alpha, a.data + aOff + i * sA,
                (blasint)lda, b.data + bOff + i * sB, (blasint)ldb, (float)beta, ci, (blasint)ldc);
  }
  return NULL;
}

/* Activation codes: the numbering of tfjs-backend-wasm's FusableActivation (dist/kernels/types.js). */
enum { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_PRELU = 3, ACT_LEAKYRELU = 4, ACT_SIGMOID = 5, ACT_ELU = 6 };

/* The epilogue's arithmetic (arguments checked by the caller). */
static MULTIVERSION void epilogue_kernel(float *restrict p, int64_t rows, int64_t cols, const float *restrict q,
                                         int64_t biasLen, int act, float la, const float *restrict w,
                                         int64_t preluLen) {
  const int64_t n = rows * cols;
  if (biasLen != 0) {
    if (biasLen == n) {
      for (int64_t i = 0; i < n; i++) p[i] += q[i];
    } else if (biasLen == 1) {
      const float s = q[0];
      for (int64_t i = 0; i < n; i++) p[i] += s;
    } else {
      for (int64_t r = 0; r < rows; r++) {
        float *restrict row = p + r * cols;
        for (int64_t j = 0; j < cols; j++) row[j] += q[j];
      }
    }
  }
  switch (act) {
    case ACT_LINEAR: break;
    case ACT_RELU:
      for (int64_t i = 0; i < n; i++) p[i] = p[i] > 0.0f ? p[i] : 0.0f;
      break;
    case ACT_RELU6:
      for (int64_t i = 0; i < n; i++) p[i] = p[i] > 0.0f ? (p[i] < 6.0f ? p[i] : 6.0f) : 0.0f;
      break;
    case ACT_LEAKYRELU:
      for (int64_t i = 0; i < n; i++) p[i] = p[i] < 0.0f ? la * p[i] : p[i];
      break;
    case ACT_SIGMOID:
      for (int64_t i = 0; i < n; i++) p[i] = 1.0f / (1.0f + vexpf(-p[i]));
      break;
    case ACT_ELU:
      for (int64_t i = 0; i < n; i++) p[i] = p[i] < 0.0f ? vexpf(p[i]) - 1.0f : p[i];
      break;
    case ACT_PRELU:
      for (int64_t i = 0; i < n; i++) {
        const float wi = preluLen == 1 ? w[0] : preluLen == n ? w[i] : w[i % cols];
        p[i] = p[i] < 0.0f ? wi * p[i] : p[i];
      }
      break;
  }
}

/*
 * epilogue(x, off, rows, cols, bias, biasOff, biasLen, activation, leakyAlpha, prelu, preluOff, preluLen) -> undefined
 * In place on the rows×cols row-major block at x[off]: x += bias (biasLen 0: none; cols: one value per column,
 * broadcast over rows; rows·cols: elementwise; 1: scalar), then the activation. prelu weights follow the same
 * broadcast rule (preluLen 1, cols or rows·cols) and are read only for ACT_PRELU.
 */
static napi_value Epilogue(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 12) FAIL("epilogue: expected 12 arguments");
  f32view x, bias, prelu;
  int64_t off, rows, cols, biasOff, biasLen, act, preluOff, preluLen;
  double leaky;
  if (get_view(env, argv[0], 0, &x) || get_i64(env, argv[1], &off) || get_i64(env, argv[2], &rows) ||
      get_i64(env, argv[3], &cols) || get_view(env, argv[4], 1, &bias) || get_i64(env, argv[5], &biasOff) ||
      get_i64(env, argv[6], &biasLen) || get_i64(env, argv[7], &act) || get_f64(env, argv[8], &leaky) ||
      get_view(env, argv[9], 1, &prelu) || get_i64(env, argv[10], &preluOff) || get_i64(env, argv[11], &preluLen)) {
    napi_throw_type_error(env, NULL, "epilogue: bad argument types");
    return NULL;
  }
  const int64_t n = rows * cols;
  if (rows < 0 || cols < 0 || !fits((int64_t)x.length, off, 1, n, n, 1, 0)) FAIL("epilogue: x out of range");
  if (biasLen != 0 && biasLen != 1 && biasLen != cols && biasLen != n) FAIL("epilogue: bad bias length");
  if (biasLen != 0 && (bias.data == NULL || !fits((int64_t)bias.length, biasOff, 1, biasLen, biasLen, 1, 0)))
    FAIL("epilogue: bias out of range");
  if (act < ACT_LINEAR || act > ACT_ELU) FAIL("epilogue: unknown activation");
  if (act == ACT_PRELU) {
    if (preluLen != 1 && preluLen != cols && preluLen != n) FAIL("epilogue: bad prelu weights length");
    if (prelu.data == NULL || !fits((int64_t)prelu.length, preluOff, 1, preluLen, preluLen, 1, 0))
      FAIL("epilogue: prelu weights out of range");
  }
  if (n == 0) return NULL;
  epilogue_kernel(x.data + off, rows, cols, biasLen ? bias.data + biasOff : NULL, biasLen, (int)act, (float)leaky,
                  act == ACT_PRELU ? prelu.data + preluOff : NULL, preluLen);
  return NULL;
}



/*
 * colsum(x, xOff, rows, cols, y, yOff) -> undefined
 * y[j] = Σ_r x[xOff + r·cols + j]: the sum over the leading axis of a row-major rows×cols block (a bias gradient).
 * y must not overlap x.
 */
static napi_value Colsum(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 6) FAIL("colsum: expected 6 arguments");
  f32view x, y;
  int64_t xOff, rows, cols, yOff;
  if (get_view(env, argv[0], 0, &x) || get_i64(env, argv[1], &xOff) || get_i64(env, argv[2], &rows) ||
      get_i64(env, argv[3], &cols) || get_view(env, argv[4], 0, &y) || get_i64(env, argv[5], &yOff)) {
    napi_throw_type_error(env, NULL, "colsum: bad argument types");
    return NULL;
  }
  if (!fits((int64_t)x.length, xOff, rows, cols, cols, 1, 0)) FAIL("colsum: x out of range");
  if (!fits((int64_t)y.length, yOff, 1, cols, cols, 1, 0)) FAIL("colsum: y out of range");
  colsum_kernel(x.data + xOff, rows, cols, y.data + yOff);
  return NULL;
}

static MULTIVERSION int64_t first_nonfinite_kernel(const float *x, int64_t n) {
  const int64_t block = 4096;
  for (int64_t start = 0; start < n; start += block) {
    const int64_t end = start + block < n ? start + block : n;
    uint32_t bad = 0;
    for (int64_t i = start; i < end; i++) {
      uint32_t bits;
      memcpy(&bits, x + i, sizeof bits);
      bad |= (uint32_t)((bits & 0x7f800000u) == 0x7f800000u);
    }
    if (bad == 0) continue;
    for (int64_t i = start; i < end; i++) {
      uint32_t bits;
      memcpy(&bits, x + i, sizeof bits);
      if ((bits & 0x7f800000u) == 0x7f800000u) return i;
    }
  }
  return -1;
}

/*
 * firstNonFinite(x, off, n) -> number
 * The index (from off) of the first NaN or ±Infinity among x[off .. off+n), or -1: the input check of every entry
 * point (shared/ml/matrix.ts), ~10× faster than the JS loop on a 1000 × 784 batch.
 */
static napi_value FirstNonFinite(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 3) FAIL("firstNonFinite: expected 3 arguments");
  f32view x;
  int64_t off, n;
  if (get_view(env, argv[0], 0, &x) || get_i64(env, argv[1], &off) || get_i64(env, argv[2], &n)) {
    napi_throw_type_error(env, NULL, "firstNonFinite: bad argument types");
    return NULL;
  }
  if (!fits((int64_t)x.length, off, 1, n, n, 1, 0)) FAIL("firstNonFinite: x out of range");
  napi_value result;
  CHECK(napi_create_int64(env, first_nonfinite_kernel(x.data + off, n), &result));
  return result;
}

static MULTIVERSION void adam_kernel(int64_t n, const float *p, const float *g, const float *m, const float *v,
                                     float *po, float *mo, float *vo, float b1, float b2, float omb1, float omb2,
                                     float c1, float c2, float eps, float nlr) {
#pragma GCC ivdep /* outputs alias only their own input, element for element */
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = m[i] * b1 + gi * omb1;
    const float vi = v[i] * b2 + (gi * gi) * omb2;
    const float step = (mi / c1) / (sqrtf(vi / c2) + eps);
    po[i] = step * nlr + p[i];
    mo[i] = mi;
    vo[i] = vi;
  }
}

/*
 * adam(heap, n, param, grad, m, v, paramOut, mOut, vOut, lr, beta1, beta2, epsilon, oneMinusAccBeta1,
 *      oneMinusAccBeta2) -> undefined
 * One Adam step over n elements, offsets into one Float32Array `heap`, float32 arithmetic in the order of tfjs's
 * AdamOptimizer.applyGradients (tfjs-core optimizers/adam_optimizer.js):
 *   m' = m·β1 + g·(1−β1);  v' = v·β2 + g²·(1−β2);
 *   p' = (m'/(1−β1ᵗ)) / (sqrt(v'/(1−β2ᵗ)) + ε) · (−lr) + p.
 * Outputs may alias their own input (in-place update) but no other operand.
 */
static napi_value Adam(napi_env env, napi_callback_info info) {
  size_t argc = 15;
  napi_value argv[15];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 15) FAIL("adam: expected 15 arguments");
  f32view h;
  int64_t n, off[7];
  double lr, b1, b2, eps, c1, c2;
  if (get_view(env, argv[0], 0, &h) || get_i64(env, argv[1], &n)) {
    napi_throw_type_error(env, NULL, "adam: bad argument types");
    return NULL;
  }
  for (int i = 0; i < 7; i++) {
    if (get_i64(env, argv[2 + i], &off[i])) {
      napi_throw_type_error(env, NULL, "adam: bad offsets");
      return NULL;
    }
    if (!fits((int64_t)h.length, off[i], 1, n, n, 1, 0)) FAIL("adam: operand out of range");
  }
  if (get_f64(env, argv[9], &lr) || get_f64(env, argv[10], &b1) || get_f64(env, argv[11], &b2) ||
      get_f64(env, argv[12], &eps) || get_f64(env, argv[13], &c1) || get_f64(env, argv[14], &c2)) {
    napi_throw_type_error(env, NULL, "adam: bad hyper-parameters");
    return NULL;
  }
  adam_kernel(n, h.data + off[0], h.data + off[1], h.data + off[2], h.data + off[3], h.data + off[4], h.data + off[5],
              h.data + off[6], (float)b1, (float)b2, (float)(1 - b1), (float)(1 - b2), (float)c1, (float)c2, (float)eps,
              (float)(-lr));
  return NULL;
}

/* setNumThreads(n): OpenBLAS's thread count for later calls (n ≥ 1). */
static napi_value SetNumThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1 || get_i64(env, argv[0], &n) != 0 || n < 1 || n > 1024) FAIL("setNumThreads: expected an integer ≥ 1");
  openblas_set_num_threads((int)n);
  return NULL;
}

static napi_value GetNumThreads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &out));
  return out;
}

/* config(): OpenBLAS's build string and the kernel family it selected for this CPU, e.g. "... Haswell". */
static napi_value Config(napi_env env, napi_callback_info info) {
  (void)info;
  char text[512];
  const char *cfg = openblas_get_config();
  const char *core = openblas_get_corename();
  snprintf(text, sizeof text, "%s; core %s", cfg ? cfg : "?", core ? core : "?");
  napi_value out;
  CHECK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &out));
  return out;
}

/* dense.c, noise.c */
napi_value DenseStep(napi_env env, napi_callback_info info);
napi_value Corrupt(napi_env env, napi_callback_info info);
napi_value Scale(napi_env env, napi_callback_info info);
napi_value Errors(napi_env env, napi_callback_info info);

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  const napi_property_descriptor props[] = {
    {"sgemm", NULL, Sgemm, NULL, NULL, NULL, napi_enumerable, NULL},
    {"epilogue", NULL, Epilogue, NULL, NULL, NULL, napi_enumerable, NULL},
    {"colsum", NULL, Colsum, NULL, NULL, NULL, napi_enumerable, NULL},
    {"firstNonFinite", NULL, FirstNonFinite, NULL, NULL, NULL, napi_enumerable, NULL},
    {"adam", NULL, Adam, NULL, NULL, NULL, napi_enumerable, NULL},
    {"denseStep", NULL, DenseStep, NULL, NULL, NULL, napi_enumerable, NULL},
    {"corrupt", NULL, Corrupt, NULL, NULL, NULL, napi_enumerable, NULL},
    {"scale", NULL, Scale, NULL, NULL, NULL, napi_enumerable, NULL},
    {"errors", NULL, Errors, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setNumThreads", NULL, SetNumThreads, NULL, NULL, NULL, napi_enumerable, NULL},
    {"getNumThreads", NULL, GetNumThreads, NULL, NULL, NULL, napi_enumerable, NULL},
    {"config", NULL, Config, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
