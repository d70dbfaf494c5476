/*
 * Input preparation: `corrupt` (training noise) and `scale` (the per-feature scaler, for inference).
 *
 * corrupt: the input corruption of shared/ml/train.ts `corrupt`, value for value as tfjs draws it for a seed:
 *   gaussian: out = x + tf.randomNormal(shape, 0, σ, 'float32', seed)
 *   mask:     out = x · (tf.randomUniform(shape, 0, 1, 'float32', seed) ≥ rate)
 * tfjs-core ops/rand_util.js draws from seedrandom's alea(String(seed)) (seedrandom 3.0.5 lib/alea.js, Baagoe's
 * Alea with the Mash string hash), normals by Marsaglia's polar method (MPRandGauss), and rounds each draw to float32.
 * The arithmetic here is the same IEEE double arithmetic in the same order (the addon builds with
 * -ffp-contract=off: no fused multiply-adds), so the draws are identical; the one library call, log(), may differ
 * from V8's Math.log in the last bit of a double, which changes a float32 draw with probability ~2⁻²⁹.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <node_api.h>
#include "common.h"

#define TWO_M32 2.3283064365386963e-10 /* 2^-32 */

/* JavaScript's ToUint32 for the finite non-negative values Mash produces. */
static double to_uint32(double x) { return fmod(floor(x), 4294967296.0); }

typedef struct { double n; } mash_t;

static double mash(mash_t *m, const char *data, size_t len) {
  double n = m->n;
  for (size_t i = 0; i < len; i++) {
    n += (unsigned char)data[i]; /* charCodeAt: the seed strings are ASCII digits */
    double h = 0.02519603282416938 * n;
    n = to_uint32(h);
    h -= n;
    h *= n;
    n = to_uint32(h);
    h -= n;
    n += h * 4294967296.0;
  }
  m->n = n;
  return to_uint32(n) * TWO_M32;
}

typedef struct { double s0, s1, s2, c; } alea_t;

static void alea_seed(alea_t *a, const char *seed, size_t len) {
  mash_t m = { 0xefc8249d };
  a->c = 1;
  a->s0 = mash(&m, " ", 1);
  a->s1 = mash(&m, " ", 1);
  a->s2 = mash(&m, " ", 1);
  a->s0 -= mash(&m, seed, len);
  if (a->s0 < 0) a->s0 += 1;
  a->s1 -= mash(&m, seed, len);
  if (a->s1 < 0) a->s1 += 1;
  a->s2 -= mash(&m, seed, len);
  if (a->s2 < 0) a->s2 += 1;
}

static inline double alea_next(alea_t *a) {
  const double t = 2091639 * a->s0 + a->c * TWO_M32;
  a->s0 = a->s1;
  a->s1 = a->s2;
  a->c = (double)(int32_t)t; /* t | 0 (0 ≤ t < 2^31) */
  return a->s2 = t - a->c;
}

/*
 * corrupt(out, x, xOff, count, kind, amount, seed) -> undefined
 * out[i] = x[xOff + i] corrupted, i < count; kind 0: gaussian with σ = amount, 1: mask with rate = amount; seed is
 * the string tfjs would give seedrandom (String(seed)). out must not overlap the input.
 */
napi_value Corrupt(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 7) FAIL("corrupt: expected 7 arguments");
  f32view out, x;
  int64_t xOff, count, kind;
  double amount;
  char seed[64];
  size_t seedLen;
  if (get_view(env, argv[0], 0, &out) || get_view(env, argv[1], 0, &x) || get_i64(env, argv[2], &xOff) ||
      get_i64(env, argv[3], &count) || get_i64(env, argv[4], &kind) || get_f64(env, argv[5], &amount) ||
      napi_get_value_string_utf8(env, argv[6], seed, sizeof seed, &seedLen) != napi_ok) {
    napi_throw_type_error(env, NULL, "corrupt: bad argument types");
    return NULL;
  }
  if (seedLen >= sizeof seed - 1) FAIL("corrupt: seed string too long");
  if (kind != 0 && kind != 1) FAIL("corrupt: unknown kind");
  if (count < 0 || !fits((int64_t)out.length, 0, 1, count, count, 1, 0) || !fits((int64_t)x.length, xOff, 1, count, count, 1, 0))
    FAIL("corrupt: out of range");
  const float *in = x.data + xOff;
  float *o = out.data;
  alea_t a;
  alea_seed(&a, seed, seedLen);
  if (kind == 1) {
    const float rate = (float)amount;
    for (int64_t i = 0; i < count; i++) o[i] = in[i] * ((float)alea_next(&a) >= rate ? 1.0f : 0.0f);
    return NULL;
  }
  for (int64_t i = 0; i < count;) {
    double v1, v2, s;
    do {
      v1 = 2 * alea_next(&a) - 1;
      v2 = 2 * alea_next(&a) - 1;
      s = v1 * v1 + v2 * v2;
    } while (s >= 1 || s == 0);
    const double mul = sqrt(-2.0 * log(s) / s);
    o[i] = in[i] + (float)(amount * v1 * mul);
    i++;
    if (i < count) o[i] = in[i] + (float)(amount * v2 * mul);
    i++;
  }
  return NULL;
}

static MULTIVERSION void scale_kernel(float *restrict out, const float *restrict x, int64_t rows, int64_t width,
                                      const double *restrict offset, const double *restrict divisor) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < width; j++) out[r * width + j] = (float)(((double)x[r * width + j] - offset[j]) / divisor[j]);
}

/*
 * scale(out, x, xOff, rows, width, offset, divisor) -> undefined
 * out[r·width + j] = (x[xOff + r·width + j] − offset[j]) / divisor[j], in float64 and rounded to float32 as
 * shared/ml/scaler.ts `applyScaler` computes it (offset, divisor: Float64Array of `width`). out must not overlap x.
 * (Lives here with the other input preparation.)
 */
napi_value Scale(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 7) FAIL("scale: expected 7 arguments");
  f32view out, x;
  int64_t xOff, rows, width;
  double *offset, *divisor;
  size_t offLen, divLen;
  if (get_view(env, argv[0], 0, &out) || get_view(env, argv[1], 0, &x) || get_i64(env, argv[2], &xOff) ||
      get_i64(env, argv[3], &rows) || get_i64(env, argv[4], &width) ||
      get_typed(env, argv[5], napi_float64_array, (void **)&offset, &offLen) ||
      get_typed(env, argv[6], napi_float64_array, (void **)&divisor, &divLen)) {
    napi_throw_type_error(env, NULL, "scale: bad argument types");
    return NULL;
  }
  if (rows < 0 || width < 1 || (int64_t)offLen != width || (int64_t)divLen != width) FAIL("scale: bad shape");
  if (!fits((int64_t)out.length, 0, rows, width, width, 1, 0) || !fits((int64_t)x.length, xOff, rows, width, width, 1, 0))
    FAIL("scale: out of range");
  scale_kernel(out.data, x.data + xOff, rows, width, offset, divisor);
  return NULL;
}
