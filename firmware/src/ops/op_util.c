/* op_util.c - Prepare helpers shared by the op files (see op_util.h). */
#include "op_util.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

/* ---- errors (no stdio in the library) ------------------------------------- */
void kfda_sbuf_add(kfda_sbuf *s, const char *t) {
  while (*t && s->len + 1 < KFDA_ERROR_LEN) s->buf[s->len++] = *t++;
  s->buf[s->len] = 0;
}

void kfda_sbuf_int(kfda_sbuf *s, int64_t v) {
  char tmp[24];
  int n = 0;
  uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
  if (v < 0) kfda_sbuf_add(s, "-");
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u && n < 23);
  while (n > 0) {
    char c[2];
    c[0] = tmp[--n];
    c[1] = 0;
    kfda_sbuf_add(s, c);
  }
}

kfda_status kfda_fail(kfda_model *m, kfda_status st, int op, const char *msg) {
  kfda_sbuf s;
  s.buf = m->error;
  s.len = 0;
  m->error[0] = 0;
  if (op >= 0 && op < m->n_ops) {
    kfda_sbuf_add(&s, "op ");
    kfda_sbuf_int(&s, op);
    kfda_sbuf_add(&s, " (");
    kfda_sbuf_add(&s, kfda_model_op_name(m, op));
    kfda_sbuf_add(&s, "): ");
  }
  kfda_sbuf_add(&s, msg);
  return st;
}

kfda_status kfda_op_fail(const kfda_op_context *ctx, kfda_status st, const char *msg) {
  return kfda_fail(ctx->m, st, ctx->index, msg);
}

/* ---- tensors -------------------------------------------------------------- */
size_t kfda_type_size(uint8_t type) {
  switch (type) {
    case KFDA_FLOAT32:
    case KFDA_INT32: return 4;
    case KFDA_UINT8:
    case KFDA_BOOL:
    case KFDA_INT8: return 1;
    case KFDA_INT16: return 2;
    case KFDA_INT64: return 8;
    default: return 0;
  }
}

size_t kfda_elements(const kfda_tensor *t) {
  size_t n = 1;
  int i;
  for (i = 0; i < t->ndim; ++i) n *= (size_t)t->dims[i];
  return n;
}

kfda_shape4 kfda_shape4_of(const kfda_tensor *t) {
  kfda_shape4 s;
  s.n = t->dims[0];
  s.h = t->dims[1];
  s.w = t->dims[2];
  s.c = t->dims[3];
  return s;
}

int kfda_same_dims(const kfda_tensor *a, const kfda_tensor *b) {
  int i;
  if (a->ndim != b->ndim) return 0;
  for (i = 0; i < a->ndim; ++i)
    if (a->dims[i] != b->dims[i]) return 0;
  return 1;
}

int kfda_has_input(const kfda_op *op, int i) { return i < op->n_in && op->in[i] >= 0; }

/* ---- output channel slices ------------------------------------------------- */
int32_t kfda_slice_max_units(int32_t units, int32_t align, int32_t slices) {
  int32_t s, most = 0;
  for (s = 0; s < slices; ++s) {
    const int32_t n =
        kfda_slice_begin(units, align, slices, s + 1) - kfda_slice_begin(units, align, slices, s);
    if (n > most) most = n;
  }
  return most;
}

void kfda_copy_channel_slice(const void *slice, int32_t pixels, int32_t unit_begin,
                             int32_t unit_end, int32_t units, int32_t unit_bytes, void *out) {
  const size_t row = (size_t)(unit_end - unit_begin) * (size_t)unit_bytes;
  const uint8_t *from = (const uint8_t *)slice;
  uint8_t *to = (uint8_t *)out + (size_t)unit_begin * (size_t)unit_bytes;
  int32_t px;
  for (px = 0; px < pixels; ++px, from += row, to += (size_t)units * (size_t)unit_bytes)
    memcpy(to, from, row);
}

void kfda_gather_channel_slice(const void *in, int32_t pixels, int32_t unit_begin, int32_t unit_end,
                               int32_t units, int32_t unit_bytes, void *slice) {
  const size_t row = (size_t)(unit_end - unit_begin) * (size_t)unit_bytes;
  const uint8_t *from = (const uint8_t *)in + (size_t)unit_begin * (size_t)unit_bytes;
  uint8_t *to = (uint8_t *)slice;
  int32_t px;
  for (px = 0; px < pixels; ++px, from += (size_t)units * (size_t)unit_bytes, to += row)
    memcpy(to, from, row);
}

/* ---- Prepare helpers ------------------------------------------------------- */
kfda_status kfda_op_thread_scratch(kfda_op_context *ctx, size_t bytes) {
  const size_t threads = (size_t)ctx->m->num_threads;
  const size_t share =
      threads > 1 ? (bytes + KFDA_ARENA_ALIGN - 1) / KFDA_ARENA_ALIGN * KFDA_ARENA_ALIGN : bytes;
  NEED(share <= 0x7fffffffu / threads, KFDA_ERR_LIMIT, "scratch above 2 GiB");
  ctx->op->scratch_bytes = (uint32_t)(share * threads);
  return KFDA_OK;
}

