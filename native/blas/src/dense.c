/*
 * denseStep: one fused training (or evaluation) step of a stack of dense layers, the objective of
 * shared/ml/train.ts `objective` and the update of tf.train.adam, in one call without tfjs:
 *
 *   forward   a₀ = x;  aₗ = act_l(aₗ₋₁·Wₗ + bₗ)                      (shared/ml/network.ts `forward`)
 *   objective mean over cells of loss(a_L, target)                     (shared/ml/loss.ts `cellErrors`)
 *             + sparsity·(Σ|a_code|)/rows + Σₗ (l2·ΣWₗ² + l1·Σ|Wₗ|)    (train.ts `objective`; kernels only)
 *   backward  the gradients tfjs's autodiff computes for those ops (tfjs-core src/gradients/<Op>_grad.ts: activation
 *             gradients from the saved outputs, |x|' = step(x, −1), clip passes where lo ≤ x ≤ hi)
 *   update    Adam in the float32 arithmetic order of tfjs-core optimizers/adam_optimizer.js:
 *             m' = m·β1 + g·(1−β1);  v' = v·β2 + g²·(1−β2);  p' = (m'/c1) / (sqrt(v'/c2) + ε) · (−lr) + p,
 *             c1 = 1−β1ᵗ and c2 = 1−β2ᵗ given by the caller (tfjs keeps β1ᵗ, β2ᵗ as float32 running products).
 *
 * Every layer's input gradient is taken before that layer's weights are updated, so the step equals tfjs's
 * compute-all-gradients-then-apply. All arrays are row-major float32; offsets count elements. Every region touched is
 * bounds-checked before any work; a bad request throws RangeError and changes nothing.
 */
#include <math.h>
#include <stdint.h>
#include <cblas.h>
#include <node_api.h>
#include "common.h"

/* Activation codes (shared/ml/native-train.ts DENSE_ACTIVATIONS). */
enum { DA_LINEAR = 0, DA_RELU = 1, DA_ELU = 2, DA_SELU = 3, DA_TANH = 4, DA_SIGMOID = 5, DA_LEAKY = 6, DA_COUNT };
enum { LOSS_MSE = 0, LOSS_BCE = 1, LOSS_NONE = 2 /* inference: forward only, no target */ };
/* options (Float64Array) indices */
enum { O_LOSS, O_LEAKY, O_CODE, O_SPARSITY, O_L1, O_L2, O_UPDATE, O_LR, O_BETA1, O_BETA2, O_EPS, O_C1, O_C2, O_COUNT };
/* layout (Int32Array): [layers, then per layer LAYOUT_FIELDS values] */
enum { F_IN, F_OUT, F_ACT, F_W, F_B, F_MW, F_VW, F_MB, F_VB, LAYOUT_FIELDS };

/* tfjs-core ops/selu_util: the float64 constants, rounded to float32 as tfjs's float32 scalars are. */
#define SELU_SCALE 1.0507009873554804934193349852946f
#define SELU_SCALEALPHA 1.7580993408473768599402175208123f
/* shared/ml/loss.ts EPSILON: bce clips reconstructions to [ε, 1−ε] (float32, as tf.clipByValue compares). */
#define BCE_EPS 1e-7f

typedef struct {
  int64_t in, out;
  int act;
  float *w, *b, *mw, *vw, *mb, *vb;
  float *y; /* this layer's output, rows × out, in the work buffer */
} layer_t;

/* y = act(y + b) row by row (b broadcast over rows). */
static MULTIVERSION void bias_act(float *restrict y, int64_t rows, int64_t cols, const float *restrict b, int act,
                                  float alpha) {
  for (int64_t r = 0; r < rows; r++) {
    float *restrict p = y + r * cols;
    switch (act) {
      case DA_LINEAR:
        for (int64_t j = 0; j < cols; j++) p[j] += b[j];
        break;
      case DA_RELU:
        for (int64_t j = 0; j < cols; j++) { const float v = p[j] + b[j]; p[j] = v > 0.0f ? v : 0.0f; }
        break;
      case DA_ELU:
        for (int64_t j = 0; j < cols; j++) { const float v = p[j] + b[j]; p[j] = v >= 0.0f ? v : vexpf(v) - 1.0f; }
        break;
      case DA_SELU:
        for (int64_t j = 0; j < cols; j++) {
          const float v = p[j] + b[j];
          p[j] = v > 0.0f ? SELU_SCALE * v : SELU_SCALEALPHA * (vexpf(v) - 1.0f);
        }
        break;
      case DA_TANH:
        for (int64_t j = 0; j < cols; j++) { const float v = p[j] + b[j]; p[j] = 1.0f - 2.0f / (vexpf(2.0f * v) + 1.0f); }
        break;
      case DA_SIGMOID:
        for (int64_t j = 0; j < cols; j++) { const float v = p[j] + b[j]; p[j] = 1.0f / (1.0f + vexpf(-v)); }
        break;
      case DA_LEAKY:
        for (int64_t j = 0; j < cols; j++) { const float v = p[j] + b[j]; p[j] = v < 0.0f ? alpha * v : v; }
        break;
    }
  }
}

