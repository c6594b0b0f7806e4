/*
 * interpreter.c - load (parse + Prepare + plan) and invoke (Eval) of a TFLite
 * model written by the LCE converter.
 *
 * Load does every check: flatbuffer structure (via reader.c), tensor types,
 * shapes and constant data, op options, the memory plan and the per-op
 * persistent data. Invoke only calls kernels.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "kfda/kernels.h"
#include "kfda/kfda.h"
#include "kfda/planner.h"
#include "kfda/reader.h"

#if defined(KFDA_PROFILE_OPS)
/* Benchmarks only (-DKFDA_PROFILE_OPS, application builds): the target's counter
 * (targets/app/kfda_app_platform.h) around each op of an invoke, printed as
 * "kfda: op INDEX NAME COUNT" (the print falls outside each op's count). */
#include <stdio.h>

#include "kfda_app_platform.h"
#endif

/* ---- op kinds ------------------------------------------------------------ */
enum {
  K_NONE = 0,
  K_LCE_QUANTIZE,
  K_LCE_DEQUANTIZE,
  K_LCE_BCONV2D,
  K_LCE_BMAXPOOL2D,
  K_CONV_2D,
  K_DEPTHWISE_CONV_2D,
  K_FULLY_CONNECTED,
  K_MAX_POOL_2D,
  K_AVERAGE_POOL_2D,
  K_MEAN,
  K_ADD,
  K_MUL,
  K_RESHAPE,
  K_PAD,
  K_CONCATENATION,
  K_SOFTMAX,
  K_QUANTIZE,
  K_DEQUANTIZE,
  K_COUNT
};

static const char *const kind_names[K_COUNT] = {
    "NONE",          "LceQuantize",     "LceDequantize",     "LceBconv2d",
    "LceBMaxPool2d", "CONV_2D",         "DEPTHWISE_CONV_2D", "FULLY_CONNECTED",
    "MAX_POOL_2D",   "AVERAGE_POOL_2D", "MEAN",              "ADD",
    "MUL",           "RESHAPE",         "PAD",               "CONCATENATION",
    "SOFTMAX",       "QUANTIZE",        "DEQUANTIZE"};

static const struct {
  int32_t code;
  uint16_t kind;
  uint8_t options_type; /* TFLite BuiltinOptions union tag */
} builtin_map[] = {
    {0, K_ADD, 11},          {1, K_AVERAGE_POOL_2D, 5}, {2, K_CONCATENATION, 10},
    {3, K_CONV_2D, 1},       {4, K_DEPTHWISE_CONV_2D, 2}, {6, K_DEQUANTIZE, 0},
    {9, K_FULLY_CONNECTED, 8}, {17, K_MAX_POOL_2D, 5},  {18, K_MUL, 21},
    {22, K_RESHAPE, 17},     {25, K_SOFTMAX, 9},        {34, K_PAD, 22},
    {40, K_MEAN, 27},        {114, K_QUANTIZE, 0}};

/* Names of some builtins we do not run, for error messages. */
static const struct {
  int32_t code;
  const char *name;
} other_builtins[] = {
    {5, "DEPTH_TO_SPACE"}, {8, "FLOOR"}, {14, "LOGISTIC"}, {19, "RELU"},
    {20, "RELU_N1_TO_1"}, {21, "RELU6"}, {23, "RESIZE_BILINEAR"},
    {28, "TANH"}, {32, "CUSTOM"}, {36, "GATHER"}, {37, "BATCH_TO_SPACE_ND"},
    {38, "SPACE_TO_BATCH_ND"}, {39, "TRANSPOSE"}, {41, "SUB"}, {42, "DIV"},
    {43, "SQUEEZE"}, {45, "STRIDED_SLICE"}, {47, "EXP"}, {49, "SPLIT"},
    {50, "LOG_SOFTMAX"}, {53, "CAST"}, {54, "PRELU"}, {55, "MAXIMUM"},
    {57, "MINIMUM"}, {60, "PADV2"}, {65, "SLICE"}, {74, "SUM"},
    {77, "SHAPE"}, {80, "REDUCE_MAX"}, {83, "PACK"}, {88, "UNPACK"},
    {97, "RESIZE_NEAREST_NEIGHBOR"}, {98, "LEAKY_RELU"}, {102, "SPLIT_V"},
    {117, "HARD_SWISH"}};

enum { PAD_SAME = 0, PAD_VALID = 1 };
enum { ACT_NONE = 0, ACT_RELU = 1, ACT_RELU_N1_TO_1 = 2, ACT_RELU6 = 3 };

/* ---- error messages (no stdio in the library) ----------------------------- */
typedef struct {
  char *buf;
  size_t len;
} sbuf;

static void s_add(sbuf *s, const char *t) {
  while (*t && s->len + 1 < KFDA_ERROR_LEN) s->buf[s->len++] = *t++;
  s->buf[s->len] = 0;
}
static void s_int(sbuf *s, int64_t v) {
  char tmp[24];
  int n = 0;
  uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
  if (v < 0) s_add(s, "-");
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u && n < 23);
  while (n > 0) {
    char c[2] = {tmp[--n], 0};
    s_add(s, c);
  }
}

static kfda_status fail(kfda_model *m, kfda_status st, int op, const char *msg) {
  sbuf s = {m->error, 0};
  m->error[0] = 0;
  if (op >= 0 && op < m->n_ops) {
    s_add(&s, "op ");
    s_int(&s, op);
    s_add(&s, " (");
    s_add(&s, kind_names[m->ops[op].kind < K_COUNT ? m->ops[op].kind : 0]);
    s_add(&s, "): ");
  }
  s_add(&s, msg);
  return st;
}

/* ---- tensors ------------------------------------------------------------- */
static size_t type_size(uint8_t t) {
  switch (t) {
    case KFDA_FLOAT32:
    case KFDA_INT32:
      return 4;
    case KFDA_UINT8:
    case KFDA_BOOL:
    case KFDA_INT8:
      return 1;
    case KFDA_INT16:
      return 2;
    case KFDA_INT64:
      return 8;
    default:
      return 0;
  }
}

static size_t elements(const kfda_tensor *t) {
  size_t n = 1;
  int i;
  for (i = 0; i < t->ndim; ++i) n *= (size_t)t->dims[i];
  return n;
}

static uint8_t *tdata(const kfda_model *m, int idx) {
  const kfda_tensor *t = &m->tensors[idx];
  if (t->is_const) return (uint8_t *)(uintptr_t)t->data;
  return m->arena + t->arena_offset;
}

static kfda_shape4 shape4(const kfda_tensor *t) {
  kfda_shape4 s;
  s.n = t->dims[0];
  s.h = t->dims[1];
  s.w = t->dims[2];
  s.c = t->dims[3];
  return s;
}

static int parse_tensor(kfda_model *m, const kfda_fb *fb,
                        const kfda_fb_vec *buffers, const kfda_fb_table *tt,
                        kfda_tensor *t) {
  kfda_fb_vec shape, data;
  kfda_fb_table q, buf;
  uint32_t bidx;
  uint64_t n = 1;
  size_t es;
  uint32_t i;
  int r;
  if (kfda_fb_vector(fb, tt, 0, 4, &shape) < 0) return -1;
  if (shape.len > KFDA_MAX_DIMS) return -2;
  t->ndim = (uint8_t)shape.len;
  for (i = 0; i < shape.len; ++i) {
    int32_t d = (int32_t)kfda_rd_u32(fb->buf + shape.pos + 4 * i);
    if (d < 0) return -3;
    t->dims[i] = d;
    n *= (uint64_t)d;
    if (n > 0x7fffffffu) return -4;
  }
  if (kfda_fb_u8(fb, tt, 1, 0, &t->type) < 0) return -1;
  es = type_size(t->type);
  if (es == 0) return -5;
  if (n * es > 0x7fffffffu) return -4;
  t->bytes = (uint32_t)(n * es);
  if (kfda_fb_u32(fb, tt, 2, 0, &bidx) < 0) return -1;
  if (bidx >= buffers->len) return -1;
  if (kfda_fb_vec_table(fb, buffers, bidx, &buf) < 0) return -1;
  r = kfda_fb_vector(fb, &buf, 0, 1, &data);
  if (r < 0) return -1;
  if (data.len > 0) {
    if (data.len != t->bytes) return -6;
    t->data = fb->buf + data.pos;
  } else {
    uint64_t off = 0, size = 0;
    if (kfda_fb_u64(fb, &buf, 1, 0, &off) < 0 || kfda_fb_u64(fb, &buf, 2, 0, &size) < 0)
      return -1;
    if (off > 1 && size > 0) {
      if (off > m->fb_size || size > m->fb_size - off) return -1;
      if (size != t->bytes) return -6;
      t->data = fb->buf + off;
    }
  }
  if (t->data != NULL) {
    t->is_const = 1;
    if (((uintptr_t)t->data) % (es > 4 ? 4 : es) != 0) return -7;
  }
  t->scale = 0.0f;
  t->zero_point = 0;
  r = kfda_fb_table_field(fb, tt, 4, &q);
  if (r < 0) return -1;
  if (r > 0) {
    kfda_fb_vec sc, zp;
    if (kfda_fb_vector(fb, &q, 2, 4, &sc) < 0) return -1;
    if (kfda_fb_vector(fb, &q, 3, 8, &zp) < 0) return -1;
    if (sc.len > 0) {
      t->scale = kfda_rd_f32(fb->buf + sc.pos);
      if (sc.len > 1) {
        t->ch_scales = fb->buf + sc.pos;
        t->n_ch_scales = sc.len;
      }
    }
    if (zp.len > 0) {
      int64_t z = kfda_rd_i64(fb->buf + zp.pos);
      if (z < -32768 || z > 65535) return -8;
      t->zero_point = (int32_t)z;
    }
  }
  return 0;
}