void *kfda_op_persist(kfda_op_context *ctx, size_t bytes) {
  kfda_persist_alloc *a = ctx->persist;
  const size_t start = a->used, limit = 0x80000000u; /* above 2 GiB: load fails */
  /* saturating at the limit: no size_t wrap on 32-bit targets */
  if (a->used >= limit || limit - a->used <= KFDA_ARENA_ALIGN ||
      bytes > limit - a->used - KFDA_ARENA_ALIGN) {
    a->used = limit;
    return NULL;
  }
  a->used += (bytes + KFDA_ARENA_ALIGN - 1) / KFDA_ARENA_ALIGN * KFDA_ARENA_ALIGN;
  if (a->arena == NULL || a->used > a->capacity) return NULL;
  return a->arena + start;
}

int kfda_act_range(int32_t act, float *lo, float *hi, int32_t *qlo, int32_t *qhi) {
  switch (act) {
    case KFDA_ACT_NONE:
      *lo = -FLT_MAX;
      *hi = FLT_MAX;
      *qlo = INT32_MIN;
      *qhi = INT32_MAX;
      return 0;
    case KFDA_ACT_RELU:
      *lo = 0.0f;
      *hi = FLT_MAX;
      *qlo = 0;
      *qhi = INT32_MAX;
      return 0;
    case KFDA_ACT_RELU_N1_TO_1:
      *lo = -1.0f;
      *hi = 1.0f;
      *qlo = -1;
      *qhi = 1;
      return 0;
    case KFDA_ACT_RELU6:
      *lo = 0.0f;
      *hi = 6.0f;
      *qlo = 0;
      *qhi = 6;
      return 0;
    default: return -1;
  }
}

static int32_t quantize_value(const kfda_tensor *t, float f) {
  /* clamped before the cast (a tiny scale makes f / scale huge); the result is then
   * clamped to int8, so this only changes values TFLite's cast leaves undefined */
  float r = roundf(f / t->scale);
  if (r > 1e9f) r = 1e9f;
  if (!(r >= -1e9f)) r = -1e9f;
  return t->zero_point + (int32_t)r;
}

int kfda_qact_range(int32_t act, const kfda_tensor *out, int32_t *lo, int32_t *hi) {
  int32_t a = -128, b = 127;
  if (!(out->scale > 0.0f)) return -1;
  switch (act) {
    case KFDA_ACT_NONE: break;
    case KFDA_ACT_RELU: a = quantize_value(out, 0.0f); break;
    case KFDA_ACT_RELU6:
      a = quantize_value(out, 0.0f);
      b = quantize_value(out, 6.0f);
      break;
    case KFDA_ACT_RELU_N1_TO_1:
      a = quantize_value(out, -1.0f);
      b = quantize_value(out, 1.0f);
      break;
    default: return -1;
  }
  *lo = a > -128 ? a : -128;
  *hi = b < 127 ? b : 127;
  return 0;
}

int kfda_window(int32_t in, int32_t filter, int32_t stride, int32_t dil, int32_t padding,
                int32_t *out, int32_t *pad) {
  int64_t eff, o, total;
  if (in <= 0 || filter <= 0 || stride <= 0 || dil <= 0 || stride > 65536 || dil > 65536 ||
      filter > 65536)
    return -1;
  eff = (int64_t)(filter - 1) * dil + 1;
  if (padding == KFDA_PADDING_SAME)
    o = ((int64_t)in + stride - 1) / stride;
  else if (padding == KFDA_PADDING_VALID)
    o = ((int64_t)in - eff + stride) / stride;
  else
    return -1;
  if (o <= 0 || o > INT32_MAX) return -1;
  total = (o - 1) * stride + eff - in;
  if (total < 0) total = 0;
  *out = (int32_t)o;
  *pad = (int32_t)(total / 2);
  return 0;
}

int kfda_opt_i32(const kfda_op_context *ctx, int id, int32_t def, int32_t *v) {
  if (!ctx->has_options) {
    *v = def;
    return 0;
  }
  return kfda_fb_i32(ctx->fb, &ctx->options, id, def, v) < 0 ? -1 : 0;
}

int kfda_opt_u8(const kfda_op_context *ctx, int id, uint8_t def, int32_t *v) {
  uint8_t b = def;
  if (ctx->has_options && kfda_fb_u8(ctx->fb, &ctx->options, id, def, &b) < 0) return -1;
  *v = b;
  return 0;
}

int kfda_custom_map(const kfda_op_context *ctx, kfda_flex *root) {
  return kfda_flex_root(ctx->custom, ctx->custom_len, root) == 0 && root->type == KFDA_FLEX_MAP
             ? 0
             : -1;
}

