/*
 * interpreter.c - load (parse + Prepare + plan) and invoke (Eval) of a TFLite
 * model written by the LCE converter.
 *
 * This file knows no op: it parses the flatbuffer (via reader.c), resolves each
 * operator in the op registry (ops/registry.c, built from ops/op_list.h), runs the
 * op's Prepare (ops/<op>.c), then works out tensor lifetimes, in-place sharing and
 * the memory plan. Invoke calls each op's Eval.
 *
 * Arena layout: [persistent part | planned part]. The persistent part starts with
 * the tensor and op tables (sized to the model), then is filled during Prepare
 * (each op's params struct, then its persistent data, 16-byte aligned); the
 * planner's offsets (activations, op scratch) start after it. The planner's own
 * workspace (lifetimes, plan buffers) sits in the planned part during load.
 */
#include <string.h>

#include "kfda/kfda.h"
#include "kfda/planner.h"
#include "kfda/reader.h"
#include "ops/op_util.h"
#include "threads.h"

#if defined(KFDA_PROFILE_OPS)
/* Benchmarks only (-DKFDA_PROFILE_OPS, application builds): the target's counter
 * (targets/app/kfda_app_platform.h) around each op of an invoke, printed as
 * "kfda: op INDEX NAME COUNT" (the print falls outside each op's count). */
#include <stdio.h>

#include "kfda_app_platform.h"
#endif

static const kfda_op_registration *registration_of(const kfda_op *op) {
  return kfda_op_table[op->kind].registration;
}