/* g *= act'(x), written from the activation's output y (tfjs saves y for elu/tanh/sigmoid; y > 0 ⇔ x > 0 else). */
static MULTIVERSION void act_grad(float *restrict g, const float *restrict y, int64_t n, int act, float alpha) {
  switch (act) {
    case DA_LINEAR: break;
    case DA_RELU:
      for (int64_t i = 0; i < n; i++) g[i] = y[i] > 0.0f ? g[i] : 0.0f;
      break;
    case DA_ELU: /* EluGrad: y ≥ 0 ? dy : dy·(y + 1) */
      for (int64_t i = 0; i < n; i++) g[i] = y[i] >= 0.0f ? g[i] : g[i] * (y[i] + 1.0f);
      break;
    case DA_SELU: /* x > 0 ? dy·scale : dy·scaleAlpha·eˣ, and scaleAlpha·eˣ = y + scaleAlpha */
      for (int64_t i = 0; i < n; i++) g[i] = y[i] > 0.0f ? g[i] * SELU_SCALE : g[i] * (y[i] + SELU_SCALEALPHA);
      break;
    case DA_TANH:
      for (int64_t i = 0; i < n; i++) g[i] = (1.0f - y[i] * y[i]) * g[i];
      break;
    case DA_SIGMOID:
      for (int64_t i = 0; i < n; i++) g[i] = g[i] * (y[i] * (1.0f - y[i]));
      break;
    case DA_LEAKY:
      for (int64_t i = 0; i < n; i++) g[i] = y[i] > 0.0f ? g[i] : g[i] * alpha;
      break;
  }
}

/*
 * Σ over the rows×cols cells of the loss; g (may be NULL) receives d(mean loss)/dy = d(Σ loss)/dy · invN. Sums are
 * float32 within a row (vectorised), float64 across rows.
 */
static MULTIVERSION double loss_and_grad(const float *restrict y, const float *restrict t, float *restrict g,
                                         int64_t rows, int64_t cols, int loss, float invN) {
  double sum = 0;
  const float hi = 1.0f - BCE_EPS;
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict yr = y + r * cols, *restrict tr = t + r * cols;
    float *restrict gr = g != NULL ? g + r * cols : NULL;
    float s = 0.0f;
    if (loss == LOSS_MSE) {
      if (gr != NULL) {
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < cols; j++) {
          const float d = yr[j] - tr[j];
          s += d * d;
          gr[j] = invN * (2.0f * d);
        }
      } else {
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < cols; j++) {
          const float d = yr[j] - tr[j];
          s += d * d;
        }
      }
    } else {
      for (int64_t j = 0; j < cols; j++) {
        const float yj = yr[j], tj = tr[j];
        const float p = yj < BCE_EPS ? BCE_EPS : yj > hi ? hi : yj;
        s -= tj * logf(p) + (1.0f - tj) * logf(1.0f - p);
        if (gr != NULL) gr[j] = (yj >= BCE_EPS && yj <= hi) ? -invN * (tj / p - (1.0f - tj) / (1.0f - p)) : 0.0f;
      }
    }
    sum += s;
  }
  return sum;
}

/* Σ|x| or Σx²: float32 sums over blocks (vectorised), float64 across blocks. */
static MULTIVERSION double abs_sum(const float *restrict x, int64_t n) {
  double total = 0;
  for (int64_t start = 0; start < n; start += 4096) {
    const int64_t end = start + 4096 < n ? start + 4096 : n;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t i = start; i < end; i++) s += fabsf(x[i]);
    total += s;
  }
  return total;
}

static MULTIVERSION double square_sum(const float *restrict x, int64_t n) {
  double total = 0;
  for (int64_t start = 0; start < n; start += 4096) {
    const int64_t end = start + 4096 < n ? start + 4096 : n;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t i = start; i < end; i++) s += x[i] * x[i];
    total += s;
  }
  return total;
}