int kfda_flex_opt_i64(const kfda_flex *map, const char *key, int64_t *v) {
  kfda_flex e;
  int r = kfda_flex_map_get(map, key, &e);
  if (r <= 0) return r;
  if (e.type == KFDA_FLEX_STRING || e.type == KFDA_FLEX_KEY) {
    const char *s;
    uint32_t n;
    if (kfda_flex_str(&e, &s, &n) != 0) return -1;
#define STR_IS(lit) (n == sizeof(lit) - 1 && memcmp(s, lit, n) == 0)
    if (STR_IS("SAME") || STR_IS("same"))
      *v = KFDA_PADDING_SAME;
    else if (STR_IS("VALID") || STR_IS("valid"))
      *v = KFDA_PADDING_VALID;
    else if (STR_IS("NONE") || n == 0)
      *v = KFDA_ACT_NONE;
    else if (STR_IS("RELU"))
      *v = KFDA_ACT_RELU;
    else if (STR_IS("RELU_N1_TO_1"))
      *v = KFDA_ACT_RELU_N1_TO_1;
    else if (STR_IS("RELU6"))
      *v = KFDA_ACT_RELU6;
    else
      return -1;
#undef STR_IS
    return 1;
  }
  return kfda_flex_int(&e, v) == 0 ? 1 : -1;
}

int kfda_flex_opt(const kfda_flex *map, const char *key, int required, int32_t *v) {
  int64_t x;
  const int r = kfda_flex_opt_i64(map, key, &x);
  if (r < 0 || (r == 0 && required)) return -1;
  if (r == 0) return 0;
  if (x < -65536 || x > 65536) return -1;
  *v = (int32_t)x;
  return 1;
}

/* ---- int8 checks --------------------------------------------------------------- */
static int scale_ok(float s) { return isfinite(s) && s >= FLT_MIN; }

kfda_status kfda_check_int8_tensor(const kfda_op_context *ctx, const kfda_tensor *t,
                                   const char *what) {
  char msg[KFDA_ERROR_LEN];
  kfda_sbuf s;
  uint32_t i;
  int bad_scale = !scale_ok(t->scale);
  for (i = 0; t->ch_scales && i < t->n_ch_scales; ++i)
    if (!scale_ok(kfda_rd_f32(t->ch_scales + 4 * i))) bad_scale = 1;
  if (!bad_scale && t->zero_point >= -128 && t->zero_point <= 127) return KFDA_OK;
  s.buf = msg;
  s.len = 0;
  kfda_sbuf_add(&s, "int8 ");
  kfda_sbuf_add(&s, what);
  kfda_sbuf_add(
      &s, bad_scale ? " scale must be finite and positive" : " zero point outside [-128, 127]");
  return kfda_op_fail(ctx, KFDA_ERR_MODEL, msg);
}

int kfda_requant_multiplier(double real, int64_t value_max, int64_t offset_max,
                            int32_t *significand, int32_t *shift) {
  /* the checks come before kfda_quantize_multiplier: it casts to an integer */
  if (!isfinite(real) || real < 0.0 || real >= 1073741824.0) return -1;
  if ((double)value_max * real + (double)offset_max + 2.0 > (double)INT32_MAX) return -1;
  kfda_quantize_multiplier(real, significand, shift);
  return *shift >= -31 && *shift <= 30 ? 0 : -1;
}

int64_t kfda_bias_max_s32(const kfda_tensor *bias) {
  int64_t m = 0;
  size_t i, n;
  if (bias == NULL || bias->data == NULL) return 0;
  n = kfda_elements(bias);
  for (i = 0; i < n; ++i) {
    const int64_t v = (int32_t)kfda_rd_u32(bias->data + 4 * i);
    if ((v < 0 ? -v : v) > m) m = v < 0 ? -v : v;
  }
  return m;
}

/* ---- pools ----------------------------------------------------------------- */
/* p->kind's kernel (p->is_int8's type) on one slice. */
static void pool_kernel(const kfda_pool_op_params *p, const kfda_conv_params *pool,
                        const kfda_shape4 *in_shape, const void *in, const kfda_shape4 *out_shape,
                        void *out) {
  if (p->kind == KFDA_POOL_BITPACKED_MAX)
    kfda_lce_bmaxpool2d(pool, in_shape, (const int32_t *)in, out_shape, (int32_t *)out);
  else if (p->kind == KFDA_POOL_AVERAGE && p->is_int8)
    kfda_average_pool2d_s8(pool, in_shape, (const int8_t *)in, out_shape, (int8_t *)out);
  else if (p->kind == KFDA_POOL_AVERAGE)
    kfda_average_pool2d_f32(pool, in_shape, (const float *)in, out_shape, (float *)out);
  else if (p->is_int8)
    kfda_max_pool2d_s8(pool, in_shape, (const int8_t *)in, out_shape, (int8_t *)out);
  else
    kfda_max_pool2d_f32(pool, in_shape, (const float *)in, out_shape, (float *)out);
}

/* Pools over threads: output rows [row_begin, row_end) of the rows [0, n * oh) are the
 * same pool on the input from the first row their windows read, with the top padding left
 * above it and the same bottom edge; so every tap, clip and sum is the whole call's. A slice
 * stays within one batch: pool_slice_of fills the first one and returns its rows. */
