/*
 * op_util.h - the op interface of the runtime (TFLite Micro layout) and the
 * Prepare helpers the op files share. Internal: not part of the public API.
 *
 * Each op is one file in this folder with
 *   - its own params struct (what Eval needs, with names that say what they are);
 *   - prepare(ctx, params): every check and every derived value, its scratch
 *     request (ctx->op->scratch_bytes) and its persistent data (kfda_op_persist);
 *   - eval(m, op, params): arithmetic only, the kernels on precomputed params;
 *   - a const kfda_op_registration kfda_op_<name>,
 * and one row in op_list.h (its TFLite name and builtin code).
 *
 * Arena layout: [persistent part | planned part]. The persistent part is
 * bump-allocated during Prepare, 16-byte aligned: each op's params struct, then
 * its persistent data. kfda_model_plan (no arena) runs the same Prepare: the
 * params go to a stack buffer and kfda_op_persist returns NULL (counted all the
 * same), so Prepare must check everything but write persistent data only when
 * it got a pointer.
 */
#ifndef KFDA_OPS_OP_UTIL_H_
#define KFDA_OPS_OP_UTIL_H_

#include <stddef.h>
#include <stdint.h>

#include "kfda/kernels.h"
#include "kfda/kfda.h"
#include "kfda/reader.h"

/* The largest params struct of any op (each op file static-asserts its own). */
#define KFDA_MAX_OP_PARAMS_BYTES 192