/* g += k · step(y, −1): the gradient of k·Σ|y| (tfjs Abs gradient: dy · (y > 0 ? 1 : −1)). */
static MULTIVERSION void add_abs_grad(float *restrict g, const float *restrict y, int64_t n, float k) {
  for (int64_t i = 0; i < n; i++) g[i] += y[i] > 0.0f ? k : -k;
}


/* Adam in place; the gradient is g + 2·l2·p + l1·step(p, −1) (the weight penalties' gradients; 0 for biases). */
static MULTIVERSION void adam_update(int64_t n, float *restrict p, const float *restrict g, float *restrict m,
                                     float *restrict v, float b1, float b2, float omb1, float omb2, float c1, float c2,
                                     float eps, float nlr, float l1, float l2) {
  const float twoL2 = 2.0f * l2;
  for (int64_t i = 0; i < n; i++) {
    const float pi = p[i];
    float gi = g[i];
    if (l2 != 0.0f) gi += twoL2 * pi;
    if (l1 != 0.0f) gi += pi > 0.0f ? l1 : -l1;
    const float mi = m[i] * b1 + gi * omb1;
    const float vi = v[i] * b2 + (gi * gi) * omb2;
    p[i] = ((mi / c1) / (sqrtf(vi / c2) + eps)) * nlr + pi;
    m[i] = mi;
    v[i] = vi;
  }
}

static void sgemm_rm(int ta, int tb, int64_t M, int64_t N, int64_t K, const float *a, int64_t lda, const float *b,
                     int64_t ldb, float *c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)M, (blasint)N,
              (blasint)K, 1.0f, a, (blasint)lda, b, (blasint)ldb, 0.0f, c, (blasint)ldc);
}

/*
 * denseStep(params, layout, work, x, xOff, target, targetOff, rows, options) -> number
 *   params  Float32Array holding every layer's kernel (in×out), bias (out) and, when updating, their Adam moments;
 *   layout  Int32Array [L, then per layer: in, out, activation, w, b, mw, vw, mb, vb] (offsets into params; the
 *           moment offsets are read only when updating);
 *   work    Float32Array scratch of at least denseWorkSize(layout, rows, update) elements (see native-train.ts);
 *   x       rows × in₀ at xOff (the possibly corrupted input); target rows × out_L at targetOff;
 *   options Float64Array [loss (0 mse, 1 bce, 2 none: inference, target unread), leakyAlpha, codeLayer (−1: none), sparsity, l1, l2, update (0/1),
 *           lr, beta1, beta2, epsilon, c1, c2].
 * Returns the objective of the batch before the update (as train.ts `objective` computes it). With update = 0 only the
 * forward pass and the objective are computed (loss 2: the forward pass only, returning 0); layer l's output is then
 * at work[Σ_{k<l} rows·out_k], rows × out_l.
 */