typedef struct {
  kfda_conv_params pool;
  kfda_shape4 in_shape, out_shape;
  size_t in_at, out_at; /* element offsets of the slice's input and output */
} pool_slice;

static int32_t pool_slice_of(const kfda_pool_op_params *p, int32_t row_begin, int32_t row_end,
                             pool_slice *s) {
  const int32_t oh = p->out_shape.h, batch = row_begin / oh, y0 = row_begin % oh;
  const int32_t y1 = row_end - batch * oh < oh ? row_end - batch * oh : oh;
  const int32_t first_tap = y0 * p->pool.stride_h - p->pool.pad_h; /* may be above the image */
  const int32_t in_y0 = first_tap > 0 ? first_tap : 0;
  const size_t in_row = (size_t)p->in_shape.w * (size_t)p->in_shape.c;
  const size_t out_row = (size_t)p->out_shape.w * (size_t)p->out_shape.c;
  s->pool = p->pool;
  s->pool.pad_h = in_y0 - first_tap;
  s->in_shape = p->in_shape;
  s->in_shape.n = 1;
  s->in_shape.h = p->in_shape.h - in_y0;
  s->out_shape = p->out_shape;
  s->out_shape.n = 1;
  s->out_shape.h = y1 - y0;
  s->in_at = ((size_t)batch * (size_t)p->in_shape.h + (size_t)in_y0) * in_row;
  s->out_at = ((size_t)batch * (size_t)oh + (size_t)y0) * out_row;
  return y1 - y0;
}

/* A pool's output units: channels (4 at a time) or bitpacked words (1 at a time). */
static void pool_units(const kfda_model *m, const kfda_op *op, int32_t *align,
                       int32_t *unit_bytes) {
  const uint8_t type = m->tensors[op->out].type;
  *align = type == KFDA_INT32 ? 1 : 4;
  *unit_bytes = type == KFDA_INT8 ? 1 : 4;
}

static size_t align_up16(size_t bytes) {
  return (bytes + KFDA_ARENA_ALIGN - 1) / KFDA_ARENA_ALIGN * KFDA_ARENA_ALIGN;
}

/* Pools on maps too small for a row split split channels (kfda_channel_slices: units are
 * the output's channels, 4 at a time, or its words when bitpacked, 1 at a time). Output
 * channel c reads input channel c only, so a slice is the same pool on the slice's input
 * channels, gathered into the thread's scratch (none needed for a one-pixel input), its
 * output in the scratch too (none for a one-pixel output) until copied back. */
static int32_t pool_channel_slices(const kfda_model *m, const kfda_op *op,
                                   const kfda_pool_op_params *p) {
  int32_t align, unit_bytes;
  pool_units(m, op, &align, &unit_bytes);
  return kfda_channel_slices(m, &p->out_shape, p->out_shape.c, align);
}

/* The gathered input (when more than one pixel), then the output (likewise), 16-aligned. */
static void pool_slice_buffers(const kfda_model *m, const kfda_op *op, const kfda_pool_op_params *p,
                               size_t *in_bytes, size_t *out_bytes) {
  const int32_t slices = pool_channel_slices(m, op, p);
  const size_t in_pixels = (size_t)p->in_shape.n * p->in_shape.h * p->in_shape.w;
  const size_t out_pixels = (size_t)p->out_shape.n * p->out_shape.h * p->out_shape.w;
  int32_t align, unit_bytes;
  size_t slice_bytes;
  pool_units(m, op, &align, &unit_bytes);
  slice_bytes = (size_t)kfda_slice_max_units(p->out_shape.c, align, slices) * (size_t)unit_bytes;
  *in_bytes = in_pixels > 1 ? align_up16(in_pixels * slice_bytes) : 0;
  *out_bytes = out_pixels > 1 ? align_up16(out_pixels * slice_bytes) : 0;
}

typedef struct {
  kfda_shape4 in_shape, out_shape; /* the slice's channels */
  const void *in;                  /* its input channels */
  void *out;                       /* where the kernel writes them */
  int32_t unit_begin, unit_end, unit_bytes;
  uint8_t copy_back; /* the kernel wrote into the scratch */
} pool_channel_slice;

/* Slice `slice` of the op's pool_channel_slices; 0 when it is empty. */
static int pool_channel_slice_of(const kfda_model *m, const kfda_op *op,
                                 const kfda_pool_op_params *p, int32_t slice, void *scratch,
                                 pool_channel_slice *s) {
  const int32_t slices = pool_channel_slices(m, op, p), units = p->out_shape.c;
  const int32_t in_pixels = p->in_shape.n * p->in_shape.h * p->in_shape.w;
  const uint8_t *in = kfda_tensor_data(m, op->in[0]);
  uint8_t *out = kfda_tensor_data(m, op->out);
  size_t in_bytes, out_bytes;
  int32_t align;
  pool_units(m, op, &align, &s->unit_bytes);
  pool_slice_buffers(m, op, p, &in_bytes, &out_bytes);
  s->unit_begin = kfda_slice_begin(units, align, slices, slice);
  s->unit_end = kfda_slice_begin(units, align, slices, slice + 1);
  if (s->unit_begin == s->unit_end) return 0;
  s->in_shape = p->in_shape;
  s->out_shape = p->out_shape;
  s->in_shape.c = s->out_shape.c = s->unit_end - s->unit_begin;
  if (in_bytes > 0) { /* the slice's channels of every input pixel */
    kfda_gather_channel_slice(in, in_pixels, s->unit_begin, s->unit_end, units, s->unit_bytes,
                              scratch);
    s->in = scratch;
  } else {
    s->in = in + (size_t)s->unit_begin * (size_t)s->unit_bytes;
  }
  s->copy_back = out_bytes > 0;
  s->out = s->copy_back ? (uint8_t *)scratch + in_bytes
                        : out + (size_t)s->unit_begin * (size_t)s->unit_bytes;
  return 1;
}

