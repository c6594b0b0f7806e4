/*
 * kfda.h - public API of the keras-fda C runtime.
 *
 * A dependency-free C99 interpreter for TFLite flatbuffers produced by the
 * Larq Compute Engine (LCE) converter. No malloc anywhere: the caller owns
 * every byte (the model struct, the flatbuffer, the arena).
 *
 * Typical use:
 *
 *     static kfda_model model;           // a small header (about 200 bytes)
 *     size_t need;
 *     // validate + plan only, in a scratch buffer (too small: need = the size to give)
 *     if (kfda_model_plan(&model, fb, fb_size, work, work_size, &need) == KFDA_OK) {
 *       uint8_t *arena = <need bytes, 16-byte aligned>;
 *       if (kfda_model_load(&model, fb, fb_size, arena, need) != KFDA_OK)
 *         puts(kfda_model_error(&model));
 *     }
 *     kfda_tensor_info info;
 *     float *in = kfda_model_input(&model, 0, &info);   // fill it
 *     kfda_model_invoke(&model);
 *     const float *out = kfda_model_output(&model, 0, &info);
 *
 * Requirements on the flatbuffer: it must stay alive and unchanged while the
 * model is used (weights are read in place), and it must start at a 16-byte
 * aligned address (constant tensors are read as float/int32 arrays; a
 * misaligned buffer is rejected with KFDA_ERR_MODEL, never read unaligned).
 *
 * Everything is checked in kfda_model_load (the "Prepare" phase): offsets and
 * lengths of the flatbuffer, op options, tensor types and shapes, the memory
 * plan. kfda_model_invoke only computes.
 *
 * The arena holds [persistent part | planned part]. The persistent part starts
 * with the model's tensor and op tables (sized to the model, TFLite Micro style),
 * then each op's precomputed params and per-channel data; the planned part holds
 * the activations and op scratch buffers. During load the planned part is free, so
 * the planner's workspace (tensor lifetimes, plan buffers) lives there:
 *     arena = persistent + max(planned, planner workspace).
 * kfda_model itself is a fixed header of pointers into the arena and counts.
 */
#ifndef KFDA_KFDA_H_
#define KFDA_KFDA_H_

#include <stddef.h>
#include <stdint.h>

#include "kfda/planner.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Compile-time limits (override with -D at build time) ------------- */
/* Sanity bounds on counts only: the tables are carved from the arena, sized to
 * the model, so these cost no memory. Tensor indices are int16 in kfda_op. */
#ifndef KFDA_MAX_TENSORS
#define KFDA_MAX_TENSORS 16383 /* tensors in the (single) subgraph */
#endif
#ifndef KFDA_MAX_OPS
#define KFDA_MAX_OPS 16383 /* operators in the subgraph */
#endif
#ifndef KFDA_MAX_OP_INPUTS
#define KFDA_MAX_OP_INPUTS 8 /* inputs of one operator (CONCATENATION) */
#endif
#ifndef KFDA_MAX_IO
#define KFDA_MAX_IO 4 /* model inputs / outputs */
#endif
#ifndef KFDA_MAX_THREADS
#define KFDA_MAX_THREADS 8 /* threads of one model (builds with -DKFDA_THREADS: Linux) */
#endif
#define KFDA_MAX_DIMS    5   /* tensor rank */
#define KFDA_ERROR_LEN   128 /* length of the error message buffer */
#define KFDA_ARENA_ALIGN 16  /* every arena buffer starts at a multiple of it */

#define KFDA_VERSION "0.1.0"

/* ---- Status codes -------------------------------------------------------- */
typedef enum {
  KFDA_OK = 0,
  KFDA_ERR_ARG = 1,             /* NULL pointer / bad argument */
  KFDA_ERR_MODEL = 2,           /* malformed flatbuffer or inconsistent graph */
  KFDA_ERR_UNSUPPORTED_OP = 3,  /* operator not implemented (error names it) */
  KFDA_ERR_UNSUPPORTED = 4,     /* known op, unsupported type/option combination */
  KFDA_ERR_SHAPE = 5,           /* shapes inconsistent with the op */
  KFDA_ERR_LIMIT = 6,           /* a KFDA_MAX_* limit is exceeded */
  KFDA_ERR_ARENA_TOO_SMALL = 7, /* arena (or plan workspace) too small: see the API */
  KFDA_ERR_STATE = 8            /* invoke/input/output before a successful load */
} kfda_status;