/* ---- helpers for Prepare --------------------------------------------------- */
static int act_range(int32_t act, float *lo, float *hi, int32_t *qlo,
                     int32_t *qhi) {
  switch (act) {
    case ACT_NONE:
      *lo = -FLT_MAX; *hi = FLT_MAX; *qlo = INT32_MIN; *qhi = INT32_MAX;
      return 0;
    case ACT_RELU:
      *lo = 0.0f; *hi = FLT_MAX; *qlo = 0; *qhi = INT32_MAX;
      return 0;
    case ACT_RELU_N1_TO_1:
      *lo = -1.0f; *hi = 1.0f; *qlo = -1; *qhi = 1;
      return 0;
    case ACT_RELU6:
      *lo = 0.0f; *hi = 6.0f; *qlo = 0; *qhi = 6;
      return 0;
    default:
      return -1;
  }
}

/* int8 activation range (TFLite CalculateActivationRangeQuantized). */
static int32_t quantize_val(const kfda_tensor *t, float f) {
  return t->zero_point + (int32_t)roundf(f / t->scale);
}
static int qact_range(int32_t act, const kfda_tensor *out, int32_t *lo, int32_t *hi) {
  int32_t a = -128, b = 127;
  if (!(out->scale > 0.0f)) return -1;
  switch (act) {
    case ACT_NONE: break;
    case ACT_RELU: a = quantize_val(out, 0.0f); break;
    case ACT_RELU6: a = quantize_val(out, 0.0f); b = quantize_val(out, 6.0f); break;
    case ACT_RELU_N1_TO_1: a = quantize_val(out, -1.0f); b = quantize_val(out, 1.0f); break;
    default: return -1;
  }
  *lo = a > -128 ? a : -128;
  *hi = b < 127 ? b : 127;
  return 0;
}