/* Output rows [row_begin, row_end), one batch's slice at a time. */
static void pool_eval_rows(const kfda_model *m, const kfda_op *op, const void *params,
                           int32_t row_begin, int32_t row_end, void *scratch) {
  const kfda_pool_op_params *p = (const kfda_pool_op_params *)params;
  const size_t element_bytes = p->is_int8 ? 1 : 4; /* int8, float or bitpacked int32 */
  const uint8_t *in = kfda_tensor_data(m, op->in[0]);
  uint8_t *out = kfda_tensor_data(m, op->out);
  pool_slice s;
  (void)scratch;
  while (row_begin < row_end) {
    row_begin += pool_slice_of(p, row_begin, row_end, &s);
    pool_kernel(p, &s.pool, &s.in_shape, in + s.in_at * element_bytes, &s.out_shape,
                out + s.out_at * element_bytes);
  }
}

/* Output channels of slices [slice_begin, slice_end). */
static void pool_eval_slices(const kfda_model *m, const kfda_op *op, const void *params,
                             int32_t slice_begin, int32_t slice_end, void *scratch) {
  const kfda_pool_op_params *p = (const kfda_pool_op_params *)params;
  pool_channel_slice s;
  int32_t i;
  for (i = slice_begin; i < slice_end; ++i) {
    if (!pool_channel_slice_of(m, op, p, i, scratch, &s)) continue;
    pool_kernel(p, &p->pool, &s.in_shape, s.in, &s.out_shape, s.out);
    if (s.copy_back)
      kfda_copy_channel_slice(s.out, p->out_shape.n * p->out_shape.h * p->out_shape.w, s.unit_begin,
                              s.unit_end, p->out_shape.c, s.unit_bytes,
                              kfda_tensor_data(m, op->out));
  }
}

void kfda_pool_eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const kfda_pool_op_params *p = (const kfda_pool_op_params *)params;
  const int32_t slices = pool_channel_slices(m, op, p);
  if (slices > 0)
    kfda_op_run_rows(m, op, params, slices, pool_eval_slices);
  else
    kfda_op_run_rows(m, op, params, p->out_shape.n * p->out_shape.h, pool_eval_rows);
}

/* Prepare: the pool's scratch when it splits channels (none for one thread). */
static kfda_status pool_slice_scratch(kfda_op_context *ctx, const kfda_pool_op_params *p) {
  size_t in_bytes, out_bytes;
  if (pool_channel_slices(ctx->m, ctx->op, p) == 0) return KFDA_OK;
  pool_slice_buffers(ctx->m, ctx->op, p, &in_bytes, &out_bytes);
  return in_bytes + out_bytes > 0 ? kfda_op_thread_scratch(ctx, in_bytes + out_bytes) : KFDA_OK;
}

kfda_status kfda_pool_window(kfda_op_context *ctx, kfda_pool_op_params *p, int32_t padding) {
  const kfda_tensor *in = IN(0), *out = OUT;
  int32_t oh, ow;
  p->pool.dil_h = p->pool.dil_w = 1;
  NEED(kfda_window(in->dims[1], p->pool.filter_h, p->pool.stride_h, 1, padding, &oh,
                   &p->pool.pad_h) == 0 &&
           kfda_window(in->dims[2], p->pool.filter_w, p->pool.stride_w, 1, padding, &ow,
                       &p->pool.pad_w) == 0,
       KFDA_ERR_SHAPE, "bad window (filter/stride/padding)");
  NEED(out->dims[0] == in->dims[0] && out->dims[1] == oh && out->dims[2] == ow &&
           out->dims[3] == in->dims[3],
       KFDA_ERR_SHAPE, "output shape does not match");
  p->in_shape = kfda_shape4_of(in);
  p->out_shape = kfda_shape4_of(out);
  return pool_slice_scratch(ctx, p);
}