napi_value DenseStep(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 9) FAIL("denseStep: expected 9 arguments");
  f32view params, work, x, target;
  int32_t *layout;
  double *opt;
  size_t layoutLen, optLen;
  int64_t xOff, tOff, rows;
  if (get_view(env, argv[0], 0, &params) || get_typed(env, argv[1], napi_int32_array, (void **)&layout, &layoutLen) ||
      get_view(env, argv[2], 0, &work) || get_view(env, argv[3], 0, &x) || get_i64(env, argv[4], &xOff) ||
      get_view(env, argv[5], 0, &target) || get_i64(env, argv[6], &tOff) || get_i64(env, argv[7], &rows) ||
      get_typed(env, argv[8], napi_float64_array, (void **)&opt, &optLen)) {
    napi_throw_type_error(env, NULL, "denseStep: bad argument types");
    return NULL;
  }
  if (optLen != O_COUNT) FAIL("denseStep: options must have 13 entries");
  if (layoutLen < 1) FAIL("denseStep: empty layout");
  const int64_t L = layout[0];
  if (L < 1 || L > 64 || layoutLen != (size_t)(1 + L * LAYOUT_FIELDS)) FAIL("denseStep: bad layout length");
  if (rows < 1 || rows > INT32_MAX) FAIL("denseStep: bad row count");
  const int update = opt[O_UPDATE] != 0;
  const int loss = (int)opt[O_LOSS];
  const int64_t code = (int64_t)opt[O_CODE];
  if (loss != LOSS_MSE && loss != LOSS_BCE && loss != LOSS_NONE) FAIL("denseStep: unknown loss");
  if (loss == LOSS_NONE && update) FAIL("denseStep: an update needs a loss");
  if (code < -1 || code >= L) FAIL("denseStep: bad code layer");

  layer_t layers[64];
  int64_t ySize = 0, maxOut = 0, maxKernel = 0;
  const int64_t plen = (int64_t)params.length;
  for (int64_t l = 0; l < L; l++) {
    const int32_t *f = layout + 1 + l * LAYOUT_FIELDS;
    layer_t *ly = &layers[l];
    ly->in = f[F_IN];
    ly->out = f[F_OUT];
    ly->act = f[F_ACT];
    if (ly->in < 1 || ly->out < 1 || ly->act < 0 || ly->act >= DA_COUNT) FAIL("denseStep: bad layer");
    if (l > 0 && ly->in != layers[l - 1].out) FAIL("denseStep: layer widths do not chain");
    const int64_t k = ly->in * ly->out;
    if (k > INT32_MAX || rows * ly->out > INT32_MAX) FAIL("denseStep: layer too large");
    if (!fits(plen, f[F_W], 1, k, k, 1, 0) || !fits(plen, f[F_B], 1, ly->out, ly->out, 1, 0)) FAIL("denseStep: weights out of range");
    ly->w = params.data + f[F_W];
    ly->b = params.data + f[F_B];
    ly->mw = ly->vw = ly->mb = ly->vb = NULL;
    if (update) {
      if (!fits(plen, f[F_MW], 1, k, k, 1, 0) || !fits(plen, f[F_VW], 1, k, k, 1, 0) ||
          !fits(plen, f[F_MB], 1, ly->out, ly->out, 1, 0) || !fits(plen, f[F_VB], 1, ly->out, ly->out, 1, 0))
        FAIL("denseStep: Adam moments out of range");
      ly->mw = params.data + f[F_MW];
      ly->vw = params.data + f[F_VW];
      ly->mb = params.data + f[F_MB];
      ly->vb = params.data + f[F_VB];
    }
    ySize += rows * ly->out;
    if (ly->out > maxOut) maxOut = ly->out;
    if (k > maxKernel) maxKernel = k;
  }
  const int64_t in0 = layers[0].in, outL = layers[L - 1].out;
  const int64_t need = ySize + (update ? 2 * rows * maxOut + maxKernel + maxOut : 0);
  if ((int64_t)work.length < need) FAIL("denseStep: work buffer too small");
  if (!fits((int64_t)x.length, xOff, rows, in0, in0, 1, 0)) FAIL("denseStep: x out of range");
  if (loss != LOSS_NONE && !fits((int64_t)target.length, tOff, rows, outL, outL, 1, 0)) FAIL("denseStep: target out of range");

  const float alpha = (float)opt[O_LEAKY], sparsity = (float)opt[O_SPARSITY], l1 = (float)opt[O_L1], l2 = (float)opt[O_L2];
  float *w = work.data;
  for (int64_t l = 0; l < L; l++) {
    layers[l].y = w;
    w += rows * layers[l].out;
  }
  float *cur = w, *next = w + rows * maxOut, *dw = next + rows * maxOut, *db = dw + maxKernel;

  /* forward */
  double penalty = 0;
  for (int64_t l = 0; l < L; l++) {
    layer_t *ly = &layers[l];
    const float *a = l == 0 ? x.data + xOff : layers[l - 1].y;
    sgemm_rm(0, 0, rows, ly->out, ly->in, a, ly->in, ly->w, ly->out, ly->y, ly->out);
    bias_act(ly->y, rows, ly->out, ly->b, ly->act, alpha);
    if (l2 != 0.0f) penalty += (double)l2 * square_sum(ly->w, ly->in * ly->out);
    if (l1 != 0.0f) penalty += (double)l1 * abs_sum(ly->w, ly->in * ly->out);
  }
  if (code >= 0 && sparsity != 0.0f) penalty += (double)sparsity * abs_sum(layers[code].y, rows * layers[code].out) / (double)rows;
  const int64_t cells = rows * outL;
  if (loss == LOSS_NONE) {
    napi_value none;
    CHECK(napi_create_double(env, 0, &none));
    return none;
  }
  const double lossSum = loss_and_grad(layers[L - 1].y, target.data + tOff, update ? cur : NULL, rows, outL, loss,
                                       1.0f / (float)cells);
  const double objective = lossSum / (double)cells + penalty;

  if (update) {
    const float b1 = (float)opt[O_BETA1], b2 = (float)opt[O_BETA2];
    const float omb1 = (float)(1 - opt[O_BETA1]), omb2 = (float)(1 - opt[O_BETA2]);
    const float c1 = (float)opt[O_C1], c2 = (float)opt[O_C2], eps = (float)opt[O_EPS], nlr = (float)(-opt[O_LR]);
    const float sparseGrad = sparsity / (float)rows;
    if (code == L - 1 && sparsity != 0.0f) add_abs_grad(cur, layers[L - 1].y, cells, sparseGrad);
    for (int64_t l = L - 1; l >= 0; l--) {
      layer_t *ly = &layers[l];
      const float *a = l == 0 ? x.data + xOff : layers[l - 1].y;
      act_grad(cur, ly->y, rows * ly->out, ly->act, alpha);
      sgemm_rm(1, 0, ly->in, ly->out, rows, a, ly->in, cur, ly->out, dw, ly->out); /* dW = aᵀ·g */
      colsum_kernel(cur, rows, ly->out, db);
      if (l > 0) { /* the input gradient, with the weights before this step's update */
        sgemm_rm(0, 1, rows, ly->in, ly->out, cur, ly->out, ly->w, ly->out, next, ly->in);
        if (l - 1 == code && sparsity != 0.0f) add_abs_grad(next, layers[l - 1].y, rows * ly->in, sparseGrad);
      }
      adam_update(ly->in * ly->out, ly->w, dw, ly->mw, ly->vw, b1, b2, omb1, omb2, c1, c2, eps, nlr, l1, l2);
      adam_update(ly->out, ly->b, db, ly->mb, ly->vb, b1, b2, omb1, omb2, c1, c2, eps, nlr, 0.0f, 0.0f);
      float *t = cur;
      cur = next;
      next = t;
    }
  }
  napi_value out;
  CHECK(napi_create_double(env, objective, &out));
  return out;
}

