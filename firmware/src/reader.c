/* reader.c - bounds-checked FlatBuffers reader (see reader.h). */
#include "kfda/reader.h"

#include <string.h>

uint32_t kfda_rd_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
uint16_t kfda_rd_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
float kfda_rd_f32(const uint8_t *p) {
  uint32_t u = kfda_rd_u32(p);
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
int64_t kfda_rd_i64(const uint8_t *p) {
  uint64_t u = (uint64_t)kfda_rd_u32(p) | ((uint64_t)kfda_rd_u32(p + 4) << 32);
  return (int64_t)u;
}

/* [pos, pos + n) inside the buffer? (overflow-safe) */
static int in_bounds(const kfda_fb *fb, uint64_t pos, uint64_t n) {
  return pos <= fb->size && n <= fb->size - pos;
}

int kfda_fb_table_at(const kfda_fb *fb, uint32_t pos, kfda_fb_table *t) {
  int64_t vt;
  uint16_t vt_size, tbl_size;
  if (!in_bounds(fb, pos, 4)) return -1;
  vt = (int64_t)pos - (int64_t)(int32_t)kfda_rd_u32(fb->buf + pos);
  if (vt < 0 || !in_bounds(fb, (uint64_t)vt, 4)) return -1;
  vt_size = kfda_rd_u16(fb->buf + vt);
  tbl_size = kfda_rd_u16(fb->buf + vt + 2);
  if (vt_size < 4 || (vt_size & 1) || !in_bounds(fb, (uint64_t)vt, vt_size)) return -1;
  if (tbl_size < 4 || !in_bounds(fb, pos, tbl_size)) return -1;
  t->pos = pos;
  t->vt = (uint32_t)vt;
  t->vt_size = vt_size;
  t->tbl_size = tbl_size;
  return 0;
}

int kfda_fb_root(const kfda_fb *fb, kfda_fb_table *t) {
  if (fb == NULL || fb->buf == NULL || fb->size < 8 || fb->size > 0x7fffffffu) return -1;
  return kfda_fb_table_at(fb, kfda_rd_u32(fb->buf), t);
}

/* Absolute position of field id with the given inline width; 0 if absent,
 * (uint32_t)-1 if malformed. */
static uint32_t field_pos(const kfda_fb *fb, const kfda_fb_table *t, int id, uint32_t width) {
  uint32_t slot, off;
  (void)fb;
  if (id < 0) return (uint32_t)-1;
  slot = 4u + 2u * (uint32_t)id;
  if (slot + 2 > t->vt_size) return 0; /* beyond vtable: absent */
  off = kfda_rd_u16(fb->buf + t->vt + slot);
  if (off == 0) return 0;
  if (off < 4 || (uint64_t)off + width > t->tbl_size) return (uint32_t)-1;
  return t->pos + off;
}

#define SCALAR_GETTER(name, type, width, expr)                                       \
  int name(const kfda_fb *fb, const kfda_fb_table *t, int id, type def, type *out) { \
    uint32_t p = field_pos(fb, t, id, width);                                        \
    if (p == (uint32_t)-1) return -1;                                                \
    if (p == 0) {                                                                    \
      *out = def;                                                                    \
      return 0;                                                                      \
    }                                                                                \
    {                                                                                \
      const uint8_t *b = fb->buf + p;                                                \
      *out = (expr);                                                                 \
    }                                                                                \
    return 1;                                                                        \
  }

SCALAR_GETTER(kfda_fb_u8, uint8_t, 1, b[0])
SCALAR_GETTER(kfda_fb_i32, int32_t, 4, (int32_t)kfda_rd_u32(b))
SCALAR_GETTER(kfda_fb_u32, uint32_t, 4, kfda_rd_u32(b))
SCALAR_GETTER(kfda_fb_u64, uint64_t, 8, (uint64_t)kfda_rd_i64(b))
SCALAR_GETTER(kfda_fb_f32, float, 4, kfda_rd_f32(b))

/* Follow the uoffset stored in field id. 1/0/-1, *target set on 1. */
static int follow(const kfda_fb *fb, const kfda_fb_table *t, int id, uint32_t *target) {
  uint64_t tgt;
  uint32_t p = field_pos(fb, t, id, 4);
  if (p == (uint32_t)-1) return -1;
  if (p == 0) return 0;
  tgt = (uint64_t)p + kfda_rd_u32(fb->buf + p);
  if (tgt >= fb->size) return -1;
  *target = (uint32_t)tgt;
  return 1;
}

int kfda_fb_table_field(const kfda_fb *fb, const kfda_fb_table *t, int id, kfda_fb_table *out) {
  uint32_t tgt;
  int r = follow(fb, t, id, &tgt);
  if (r <= 0) return r;
  return kfda_fb_table_at(fb, tgt, out) == 0 ? 1 : -1;
}

int kfda_fb_vector(const kfda_fb *fb, const kfda_fb_table *t, int id, uint32_t elem_size,
                   kfda_fb_vec *out) {
  uint32_t tgt, len;
  int r = follow(fb, t, id, &tgt);
  out->pos = 0;
  out->len = 0;
  if (r <= 0) return r;
  if (!in_bounds(fb, tgt, 4)) return -1;
  len = kfda_rd_u32(fb->buf + tgt);
  if (!in_bounds(fb, (uint64_t)tgt + 4, (uint64_t)len * elem_size)) return -1;
  out->pos = tgt + 4;
  out->len = len;
  return 1;
}

int kfda_fb_vec_table(const kfda_fb *fb, const kfda_fb_vec *v, uint32_t i, kfda_fb_table *out) {
  uint64_t p, tgt;
  if (i >= v->len) return -1;
  p = (uint64_t)v->pos + 4ull * i;
  if (!in_bounds(fb, p, 4)) return -1;
  tgt = p + kfda_rd_u32(fb->buf + p);
  if (tgt >= fb->size) return -1;
  return kfda_fb_table_at(fb, (uint32_t)tgt, out);
}

int kfda_fb_string(const kfda_fb *fb, const kfda_fb_table *t, int id, const char **s,
                   uint32_t *len) {
  kfda_fb_vec v;
  int r = kfda_fb_vector(fb, t, id, 1, &v);
  if (r <= 0) {
    *s = "";
    *len = 0;
    return r;
  }
  *s = (const char *)fb->buf + v.pos;
  *len = v.len;
  return 1;
}