kfda_status kfda_pool_prepare(kfda_op_context *ctx, kfda_pool_op_params *p) {
  const kfda_tensor *in, *out;
  int32_t padding, activation;
  kfda_conv_params *q = &p->pool;
  NEED(ctx->op->n_in >= 1 && kfda_has_input(ctx->op, 0), KFDA_ERR_MODEL, "missing input");
  in = IN(0);
  out = OUT;
  NEED(in->ndim == 4 && out->ndim == 4, KFDA_ERR_SHAPE, "input and output must be 4-D");
  NEED(kfda_opt_u8(ctx, 0, 0, &padding) == 0 && kfda_opt_i32(ctx, 1, 1, &q->stride_w) == 0 &&
           kfda_opt_i32(ctx, 2, 1, &q->stride_h) == 0 &&
           kfda_opt_i32(ctx, 3, 1, &q->filter_w) == 0 &&
           kfda_opt_i32(ctx, 4, 1, &q->filter_h) == 0 && kfda_opt_u8(ctx, 5, 0, &activation) == 0,
       KFDA_ERR_MODEL, "bad options");
  NEED((in->type == KFDA_FLOAT32 && out->type == KFDA_FLOAT32) ||
           (in->type == KFDA_INT8 && out->type == KFDA_INT8),
       KFDA_ERR_UNSUPPORTED, "only float32 and int8 are supported");
  p->is_int8 = in->type == KFDA_INT8;
  if (p->is_int8) {
    kfda_status st = kfda_check_int8_tensor(ctx, out, "output");
    if (st != KFDA_OK) return st;
    NEED(in->scale == out->scale && in->zero_point == out->zero_point, KFDA_ERR_UNSUPPORTED,
         "int8 pooling with rescaling");
    NEED(kfda_qact_range(activation, out, &q->qact_min, &q->qact_max) == 0, KFDA_ERR_UNSUPPORTED,
         "unsupported fused activation");
  } else {
    NEED(kfda_act_range(activation, &q->act_min, &q->act_max, &q->qact_min, &q->qact_max) == 0,
         KFDA_ERR_UNSUPPORTED, "unsupported fused activation");
  }
  {
    const kfda_status st = kfda_pool_window(ctx, p, padding);
    if (st != KFDA_OK) return st;
  }
  /* int8 average pooling sums the window in int32 */
  NEED(!p->is_int8 || (int64_t)q->filter_h * q->filter_w <= (1 << 23), KFDA_ERR_LIMIT,
       "int8 pooling window above 2^23 values");
  return KFDA_OK;
}

/* ---- ADD / MUL --------------------------------------------------------------- */
kfda_status kfda_binary_prepare(kfda_op_context *ctx, kfda_binary_op_params *p) {
  kfda_arith_params *q = &p->arith;
  const kfda_tensor *a, *b, *out;
  int32_t activation;
  NEED(ctx->op->n_in >= 2 && kfda_has_input(ctx->op, 0) && kfda_has_input(ctx->op, 1),
       KFDA_ERR_MODEL, "missing input");
  NEED(kfda_opt_u8(ctx, 0, 0, &activation) == 0, KFDA_ERR_MODEL, "bad options");
  a = IN(0);
  b = IN(1);
  out = OUT;
  NEED((a->type == KFDA_FLOAT32 && b->type == KFDA_FLOAT32 && out->type == KFDA_FLOAT32) ||
           (a->type == KFDA_INT8 && b->type == KFDA_INT8 && out->type == KFDA_INT8),
       KFDA_ERR_UNSUPPORTED, "only float32 and int8 are supported");
  NEED(kfda_act_range(activation, &q->act_min, &q->act_max, &q->qact_min, &q->qact_max) == 0,
       KFDA_ERR_UNSUPPORTED, "unsupported fused activation");
  p->is_int8 = a->type == KFDA_INT8;
  if (p->is_int8) {
    kfda_status st = kfda_check_int8_tensor(ctx, a, "input 0");
    if (st == KFDA_OK) st = kfda_check_int8_tensor(ctx, b, "input 1");
    if (st == KFDA_OK) st = kfda_check_int8_tensor(ctx, out, "output");
    if (st != KFDA_OK) return st;
    NEED(kfda_qact_range(activation, out, &q->qact_min, &q->qact_max) == 0, KFDA_ERR_UNSUPPORTED,
         "unsupported fused activation");
    q->in_offset = -a->zero_point;
    q->in2_offset = -b->zero_point;
    q->out_offset = out->zero_point;
  }
  return KFDA_OK;
}

/* Element strides of t per output axis (0 where t is broadcast), KFDA_MAX_DIMS axes. */
static void broadcast_strides(const kfda_tensor *t, const kfda_tensor *out, int32_t *st) {
  int32_t s = 1;
  int i;
  for (i = 0; i < KFDA_MAX_DIMS; ++i) st[i] = 0;
  for (i = t->ndim - 1; i >= 0; --i) {
    int o = i + (KFDA_MAX_DIMS - t->ndim);
    st[o] = t->dims[i] == 1 && out->dims[i + (out->ndim - t->ndim)] != 1 ? 0 : s;
    s *= t->dims[i];
  }
}