/* C99 static assertion: a negative array size when cond is false. */
#define KFDA_STATIC_ASSERT(cond, name) typedef char kfda_static_assert_##name[(cond) ? 1 : -1]
#define KFDA_OP_PARAMS_FIT(type) \
  KFDA_STATIC_ASSERT(sizeof(type) <= KFDA_MAX_OP_PARAMS_BYTES, type##_fits)

/* The persistent part of the arena, bump-allocated during Prepare. */
typedef struct {
  uint8_t *arena;  /* NULL when planning */
  size_t capacity; /* bytes of arena available */
  size_t used;     /* bytes counted so far (may exceed capacity: then load fails) */
} kfda_persist_alloc;

/* What an op's Prepare reads: the model, the op, its options. */
typedef struct {
  kfda_model *m;
  int index; /* the op's index, for error messages */
  kfda_op *op;
  const kfda_fb *fb;
  kfda_fb_table options; /* builtin options table */
  int has_options;
  const uint8_t *custom; /* custom options bytes (flexbuffer) */
  uint32_t custom_len;
  kfda_persist_alloc *persist;
  uint8_t outputs_checked; /* set by the Prepare of an op with several outputs (SPLIT): the
                             interpreter refuses more than one output otherwise */
} kfda_op_context;

typedef struct {
  uint8_t options_type;    /* TFLite BuiltinOptions union tag (0: none / not checked) */
  uint8_t in_place_inputs; /* leading inputs whose bytes the output may take over when they
                              die at this op (output element i depends on element i only,
                              read before it is written): ADD/MUL 2, RESHAPE 1, else 0 */
  uint16_t params_bytes;
  kfda_status (*prepare)(kfda_op_context *ctx, void *params);
  void (*eval)(const kfda_model *m, const kfda_op *op, const void *params);
} kfda_op_registration;

/* ---- registry (registry.c, built from op_list.h) -------------------------- */
#define KFDA_BUILTIN_CUSTOM 32 /* TFLite's CUSTOM builtin code */
typedef struct {
  const char *name;                         /* TFLite name; for custom ops also their custom code */
  int32_t builtin_code;                     /* KFDA_BUILTIN_CUSTOM for custom ops */
  const kfda_op_registration *registration; /* NULL: not linked into this build */
} kfda_op_entry;

extern const kfda_op_entry kfda_op_table[];
extern const int kfda_op_table_size;
/* Index in kfda_op_table of a builtin code (custom: the custom code's bytes), or -1. */
int kfda_op_lookup(int32_t builtin_code, const char *custom, uint32_t custom_len);
/* Name of a builtin the runtime knows (supported or not), or NULL. */
const char *kfda_builtin_name(int32_t builtin_code);

/* ---- errors --------------------------------------------------------------- */
/* Sets the model's one-line error "op N (NAME): msg" (op < 0: just msg); returns st. */
kfda_status kfda_fail(kfda_model *m, kfda_status st, int op, const char *msg);
kfda_status kfda_op_fail(const kfda_op_context *ctx, kfda_status st, const char *msg);
/* Appending to the error message (bounded by KFDA_ERROR_LEN). */
typedef struct {
  char *buf;
  size_t len;
} kfda_sbuf;
void kfda_sbuf_add(kfda_sbuf *s, const char *t);
void kfda_sbuf_int(kfda_sbuf *s, int64_t v);

#define FAIL(st, msg) return kfda_op_fail(ctx, (st), (msg))
#define NEED(cond, st, msg)     \
  do {                          \
    if (!(cond)) FAIL(st, msg); \
  } while (0)
#define IN(i) (&ctx->m->tensors[ctx->op->in[(i)]])
#define OUT   (&ctx->m->tensors[ctx->op->out])

/* ---- tensors -------------------------------------------------------------- */
size_t kfda_type_size(uint8_t type);
size_t kfda_elements(const kfda_tensor *t);
kfda_shape4 kfda_shape4_of(const kfda_tensor *t);
int kfda_same_dims(const kfda_tensor *a, const kfda_tensor *b);
/* Input i is present (optional inputs are -1). */
int kfda_has_input(const kfda_op *op, int i);

/* Output j's tensor index (j < op->n_out): op->out for the first, the others read in
 * place from the flatbuffer (checked at load), so an op may have any number. */
static inline int kfda_op_output(const kfda_model *m, const kfda_op *op, int j) {
  return j == 0 ? op->out : (int)(int32_t)kfda_rd_u32(m->fb + op->outputs_at + 4 * (size_t)j);
}

/* Eval: a tensor's data (constant: in the flatbuffer; else in the arena). */
static inline uint8_t *kfda_tensor_data(const kfda_model *m, int index) {
  const kfda_tensor *t = &m->tensors[index];
  if (t->is_const) return (uint8_t *)(uintptr_t)t->data;
  return m->arena + t->arena_offset;
}
/* Eval: the op's planned scratch, or NULL. */
static inline void *kfda_op_scratch(const kfda_model *m, const kfda_op *op) {
  return op->scratch_bytes ? m->arena + op->scratch_offset : NULL;
}
#define KFDA_IN(i) kfda_tensor_data(m, op->in[(i)])
#define KFDA_OUT   kfda_tensor_data(m, op->out)

/* ---- threads (threads.c) ---------------------------------------------------- */
/* Computes output rows [row_begin, row_end) of the op (or other work items: channel
 * slices, FULLY_CONNECTED's unit slices) with `scratch` (NULL: none), its thread's share
 * of the op's scratch. */
typedef void (*kfda_rows_fn)(const kfda_model *m, const kfda_op *op, const void *params,
                             int32_t row_begin, int32_t row_end, void *scratch);
/* Eval: rows [0, rows) split over the model's threads (one call without a pool). */
void kfda_op_run_rows(const kfda_model *m, const kfda_op *op, const void *params, int32_t rows,
                      kfda_rows_fn fn);
/* Prepare of an op that runs through kfda_op_run_rows: `bytes` of scratch per thread (one
 * 16-aligned share per thread; one thread: exactly `bytes`). */
kfda_status kfda_op_thread_scratch(kfda_op_context *ctx, size_t bytes);

/* Output channel slices: an op whose output rows leave a thread fewer than
 * KFDA_MIN_PIXELS_PER_THREAD output pixels (the late layers of a network: 2x2 and 1x1
 * maps, where some threads would get no row at all and the others rows too short for the
 * kernels' 4-pixel blocks) splits its output channels instead, one slice per thread.
 * `shape` is the output's; `units` are its innermost entries (channels, or the words of a
 * bitpacked output; for DEPTHWISE_CONV_2D its input channels), sliced in multiples of
 * `align` units. The answer is a function of the shapes and the thread count, so Prepare
 * (which plans the slices' scratch) and Eval ask the same question and the params keep
 * their size (the one-thread arena is unchanged). Returns the slice count (the thread
 * count), or 0: split rows. */
#define KFDA_MIN_PIXELS_PER_THREAD 4
static inline int32_t kfda_channel_slices(const kfda_model *m, const kfda_shape4 *shape,
                                          int32_t units, int32_t align) {
  const int32_t threads = m->num_threads, rows = shape->n * shape->h;
  if (threads < 2 || units < threads * align) return 0;
  return (int64_t)(rows / threads) * shape->w < KFDA_MIN_PIXELS_PER_THREAD ? threads : 0;
}
/* First unit of slice s (s == slices: units); every slice but the last a multiple of align. */
static inline int32_t kfda_slice_begin(int32_t units, int32_t align, int32_t slices, int32_t s) {
  if (s >= slices) return units;
  return (int32_t)((int64_t)(units / align) * s / slices) * align;
}
/* The most units of any slice. */
int32_t kfda_slice_max_units(int32_t units, int32_t align, int32_t slices);
/* Eval: a slice's output (pixels x (unit_end - unit_begin) units, contiguous, from the
 * thread's scratch) into its channels of the op's output (pixels x units). */
void kfda_copy_channel_slice(const void *slice, int32_t pixels, int32_t unit_begin,
                             int32_t unit_end, int32_t units, int32_t unit_bytes, void *out);
/* Eval: the other way, units [unit_begin, unit_end) of every pixel of `in` (pixels x units)
 * into `slice`, contiguous. */
void kfda_gather_channel_slice(const void *in, int32_t pixels, int32_t unit_begin, int32_t unit_end,
                               int32_t units, int32_t unit_bytes, void *slice);

/* ---- Prepare helpers ------------------------------------------------------- */
/* Persistent data for the op: `bytes` 16-byte aligned; NULL when planning or past
 * the end of a too-small arena (counted all the same). */
void *kfda_op_persist(kfda_op_context *ctx, size_t bytes);

enum { KFDA_ACT_NONE = 0, KFDA_ACT_RELU = 1, KFDA_ACT_RELU_N1_TO_1 = 2, KFDA_ACT_RELU6 = 3 };
/* float range of a fused activation (and its unquantised integer bounds); -1 unknown. */
int kfda_act_range(int32_t act, float *lo, float *hi, int32_t *qlo, int32_t *qhi);
/* int8 range (TFLite CalculateActivationRangeQuantized); -1 unknown or no scale. */
int kfda_qact_range(int32_t act, const kfda_tensor *out, int32_t *lo, int32_t *hi);
/* Output size and leading padding (TFLite's ComputePaddingHeightWidth); -1 bad. */
int kfda_window(int32_t in, int32_t filter, int32_t stride, int32_t dil, int32_t padding,
                int32_t *out, int32_t *pad);
/* Builtin options (defaults when the op has none); -1 malformed. */
int kfda_opt_i32(const kfda_op_context *ctx, int id, int32_t def, int32_t *v);
int kfda_opt_u8(const kfda_op_context *ctx, int id, uint8_t def, int32_t *v);
/* The custom options' flexbuffer map; -1 when it is not one. */
int kfda_custom_map(const kfda_op_context *ctx, kfda_flex *root);
/* Integer option of a flexbuffer map in [-65536, 65536]; strings accepted for padding
 * ("SAME"/"VALID") and activations. 1 found, 0 absent (and !required), -1 bad. */
int kfda_flex_opt(const kfda_flex *map, const char *key, int required, int32_t *v);
int kfda_flex_opt_i64(const kfda_flex *map, const char *key, int64_t *v);

/* ---- int8 checks: load refuses what invoke cannot compute ------------------ */
/* Bound on |sum of (x - in_zero_point) * w| per accumulated term, for every kernel form:
 * |x|, |w|, |in_zero_point| <= 128, and kernels that split the sum into x * w and
 * in_offset * w stay within 2 * 128 * 128 per term. */
#define KFDA_S8_TERM_BOUND 32768
/* An int8 tensor invoke can compute with: a finite, normal, positive scale (each
 * per-channel scale too) and a zero point in [-128, 127]. `what` names it ("input"). */
kfda_status kfda_check_int8_tensor(const kfda_op_context *ctx, const kfda_tensor *t,
                                   const char *what);
/* The requantisation multiplier and shift of `real` (kfda_quantize_multiplier) for values
 * up to |value_max| followed by an output offset up to |offset_max|; -1 unless real is
 * finite and >= 0, the shift is within [-31, 30] and value * real + offset fits in int32. */
int kfda_requant_multiplier(double real, int64_t value_max, int64_t offset_max,
                            int32_t *significand, int32_t *shift);
/* max |bias[i]| of a constant int32 bias (0 when absent). */
int64_t kfda_bias_max_s32(const kfda_tensor *bias);

/* MAX_POOL_2D / AVERAGE_POOL_2D / LceBMaxPool2d: the window, the shapes and the kernel. */
typedef enum {
  KFDA_POOL_MAX = 0,
  KFDA_POOL_AVERAGE = 1,
  KFDA_POOL_BITPACKED_MAX = 2
} kfda_pool_kind;
typedef struct {
  kfda_conv_params pool;
  kfda_shape4 in_shape, out_shape;
  uint8_t is_int8;
  uint8_t kind; /* kfda_pool_kind */
} kfda_pool_op_params;
/* TFLite Pool2DOptions, types, activation, window and output shape. */
kfda_status kfda_pool_prepare(kfda_op_context *ctx, kfda_pool_op_params *p);
/* The window and output shape of p->pool's filter/stride/padding. */
kfda_status kfda_pool_window(kfda_op_context *ctx, kfda_pool_op_params *p, int32_t padding);
/* Eval of every pool: p->kind's kernel over the output rows, or over channel slices on
 * maps too small for a row split, on the model's threads (op_util.c, "pools"). */
void kfda_pool_eval(const kfda_model *m, const kfda_op *op, const void *params);

/* CONV_2D / DEPTHWISE_CONV_2D (conv_2d.c). */
typedef struct {
  kfda_conv_params conv;
  kfda_requant requant; /* int8: per-channel multipliers/shifts (persistent) */
  kfda_shape4 in_shape, filter_shape, out_shape;
  const void *filter, *bias; /* constant data; bias may be NULL */
  uint8_t is_int8;
} kfda_conv_op_params;
kfda_status kfda_conv_prepare(kfda_op_context *ctx, kfda_conv_op_params *p, int depthwise);

/* ADD / SUB / MUL (op_util.c): inputs, types, activation, int8 offsets; then broadcasting. */
typedef struct {
  kfda_arith_params arith;
  int32_t a_strides[KFDA_MAX_DIMS], b_strides[KFDA_MAX_DIMS], out_dims[KFDA_MAX_DIMS];
  uint8_t is_int8;
  uint8_t flat; /* same-shape inputs (no broadcasting): one run of every element */
} kfda_binary_op_params;
kfda_status kfda_binary_prepare(kfda_op_context *ctx, kfda_binary_op_params *p);
kfda_status kfda_binary_broadcast(kfda_op_context *ctx, kfda_binary_op_params *p);
/* ADD, and SUB (subtract: b's multiplier negated): TFLite's left shift 20, three multipliers. */
kfda_status kfda_add_sub_prepare(kfda_op_context *ctx, kfda_binary_op_params *p, int subtract);
/* ADD / MUL over threads: rows are the indices of the outermost output axis longer than 1;
 * a slice of them is the same kernel on offset pointers (elements) with that axis
 * shortened, so every output element is still computed from the same input elements.
 * Same-shape inputs (p->flat) split their flat elements instead, in runs of
 * KFDA_BINARY_FLAT_RUN (whole passes of the vector kernels): a small map's few rows would
 * not divide evenly over the threads. */
#define KFDA_BINARY_FLAT_RUN 16
typedef struct {
  size_t a, b, out; /* element offsets of the slice's first element */
  int32_t dims[KFDA_MAX_DIMS];
} kfda_binary_slice;
int32_t kfda_binary_rows(const kfda_binary_op_params *p);
void kfda_binary_slice_of(const kfda_binary_op_params *p, int32_t row_begin, int32_t row_end,
                          kfda_binary_slice *s);

/* Unary elementwise ops (RELU family, ABS, ROUND, TANH, LOGISTIC, HARD_SWISH): one
 * input of the output's type and shape; float32, or int8 when int8_ok. */
typedef struct {
  uint32_t elements;
  uint8_t is_int8;
} kfda_unary_shape;
kfda_status kfda_unary_prepare(kfda_op_context *ctx, int int8_ok, kfda_unary_shape *u);

/* TANH / LOGISTIC: float32 by the function, int8 by TFLite's 256-entry table of it. */
typedef struct {
  kfda_unary_shape u;
  int8_t *table; /* int8: persistent, indexed by (uint8_t)x */
} kfda_lut_op_params;
kfda_status kfda_lut_prepare(kfda_op_context *ctx, kfda_lut_op_params *p, float (*fn)(float));

/* RELU / RELU6 / RELU_N1_TO_1: clamp to [lo, hi] (hi = +inf: none). */
typedef struct {
  kfda_unary_shape u;
  kfda_unary_s8_params q; /* int8 */
  float lo, hi;           /* float32 */
} kfda_clamp_op_params;
kfda_status kfda_clamp_prepare(kfda_op_context *ctx, kfda_clamp_op_params *p, float lo, float hi);
void kfda_clamp_eval(const kfda_model *m, const kfda_op *op, const void *params);

/* MINIMUM / MAXIMUM: two broadcast inputs of the output's type (int8: one quantization). */
kfda_status kfda_minmax_prepare(kfda_op_context *ctx, kfda_binary_op_params *p);

#endif /* KFDA_OPS_OP_UTIL_H_ */