static MULTIVERSION void errors_kernel(const float *restrict y, const float *restrict t, int64_t rows, int64_t width,
                                       int loss, float *restrict rowOut, float *restrict cellOut) {
  const float hi = 1.0f - BCE_EPS;
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict yr = y + r * width, *restrict tr = t + r * width;
    float *restrict cr = cellOut != NULL ? cellOut + r * width : NULL;
    double sum = 0;
    for (int64_t j = 0; j < width; j++) {
      float e;
      if (loss == LOSS_MSE) {
        const float d = yr[j] - tr[j];
        e = d * d;
      } else {
        const float p = yr[j] < BCE_EPS ? BCE_EPS : yr[j] > hi ? hi : yr[j];
        const float tj = tr[j];
        e = -(tj * (float)log((double)p) + (1.0f - tj) * (float)log((double)(1.0f - p)));
      }
      if (cr != NULL) cr[j] = e;
      sum += e;
    }
    rowOut[r] = (float)(sum / (double)width);
  }
}

/*
 * errors(y, yOff, t, tOff, rows, width, loss, rowOut, rowOff, cellOut, cellOff) -> undefined
 * The cell errors of shared/ml/loss.ts `cellErrors` (loss 0 mse, 1 bce) between reconstructions y and targets t
 * (rows × width each), in float32 with float64 logs; rowOut[rowOff + r] = their mean over the row (float64 sum, as
 * tf.mean on the cpu backend), cellOut (may be null) receives the cells at cellOff.
 */
napi_value Errors(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 11) FAIL("errors: expected 11 arguments");
  f32view y, t, rowOut, cellOut;
  int64_t yOff, tOff, rows, width, loss, rowOff, cellOff;
  if (get_view(env, argv[0], 0, &y) || get_i64(env, argv[1], &yOff) || get_view(env, argv[2], 0, &t) ||
      get_i64(env, argv[3], &tOff) || get_i64(env, argv[4], &rows) || get_i64(env, argv[5], &width) ||
      get_i64(env, argv[6], &loss) || get_view(env, argv[7], 0, &rowOut) || get_i64(env, argv[8], &rowOff) ||
      get_view(env, argv[9], 1, &cellOut) || get_i64(env, argv[10], &cellOff)) {
    napi_throw_type_error(env, NULL, "errors: bad argument types");
    return NULL;
  }
  if (loss != LOSS_MSE && loss != LOSS_BCE) FAIL("errors: unknown loss");
  if (rows < 0 || width < 1) FAIL("errors: bad shape");
  if (!fits((int64_t)y.length, yOff, rows, width, width, 1, 0) || !fits((int64_t)t.length, tOff, rows, width, width, 1, 0) ||
      !fits((int64_t)rowOut.length, rowOff, 1, rows, rows, 1, 0) ||
      (cellOut.data != NULL && !fits((int64_t)cellOut.length, cellOff, rows, width, width, 1, 0)))
    FAIL("errors: out of range");
  errors_kernel(y.data + yOff, t.data + tOff, rows, width, (int)loss, rowOut.data + rowOff,
                cellOut.data != NULL ? cellOut.data + cellOff : NULL);
  return NULL;
}