kfda_status kfda_binary_broadcast(kfda_op_context *ctx, kfda_binary_op_params *p) {
  const kfda_tensor *a = IN(0), *b = IN(1), *out = OUT;
  int32_t stride;
  int i;
  NEED(out->ndim >= a->ndim && out->ndim >= b->ndim, KFDA_ERR_SHAPE, "bad broadcast");
  for (i = 0; i < out->ndim; ++i) {
    int ia = i - (out->ndim - a->ndim), ib = i - (out->ndim - b->ndim);
    int32_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    int32_t d = da == 1 ? db : da;
    NEED((da == db || da == 1 || db == 1) && out->dims[i] == d, KFDA_ERR_SHAPE,
         "shapes do not broadcast to the output");
  }
  broadcast_strides(a, out, p->a_strides);
  broadcast_strides(b, out, p->b_strides);
  for (i = 0; i < KFDA_MAX_DIMS; ++i) {
    int k = i - (KFDA_MAX_DIMS - out->ndim);
    p->out_dims[i] = k >= 0 ? out->dims[k] : 1;
  }
  /* same shape: both inputs advance as the output on every axis longer than 1 (and the
   * last, whose strides a flat slice keeps) */
  p->flat = 1;
  for (i = KFDA_MAX_DIMS - 1, stride = 1; i >= 0; --i) {
    if ((p->out_dims[i] > 1 || i == KFDA_MAX_DIMS - 1) &&
        (p->a_strides[i] != stride || p->b_strides[i] != stride))
      p->flat = 0;
    stride *= p->out_dims[i];
  }
  return KFDA_OK;
}

kfda_status kfda_add_sub_prepare(kfda_op_context *ctx, kfda_binary_op_params *p, int subtract) {
  kfda_status st = kfda_binary_prepare(ctx, p);
  if (st != KFDA_OK) return st;
  if (p->is_int8) {
    const kfda_tensor *a = IN(0), *b = IN(1), *out = OUT;
    kfda_arith_params *q = &p->arith;
    double twice, r1, r2, ro;
    q->left_shift = 20;
    twice = (double)(2 * (a->scale > b->scale ? a->scale : b->scale));
    r1 = (double)a->scale / twice;
    r2 = (double)b->scale / twice;
    ro = twice / (double)((float)(1 << q->left_shift) * out->scale);
    /* inputs: (x - z) 2^20 <= 2^28; output: the sum of two of those times r <= 1 */
    NEED(r1 <= 1.0 && r2 <= 1.0 && ro < 1.0 &&
             kfda_requant_multiplier(r1, 1 << 28, 0, &q->in_mult, &q->in_shift) == 0 &&
             kfda_requant_multiplier(r2, 1 << 28, 0, &q->in2_mult, &q->in2_shift) == 0 &&
             kfda_requant_multiplier(ro, 1 << 29, 128, &q->out_mult, &q->out_shift) == 0,
         KFDA_ERR_UNSUPPORTED,
         subtract ? "int8 SUB scales out of range" : "int8 ADD scales out of range");
    if (subtract) q->in2_mult = -q->in2_mult; /* as TFLite: a - b is a + (-1) b */
  }
  return kfda_binary_broadcast(ctx, p);
}

static int binary_split_axis(const kfda_binary_op_params *p) {
  int i;
  for (i = 0; i < KFDA_MAX_DIMS - 1; ++i)
    if (p->out_dims[i] > 1) break;
  return i;
}

int32_t kfda_binary_rows(const kfda_binary_op_params *p) {
  size_t n = 1;
  int i;
  if (!p->flat) return p->out_dims[binary_split_axis(p)];
  for (i = 0; i < KFDA_MAX_DIMS; ++i) n *= (size_t)p->out_dims[i];
  return (int32_t)((n + KFDA_BINARY_FLAT_RUN - 1) / KFDA_BINARY_FLAT_RUN);
}

void kfda_binary_slice_of(const kfda_binary_op_params *p, int32_t row_begin, int32_t row_end,
                          kfda_binary_slice *s) {
  const int axis = binary_split_axis(p);
  size_t out_stride = 1;
  int i;
  if (p->flat) { /* elements [begin, end) as the last axis (strides 1); the rest 1 */
    size_t n = 1, begin = (size_t)row_begin * KFDA_BINARY_FLAT_RUN;
    size_t end = (size_t)row_end * KFDA_BINARY_FLAT_RUN;
    for (i = 0; i < KFDA_MAX_DIMS; ++i) {
      n *= (size_t)p->out_dims[i];
      s->dims[i] = 1;
    }
    s->dims[KFDA_MAX_DIMS - 1] = (int32_t)((end < n ? end : n) - begin);
    s->a = s->b = s->out = begin;
    return;
  }
  for (i = KFDA_MAX_DIMS - 1; i > axis; --i) out_stride *= (size_t)p->out_dims[i];
  for (i = 0; i < KFDA_MAX_DIMS; ++i) s->dims[i] = p->out_dims[i];
  s->dims[axis] = row_end - row_begin;
  s->a = (size_t)row_begin * (size_t)p->a_strides[axis];
  s->b = (size_t)row_begin * (size_t)p->b_strides[axis];
  s->out = (size_t)row_begin * out_stride;
}

