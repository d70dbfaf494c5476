/* Helpers shared by the addon's source files: N-API argument parsing, bounds checks, a vectorisable expf. */
#ifndef LATENTFLOW_COMMON_H
#define LATENTFLOW_COMMON_H
#include <stdbool.h>
#include <stdint.h>
#include <node_api.h>

/* Hot loops are compiled for AVX-512, AVX2 and baseline x86-64, picked at load time (GCC function multi-versioning). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define MULTIVERSION
#endif

#define CHECK(call)                                                  \
  do {                                                               \
    if ((call) != napi_ok) {                                         \
      napi_throw_error(env, NULL, "latentflow_blas: N-API failure"); \
      return NULL;                                                   \
    }                                                                \
  } while (0)

#define FAIL(msg)                                  \
  do {                                             \
    napi_throw_range_error(env, NULL, (msg));      \
    return NULL;                                   \
  } while (0)

typedef struct {
  float *data;
  size_t length; /* elements */
} f32view;

/* A Float32Array argument; null/undefined gives an empty view when `optional`. Returns 0 on success. */
static inline int get_view(napi_env env, napi_value value, int optional, f32view *out) {
  napi_valuetype type;
  out->data = NULL;
  out->length = 0;
  if (napi_typeof(env, value, &type) != napi_ok) return -1;
  if (optional && (type == napi_null || type == napi_undefined)) return 0;
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return -1;
  napi_typedarray_type ta;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, value, &ta, &length, &data, NULL, NULL) != napi_ok) return -1;
  if (ta != napi_float32_array) return -1;
  out->data = (float *)data;
  out->length = length;
  return 0;
}

/* A typed array of the given type (no null): its data and element count. Returns 0 on success. */
static inline int get_typed(napi_env env, napi_value value, napi_typedarray_type want, void **data, size_t *length) {
  bool is_typed = false;
  napi_typedarray_type ta;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return -1;
  if (napi_get_typedarray_info(env, value, &ta, length, data, NULL, NULL) != napi_ok || ta != want) return -1;
  return 0;
}

static inline int get_i64(napi_env env, napi_value value, int64_t *out) {
  return napi_get_value_int64(env, value, out) == napi_ok ? 0 : -1;
}

static inline int get_f64(napi_env env, napi_value value, double *out) {
  return napi_get_value_double(env, value, out) == napi_ok ? 0 : -1;
}

static inline int get_bool(napi_env env, napi_value value, bool *out) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok) return -1;
  if (type == napi_boolean) return napi_get_value_bool(env, value, out) == napi_ok ? 0 : -1;
  int64_t n;
  if (get_i64(env, value, &n) != 0) return -1;
  *out = n != 0;
  return 0;
}

/*
 * Whether a row-major rows×cols matrix at `off` with leading dimension `ld`, repeated `batch` times `stride` apart
 * (stride may be 0: broadcast), lies inside a view of `length` elements.
 */
static inline int fits(int64_t length, int64_t off, int64_t rows, int64_t cols, int64_t ld, int64_t batch, int64_t stride) {
  if (off < 0 || rows < 0 || cols < 0 || batch < 1 || stride < 0) return 0;
  if (rows == 0 || cols == 0) return 1;
  if (ld < cols) return 0;
  const int64_t last = off + (batch - 1) * stride + (rows - 1) * ld + (cols - 1);
  return last < length;
}

/*
 * exp(x) for float32 in a form the compiler vectorises (glibc's expf is a scalar call): 2^(x·log2 e) split into
 * 2^round · 2^frac, the fraction by a degree-6 polynomial. Relative error < 2e-7 on [-87, 88]; clamped outside.
 */
static inline float vexpf(float x) {
  x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x; /* not fminf/fmaxf: those do not vectorise without -ffast-math */
  const float t = x * 1.44269504088896341f;
  const float r = (t + 12582912.0f) - 12582912.0f; /* round to nearest (1.5·2^23 trick; no -ffast-math here) */
  const float f = t - r; /* [-0.5, 0.5] */
  float p = 1.535336188319500e-4f;
  p = p * f + 1.339887440266574e-3f;
  p = p * f + 9.618437357674640e-3f;
  p = p * f + 5.550332471162809e-2f;
  p = p * f + 2.402264791363012e-1f;
  p = p * f + 6.931472028550421e-1f;
  p = p * f + 1.0f;
  const union { int32_t i; float f; } scale = { .i = ((int32_t)r + 127) << 23 };
  return p * scale.f;
}

/* out[j] = Σ_r in[r·cols + j]: the sum over the leading axis of a row-major rows×cols block (a bias gradient). */
__attribute__((unused)) static MULTIVERSION void colsum_kernel(const float *restrict in, int64_t rows, int64_t cols, float *restrict out) {
  for (int64_t j = 0; j < cols; j++) out[j] = 0.0f;
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict row = in + r * cols;
    for (int64_t j = 0; j < cols; j++) out[j] += row[j];
  }
}

#endif