/* Tensor element types; the values are TFLite's TensorType values. */
typedef enum {
  KFDA_FLOAT32 = 0,
  KFDA_INT32 = 2, /* also: LCE bitpacked tensors (32 channels per word) */
  KFDA_UINT8 = 3,
  KFDA_INT64 = 4,
  KFDA_BOOL = 6,
  KFDA_INT16 = 7,
  KFDA_INT8 = 9
} kfda_type;

/* Description of a model input/output. */
typedef struct {
  kfda_type type;
  int32_t ndim;
  int32_t dims[KFDA_MAX_DIMS];
  size_t bytes;       /* size of the tensor's data */
  float scale;        /* int8/uint8 only (per-tensor), else 0 */
  int32_t zero_point; /* int8/uint8 only, else 0 */
} kfda_tensor_info;

/* ---- Internal structures (caller allocates, treats them as opaque) ------ */
typedef struct {
  const uint8_t *data;   /* constant data (flatbuffer) or NULL */
  uint32_t arena_offset; /* for non-constant tensors */
  uint32_t bytes;
  int32_t dims[KFDA_MAX_DIMS];
  uint8_t ndim;
  uint8_t type; /* kfda_type */
  uint8_t is_const;
  uint8_t is_var; /* non-constant: lives in the arena */
  float scale;    /* per-tensor scale (first of per-channel) */
  int32_t zero_point;
  const uint8_t *ch_scales; /* per-channel float32 scales (LE bytes) or NULL */
  uint32_t n_ch_scales;
} kfda_tensor; /* lifetimes and in-place sharing live in the load-time workspace */

/* One operator. Everything op-specific lives in its params struct (src/ops/<op>.c),
 * in the arena's persistent part at params_offset. */
typedef struct {
  uint16_t kind; /* index of the op's row in the registry (src/ops/op_list.h) */
  uint8_t n_in;
  uint16_t n_out;                 /* any number (SPLIT): read in place, no table */
  int16_t in[KFDA_MAX_OP_INPUTS]; /* tensor indices, -1 = absent optional */
  int16_t out;                    /* the first (most often only) output's tensor index */
  uint32_t outputs_at;            /* flatbuffer offset of all its int32 output indices */
  uint32_t scratch_bytes;         /* arena scratch needed during Eval */
  uint32_t scratch_offset;        /* planned offset of the scratch */
  uint32_t params_offset;         /* arena offset of the op's params (persistent part) */
} kfda_op;

struct kfda_thread_pool; /* src/threads.c: in the arena's persistent part */

/* The model: a fixed header; its tables are in the arena (see the file comment). */
typedef struct {
  const uint8_t *fb;
  size_t fb_size;
  uint8_t *arena;
  size_t arena_size;
  size_t arena_bytes;     /* required: persistent part + max(planned part, workspace) */
  size_t persist_bytes;   /* persistent part (arena start): tables, op params, per-op data */
  size_t planned_bytes;   /* activation/scratch part (planner high-water mark), after it */
  size_t workspace_bytes; /* planner workspace during load, in the planned part's place */
  size_t weight_bytes;    /* bytes of constant tensors */
  int32_t n_tensors, n_ops, n_inputs, n_outputs;
  int32_t inputs[KFDA_MAX_IO], outputs[KFDA_MAX_IO];
  kfda_tensor *tensors; /* n_tensors entries, at the arena's start */
  kfda_op *ops;         /* n_ops entries, after them */
  int32_t loaded;
  int32_t num_threads;                  /* threads that run the heavy ops (1: the caller's) */
  struct kfda_thread_pool *thread_pool; /* its workers, or NULL (one thread) */
  char error[KFDA_ERROR_LEN];
} kfda_model;

/* ---- API ------------------------------------------------------------------ */