/* ---- tensors ------------------------------------------------------------- */
static int parse_tensor(kfda_model *m, const kfda_fb *fb, const kfda_fb_vec *buffers,
                        const kfda_fb_table *tt, kfda_tensor *t) {
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
  es = kfda_type_size(t->type);
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
    if (kfda_fb_u64(fb, &buf, 1, 0, &off) < 0 || kfda_fb_u64(fb, &buf, 2, 0, &size) < 0) return -1;
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

/* ---- operators ----------------------------------------------------------- */
static kfda_status unsupported_op(kfda_model *m, uint32_t op_index, int32_t code,
                                  const char *custom, uint32_t custom_len) {
  kfda_sbuf s;
  const char *name = code == KFDA_BUILTIN_CUSTOM ? NULL : kfda_builtin_name(code);
  s.buf = m->error;
  s.len = 0;
  if (code == KFDA_BUILTIN_CUSTOM) {
    uint32_t k;
    kfda_sbuf_add(&s, "unsupported op: custom '");
    for (k = 0; k < custom_len && k < 48; ++k) {
      char c[2];
      c[0] = custom[k] >= 32 && custom[k] < 127 ? custom[k] : '?';
      c[1] = 0;
      kfda_sbuf_add(&s, c);
    }
    kfda_sbuf_add(&s, "'");
  } else {
    kfda_sbuf_add(&s, "unsupported op: ");
    if (name) {
      kfda_sbuf_add(&s, name);
    } else {
      kfda_sbuf_add(&s, "builtin ");
      kfda_sbuf_int(&s, code);
    }
  }
  kfda_sbuf_add(&s, " (op ");
  kfda_sbuf_int(&s, op_index);
  kfda_sbuf_add(&s, ")");
  return KFDA_ERR_UNSUPPORTED_OP;
}

/* Parses each operator and runs its Prepare; params and persistent data are
 * bump-allocated in `persist` (see the file comment). */
static kfda_status parse_ops(kfda_model *m, const kfda_fb *fb, const kfda_fb_vec *codes,
                             const kfda_fb_vec *opsv, kfda_persist_alloc *persist) {
  uint32_t i, j;
  for (i = 0; i < opsv->len; ++i) {
    kfda_fb_table ot, ct;
    kfda_fb_vec iv, ov, cv;
    uint32_t code_idx, custom_len = 0;
    uint8_t dep = 0, opt_type = 0;
    int32_t code = 0;
    const char *custom = NULL;
    kfda_op *op = &m->ops[i];
    const kfda_op_registration *reg;
    kfda_op_context ctx;
    union { /* Prepare's params when they have no place in the arena */
      uint8_t bytes[KFDA_MAX_OP_PARAMS_BYTES];
      double align_double;
      void *align_pointer;
      int64_t align_int;
    } params_buf;
    void *params;
    int oi = -1, r, entry;
    kfda_status st;
    memset(&ctx, 0, sizeof ctx);
    ctx.fb = fb;
    if (kfda_fb_vec_table(fb, opsv, i, &ot) < 0 || kfda_fb_u32(fb, &ot, 0, 0, &code_idx) < 0)
      return kfda_fail(m, KFDA_ERR_MODEL, -1, "malformed operator");
    if (code_idx >= codes->len || kfda_fb_vec_table(fb, codes, code_idx, &ct) < 0 ||
        kfda_fb_u8(fb, &ct, 0, 0, &dep) < 0 || kfda_fb_i32(fb, &ct, 3, 0, &code) < 0)
      return kfda_fail(m, KFDA_ERR_MODEL, -1, "malformed operator code");
    if ((int32_t)(int8_t)dep > code) code = (int8_t)dep;
    if (code == KFDA_BUILTIN_CUSTOM && kfda_fb_string(fb, &ct, 1, &custom, &custom_len) < 0)
      return kfda_fail(m, KFDA_ERR_MODEL, -1, "malformed custom code");
    entry = kfda_op_lookup(code, custom, custom_len);
    if (entry < 0 || kfda_op_table[entry].registration == NULL)
      return unsupported_op(m, i, code, custom, custom_len);
    op->kind = (uint16_t)entry;
    reg = kfda_op_table[entry].registration;
    oi = (int)i;
    if (kfda_fb_vector(fb, &ot, 1, 4, &iv) < 0 || kfda_fb_vector(fb, &ot, 2, 4, &ov) < 0)
      return kfda_fail(m, KFDA_ERR_MODEL, oi, "malformed inputs/outputs");
    if (iv.len > KFDA_MAX_OP_INPUTS) return kfda_fail(m, KFDA_ERR_LIMIT, oi, "too many inputs");
    if (ov.len < 1) return kfda_fail(m, KFDA_ERR_MODEL, oi, "no output");
    if (ov.len > KFDA_MAX_TENSORS) return kfda_fail(m, KFDA_ERR_MODEL, oi, "too many outputs");
    op->n_in = (uint8_t)iv.len;
    op->n_out = (uint16_t)ov.len;
    op->outputs_at = ov.pos; /* checked below, read in place by kfda_op_output */
    for (j = 0; j < iv.len; ++j) {
      int32_t t = (int32_t)kfda_rd_u32(fb->buf + iv.pos + 4 * j);
      if (t < -1 || t >= m->n_tensors) return kfda_fail(m, KFDA_ERR_MODEL, oi, "bad tensor index");
      op->in[j] = (int16_t)t;
    }
    for (j = 0; j < ov.len; ++j) {
      int32_t t = (int32_t)kfda_rd_u32(fb->buf + ov.pos + 4 * j);
      if (t < 0 || t >= m->n_tensors) return kfda_fail(m, KFDA_ERR_MODEL, oi, "bad tensor index");
      if (m->tensors[t].is_const) return kfda_fail(m, KFDA_ERR_MODEL, oi, "writes a constant");
      if (j == 0) op->out = (int16_t)t;
    }
    if (kfda_fb_u8(fb, &ot, 3, 0, &opt_type) < 0)
      return kfda_fail(m, KFDA_ERR_MODEL, oi, "malformed options");
    r = kfda_fb_table_field(fb, &ot, 4, &ctx.options);
    if (r < 0) return kfda_fail(m, KFDA_ERR_MODEL, oi, "malformed options");
    ctx.has_options = r > 0;
    if (ctx.has_options && reg->options_type != 0 && reg->options_type != opt_type)
      return kfda_fail(m, KFDA_ERR_MODEL, oi, "options of the wrong type");
    if (kfda_fb_vector(fb, &ot, 5, 1, &cv) < 0)
      return kfda_fail(m, KFDA_ERR_MODEL, oi, "malformed custom options");
    ctx.custom = fb->buf + cv.pos;
    ctx.custom_len = cv.len;
    if (op->n_in < 1 || !kfda_has_input(op, 0))
      return kfda_fail(m, KFDA_ERR_MODEL, oi, "missing input");
    /* the op's params: first in its share of the persistent part */
    op->params_offset = (uint32_t)persist->used;
    ctx.m = m;
    ctx.index = oi;
    ctx.op = op;
    ctx.persist = persist;
    params = kfda_op_persist(&ctx, reg->params_bytes);
    if (params == NULL) params = params_buf.bytes;
    memset(params, 0, reg->params_bytes);
    st = reg->prepare(&ctx, params);
    if (st != KFDA_OK) return st;
    if (op->n_out != 1 && !ctx.outputs_checked)
      return kfda_fail(m, KFDA_ERR_MODEL, oi, "expected one output");
    if (persist->used > 0x7fffffffu) return kfda_fail(m, KFDA_ERR_LIMIT, oi, "arena above 2 GiB");
  }
  return KFDA_OK;
}

/* ---- load-time workspace -------------------------------------------------- */
/* What the planner needs during load only. It lives in the arena's planned part (free
 * until invoke) or, for kfda_model_plan, after the tables in the caller's workspace. */
typedef struct {
  int32_t first_use, last_use; /* op indices */
  int16_t shares;              /* tensor whose arena bytes this one reuses (in place), or -1 */
} kfda_tensor_life;

typedef struct {
  kfda_tensor_life *life; /* n_tensors */
  kfda_plan_buf *plan;    /* n_tensors + n_ops */
  int16_t *order, *live;  /* n_tensors + n_ops each */
} kfda_workspace;

static size_t align16(size_t x) {
  return (x + KFDA_ARENA_ALIGN - 1) / KFDA_ARENA_ALIGN * KFDA_ARENA_ALIGN;
}

/* a + b, or SIZE_MAX when it wraps (32-bit targets: never let a size sum wrap). */
static size_t add_sizes(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

/* The counts are bounded by KFDA_MAX_*, so these products cannot overflow. */
static size_t tables_bytes(size_t n_tensors, size_t n_ops) {
  return align16(n_tensors * sizeof(kfda_tensor)) + align16(n_ops * sizeof(kfda_op));
}

static size_t workspace_bytes(size_t n_tensors, size_t n_ops) {
  const size_t n_bufs = n_tensors + n_ops;
  return align16(n_tensors * sizeof(kfda_tensor_life)) + align16(n_bufs * sizeof(kfda_plan_buf)) +
         2 * align16(n_bufs * sizeof(int16_t));
}

static void workspace_at(kfda_workspace *w, uint8_t *at, size_t n_tensors, size_t n_ops) {
  const size_t n_bufs = n_tensors + n_ops;
  w->life = (kfda_tensor_life *)(void *)at;
  at += align16(n_tensors * sizeof(kfda_tensor_life));
  w->plan = (kfda_plan_buf *)(void *)at;
  at += align16(n_bufs * sizeof(kfda_plan_buf));
  w->order = (int16_t *)(void *)at;
  w->live = (int16_t *)(void *)(at + align16(n_bufs * sizeof(int16_t)));
}

/* In-place ops (registration's in_place_inputs: ADD, MUL and RESHAPE) produce output
 * element i from input element i only (for an input of the output's size: no
 * broadcasting along it), and their kernels read element i before they write it,
 * walking forward. So when such an
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

static void plan_in_place(kfda_model *m, kfda_tensor_life *life) {
  int oi, j;
  for (oi = 0; oi < m->n_ops; ++oi) {
    const kfda_op *op = &m->ops[oi];
    const kfda_tensor *out;
    const int n = registration_of(op)->in_place_inputs;
    if (n == 0) continue;
    out = &m->tensors[op->out];
    for (j = 0; j < n && j < op->n_in; ++j) {
      const int32_t ti = op->in[j];
      const kfda_tensor *t;
      int32_t root;
      if (ti < 0) continue;
      t = &m->tensors[ti];
      if (!t->is_var || life[ti].last_use != oi || t->bytes != out->bytes || t->type != out->type ||
          is_model_io(m, ti))
        continue;
      root = life[ti].shares >= 0 ? life[ti].shares : ti;
      life[op->out].shares = (int16_t)root;
      if (life[op->out].last_use > life[root].last_use)
        life[root].last_use = life[op->out].last_use;
      break;
    }
  }
}

/* Tensor lifetimes (graph inputs are written "before op 0"). */
static kfda_status plan_lifetimes(kfda_model *m, kfda_tensor_life *life) {
  int32_t i;
  int oi;
  for (i = 0; i < m->n_tensors; ++i) {
    life[i].first_use = INT32_MAX;
    life[i].last_use = -1;
    life[i].shares = -1;
  }
  for (i = 0; i < m->n_inputs; ++i) {
    kfda_tensor_life *t = &life[m->inputs[i]];
    t->first_use = 0;
    if (t->last_use < 0) t->last_use = 0;
  }
  for (oi = 0; oi < m->n_ops; ++oi) {
    const kfda_op *op = &m->ops[oi];
    int j;
    for (j = 0; j < op->n_in; ++j) {
      kfda_tensor_life *t;
      if (op->in[j] < 0 || m->tensors[op->in[j]].is_const) continue;
      t = &life[op->in[j]];
      if (t->first_use == INT32_MAX)
        return kfda_fail(m, KFDA_ERR_MODEL, oi, "reads a tensor before it is written");
      if (oi > t->last_use) t->last_use = oi;
    }
    for (j = 0; j < op->n_out; ++j) {
      kfda_tensor_life *t = &life[kfda_op_output(m, op, j)];
      if (t->first_use != INT32_MAX)
        return kfda_fail(m, KFDA_ERR_MODEL, oi, "writes a tensor written before");
      t->first_use = oi;
      t->last_use = oi;
    }
  }
  for (i = 0; i < m->n_outputs; ++i) {
    kfda_tensor_life *t = &life[m->outputs[i]];
    if (t->first_use == INT32_MAX) return kfda_fail(m, KFDA_ERR_MODEL, -1, "output never written");
    t->last_use = m->n_ops > 0 ? m->n_ops - 1 : 0;
  }
  plan_in_place(m, life);
  return KFDA_OK;
}

/* The memory plan: variable tensors in use (one buffer per in-place chain) and op
 * scratch buffers, placed after the persistent part. */
static kfda_status plan_memory(kfda_model *m, const kfda_workspace *w, size_t persist_bytes) {
  int32_t i;
  int nb = 0, oi;
  size_t planned = 0;
  for (i = 0; i < m->n_tensors; ++i) {
    if (!m->tensors[i].is_var || w->life[i].first_use == INT32_MAX || w->life[i].shares >= 0)
      continue;
    w->plan[nb].size = m->tensors[i].bytes;
    w->plan[nb].first = w->life[i].first_use;
    w->plan[nb].last = w->life[i].last_use;
    ++nb;
  }
  for (oi = 0; oi < m->n_ops; ++oi) {
    if (m->ops[oi].scratch_bytes == 0) continue;
    w->plan[nb].size = m->ops[oi].scratch_bytes;
    w->plan[nb].first = w->plan[nb].last = oi;
    ++nb;
  }
  if (kfda_plan_greedy(w->plan, nb, KFDA_ARENA_ALIGN, w->order, w->live, &planned) != 0)
    return kfda_fail(m, KFDA_ERR_MODEL, -1, "memory plan failed");
  /* 32-bit targets: persistent + planned must not wrap (a plan near 4 GiB would) */
  if (planned > 0x7fffffffu || add_sizes(persist_bytes, planned) > 0x7fffffffu ||
      add_sizes(persist_bytes, m->workspace_bytes) > 0x7fffffffu)
    return kfda_fail(m, KFDA_ERR_LIMIT, -1, "arena above 2 GiB");
  nb = 0;
  for (i = 0; i < m->n_tensors; ++i) {
    if (!m->tensors[i].is_var || w->life[i].first_use == INT32_MAX || w->life[i].shares >= 0)
      continue;
    m->tensors[i].arena_offset = (uint32_t)(persist_bytes + w->plan[nb++].offset);
  }
  for (i = 0; i < m->n_tensors; ++i) /* chains point at their first tensor */
    if (w->life[i].shares >= 0)
      m->tensors[i].arena_offset = m->tensors[w->life[i].shares].arena_offset;
  for (oi = 0; oi < m->n_ops; ++oi)
    if (m->ops[oi].scratch_bytes != 0)
      m->ops[oi].scratch_offset = (uint32_t)(persist_bytes + w->plan[nb++].offset);
  m->planned_bytes = planned;
  m->persist_bytes = persist_bytes;
  m->arena_bytes = persist_bytes + (planned > m->workspace_bytes ? planned : m->workspace_bytes);
  return KFDA_OK;
}

/* plan_only: `mem` is kfda_model_plan's workspace (tables, then the planner's
 * workspace; persistent data is counted, not written). Else it is the arena. */
static kfda_status load_impl(kfda_model *m, const uint8_t *fbuf, size_t size, uint8_t *mem,
                             size_t mem_size, int plan_only, int num_threads) {
  kfda_fb fb;
  kfda_fb_table root, sg;
  kfda_fb_vec codes, subgraphs, buffers, tensors, inputs, outputs, opsv;
  uint32_t i;
  size_t tables, persist_bytes, work_at;
  kfda_persist_alloc persist;
  kfda_workspace work;
  kfda_status st;
  size_t pool_at = 0;
  if (m == NULL) return KFDA_ERR_ARG;
  memset(m, 0, sizeof *m);
  if (num_threads < 1 || num_threads > kfda_threads_supported())
    return kfda_fail(
        m, KFDA_ERR_ARG, -1,
        kfda_threads_supported() > 1
            ? "num_threads must be 1 to KFDA_MAX_THREADS"
            : "num_threads must be 1: this build is single-threaded (no KFDA_THREADS)");
  m->num_threads = num_threads;
  if (fbuf == NULL) return kfda_fail(m, KFDA_ERR_ARG, -1, "flatbuffer is NULL");
  if (mem != NULL && ((uintptr_t)mem) % KFDA_ARENA_ALIGN != 0)
    return kfda_fail(
        m, KFDA_ERR_ARG, -1,
        plan_only ? "workspace must be 16-byte aligned" : "arena must be 16-byte aligned");
  if (mem == NULL) mem_size = 0;
  if (((uintptr_t)fbuf) % 4 != 0)
    return kfda_fail(m, KFDA_ERR_ARG, -1, "flatbuffer must be 16-byte aligned");
  m->fb = fbuf;
  m->fb_size = size;
  fb.buf = fbuf;
  fb.size = size;
  if (kfda_fb_root(&fb, &root) < 0) return kfda_fail(m, KFDA_ERR_MODEL, -1, "not a flatbuffer");
  if (size >= 8 && memcmp(fbuf + 4, "TFL3", 4) != 0)
    return kfda_fail(m, KFDA_ERR_MODEL, -1, "not a TFLite model (no TFL3 identifier)");
  if (kfda_fb_vector(&fb, &root, 1, 4, &codes) < 0 ||
      kfda_fb_vector(&fb, &root, 2, 4, &subgraphs) < 0 ||
      kfda_fb_vector(&fb, &root, 4, 4, &buffers) < 0)
    return kfda_fail(m, KFDA_ERR_MODEL, -1, "malformed model table");
  if (subgraphs.len < 1) return kfda_fail(m, KFDA_ERR_MODEL, -1, "no subgraph");
  if (kfda_fb_vec_table(&fb, &subgraphs, 0, &sg) < 0 ||
      kfda_fb_vector(&fb, &sg, 0, 4, &tensors) < 0 || kfda_fb_vector(&fb, &sg, 1, 4, &inputs) < 0 ||
      kfda_fb_vector(&fb, &sg, 2, 4, &outputs) < 0 || kfda_fb_vector(&fb, &sg, 3, 4, &opsv) < 0)
    return kfda_fail(m, KFDA_ERR_MODEL, -1, "malformed subgraph");
  if (tensors.len > KFDA_MAX_TENSORS) return kfda_fail(m, KFDA_ERR_LIMIT, -1, "too many tensors");
  if (opsv.len > KFDA_MAX_OPS) return kfda_fail(m, KFDA_ERR_LIMIT, -1, "too many ops");
  if (inputs.len > KFDA_MAX_IO || outputs.len > KFDA_MAX_IO)
    return kfda_fail(m, KFDA_ERR_LIMIT, -1, "too many model inputs/outputs");
  if (inputs.len < 1 || outputs.len < 1)
    return kfda_fail(m, KFDA_ERR_MODEL, -1, "model has no input or output");
  /* (also: no zero-size tables, whose memset would take a NULL workspace) */
  if (tensors.len < 1) return kfda_fail(m, KFDA_ERR_MODEL, -1, "model has no tensors");

  /* the tables, sized to the model, at the start of the arena (or workspace) */
  tables = tables_bytes(tensors.len, opsv.len);
  m->workspace_bytes = workspace_bytes(tensors.len, opsv.len);
  if (mem_size < tables || (plan_only && mem_size < tables + m->workspace_bytes)) {
    m->arena_bytes = tables + m->workspace_bytes; /* plan: exact; load: a lower bound */
    return kfda_fail(m, KFDA_ERR_ARENA_TOO_SMALL, -1,
                     plan_only ? "plan workspace too small (see kfda_model_plan)"
                               : "arena too small (see kfda_model_plan)");
  }
  memset(mem, 0, tables);
  m->tensors = (kfda_tensor *)(void *)mem;
  m->ops = (kfda_op *)(void *)(mem + align16(tensors.len * sizeof(kfda_tensor)));

  m->n_tensors = (int32_t)tensors.len;
  for (i = 0; i < tensors.len; ++i) {
    kfda_fb_table tt;
    int r;
    kfda_tensor *t = &m->tensors[i];
    if (kfda_fb_vec_table(&fb, &tensors, i, &tt) < 0)
      return kfda_fail(m, KFDA_ERR_MODEL, -1, "malformed tensor");
    r = parse_tensor(m, &fb, &buffers, &tt, t);
    if (r == -2) return kfda_fail(m, KFDA_ERR_LIMIT, -1, "tensor rank above KFDA_MAX_DIMS");
    if (r == -5) return kfda_fail(m, KFDA_ERR_UNSUPPORTED, -1, "unsupported tensor type");
    if (r == -7)
      return kfda_fail(m, KFDA_ERR_MODEL, -1, "misaligned constant (align the flatbuffer to 16)");
    if (r < 0)
      return kfda_fail(m, KFDA_ERR_MODEL, -1, "malformed tensor (shape/buffer/quantization)");
    t->is_var = !t->is_const;
    if (t->is_const) m->weight_bytes += t->bytes;
  }
  m->n_inputs = (int32_t)inputs.len;
  m->n_outputs = (int32_t)outputs.len;
  for (i = 0; i < inputs.len + outputs.len; ++i) {
    int in = i < inputs.len;
    int32_t t =
        (int32_t)kfda_rd_u32(fbuf + (in ? inputs.pos + 4 * i : outputs.pos + 4 * (i - inputs.len)));
    if (t < 0 || t >= m->n_tensors || m->tensors[t].is_const)
      return kfda_fail(m, KFDA_ERR_MODEL, -1, "bad model input/output tensor");
    if (in)
      m->inputs[i] = t;
    else
      m->outputs[i - inputs.len] = t;
  }
  m->n_ops = (int32_t)opsv.len;
  persist.arena = plan_only ? NULL : mem;
  persist.capacity = plan_only ? 0 : mem_size;
  persist.used = tables;
  st = parse_ops(m, &fb, &codes, &opsv, &persist);
  if (st != KFDA_OK) return st;
  if (kfda_thread_pool_bytes(num_threads) > 0) { /* the pool's state, after the params */
    pool_at = persist.used;
    persist.used = add_sizes(persist.used, align16(kfda_thread_pool_bytes(num_threads)));
    if (persist.used > 0x7fffffffu) return kfda_fail(m, KFDA_ERR_LIMIT, -1, "arena above 2 GiB");
  }
  persist_bytes = persist.used;

  /* the planner's workspace: where the planned part will be (plan: after the tables) */
  if (plan_only)
    work_at = tables;
  else if (add_sizes(persist_bytes, m->workspace_bytes) <= mem_size)
    work_at = persist_bytes;
  else if (tables + m->workspace_bytes <= mem_size)
    work_at = tables; /* persistent data did not fit: plan anyway to report the need */
  else {
    m->arena_bytes = add_sizes(persist_bytes, m->workspace_bytes); /* a lower bound */
    return kfda_fail(m, KFDA_ERR_ARENA_TOO_SMALL, -1, "arena too small (see kfda_model_plan)");
  }
  workspace_at(&work, mem + work_at, tensors.len, opsv.len);
  st = plan_lifetimes(m, work.life);
  if (st != KFDA_OK) return st;
  st = plan_memory(m, &work, persist_bytes);
  if (st != KFDA_OK) return st;
  if (plan_only) return KFDA_OK;
  if (mem_size < m->arena_bytes)
    return kfda_fail(m, KFDA_ERR_ARENA_TOO_SMALL, -1,
                     "arena too small (see kfda_model_arena_bytes)");
  m->arena = mem;
  m->arena_size = mem_size;
  if (pool_at != 0) {
    st = kfda_thread_pool_start(m, (kfda_thread_pool *)(void *)(mem + pool_at));
    if (st != KFDA_OK) return st;
  }
  m->loaded = 1;
  return KFDA_OK;
}

kfda_status kfda_model_plan(kfda_model *m, const uint8_t *flatbuffer, size_t size,
                            uint8_t *workspace, size_t workspace_size, size_t *needed) {
  return kfda_model_plan_threads(m, flatbuffer, size, workspace, workspace_size, 1, needed);
}

kfda_status kfda_model_plan_threads(kfda_model *m, const uint8_t *flatbuffer, size_t size,
                                    uint8_t *workspace, size_t workspace_size, int num_threads,
                                    size_t *needed) {
  kfda_status st = load_impl(m, flatbuffer, size, workspace, workspace_size, 1, num_threads);
  if (needed)
    *needed = m != NULL && (st == KFDA_OK || st == KFDA_ERR_ARENA_TOO_SMALL) ? m->arena_bytes : 0;
  return st;
}

kfda_status kfda_model_load(kfda_model *m, const uint8_t *flatbuffer, size_t size, uint8_t *arena,
                            size_t arena_size) {
  return load_impl(m, flatbuffer, size, arena, arena_size, 0, 1);
}

kfda_status kfda_model_load_threads(kfda_model *m, const uint8_t *flatbuffer, size_t size,
                                    uint8_t *arena, size_t arena_size, int num_threads) {
  return load_impl(m, flatbuffer, size, arena, arena_size, 0, num_threads);
}

int kfda_max_threads(void) { return kfda_threads_supported(); }
int kfda_model_num_threads(const kfda_model *m) { return m ? m->num_threads : 0; }

void kfda_model_release(kfda_model *m) {
  if (m == NULL) return;
  kfda_thread_pool_stop(m);
  m->loaded = 0;
}

size_t kfda_model_arena_bytes(const kfda_model *m) { return m ? m->arena_bytes : 0; }
size_t kfda_model_weight_bytes(const kfda_model *m) { return m ? m->weight_bytes : 0; }
size_t kfda_model_persistent_bytes(const kfda_model *m) { return m ? m->persist_bytes : 0; }
size_t kfda_model_planned_bytes(const kfda_model *m) { return m ? m->planned_bytes : 0; }
size_t kfda_model_workspace_bytes(const kfda_model *m) { return m ? m->workspace_bytes : 0; }

/* ---- invoke -------------------------------------------------------------- */
kfda_status kfda_model_invoke(kfda_model *m) {
  int oi;
  if (m == NULL) return KFDA_ERR_ARG;
  if (!m->loaded) return KFDA_ERR_STATE;
  for (oi = 0; oi < m->n_ops; ++oi) {
    const kfda_op *op = &m->ops[oi];
#if defined(KFDA_PROFILE_OPS)
    const uint64_t t0 = kfda_counter_ticks();
    registration_of(op)->eval(m, op, m->arena + op->params_offset);
    printf("kfda: op %d %s %llu\n", oi, kfda_op_table[op->kind].name,
           (unsigned long long)kfda_counter_instructions(kfda_counter_ticks() - t0));
#else
    registration_of(op)->eval(m, op, m->arena + op->params_offset);
#endif
  }
  return KFDA_OK;
}

/* ---- accessors ----------------------------------------------------------- */
int kfda_model_num_inputs(const kfda_model *m) { return m && m->loaded ? m->n_inputs : 0; }
int kfda_model_num_outputs(const kfda_model *m) { return m && m->loaded ? m->n_outputs : 0; }
int kfda_model_num_ops(const kfda_model *m) { return m ? m->n_ops : 0; }

const char *kfda_model_op_name(const kfda_model *m, int i) {
  if (!m || i < 0 || i >= m->n_ops || m->ops[i].kind >= kfda_op_table_size) return "";
  return kfda_op_table[m->ops[i].kind].name;
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
  return kfda_tensor_data(m, m->inputs[i]);
}

const void *kfda_model_output(const kfda_model *m, int i, kfda_tensor_info *info) {
  if (!m || !m->loaded || i < 0 || i >= m->n_outputs) return NULL;
  fill_info(&m->tensors[m->outputs[i]], info);
  return kfda_tensor_data(m, m->outputs[i]);
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