/* Output size and leading padding (TFLite's ComputePaddingHeightWidth). */
static int window(int32_t in, int32_t filter, int32_t stride, int32_t dil,
                  int32_t padding, int32_t *out, int32_t *pad) {
  int64_t eff, o, total;
  if (in <= 0 || filter <= 0 || stride <= 0 || dil <= 0 || stride > 65536 ||
      dil > 65536 || filter > 65536)
    return -1;
  eff = (int64_t)(filter - 1) * dil + 1;
  if (padding == PAD_SAME)
    o = ((int64_t)in + stride - 1) / stride;
  else if (padding == PAD_VALID)
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

/* Read int option from a flexbuffer map; string values accepted for padding
 * ("SAME"/"VALID") and activations. 1 found, 0 absent, -1 bad. */
static int flex_opt(const kfda_flex *map, const char *key, int64_t *v) {
  kfda_flex e;
  int r = kfda_flex_map_get(map, key, &e);
  if (r <= 0) return r;
  if (e.type == KFDA_FLEX_STRING || e.type == KFDA_FLEX_KEY) {
    const char *s;
    uint32_t n;
    if (kfda_flex_str(&e, &s, &n) != 0) return -1;
#define STR_IS(lit) (n == sizeof(lit) - 1 && memcmp(s, lit, n) == 0)
    if (STR_IS("SAME") || STR_IS("same")) *v = PAD_SAME;
    else if (STR_IS("VALID") || STR_IS("valid")) *v = PAD_VALID;
    else if (STR_IS("NONE") || n == 0) *v = ACT_NONE;
    else if (STR_IS("RELU")) *v = ACT_RELU;
    else if (STR_IS("RELU_N1_TO_1")) *v = ACT_RELU_N1_TO_1;
    else if (STR_IS("RELU6")) *v = ACT_RELU6;
    else return -1;
#undef STR_IS
    return 1;
  }
  return kfda_flex_int(&e, v) == 0 ? 1 : -1;
}

static int same_dims(const kfda_tensor *a, const kfda_tensor *b) {
  int i;
  if (a->ndim != b->ndim) return 0;
  for (i = 0; i < a->ndim; ++i)
    if (a->dims[i] != b->dims[i]) return 0;
  return 1;
}

/* ---- Prepare ------------------------------------------------------------- */
typedef struct {
  const kfda_fb *fb;
  kfda_fb_table opt;    /* builtin options table */
  int has_opt;
  const uint8_t *custom; /* custom options bytes */
  uint32_t custom_len;
} op_src;

#define FAIL(st, msg) return fail(m, (st), oi, (msg))
#define NEED(cond, st, msg) \
  do {                      \
    if (!(cond)) FAIL(st, msg); \
  } while (0)
#define IN(i) (&m->tensors[op->in[(i)]])
#define OUT (&m->tensors[op->out[0]])

static int opt_i32(const op_src *src, int id, int32_t def, int32_t *v) {
  if (!src->has_opt) {
    *v = def;
    return 0;
  }
  return kfda_fb_i32(src->fb, &src->opt, id, def, v) < 0 ? -1 : 0;
}
static int opt_u8(const op_src *src, int id, uint8_t def, int32_t *v) {
  uint8_t b = def;
  if (src->has_opt && kfda_fb_u8(src->fb, &src->opt, id, def, &b) < 0) return -1;
  *v = b;
  return 0;
}

static int has_in(const kfda_op *op, int i) { return i < op->n_in && op->in[i] >= 0; }

static kfda_status prepare_window_op(kfda_model *m, int oi, kfda_op *op,
                                     const op_src *src) {
  kfda_op_params *p = &op->p;
  const kfda_tensor *in, *out;
  int32_t oh, ow;
  NEED(op->n_in >= 1 && has_in(op, 0), KFDA_ERR_MODEL, "missing input");
  in = IN(0);
  out = OUT;
  NEED(in->ndim == 4 && out->ndim == 4, KFDA_ERR_SHAPE, "input and output must be 4-D");
  if (op->kind == K_LCE_BMAXPOOL2D) {
    kfda_flex root;
    int64_t v;
    NEED(kfda_flex_root(src->custom, src->custom_len, &root) == 0 &&
             root.type == KFDA_FLEX_MAP,
         KFDA_ERR_MODEL, "bad custom options");
#define GETK(key, dst, req)                                                   \
  do {                                                                        \
    int rr = flex_opt(&root, key, &v);                                        \
    NEED(rr >= 0 && (rr > 0 || !(req)), KFDA_ERR_MODEL, "bad option " key);   \
    if (rr > 0) {                                                             \
      NEED(v >= -65536 && v <= 65536, KFDA_ERR_MODEL, "bad option " key);     \
      dst = (int32_t)v;                                                       \
    }                                                                         \
  } while (0)
    GETK("filter_height", p->filter_h, 1);
    GETK("filter_width", p->filter_w, 1);
    GETK("stride_height", p->stride_h, 1);
    GETK("stride_width", p->stride_w, 1);
    GETK("padding", p->padding, 1);
    NEED(in->type == KFDA_INT32 && out->type == KFDA_INT32, KFDA_ERR_UNSUPPORTED,
         "needs bitpacked (int32) input and output");
    p->activation = ACT_NONE;
  } else {
    NEED(opt_u8(src, 0, 0, &p->padding) == 0 && opt_i32(src, 1, 1, &p->stride_w) == 0 &&
             opt_i32(src, 2, 1, &p->stride_h) == 0 && opt_i32(src, 3, 1, &p->filter_w) == 0 &&
             opt_i32(src, 4, 1, &p->filter_h) == 0 && opt_u8(src, 5, 0, &p->activation) == 0,
         KFDA_ERR_MODEL, "bad options");
    NEED((in->type == KFDA_FLOAT32 && out->type == KFDA_FLOAT32) ||
             (in->type == KFDA_INT8 && out->type == KFDA_INT8),
         KFDA_ERR_UNSUPPORTED, "only float32 and int8 are supported");
    if (in->type == KFDA_INT8) {
      NEED(in->scale == out->scale && in->zero_point == out->zero_point, KFDA_ERR_UNSUPPORTED,
           "int8 pooling with rescaling");
      NEED(qact_range(p->activation, out, &p->qact_min, &p->qact_max) == 0, KFDA_ERR_UNSUPPORTED,
           "unsupported fused activation");
      p->flag = 1;
    }
  }
  p->dil_h = p->dil_w = 1;
  if (!p->flag)
    NEED(act_range(p->activation, &p->act_min, &p->act_max, &p->qact_min, &p->qact_max) == 0,
         KFDA_ERR_UNSUPPORTED, "unsupported fused activation");
  NEED(window(in->dims[1], p->filter_h, p->stride_h, 1, p->padding, &oh, &p->pad_h) == 0 &&
           window(in->dims[2], p->filter_w, p->stride_w, 1, p->padding, &ow, &p->pad_w) == 0,
       KFDA_ERR_SHAPE, "bad window (filter/stride/padding)");
  NEED(out->dims[0] == in->dims[0] && out->dims[1] == oh && out->dims[2] == ow &&
           out->dims[3] == in->dims[3],
       KFDA_ERR_SHAPE, "output shape does not match");
  return KFDA_OK;
}

static kfda_status prepare_bconv(kfda_model *m, int oi, kfda_op *op,
                                 const op_src *src) {
  kfda_op_params *p = &op->p;
  const kfda_tensor *in, *f, *out;
  kfda_flex root;
  int64_t v;
  int32_t oh, ow, cout, groups, in_words, K, cin_pg;
  int64_t nmin, nmax;
  NEED(op->n_in >= 2 && has_in(op, 0) && has_in(op, 1), KFDA_ERR_MODEL, "missing input");
  NEED(kfda_flex_root(src->custom, src->custom_len, &root) == 0 && root.type == KFDA_FLEX_MAP,
       KFDA_ERR_MODEL, "bad custom options");
  p->dil_h = p->dil_w = 1;
  p->pad_value = 0;
  p->activation = 0;
  GETK("stride_height", p->stride_h, 1);
  GETK("stride_width", p->stride_w, 1);
  GETK("dilation_height_factor", p->dil_h, 0);
  GETK("dilation_width_factor", p->dil_w, 0);
  GETK("padding", p->padding, 1);
  GETK("pad_values", p->pad_value, 0);
  GETK("fused_activation_function", p->activation, 0);
  {
    int rr = flex_opt(&root, "channels_in", &v);
    NEED(rr > 0 && v > 0 && v < (1 << 24), KFDA_ERR_MODEL, "bad option channels_in");
    p->channels_in = (int32_t)v;
  }
  NEED(p->pad_value == 0 || p->pad_value == 1, KFDA_ERR_MODEL, "pad_values must be 0 or 1");
  in = IN(0);
  f = IN(1);
  out = OUT;
  NEED(in->ndim == 4 && f->ndim == 4 && out->ndim == 4, KFDA_ERR_SHAPE,
       "input, filter and output must be 4-D");
  NEED(in->type == KFDA_INT32 && f->type == KFDA_INT32, KFDA_ERR_UNSUPPORTED,
       "input and filter must be bitpacked (int32)");
  NEED(f->is_const, KFDA_ERR_UNSUPPORTED, "filter must be constant");
  in_words = in->dims[3];
  NEED(in_words == KFDA_PACKED_WORDS(p->channels_in), KFDA_ERR_SHAPE,
       "input words do not match channels_in");
  cout = f->dims[0];
  NEED(cout > 0 && f->dims[1] > 0 && f->dims[2] > 0 && f->dims[3] > 0, KFDA_ERR_SHAPE,
       "empty filter");
  if (f->dims[3] == in_words) {
    groups = 1;
  } else {
    NEED(in_words % f->dims[3] == 0, KFDA_ERR_SHAPE, "filter depth does not divide input");
    groups = in_words / f->dims[3];
    NEED(p->channels_in % groups == 0 && (p->channels_in / groups) % 32 == 0 &&
             cout % groups == 0,
         KFDA_ERR_SHAPE, "bad grouped convolution");
  }
  cin_pg = p->channels_in / groups;
  NEED((int64_t)f->dims[1] * f->dims[2] * cin_pg < (1 << 28), KFDA_ERR_SHAPE,
       "receptive field too large");
  K = f->dims[1] * f->dims[2] * cin_pg;
  NEED(window(in->dims[1], f->dims[1], p->stride_h, p->dil_h, p->padding, &oh, &p->pad_h) == 0 &&
           window(in->dims[2], f->dims[2], p->stride_w, p->dil_w, p->padding, &ow, &p->pad_w) == 0,
       KFDA_ERR_SHAPE, "bad window (filter/stride/dilation/padding)");
  NEED(act_range(p->activation, &p->act_min, &p->act_max, &p->qact_min, &p->qact_max) == 0,
       KFDA_ERR_UNSUPPORTED, "unsupported fused activation");
  p->filter_h = f->dims[1];
  p->filter_w = f->dims[2];
  NEED(out->dims[0] == in->dims[0] && out->dims[1] == oh && out->dims[2] == ow,
       KFDA_ERR_SHAPE, "output shape does not match");
  if (out->type == KFDA_INT32) {
    const kfda_tensor *th;
    p->flag = KFDA_BCONV_OUT_PACKED;
    NEED(out->dims[3] == KFDA_PACKED_WORDS(cout), KFDA_ERR_SHAPE, "output words mismatch");
    NEED(op->n_in >= 5 && has_in(op, 4), KFDA_ERR_MODEL, "missing thresholds");
    th = IN(4);
    NEED(th->type == KFDA_INT32 && th->is_const && th->ndim == 1 && th->dims[0] == cout,
         KFDA_ERR_SHAPE, "thresholds must be constant int32 [channels_out]");
    NEED(!(p->padding == PAD_SAME && p->pad_value == 0), KFDA_ERR_UNSUPPORTED,
         "bitpacked output needs valid or same-one padding");
  } else {
    const kfda_tensor *mu, *bi;
    NEED(out->type == KFDA_FLOAT32 || out->type == KFDA_INT8, KFDA_ERR_UNSUPPORTED,
         "output must be float32, int8 or bitpacked");
    p->flag = out->type == KFDA_FLOAT32 ? KFDA_BCONV_OUT_F32 : KFDA_BCONV_OUT_S8;
    NEED(out->dims[3] == cout, KFDA_ERR_SHAPE, "output channels mismatch");
    NEED(op->n_in >= 4 && has_in(op, 2) && has_in(op, 3), KFDA_ERR_MODEL,
         "missing multiplier/bias");
    mu = IN(2);
    bi = IN(3);
    NEED(mu->type == KFDA_FLOAT32 && bi->type == KFDA_FLOAT32 && mu->is_const && bi->is_const &&
             mu->ndim == 1 && bi->ndim == 1 && mu->dims[0] == cout && bi->dims[0] == cout,
         KFDA_ERR_SHAPE, "multiplier/bias must be constant float32 [channels_out]");
    NEED(p->flag == KFDA_BCONV_OUT_F32 || out->scale > 0.0f, KFDA_ERR_MODEL,
         "int8 output needs a scale");
    if (p->padding == PAD_SAME && p->pad_value == 0)
      NEED(p->flag == KFDA_BCONV_OUT_F32 && p->activation == ACT_NONE, KFDA_ERR_UNSUPPORTED,
           "same-zero padding needs float output and no fused activation");
    /* clamp of 2*accum (LCE's fused back-transformation) */
    nmin = p->qact_min > -K ? p->qact_min : -K;
    nmax = p->qact_max < K ? p->qact_max : K;
    p->qact_min = (int32_t)(K - nmax);
    p->qact_max = (int32_t)(K - nmin);
    p->persist_bytes = 2u * 4u * (uint32_t)cout; /* fused multiplier + bias */
  }
  p->depth_multiplier = K; /* reused: receptive field bits */
  p->axis = groups;
#if !defined(KFDA_KERNELS_REF)
  if (groups == 1) { /* the optimized kernel's im2col column */
    kfda_shape4 fs = shape4(f);
    op->scratch_bytes = (uint32_t)kfda_lce_bconv2d_scratch_bytes(&fs);
  }
#endif
  return KFDA_OK;
}

static kfda_status prepare_conv(kfda_model *m, int oi, kfda_op *op,
                                const op_src *src) {
  kfda_op_params *p = &op->p;
  const kfda_tensor *in, *f, *out;
  int32_t oh, ow, cout;
  int dw = op->kind == K_DEPTHWISE_CONV_2D;
  NEED(op->n_in >= 2 && has_in(op, 0) && has_in(op, 1), KFDA_ERR_MODEL, "missing input");
  if (dw) {
    NEED(opt_u8(src, 0, 0, &p->padding) == 0 && opt_i32(src, 1, 1, &p->stride_w) == 0 &&
             opt_i32(src, 2, 1, &p->stride_h) == 0 &&
             opt_i32(src, 3, 1, &p->depth_multiplier) == 0 &&
             opt_u8(src, 4, 0, &p->activation) == 0 && opt_i32(src, 5, 1, &p->dil_w) == 0 &&
             opt_i32(src, 6, 1, &p->dil_h) == 0,
         KFDA_ERR_MODEL, "bad options");
  } else {
    NEED(opt_u8(src, 0, 0, &p->padding) == 0 && opt_i32(src, 1, 1, &p->stride_w) == 0 &&
             opt_i32(src, 2, 1, &p->stride_h) == 0 && opt_u8(src, 3, 0, &p->activation) == 0 &&
             opt_i32(src, 4, 1, &p->dil_w) == 0 && opt_i32(src, 5, 1, &p->dil_h) == 0,
         KFDA_ERR_MODEL, "bad options");
  }
  in = IN(0);
  f = IN(1);
  out = OUT;
  NEED(in->ndim == 4 && f->ndim == 4 && out->ndim == 4, KFDA_ERR_SHAPE,
       "input, filter and output must be 4-D");
  NEED((in->type == KFDA_FLOAT32 && f->type == KFDA_FLOAT32 && out->type == KFDA_FLOAT32) ||
           (in->type == KFDA_INT8 && f->type == KFDA_INT8 && out->type == KFDA_INT8),
       KFDA_ERR_UNSUPPORTED, "only float32 and int8 are supported");
  NEED(f->is_const, KFDA_ERR_UNSUPPORTED, "filter must be constant");
  NEED(act_range(p->activation, &p->act_min, &p->act_max, &p->qact_min, &p->qact_max) == 0,
       KFDA_ERR_UNSUPPORTED, "unsupported fused activation");
  p->flag = in->type == KFDA_INT8;
  if (p->flag) {
    NEED(in->scale > 0.0f && out->scale > 0.0f && f->scale > 0.0f, KFDA_ERR_MODEL,
         "int8 tensors need scales");
    NEED(qact_range(p->activation, out, &p->qact_min, &p->qact_max) == 0, KFDA_ERR_UNSUPPORTED,
         "unsupported fused activation");
    p->in_offset = -in->zero_point;
    p->out_offset = out->zero_point;
  }
  if (dw) {
    cout = f->dims[3];
    NEED(f->dims[0] == 1 && p->depth_multiplier > 0 &&
             (int64_t)in->dims[3] * p->depth_multiplier == cout,
         KFDA_ERR_SHAPE, "filter must be [1, fh, fw, cin * depth_multiplier]");
  } else {
    cout = f->dims[0];
    NEED(f->dims[3] > 0 && in->dims[3] % f->dims[3] == 0 &&
             cout % (in->dims[3] / f->dims[3]) == 0,
         KFDA_ERR_SHAPE, "filter depth does not match input channels");
  }
  NEED(window(in->dims[1], f->dims[1], p->stride_h, p->dil_h, p->padding, &oh, &p->pad_h) == 0 &&
           window(in->dims[2], f->dims[2], p->stride_w, p->dil_w, p->padding, &ow, &p->pad_w) == 0,
       KFDA_ERR_SHAPE, "bad window (filter/stride/dilation/padding)");
  NEED(out->dims[0] == in->dims[0] && out->dims[1] == oh && out->dims[2] == ow &&
           out->dims[3] == cout,
       KFDA_ERR_SHAPE, "output shape does not match");
  if (has_in(op, 2)) {
    const kfda_tensor *b = IN(2);
    NEED(b->type == (p->flag ? KFDA_INT32 : KFDA_FLOAT32) && b->is_const &&
             elements(b) == (size_t)cout,
         KFDA_ERR_SHAPE, "bias must be constant [channels_out] (float32, or int32 for int8)");
  }
  if (p->flag) {
    NEED(f->n_ch_scales == 0 || f->n_ch_scales == (uint32_t)cout, KFDA_ERR_SHAPE,
         "per-channel scales do not match channels_out");
    p->persist_bytes = 2u * 4u * (uint32_t)cout; /* multipliers + shifts */
#if !defined(KFDA_KERNELS_REF)
    if (!dw && f->dims[3] == in->dims[3]) { /* the optimized kernel's im2col columns */
      kfda_shape4 fs = shape4(f);
      op->scratch_bytes = (uint32_t)kfda_conv2d_s8_scratch_bytes(&fs);
    }
#endif
  }
  return KFDA_OK;
}

static kfda_status prepare_fc(kfda_model *m, int oi, kfda_op *op, const op_src *src) {
  kfda_op_params *p = &op->p;
  const kfda_tensor *in, *w, *out;
  int32_t wf;
  size_t n;
  NEED(op->n_in >= 2 && has_in(op, 0) && has_in(op, 1), KFDA_ERR_MODEL, "missing input");
  NEED(opt_u8(src, 0, 0, &p->activation) == 0 && opt_u8(src, 1, 0, &wf) == 0, KFDA_ERR_MODEL,
       "bad options");
  NEED(wf == 0, KFDA_ERR_UNSUPPORTED, "shuffled weights format");
  in = IN(0);
  w = IN(1);
  out = OUT;
  NEED((in->type == KFDA_FLOAT32 && w->type == KFDA_FLOAT32 && out->type == KFDA_FLOAT32) ||
           (in->type == KFDA_INT8 && w->type == KFDA_INT8 && out->type == KFDA_INT8),
       KFDA_ERR_UNSUPPORTED, "only float32 and int8 are supported");
  p->flag = in->type == KFDA_INT8;
  if (p->flag) {
    double real;
    NEED(in->scale > 0.0f && out->scale > 0.0f && w->scale > 0.0f && w->ch_scales == NULL,
         KFDA_ERR_UNSUPPORTED, "int8 FULLY_CONNECTED needs per-tensor scales");
    NEED(qact_range(p->activation, out, &p->qact_min, &p->qact_max) == 0, KFDA_ERR_UNSUPPORTED,
         "unsupported fused activation");
    real = (double)(in->scale * w->scale) / (double)out->scale;
    kfda_quantize_multiplier(real, &p->out_mult, &p->out_shift);
    p->in_offset = -in->zero_point;
    p->out_offset = out->zero_point;
  }
  NEED(w->is_const && w->ndim == 2 && w->dims[0] > 0 && w->dims[1] > 0, KFDA_ERR_SHAPE,
       "weights must be constant [units, depth]");
  if (!p->flag) /* int8: qact_min/max hold the int8 clamp set above; keep them */
    NEED(act_range(p->activation, &p->act_min, &p->act_max, &p->qact_min, &p->qact_max) == 0,
         KFDA_ERR_UNSUPPORTED, "unsupported fused activation");
  n = elements(in);
  NEED(n % (size_t)w->dims[1] == 0, KFDA_ERR_SHAPE, "input size not a multiple of depth");
  NEED(elements(out) == n / (size_t)w->dims[1] * (size_t)w->dims[0] && out->ndim >= 1 &&
           out->dims[out->ndim - 1] == w->dims[0],
       KFDA_ERR_SHAPE, "output shape does not match");
  if (has_in(op, 2)) {
    const kfda_tensor *b = IN(2);
    NEED(b->type == (p->flag ? KFDA_INT32 : KFDA_FLOAT32) && b->is_const &&
             elements(b) == (size_t)w->dims[0],
         KFDA_ERR_SHAPE, "bias must be constant [units] (float32, or int32 for int8)");
  }
  return KFDA_OK;
}

static kfda_status prepare_binary(kfda_model *m, int oi, kfda_op *op, const op_src *src) {
  kfda_op_params *p = &op->p;
  const kfda_tensor *a, *b, *out;
  int i;
  NEED(op->n_in >= 2 && has_in(op, 0) && has_in(op, 1), KFDA_ERR_MODEL, "missing input");
  NEED(opt_u8(src, 0, 0, &p->activation) == 0, KFDA_ERR_MODEL, "bad options");
  a = IN(0);
  b = IN(1);
  out = OUT;
  NEED((a->type == KFDA_FLOAT32 && b->type == KFDA_FLOAT32 && out->type == KFDA_FLOAT32) ||
           (a->type == KFDA_INT8 && b->type == KFDA_INT8 && out->type == KFDA_INT8),
       KFDA_ERR_UNSUPPORTED, "only float32 and int8 are supported");
  NEED(act_range(p->activation, &p->act_min, &p->act_max, &p->qact_min, &p->qact_max) == 0,
       KFDA_ERR_UNSUPPORTED, "unsupported fused activation");
  p->flag = a->type == KFDA_INT8;
  if (p->flag) {
    double twice, r1, r2, ro;
    NEED(a->scale > 0.0f && b->scale > 0.0f && out->scale > 0.0f, KFDA_ERR_MODEL,
         "int8 tensors need scales");
    NEED(qact_range(p->activation, out, &p->qact_min, &p->qact_max) == 0, KFDA_ERR_UNSUPPORTED,
         "unsupported fused activation");
    p->in_offset = -a->zero_point;
    p->in2_offset = -b->zero_point;
    p->out_offset = out->zero_point;
    if (op->kind == K_MUL) { /* TFLite mul.cc: one multiplier */
      kfda_quantize_multiplier((double)a->scale * (double)b->scale / (double)out->scale,
                               &p->out_mult, &p->out_shift);
      goto shapes;
    }
    p->left_shift = 20;
    twice = (double)(2 * (a->scale > b->scale ? a->scale : b->scale));
    r1 = (double)a->scale / twice;
    r2 = (double)b->scale / twice;
    ro = twice / (double)((float)(1 << p->left_shift) * out->scale);
    NEED(r1 <= 1.0 && r2 <= 1.0 && ro < 1.0, KFDA_ERR_UNSUPPORTED, "int8 ADD scales out of range");
    kfda_quantize_multiplier(r1, &p->in_mult, &p->in_shift);
    kfda_quantize_multiplier(r2, &p->in2_mult, &p->in2_shift);
    kfda_quantize_multiplier(ro, &p->out_mult, &p->out_shift);
  }
shapes:
  NEED(out->ndim >= a->ndim && out->ndim >= b->ndim, KFDA_ERR_SHAPE, "bad broadcast");
  for (i = 0; i < out->ndim; ++i) {
    int ia = i - (out->ndim - a->ndim), ib = i - (out->ndim - b->ndim);
    int32_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    int32_t d = da == 1 ? db : da;
    NEED((da == db || da == 1 || db == 1) && out->dims[i] == d, KFDA_ERR_SHAPE,
         "shapes do not broadcast to the output");
  }
  return KFDA_OK;
}

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

static kfda_status prepare_op(kfda_model *m, int oi, const op_src *src) {
  kfda_op *op = &m->ops[oi];
  kfda_op_params *p = &op->p;
  const kfda_tensor *in, *out;
  NEED(op->n_out == 1, KFDA_ERR_MODEL, "expected one output");
  NEED(op->n_in >= 1 && has_in(op, 0), KFDA_ERR_MODEL, "missing input");
  in = IN(0);
  out = OUT;
  switch (op->kind) {
    case K_LCE_QUANTIZE: {
      int i;
      NEED(in->type == KFDA_FLOAT32 || in->type == KFDA_INT8, KFDA_ERR_UNSUPPORTED,
           "input must be float32 or int8");
      NEED(out->type == KFDA_INT32, KFDA_ERR_UNSUPPORTED, "output must be int32");
      NEED(in->ndim >= 1 && in->ndim == out->ndim, KFDA_ERR_SHAPE, "rank mismatch");
      for (i = 0; i < in->ndim - 1; ++i)
        NEED(in->dims[i] == out->dims[i], KFDA_ERR_SHAPE, "shape mismatch");
      NEED(out->dims[in->ndim - 1] == KFDA_PACKED_WORDS(in->dims[in->ndim - 1]),
           KFDA_ERR_SHAPE, "packed size mismatch");
      return KFDA_OK;
    }
    case K_LCE_DEQUANTIZE: {
      int i;
      NEED(in->type == KFDA_INT32, KFDA_ERR_UNSUPPORTED, "input must be int32");
      NEED(out->type == KFDA_FLOAT32 || out->type == KFDA_INT8, KFDA_ERR_UNSUPPORTED,
           "output must be float32 or int8");
      NEED(in->ndim >= 1 && in->ndim == out->ndim, KFDA_ERR_SHAPE, "rank mismatch");
      for (i = 0; i < in->ndim - 1; ++i)
        NEED(in->dims[i] == out->dims[i], KFDA_ERR_SHAPE, "shape mismatch");
      NEED(in->dims[in->ndim - 1] == KFDA_PACKED_WORDS(out->dims[in->ndim - 1]),
           KFDA_ERR_SHAPE, "packed size mismatch");
      if (out->type == KFDA_INT8) {
        float r;
        int32_t off, zv, ov;
        NEED(out->scale > 0.0f, KFDA_ERR_MODEL, "int8 output needs a scale");
        r = roundf(1.0f / out->scale);
        NEED(r < 1e6f, KFDA_ERR_UNSUPPORTED, "output scale too small");
        off = (int32_t)r;
        zv = out->zero_point + off;
        ov = out->zero_point - off;
        p->qact_max = zv > 127 ? 127 : zv;
        p->qact_min = ov < -128 ? -128 : ov;
      }
      return KFDA_OK;
    }
    case K_LCE_BCONV2D:
      return prepare_bconv(m, oi, op, src);
    case K_LCE_BMAXPOOL2D:
    case K_MAX_POOL_2D:
    case K_AVERAGE_POOL_2D:
      return prepare_window_op(m, oi, op, src);
    case K_CONV_2D:
    case K_DEPTHWISE_CONV_2D:
      return prepare_conv(m, oi, op, src);
    case K_FULLY_CONNECTED:
      return prepare_fc(m, oi, op, src);
    case K_ADD:
    case K_MUL:
      return prepare_binary(m, oi, op, src);
    case K_MEAN: {
      const kfda_tensor *ax;
      uint32_t mask = 0, i;
      size_t kept = 1;
      int a;
      NEED(op->n_in >= 2 && has_in(op, 1), KFDA_ERR_MODEL, "missing axes");
      ax = IN(1);
      NEED((in->type == KFDA_FLOAT32 && out->type == KFDA_FLOAT32) ||
               (in->type == KFDA_INT8 && out->type == KFDA_INT8),
           KFDA_ERR_UNSUPPORTED, "only float32 and int8 are supported");
      NEED(ax->type == KFDA_INT32 && ax->is_const && ax->ndim <= 1, KFDA_ERR_UNSUPPORTED,
           "axes must be constant int32");
      for (i = 0; i < elements(ax); ++i) {
        int32_t v = (int32_t)kfda_rd_u32(ax->data + 4 * i);
        if (v < 0) v += in->ndim;
        NEED(v >= 0 && v < in->ndim, KFDA_ERR_SHAPE, "axis out of range");
        mask |= 1u << v;
      }
      for (a = 0; a < in->ndim; ++a)
        if (!(mask & (1u << a))) kept *= (size_t)in->dims[a];
      NEED(kept == elements(out) && elements(in) > 0, KFDA_ERR_SHAPE, "output shape does not match");
      p->flag = (int32_t)mask;
      if (in->type == KFDA_INT8) {
        const float count = (float)(elements(in) / kept);
        float temp, real;
        NEED(in->scale > 0.0f && out->scale > 0.0f, KFDA_ERR_MODEL, "int8 tensors need scales");
        NEED(elements(in) / kept < (1u << 23), KFDA_ERR_LIMIT, "int8 MEAN over too many values");
        temp = (float)in->zero_point * in->scale / out->scale;
        temp = temp > 0 ? temp + 0.5f : temp - 0.5f;
        NEED(temp > -1e9f && temp < 1e9f, KFDA_ERR_UNSUPPORTED, "int8 MEAN scales out of range");
        p->out_offset = out->zero_point - (int32_t)temp;
        real = in->scale / (count * out->scale);
        kfda_quantize_multiplier((double)real, &p->out_mult, &p->out_shift);
      }
      return KFDA_OK;
    }
    case K_RESHAPE:
      NEED(in->type == out->type && in->bytes == out->bytes, KFDA_ERR_SHAPE,
           "reshape changes the size or type");
      return KFDA_OK;
    case K_PAD: {
      const kfda_tensor *pd;
      int a;
      NEED(op->n_in >= 2 && has_in(op, 1), KFDA_ERR_MODEL, "missing paddings");
      pd = IN(1);
      NEED(in->type == out->type && (in->type == KFDA_FLOAT32 || in->type == KFDA_INT8),
           KFDA_ERR_UNSUPPORTED, "only float32 / int8 are supported");
      NEED(pd->is_const && pd->type == KFDA_INT32 && pd->ndim == 2 && pd->dims[0] == in->ndim &&
               pd->dims[1] == 2 && in->ndim == out->ndim,
           KFDA_ERR_SHAPE, "paddings must be constant int32 [rank, 2]");
      for (a = 0; a < in->ndim; ++a) {
        int32_t lo = (int32_t)kfda_rd_u32(pd->data + 8 * a);
        int32_t hi = (int32_t)kfda_rd_u32(pd->data + 8 * a + 4);
        NEED(lo >= 0 && hi >= 0 && lo <= 65536 && hi <= 65536 &&
                 (int64_t)in->dims[a] + lo + hi == out->dims[a],
             KFDA_ERR_SHAPE, "output shape does not match paddings");
      }
      return KFDA_OK;
    }
    case K_CONCATENATION: {
      int32_t axis, act, i, a;
      int64_t sum = 0;
      NEED(opt_i32(src, 0, 0, &axis) == 0 && opt_u8(src, 1, 0, &act) == 0, KFDA_ERR_MODEL,
           "bad options");
      NEED(act == ACT_NONE, KFDA_ERR_UNSUPPORTED, "fused activation");
      if (axis < 0) axis += out->ndim;
      NEED(axis >= 0 && axis < out->ndim, KFDA_ERR_SHAPE, "axis out of range");
      for (i = 0; i < op->n_in; ++i) {
        const kfda_tensor *t;
        NEED(has_in(op, i), KFDA_ERR_MODEL, "missing input");
        t = IN(i);
        NEED(t->type == out->type && t->ndim == out->ndim, KFDA_ERR_SHAPE, "type/rank mismatch");
        NEED(t->type != KFDA_INT8 ||
                 (t->scale == out->scale && t->zero_point == out->zero_point),
             KFDA_ERR_UNSUPPORTED, "int8 inputs with different quantization");
        for (a = 0; a < out->ndim; ++a)
          if (a != axis) NEED(t->dims[a] == out->dims[a], KFDA_ERR_SHAPE, "shape mismatch");
        sum += t->dims[axis];
      }
      NEED(sum == out->dims[axis], KFDA_ERR_SHAPE, "output shape does not match");
      p->axis = axis;
      return KFDA_OK;
    }
    case K_SOFTMAX:
      NEED((in->type == KFDA_FLOAT32 && out->type == KFDA_FLOAT32) ||
               (in->type == KFDA_INT8 && out->type == KFDA_INT8),
           KFDA_ERR_UNSUPPORTED, "only float32 and int8 are supported");
      NEED(in->ndim >= 1 && same_dims(in, out) && in->dims[in->ndim - 1] > 0, KFDA_ERR_SHAPE,
           "shape mismatch");
      if (src->has_opt) {
        NEED(kfda_fb_f32(src->fb, &src->opt, 0, 0.0f, &p->beta) >= 0, KFDA_ERR_MODEL,
             "bad options");
      } else {
        p->beta = 1.0f;
      }
      p->flag = in->type == KFDA_INT8;
      if (p->flag) {
        NEED(in->scale > 0.0f && out->scale > 0.0f, KFDA_ERR_MODEL, "int8 tensors need scales");
        p->beta = -in->scale * p->beta; /* the exponent's scale, as TFLite's table */
      }
      return KFDA_OK;
    case K_QUANTIZE:
      NEED((in->type == KFDA_FLOAT32 || in->type == KFDA_INT8) && out->type == KFDA_INT8,
           KFDA_ERR_UNSUPPORTED, "only float32 -> int8 and int8 -> int8 are supported");
      NEED(same_dims(in, out), KFDA_ERR_SHAPE, "shape mismatch");
      NEED(out->scale > 0.0f && out->ch_scales == NULL, KFDA_ERR_UNSUPPORTED,
           "needs a per-tensor scale");
      p->flag = in->type == KFDA_INT8;
      if (p->flag) { /* requantize: TFLite quantize.cc */
        NEED(in->scale > 0.0f && in->ch_scales == NULL, KFDA_ERR_UNSUPPORTED,
             "needs a per-tensor input scale");
        kfda_quantize_multiplier((double)in->scale / (double)out->scale, &p->out_mult,
                                 &p->out_shift);
      }
      return KFDA_OK;
    case K_DEQUANTIZE:
      NEED(in->type == KFDA_INT8 && out->type == KFDA_FLOAT32, KFDA_ERR_UNSUPPORTED,
           "only int8 -> float32 is supported");
      NEED(same_dims(in, out), KFDA_ERR_SHAPE, "shape mismatch");
      NEED(in->ch_scales == NULL, KFDA_ERR_UNSUPPORTED, "per-channel dequantize");
      return KFDA_OK;
    default:
      FAIL(KFDA_ERR_UNSUPPORTED_OP, "unsupported op");
  }
}

/* One-time setup of persistent data, once the arena exists. */
static void setup_persistent(kfda_model *m) {
  int oi;
  for (oi = 0; oi < m->n_ops; ++oi) {
    kfda_op *op = &m->ops[oi];
    if ((op->kind == K_CONV_2D || op->kind == K_DEPTHWISE_CONV_2D) && op->p.flag) {
      const kfda_tensor *in = IN(0), *f = IN(1), *out = OUT;
      const int32_t cout = out->dims[3];
      int32_t *mult = (int32_t *)(m->arena + op->p.persist_offset), c;
      for (c = 0; c < cout; ++c) {
        const float fs = f->ch_scales ? kfda_rd_f32(f->ch_scales + 4 * c) : f->scale;
        const double eff = (double)in->scale * (double)fs / (double)out->scale;
        kfda_quantize_multiplier(eff, &mult[c], &mult[cout + c]);
      }
    }
    if (op->kind == K_LCE_BCONV2D && op->p.flag != KFDA_BCONV_OUT_PACKED) {
      const kfda_tensor *out = OUT;
      float *mul = (float *)(m->arena + op->p.persist_offset);
      const int32_t cout = IN(1)->dims[0];
      const int s8 = op->p.flag == KFDA_BCONV_OUT_S8;
      kfda_lce_bconv2d_output_transform((const float *)IN(2)->data, (const float *)IN(3)->data,
                                        cout, op->p.depth_multiplier,
                                        s8 ? (double)out->scale : 1.0,
                                        s8 ? (double)out->zero_point : 0.0, mul, mul + cout);
    }
  }
}

/* ---- load ---------------------------------------------------------------- */
static int match_custom(const char *s, uint32_t n, const char *lit) {
  size_t l = strlen(lit);
  return n == l && memcmp(s, lit, l) == 0;
}

static kfda_status parse_ops(kfda_model *m, const kfda_fb *fb, const kfda_fb_vec *codes,
                             const kfda_fb_vec *opsv) {
  uint32_t i, j;
  for (i = 0; i < opsv->len; ++i) {
    kfda_fb_table ot, ct;
    kfda_fb_vec iv, ov, cv;
    uint32_t code_idx;
    uint8_t dep = 0, opt_type = 0;
    int32_t code = 0;
    kfda_op *op = &m->ops[i];
    op_src src;
    int oi = -1, r;
    kfda_status st;
    memset(&src, 0, sizeof src);
    src.fb = fb;
    if (kfda_fb_vec_table(fb, opsv, i, &ot) < 0 || kfda_fb_u32(fb, &ot, 0, 0, &code_idx) < 0)
      return fail(m, KFDA_ERR_MODEL, -1, "malformed operator");
    if (code_idx >= codes->len || kfda_fb_vec_table(fb, codes, code_idx, &ct) < 0 ||
        kfda_fb_u8(fb, &ct, 0, 0, &dep) < 0 || kfda_fb_i32(fb, &ct, 3, 0, &code) < 0)
      return fail(m, KFDA_ERR_MODEL, -1, "malformed operator code");
    if ((int32_t)(int8_t)dep > code) code = (int8_t)dep;
    op->kind = K_NONE;
    if (code == 32) {
      const char *name;
      uint32_t n;
      if (kfda_fb_string(fb, &ct, 1, &name, &n) < 0)
        return fail(m, KFDA_ERR_MODEL, -1, "malformed custom code");
      if (match_custom(name, n, "LceQuantize")) op->kind = K_LCE_QUANTIZE;
      else if (match_custom(name, n, "LceDequantize")) op->kind = K_LCE_DEQUANTIZE;
      else if (match_custom(name, n, "LceBconv2d")) op->kind = K_LCE_BCONV2D;
      else if (match_custom(name, n, "LceBMaxPool2d")) op->kind = K_LCE_BMAXPOOL2D;
      else {
        sbuf s = {m->error, 0};
        uint32_t k;
        s_add(&s, "unsupported op: custom '");
        for (k = 0; k < n && k < 48; ++k) {
          char c[2] = {name[k] >= 32 && name[k] < 127 ? name[k] : '?', 0};
          s_add(&s, c);
        }
        s_add(&s, "' (op ");
        s_int(&s, i);
        s_add(&s, ")");
        return KFDA_ERR_UNSUPPORTED_OP;
      }
    } else {
      size_t k;
      for (k = 0; k < sizeof builtin_map / sizeof builtin_map[0]; ++k)
        if (builtin_map[k].code == code) op->kind = builtin_map[k].kind;
      if (op->kind == K_NONE) {
        sbuf s = {m->error, 0};
        const char *nm = NULL;
        for (k = 0; k < sizeof other_builtins / sizeof other_builtins[0]; ++k)
          if (other_builtins[k].code == code) nm = other_builtins[k].name;
        s_add(&s, "unsupported op: ");
        if (nm) {
          s_add(&s, nm);
        } else {
          s_add(&s, "builtin ");
          s_int(&s, code);
        }
        s_add(&s, " (op ");
        s_int(&s, i);
        s_add(&s, ")");
        return KFDA_ERR_UNSUPPORTED_OP;
      }
    }
    oi = (int)i;
    if (kfda_fb_vector(fb, &ot, 1, 4, &iv) < 0 || kfda_fb_vector(fb, &ot, 2, 4, &ov) < 0)
      return fail(m, KFDA_ERR_MODEL, oi, "malformed inputs/outputs");
    if (iv.len > KFDA_MAX_OP_INPUTS) return fail(m, KFDA_ERR_LIMIT, oi, "too many inputs");
    if (ov.len != 1) return fail(m, KFDA_ERR_MODEL, oi, "expected one output");
    op->n_in = (uint8_t)iv.len;
    op->n_out = 1;
    for (j = 0; j < iv.len; ++j) {
      int32_t t = (int32_t)kfda_rd_u32(fb->buf + iv.pos + 4 * j);
      if (t < -1 || t >= m->n_tensors) return fail(m, KFDA_ERR_MODEL, oi, "bad tensor index");
      op->in[j] = (int16_t)t;
    }
    {
      int32_t t = (int32_t)kfda_rd_u32(fb->buf + ov.pos);
      if (t < 0 || t >= m->n_tensors) return fail(m, KFDA_ERR_MODEL, oi, "bad tensor index");
      if (m->tensors[t].is_const) return fail(m, KFDA_ERR_MODEL, oi, "writes a constant");
      op->out[0] = (int16_t)t;
    }
    if (kfda_fb_u8(fb, &ot, 3, 0, &opt_type) < 0)
      return fail(m, KFDA_ERR_MODEL, oi, "malformed options");
    r = kfda_fb_table_field(fb, &ot, 4, &src.opt);
    if (r < 0) return fail(m, KFDA_ERR_MODEL, oi, "malformed options");
    src.has_opt = r > 0;
    if (src.has_opt) {
      size_t k;
      for (k = 0; k < sizeof builtin_map / sizeof builtin_map[0]; ++k)
        if (builtin_map[k].kind == op->kind && builtin_map[k].options_type != opt_type &&
            builtin_map[k].options_type != 0)
          return fail(m, KFDA_ERR_MODEL, oi, "options of the wrong type");
    }
    if (kfda_fb_vector(fb, &ot, 5, 1, &cv) < 0)
      return fail(m, KFDA_ERR_MODEL, oi, "malformed custom options");
    src.custom = fb->buf + cv.pos;
    src.custom_len = cv.len;
    memset(&op->p, 0, sizeof op->p);
    st = prepare_op(m, oi, &src);
    if (st != KFDA_OK) return st;
  }
  return KFDA_OK;
}

/* In-place ops. ADD, MUL and RESHAPE produce output element i from input element i
 * only (for an input of the output's size: no broadcasting along it), and their
 * kernels read element i before they write it, walking forward. So when such an
 * input dies at the op, the output can take over its bytes: the two tensors share one
 * plan buffer whose lifetime covers both. TFLite Micro's planner gives each tensor its
 * own buffer; on a Bi-Real shortcut (x + conv(x)) this saves a whole activation. */
static int is_model_io(const kfda_model *m, int32_t t) {
  int i;
  for (i = 0; i < m->n_inputs; ++i)
    if (m->inputs[i] == t) return 1;
  for (i = 0; i < m->n_outputs; ++i)
    if (m->outputs[i] == t) return 1;
  return 0;
}

static void plan_in_place(kfda_model *m) {
  int oi, j;
  for (oi = 0; oi < m->n_ops; ++oi) {
    const kfda_op *op = &m->ops[oi];
    kfda_tensor *out;
    const int n = op->kind == K_RESHAPE ? 1 : 2;
    if (op->kind != K_ADD && op->kind != K_MUL && op->kind != K_RESHAPE) continue;
    out = &m->tensors[op->out[0]];
    for (j = 0; j < n && j < op->n_in; ++j) {
      const int32_t ti = op->in[j];
      kfda_tensor *t, *root;
      if (ti < 0) continue;
      t = &m->tensors[ti];
      if (!t->is_var || t->last_use != oi || t->bytes != out->bytes || t->type != out->type ||
          is_model_io(m, ti))
        continue;
      root = t->shares >= 0 ? &m->tensors[t->shares] : t;
      out->shares = (int16_t)(root - m->tensors);
      if (out->last_use > root->last_use) root->last_use = out->last_use;
      break;
    }
  }
}

static kfda_status load_impl(kfda_model *m, const uint8_t *fbuf, size_t size,
                             uint8_t *arena, size_t arena_size, int plan_only) {
  kfda_fb fb;
  kfda_fb_table root, sg;
  kfda_fb_vec codes, subgraphs, buffers, tensors, inputs, outputs, opsv;
  uint32_t i;
  int nb = 0, oi;
  size_t planned = 0, persist;
  kfda_status st;
  if (m == NULL) return KFDA_ERR_ARG;
  memset(m, 0, sizeof *m);
  if (fbuf == NULL) return fail(m, KFDA_ERR_ARG, -1, "flatbuffer is NULL");
  if (((uintptr_t)fbuf) % 4 != 0)
    return fail(m, KFDA_ERR_ARG, -1, "flatbuffer must be 16-byte aligned");
  m->fb = fbuf;
  m->fb_size = size;
  fb.buf = fbuf;
  fb.size = size;
  if (kfda_fb_root(&fb, &root) < 0) return fail(m, KFDA_ERR_MODEL, -1, "not a flatbuffer");
  if (size >= 8 && memcmp(fbuf + 4, "TFL3", 4) != 0)
    return fail(m, KFDA_ERR_MODEL, -1, "not a TFLite model (no TFL3 identifier)");
  if (kfda_fb_vector(&fb, &root, 1, 4, &codes) < 0 ||
      kfda_fb_vector(&fb, &root, 2, 4, &subgraphs) < 0 ||
      kfda_fb_vector(&fb, &root, 4, 4, &buffers) < 0)
    return fail(m, KFDA_ERR_MODEL, -1, "malformed model table");
  if (subgraphs.len < 1) return fail(m, KFDA_ERR_MODEL, -1, "no subgraph");
  if (kfda_fb_vec_table(&fb, &subgraphs, 0, &sg) < 0 ||
      kfda_fb_vector(&fb, &sg, 0, 4, &tensors) < 0 ||
      kfda_fb_vector(&fb, &sg, 1, 4, &inputs) < 0 ||
      kfda_fb_vector(&fb, &sg, 2, 4, &outputs) < 0 ||
      kfda_fb_vector(&fb, &sg, 3, 4, &opsv) < 0)
    return fail(m, KFDA_ERR_MODEL, -1, "malformed subgraph");
  if (tensors.len > KFDA_MAX_TENSORS) return fail(m, KFDA_ERR_LIMIT, -1, "too many tensors");
  if (opsv.len > KFDA_MAX_OPS) return fail(m, KFDA_ERR_LIMIT, -1, "too many ops");
  if (inputs.len > KFDA_MAX_IO || outputs.len > KFDA_MAX_IO)
    return fail(m, KFDA_ERR_LIMIT, -1, "too many model inputs/outputs");
  if (inputs.len < 1 || outputs.len < 1)
    return fail(m, KFDA_ERR_MODEL, -1, "model has no input or output");
  m->n_tensors = (int32_t)tensors.len;
  for (i = 0; i < tensors.len; ++i) {
    kfda_fb_table tt;
    int r;
    kfda_tensor *t = &m->tensors[i];
    if (kfda_fb_vec_table(&fb, &tensors, i, &tt) < 0)
      return fail(m, KFDA_ERR_MODEL, -1, "malformed tensor");
    r = parse_tensor(m, &fb, &buffers, &tt, t);
    if (r == -2) return fail(m, KFDA_ERR_LIMIT, -1, "tensor rank above KFDA_MAX_DIMS");
    if (r == -5) return fail(m, KFDA_ERR_UNSUPPORTED, -1, "unsupported tensor type");
    if (r == -7)
      return fail(m, KFDA_ERR_MODEL, -1, "misaligned constant (align the flatbuffer to 16)");
    if (r < 0) return fail(m, KFDA_ERR_MODEL, -1, "malformed tensor (shape/buffer/quantization)");
    t->is_var = !t->is_const;
    t->shares = -1;
    t->first_use = INT32_MAX;
    t->last_use = -1;
    if (t->is_const) m->weight_bytes += t->bytes;
  }
  m->n_inputs = (int32_t)inputs.len;
  m->n_outputs = (int32_t)outputs.len;
  for (i = 0; i < inputs.len + outputs.len; ++i) {
    int in = i < inputs.len;
    int32_t t = (int32_t)kfda_rd_u32(fbuf + (in ? inputs.pos + 4 * i : outputs.pos + 4 * (i - inputs.len)));
    if (t < 0 || t >= m->n_tensors || m->tensors[t].is_const)
      return fail(m, KFDA_ERR_MODEL, -1, "bad model input/output tensor");
    if (in) m->inputs[i] = t;
    else m->outputs[i - inputs.len] = t;
  }
  m->n_ops = (int32_t)opsv.len;
  st = parse_ops(m, &fb, &codes, &opsv);
  if (st != KFDA_OK) return st;

  /* lifetimes: graph inputs are written "before op 0" */
  for (i = 0; i < (uint32_t)m->n_inputs; ++i) {
    kfda_tensor *t = &m->tensors[m->inputs[i]];
    t->first_use = 0;
    if (t->last_use < 0) t->last_use = 0;
  }
  for (oi = 0; oi < m->n_ops; ++oi) {
    kfda_op *op = &m->ops[oi];
    int j;
    for (j = 0; j < op->n_in; ++j) {
      kfda_tensor *t;
      if (op->in[j] < 0) continue;
      t = &m->tensors[op->in[j]];
      if (t->is_const) continue;
      if (t->first_use == INT32_MAX)
        return fail(m, KFDA_ERR_MODEL, oi, "reads a tensor before it is written");
      if (oi > t->last_use) t->last_use = oi;
    }
    {
      kfda_tensor *t = &m->tensors[op->out[0]];
      if (t->first_use != INT32_MAX)
        return fail(m, KFDA_ERR_MODEL, oi, "writes a tensor written before");
      t->first_use = oi;
      t->last_use = oi;
    }
  }
  for (i = 0; i < (uint32_t)m->n_outputs; ++i) {
    kfda_tensor *t = &m->tensors[m->outputs[i]];
    if (t->first_use == INT32_MAX) return fail(m, KFDA_ERR_MODEL, -1, "output never written");
    t->last_use = m->n_ops > 0 ? m->n_ops - 1 : 0;
  }

  plan_in_place(m);

  /* plan: variable tensors in use (one buffer per in-place chain) + op scratch buffers */
  for (i = 0; i < (uint32_t)m->n_tensors; ++i) {
    kfda_tensor *t = &m->tensors[i];
    if (!t->is_var || t->first_use == INT32_MAX || t->shares >= 0) continue;
    m->plan[nb].size = t->bytes;
    m->plan[nb].first = t->first_use;
    m->plan[nb].last = t->last_use;
    ++nb;
  }
  for (oi = 0; oi < m->n_ops; ++oi) {
    if (m->ops[oi].scratch_bytes == 0) continue;
    m->plan[nb].size = m->ops[oi].scratch_bytes;
    m->plan[nb].first = m->plan[nb].last = oi;
    ++nb;
  }
  if (kfda_plan_greedy(m->plan, nb, KFDA_ARENA_ALIGN, m->plan_order, m->plan_live, &planned) != 0)
    return fail(m, KFDA_ERR_MODEL, -1, "memory plan failed");
  nb = 0;
  for (i = 0; i < (uint32_t)m->n_tensors; ++i) {
    kfda_tensor *t = &m->tensors[i];
    if (!t->is_var || t->first_use == INT32_MAX || t->shares >= 0) continue;
    t->arena_offset = m->plan[nb++].offset;
  }
  for (i = 0; i < (uint32_t)m->n_tensors; ++i) /* chains point at their first tensor */
    if (m->tensors[i].shares >= 0)
      m->tensors[i].arena_offset = m->tensors[m->tensors[i].shares].arena_offset;
  for (oi = 0; oi < m->n_ops; ++oi)
    if (m->ops[oi].scratch_bytes != 0) m->ops[oi].scratch_offset = m->plan[nb++].offset;
  m->planned_bytes = planned;
  persist = planned;
  for (oi = 0; oi < m->n_ops; ++oi) {
    kfda_op_params *p = &m->ops[oi].p;
    if (p->persist_bytes == 0) continue;
    p->persist_offset = (uint32_t)persist;
    persist += (p->persist_bytes + KFDA_ARENA_ALIGN - 1) / KFDA_ARENA_ALIGN * KFDA_ARENA_ALIGN;
    if (persist > 0x7fffffffu) return fail(m, KFDA_ERR_LIMIT, -1, "arena above 2 GiB");
  }
  m->persist_bytes = persist - planned;
  m->arena_bytes = persist;
  if (plan_only) return KFDA_OK;
  if (arena == NULL && m->arena_bytes > 0)
    return fail(m, KFDA_ERR_ARENA_TOO_SMALL, -1, "no arena given");
  if (arena_size < m->arena_bytes)
    return fail(m, KFDA_ERR_ARENA_TOO_SMALL, -1, "arena too small (see kfda_model_arena_bytes)");
  if (((uintptr_t)arena) % KFDA_ARENA_ALIGN != 0)
    return fail(m, KFDA_ERR_ARG, -1, "arena must be 16-byte aligned");
  m->arena = arena;
  m->arena_size = arena_size;
  setup_persistent(m);
  m->loaded = 1;
  return KFDA_OK;
}

kfda_status kfda_model_plan(kfda_model *m, const uint8_t *flatbuffer, size_t size,
                            size_t *arena_bytes) {
  kfda_status st = load_impl(m, flatbuffer, size, NULL, 0, 1);
  if (arena_bytes) *arena_bytes = st == KFDA_OK ? m->arena_bytes : 0;
  return st;
}

kfda_status kfda_model_load(kfda_model *m, const uint8_t *flatbuffer, size_t size,
                            uint8_t *arena, size_t arena_size) {
  return load_impl(m, flatbuffer, size, arena, arena_size, 0);
}

size_t kfda_model_arena_bytes(const kfda_model *m) { return m ? m->arena_bytes : 0; }
size_t kfda_model_weight_bytes(const kfda_model *m) { return m ? m->weight_bytes : 0; }

/* ---- invoke -------------------------------------------------------------- */
static void eval_op(kfda_model *m, kfda_op *op) {
  const kfda_op_params *p = &op->p;
  const kfda_tensor *in = IN(0), *out = OUT;
  uint8_t *x = tdata(m, op->in[0]), *y = tdata(m, op->out[0]);
  switch (op->kind) {
    case K_LCE_QUANTIZE: {
      const int32_t cols = in->dims[in->ndim - 1];
      const int32_t rows = cols ? (int32_t)(elements(in) / (size_t)cols) : 0;
      if (in->type == KFDA_FLOAT32)
        kfda_lce_quantize_f32((const float *)x, rows, cols, (int32_t *)y);
      else
        kfda_lce_quantize_s8((const int8_t *)x, rows, cols, in->zero_point, (int32_t *)y);
      break;
    }
    case K_LCE_DEQUANTIZE: {
      const int32_t cols = out->dims[out->ndim - 1];
      const int32_t rows = cols ? (int32_t)(elements(out) / (size_t)cols) : 0;
      if (out->type == KFDA_FLOAT32)
        kfda_lce_dequantize_f32((const int32_t *)x, rows, cols, (float *)y);
      else
        kfda_lce_dequantize_s8((const int32_t *)x, rows, cols, (int8_t)p->qact_max,
                               (int8_t)p->qact_min, (int8_t *)y);
      break;
    }
    case K_LCE_BCONV2D: {
      kfda_shape4 is = shape4(in), fs = shape4(IN(1)), os = shape4(out);
      const float *mul = NULL, *bias = NULL, *raw = NULL;
      const int32_t *th = NULL;
      if (p->flag == KFDA_BCONV_OUT_PACKED) {
        th = (const int32_t *)tdata(m, op->in[4]);
      } else {
        mul = (const float *)(m->arena + p->persist_offset);
        bias = mul + fs.n;
        raw = (const float *)tdata(m, op->in[2]);
      }
      kfda_lce_bconv2d(p, &is, (const int32_t *)x, &fs, (const int32_t *)tdata(m, op->in[1]),
                       mul, bias, th, raw, &os, y,
                       op->scratch_bytes ? m->arena + op->scratch_offset : NULL);
      break;
    }
    case K_LCE_BMAXPOOL2D: {
      kfda_shape4 is = shape4(in), os = shape4(out);
      kfda_lce_bmaxpool2d(p, &is, (const int32_t *)x, &os, (int32_t *)y);
      break;
    }
    case K_CONV_2D:
    case K_DEPTHWISE_CONV_2D: {
      kfda_shape4 is = shape4(in), fs = shape4(IN(1)), os = shape4(out);
      const float *b = has_in(op, 2) ? (const float *)tdata(m, op->in[2]) : NULL;
      if (p->flag) {
        kfda_requant q;
        const int32_t *mult = (const int32_t *)(m->arena + p->persist_offset);
        const int32_t *bi = has_in(op, 2) ? (const int32_t *)tdata(m, op->in[2]) : NULL;
        q.in_offset = p->in_offset;
        q.out_offset = p->out_offset;
        q.act_min = p->qact_min;
        q.act_max = p->qact_max;
        q.mult = mult;
        q.shift = mult + os.c;
        if (op->kind == K_CONV_2D)
          kfda_conv2d_s8(p, &q, &is, (const int8_t *)x, &fs, (const int8_t *)tdata(m, op->in[1]),
                         bi, &os, (int8_t *)y,
                         op->scratch_bytes ? m->arena + op->scratch_offset : NULL);
        else
          kfda_depthwise_conv2d_s8(p, &q, &is, (const int8_t *)x, &fs,
                                   (const int8_t *)tdata(m, op->in[1]), bi, &os, (int8_t *)y);
      } else if (op->kind == K_CONV_2D)
        kfda_conv2d_f32(p, &is, (const float *)x, &fs, (const float *)tdata(m, op->in[1]), b, &os,
                        (float *)y);
      else
        kfda_depthwise_conv2d_f32(p, &is, (const float *)x, &fs,
                                  (const float *)tdata(m, op->in[1]), b, &os, (float *)y);
      break;
    }
    case K_FULLY_CONNECTED: {
      const kfda_tensor *w = IN(1);
      const float *b = has_in(op, 2) ? (const float *)tdata(m, op->in[2]) : NULL;
      if (p->flag) {
        kfda_requant q;
        q.in_offset = p->in_offset;
        q.out_offset = p->out_offset;
        q.act_min = p->qact_min;
        q.act_max = p->qact_max;
        q.mult = &p->out_mult;
        q.shift = &p->out_shift;
        kfda_fully_connected_s8(&q, (const int8_t *)x, (int32_t)(elements(in) / (size_t)w->dims[1]),
                                w->dims[1], (const int8_t *)w->data,
                                has_in(op, 2) ? (const int32_t *)tdata(m, op->in[2]) : NULL,
                                w->dims[0], (int8_t *)y);
        break;
      }
      kfda_fully_connected_f32(p, (const float *)x, (int32_t)(elements(in) / (size_t)w->dims[1]),
                               w->dims[1], (const float *)w->data, b, w->dims[0], (float *)y);
      break;
    }
    case K_MAX_POOL_2D:
    case K_AVERAGE_POOL_2D: {
      kfda_shape4 is = shape4(in), os = shape4(out);
      if (p->flag && op->kind == K_MAX_POOL_2D)
        kfda_max_pool2d_s8(p, &is, (const int8_t *)x, &os, (int8_t *)y);
      else if (p->flag)
        kfda_average_pool2d_s8(p, &is, (const int8_t *)x, &os, (int8_t *)y);
      else if (op->kind == K_MAX_POOL_2D)
        kfda_max_pool2d_f32(p, &is, (const float *)x, &os, (float *)y);
      else
        kfda_average_pool2d_f32(p, &is, (const float *)x, &os, (float *)y);
      break;
    }
    case K_MEAN:
      if (in->type == KFDA_INT8)
        kfda_mean_s8(p, (const int8_t *)x, in->ndim, in->dims, (uint32_t)p->flag, (int8_t *)y);
      else
        kfda_mean_f32((const float *)x, in->ndim, in->dims, (uint32_t)p->flag, (float *)y);
      break;
    case K_ADD:
    case K_MUL: {
      int32_t as[KFDA_MAX_DIMS], bs[KFDA_MAX_DIMS], od[KFDA_MAX_DIMS];
      int i;
      broadcast_strides(IN(0), out, as);
      broadcast_strides(IN(1), out, bs);
      for (i = 0; i < KFDA_MAX_DIMS; ++i) {
        int k = i - (KFDA_MAX_DIMS - out->ndim);
        od[i] = k >= 0 ? out->dims[k] : 1;
      }
      if (p->flag && op->kind == K_MUL)
        kfda_mul_s8(p, (const int8_t *)x, as, (const int8_t *)tdata(m, op->in[1]), bs, od,
                    (int8_t *)y);
      else if (p->flag)
        kfda_add_s8(p, (const int8_t *)x, as, (const int8_t *)tdata(m, op->in[1]), bs, od,
                    (int8_t *)y);
      else if (op->kind == K_ADD)
        kfda_add_f32(p, (const float *)x, as, (const float *)tdata(m, op->in[1]), bs, od,
                     (float *)y);
      else
        kfda_mul_f32(p, (const float *)x, as, (const float *)tdata(m, op->in[1]), bs, od,
                     (float *)y);
      break;
    }
    case K_RESHAPE:
      if (x != y) memmove(y, x, out->bytes);
      break;
    case K_PAD: {
      int32_t pads[2 * KFDA_MAX_DIMS];
      const kfda_tensor *pd = IN(1);
      uint8_t zero[4] = {0, 0, 0, 0};
      int a;
      for (a = 0; a < 2 * in->ndim; ++a) pads[a] = (int32_t)kfda_rd_u32(pd->data + 4 * a);
      if (out->type == KFDA_INT8) zero[0] = (uint8_t)(int8_t)out->zero_point;
      kfda_pad(x, in->ndim, in->dims, pads, type_size(in->type), zero, y);
      break;
    }
    case K_CONCATENATION: {
      const uint8_t *ins[KFDA_MAX_OP_INPUTS];
      size_t inner[KFDA_MAX_OP_INPUTS], outer = 1, es = type_size(out->type);
      int i, a;
      for (a = 0; a < p->axis; ++a) outer *= (size_t)out->dims[a];
      for (i = 0; i < op->n_in; ++i) {
        const kfda_tensor *t = IN(i);
        inner[i] = es;
        for (a = p->axis; a < t->ndim; ++a) inner[i] *= (size_t)t->dims[a];
        ins[i] = tdata(m, op->in[i]);
      }
      kfda_concatenation(ins, inner, op->n_in, outer, y);
      break;
    }
    case K_SOFTMAX: {
      const int32_t depth = in->dims[in->ndim - 1];
      if (p->flag) {
        kfda_softmax_s8(p->beta, out->scale, out->zero_point, (const int8_t *)x,
                        (int32_t)(elements(in) / (size_t)depth), depth, (int8_t *)y);
        break;
      }
      kfda_softmax_f32(p, (const float *)x, (int32_t)(elements(in) / (size_t)depth), depth,
                       (float *)y);
      break;
    }
    case K_QUANTIZE:
      if (p->flag) {
        kfda_requantize_s8((const int8_t *)x, elements(in), in->zero_point, p->out_mult,
                           p->out_shift, out->zero_point, (int8_t *)y);
        break;
      }
      kfda_quantize_f32_s8((const float *)x, elements(in), out->scale, out->zero_point,
                           (int8_t *)y);
      break;
    case K_DEQUANTIZE:
      kfda_dequantize_s8_f32((const int8_t *)x, elements(in), in->scale, in->zero_point,
                             (float *)y);
      break;
    default:
      break;
  }
}

kfda_status kfda_model_invoke(kfda_model *m) {
  int oi;
  if (m == NULL) return KFDA_ERR_ARG;
  if (!m->loaded) return KFDA_ERR_STATE;
  for (oi = 0; oi < m->n_ops; ++oi) {
#if defined(KFDA_PROFILE_OPS)
    const uint64_t t0 = kfda_counter_ticks();
    eval_op(m, &m->ops[oi]);
    printf("kfda: op %d %s %llu\n", oi, kind_names[m->ops[oi].kind],
           (unsigned long long)kfda_counter_instructions(kfda_counter_ticks() - t0));
#else
    eval_op(m, &m->ops[oi]);
#endif
  }
  return KFDA_OK;
}

/* ---- accessors ----------------------------------------------------------- */
int kfda_model_num_inputs(const kfda_model *m) { return m && m->loaded ? m->n_inputs : 0; }
int kfda_model_num_outputs(const kfda_model *m) { return m && m->loaded ? m->n_outputs : 0; }
int kfda_model_num_ops(const kfda_model *m) { return m ? m->n_ops : 0; }

const char *kfda_model_op_name(const kfda_model *m, int i) {
  if (!m || i < 0 || i >= m->n_ops || m->ops[i].kind >= K_COUNT) return "";
  return kind_names[m->ops[i].kind];
}

static void fill_info(const kfda_tensor *t, kfda_tensor_info *info) {
  int i;
  if (!info) return;
  memset(info, 0, sizeof *info);
  info->type = (kfda_type)t->type;
  info->ndim = t->ndim;
  for (i = 0; i < t->ndim; ++i) info->dims[i] = t->dims[i];
  info->bytes = t->bytes;
  info->scale = t->scale;
  info->zero_point = t->zero_point;
}

void *kfda_model_input(kfda_model *m, int i, kfda_tensor_info *info) {
  if (!m || !m->loaded || i < 0 || i >= m->n_inputs) return NULL;
  fill_info(&m->tensors[m->inputs[i]], info);
  return tdata(m, m->inputs[i]);
}

const void *kfda_model_output(const kfda_model *m, int i, kfda_tensor_info *info) {
  if (!m || !m->loaded || i < 0 || i >= m->n_outputs) return NULL;
  fill_info(&m->tensors[m->outputs[i]], info);
  return tdata(m, m->outputs[i]);
}

const char *kfda_status_string(kfda_status s) {
  switch (s) {
    case KFDA_OK: return "ok";
    case KFDA_ERR_ARG: return "bad argument";
    case KFDA_ERR_MODEL: return "malformed model";
    case KFDA_ERR_UNSUPPORTED_OP: return "unsupported op";
    case KFDA_ERR_UNSUPPORTED: return "unsupported type or option";
    case KFDA_ERR_SHAPE: return "shape mismatch";
    case KFDA_ERR_LIMIT: return "compile-time limit exceeded";
    case KFDA_ERR_ARENA_TOO_SMALL: return "arena too small";
    case KFDA_ERR_STATE: return "model not loaded";
  }
  return "unknown status";
}

const char *kfda_model_error(const kfda_model *m) {
  if (!m) return "model is NULL";
  return m->error[0] ? m->error : "no error";
}