/* Validate the model and compute its memory plan, using `workspace` (16-byte
 * aligned, any content, not kept; it holds the tables and the planner's workspace,
 * never more than the arena itself needs). On KFDA_OK, *needed is the arena
 * kfda_model_load needs. When workspace_size is too small (NULL/0 to ask):
 * KFDA_ERR_ARENA_TOO_SMALL and *needed is the workspace size to pass instead.
 * After KFDA_OK the tables are in the workspace: op names and kfda_model_*_bytes
 * can be read while it lives; only kfda_model_load makes the model runnable. */
kfda_status kfda_model_plan(kfda_model *m, const uint8_t *flatbuffer, size_t size,
                            uint8_t *workspace, size_t workspace_size, size_t *needed);

/* Validate, plan and prepare the model with the caller's arena (aligned to
 * KFDA_ARENA_ALIGN). Returns KFDA_ERR_ARENA_TOO_SMALL when arena_size is not
 * enough; kfda_model_arena_bytes is then the exact need when the arena could at
 * least hold the tables and the planner's workspace, else a lower bound (use
 * kfda_model_plan for the exact figure). */
kfda_status kfda_model_load(kfda_model *m, const uint8_t *flatbuffer, size_t size, uint8_t *arena,
                            size_t arena_size);

/* The same with num_threads threads (1 .. kfda_max_threads()): LceBconv2d, CONV_2D,
 * DEPTHWISE_CONV_2D, LceQuantize, ADD and MUL split their output rows over them, bit-identical
 * results for any count. The arena holds one share of each op's scratch per thread and the pool's
 * state; plan and load must get the same count. Load starts num_threads - 1 worker threads
 * (pthreads), which kfda_model_release joins. 1 thread: the same arena as plan/load. */
kfda_status kfda_model_plan_threads(kfda_model *m, const uint8_t *flatbuffer, size_t size,
                                    uint8_t *workspace, size_t workspace_size, int num_threads,
                                    size_t *needed);
kfda_status kfda_model_load_threads(kfda_model *m, const uint8_t *flatbuffer, size_t size,
                                    uint8_t *arena, size_t arena_size, int num_threads);
/* The most threads this build runs: KFDA_MAX_THREADS when built with -DKFDA_THREADS (the
 * Linux builds), else 1 (bare metal: no pthread dependency). */
int kfda_max_threads(void);
int kfda_model_num_threads(const kfda_model *m);
/* Joins the model's worker threads and unloads it; call it before freeing or reusing the
 * arena or the model struct (harmless after a failed load, twice, or with one thread). */
void kfda_model_release(kfda_model *m);

/* Bytes of arena the model needs (valid after plan/load got that far). */
size_t kfda_model_arena_bytes(const kfda_model *m);
/* Its parts: the persistent part (tables, params, per-op data), the planned part
 * (activations, scratch) and the planner's load-time workspace. */
size_t kfda_model_persistent_bytes(const kfda_model *m);
size_t kfda_model_planned_bytes(const kfda_model *m);
size_t kfda_model_workspace_bytes(const kfda_model *m);
/* Bytes of constant tensor data (weights) in the flatbuffer. */
size_t kfda_model_weight_bytes(const kfda_model *m);

/* Run the graph once on the current input tensors. */
kfda_status kfda_model_invoke(kfda_model *m);

int kfda_model_num_inputs(const kfda_model *m);
int kfda_model_num_outputs(const kfda_model *m);
/* Pointer to input i's data (in the arena), and its description (info may
 * be NULL). NULL if i is out of range or the model is not loaded. */
void *kfda_model_input(kfda_model *m, int i, kfda_tensor_info *info);
const void *kfda_model_output(const kfda_model *m, int i, kfda_tensor_info *info);

/* Number of ops, and the TFLite name of op i ("CONV_2D", "LceBconv2d"...). */
int kfda_model_num_ops(const kfda_model *m);
const char *kfda_model_op_name(const kfda_model *m, int i);

/* TFLite name of the i-th op this build of the runtime links (i from 0), NULL past
 * the last (a build may link only the ops of its model, see firmware/README.md). */
const char *kfda_linked_op_name(int i);

const char *kfda_status_string(kfda_status s);
/* One line describing the last error (names the unsupported op etc.). */
const char *kfda_model_error(const kfda_model *m);

#ifdef __cplusplus
}
#endif
#endif /* KFDA_KFDA_H_ */