/* ---- unary ops --------------------------------------------------------------- */
kfda_status kfda_unary_prepare(kfda_op_context *ctx, int int8_ok, kfda_unary_shape *u) {
  const kfda_tensor *in = IN(0), *out = OUT;
  size_t n;
  NEED(in->type == out->type && (in->type == KFDA_FLOAT32 || (int8_ok && in->type == KFDA_INT8)),
       KFDA_ERR_UNSUPPORTED,
       int8_ok ? "only float32 and int8 are supported" : "only float32 is supported");
  NEED(kfda_same_dims(in, out), KFDA_ERR_SHAPE, "output shape does not match");
  n = kfda_elements(in);
  NEED(n <= 0x7fffffffu, KFDA_ERR_LIMIT, "tensor too large");
  u->elements = (uint32_t)n;
  u->is_int8 = in->type == KFDA_INT8;
  if (u->is_int8)
    NEED(in->scale > 0.0f && out->scale > 0.0f && isfinite(in->scale) && isfinite(out->scale) &&
             in->zero_point >= -128 && in->zero_point <= 127 && out->zero_point >= -128 &&
             out->zero_point <= 127,
         KFDA_ERR_MODEL, "int8 tensors need finite positive scales and int8 zero points");
  return KFDA_OK;
}

kfda_status kfda_lut_prepare(kfda_op_context *ctx, kfda_lut_op_params *p, float (*fn)(float)) {
  kfda_status st = kfda_unary_prepare(ctx, 1, &p->u);
  if (st != KFDA_OK || !p->u.is_int8) return st;
  p->table = (int8_t *)kfda_op_persist(ctx, 256);
  if (p->table)
    kfda_lut_s8_populate(IN(0)->scale, IN(0)->zero_point, OUT->scale, OUT->zero_point, fn,
                         p->table);
  return KFDA_OK;
}

/* A multiplier whose shift stays far inside [-31, 30] (no overflow, no shift past 31). */
static int multiplier_in_range(double m) { return m > 1e-9 && m < 1e9; }

kfda_status kfda_clamp_prepare(kfda_op_context *ctx, kfda_clamp_op_params *p, float lo, float hi) {
  kfda_status st = kfda_unary_prepare(ctx, 1, &p->u);
  if (st != KFDA_OK) return st;
  p->lo = lo;
  p->hi = hi;
  if (p->u.is_int8) { /* TFLite QuantizedReluX */
    const kfda_tensor *in = IN(0), *out = OUT;
    const double real = (double)(in->scale / out->scale);
    int32_t qlo;
    NEED(multiplier_in_range(real) && fabsf(lo / out->scale) < 1e9f &&
             (isinf(hi) || fabsf(hi / out->scale) < 1e9f),
         KFDA_ERR_UNSUPPORTED, "int8 scales out of range");
    qlo = out->zero_point + (int32_t)roundf(lo / out->scale);
    kfda_quantize_multiplier(real, &p->q.mult, &p->q.shift);
    p->q.in_zero_point = in->zero_point;
    p->q.out_zero_point = out->zero_point;
    p->q.qmin = qlo > -128 ? qlo : -128;
    p->q.qmax = 127;
    if (!isinf(hi)) {
      const int32_t qhi = out->zero_point + (int32_t)roundf(hi / out->scale);
      p->q.qmax = qhi < 127 ? qhi : 127;
    }
  }
  return KFDA_OK;
}

void kfda_clamp_eval(const kfda_model *m, const kfda_op *op, const void *params) {
  const kfda_clamp_op_params *p = (const kfda_clamp_op_params *)params;
  if (p->u.is_int8)
    kfda_clamp_s8(&p->q, (const int8_t *)KFDA_IN(0), p->u.elements, (int8_t *)KFDA_OUT);
  else
    kfda_clamp_f32((const float *)KFDA_IN(0), p->u.elements, p->lo, p->hi, (float *)KFDA_OUT);
}

/* ---- MINIMUM / MAXIMUM ------------------------------------------------------------ */
kfda_status kfda_minmax_prepare(kfda_op_context *ctx, kfda_binary_op_params *p) {
  const kfda_tensor *a, *b, *out = OUT;
  NEED(ctx->op->n_in == 2 && kfda_has_input(ctx->op, 1), KFDA_ERR_MODEL, "needs two inputs");
  a = IN(0);
  b = IN(1);
  NEED(a->type == out->type && b->type == out->type &&
           (out->type == KFDA_FLOAT32 || out->type == KFDA_INT8),
       KFDA_ERR_UNSUPPORTED, "only float32 and int8 are supported");
  p->is_int8 = out->type == KFDA_INT8;
  /* TFLite compares the raw int8 values: only right when all three share a quantization */
  NEED(!p->is_int8 || (a->scale == out->scale && b->scale == out->scale &&
                       a->zero_point == out->zero_point && b->zero_point == out->zero_point),
       KFDA_ERR_UNSUPPORTED, "int8 inputs and output with different quantization");
  return kfda_binary_broadcast(ctx, p);
}
