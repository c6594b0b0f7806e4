/* flexbuffer.c - bounds-checked FlexBuffers reader for op custom options. */
#include <string.h>

#include "kfda/reader.h"

static int fx_in(const kfda_flex *f, uint64_t pos, uint64_t n) {
  return pos <= f->size && n <= f->size - pos;
}

static int width_ok(unsigned w) { return w == 1 || w == 2 || w == 4 || w == 8; }

static uint64_t rd_uint(const uint8_t *p, unsigned w) {
  uint64_t v = 0;
  unsigned i;
  for (i = 0; i < w; ++i) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static int64_t rd_int(const uint8_t *p, unsigned w) {
  uint64_t u = rd_uint(p, w);
  if (w < 8 && (u >> (8 * w - 1)) & 1) u |= ~0ull << (8 * w);
  return (int64_t)u;
}

static double rd_float(const uint8_t *p, unsigned w) {
  if (w == 4) return (double)kfda_rd_f32(p);
  if (w == 8) {
    uint64_t u = rd_uint(p, 8);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
  }
  return 0.0;
}

/* Target of an offset-typed value. 0 ok, -1 malformed. */
static int indirect(const kfda_flex *v, uint32_t *target) {
  uint64_t off;
  if (!fx_in(v, v->pos, v->parent_width)) return -1;
  off = rd_uint(v->buf + v->pos, v->parent_width);
  if (off > v->pos) return -1;
  *target = (uint32_t)(v->pos - off);
  return 0;
}

int kfda_flex_root(const uint8_t *buf, size_t size, kfda_flex *out) {
  unsigned w;
  uint8_t packed;
  if (buf == NULL || size < 3 || size > 0x7fffffffu) return -1;
  w = buf[size - 1];
  packed = buf[size - 2];
  if (!width_ok(w) || size < 2 + (size_t)w) return -1;
  out->buf = buf;
  out->size = size;
  out->pos = (uint32_t)(size - 2 - w);
  out->parent_width = (uint8_t)w;
  out->type = packed >> 2;
  out->width = (uint8_t)(1u << (packed & 3));
  return 0;
}

int kfda_flex_str(const kfda_flex *v, const char **s, uint32_t *len) {
  uint32_t t;
  if (v->type != KFDA_FLEX_STRING && v->type != KFDA_FLEX_KEY) return -1;
  if (indirect(v, &t) != 0) return -1;
  if (v->type == KFDA_FLEX_STRING) {
    uint64_t n;
    if (t < v->width || !fx_in(v, t - v->width, v->width)) return -1;
    n = rd_uint(v->buf + t - v->width, v->width);
    if (!fx_in(v, t, n)) return -1;
    *s = (const char *)v->buf + t;
    *len = (uint32_t)n;
    return 0;
  } else {
    const uint8_t *z = memchr(v->buf + t, 0, v->size - t);
    if (z == NULL) return -1;
    *s = (const char *)v->buf + t;
    *len = (uint32_t)(z - (v->buf + t));
    return 0;
  }
}

int kfda_flex_int(const kfda_flex *v, int64_t *out) {
  switch (v->type) {
    case KFDA_FLEX_INT:
    case KFDA_FLEX_UINT:
    case KFDA_FLEX_BOOL:
    case KFDA_FLEX_FLOAT:
      if (!fx_in(v, v->pos, v->parent_width)) return -1;
      if (v->type == KFDA_FLEX_FLOAT)
        *out = (int64_t)rd_float(v->buf + v->pos, v->parent_width);
      else if (v->type == KFDA_FLEX_INT)
        *out = rd_int(v->buf + v->pos, v->parent_width);
      else
        *out = (int64_t)rd_uint(v->buf + v->pos, v->parent_width);
      return 0;
    case KFDA_FLEX_INDIRECT_INT:
    case KFDA_FLEX_INDIRECT_UINT: {
      uint32_t t;
      if (indirect(v, &t) != 0 || !fx_in(v, t, v->width)) return -1;
      *out = v->type == KFDA_FLEX_INDIRECT_INT ? rd_int(v->buf + t, v->width)
                                               : (int64_t)rd_uint(v->buf + t, v->width);
      return 0;
    }
    default: return -1;
  }
}

int kfda_flex_map_get(const kfda_flex *map, const char *key, kfda_flex *out) {
  uint32_t t, keys, i;
  uint64_t n, koff, kw, kpos;
  unsigned w = map->width;
  size_t klen = strlen(key);
  if (map->type != KFDA_FLEX_MAP || !width_ok(w)) return -1;
  if (indirect(map, &t) != 0) return -1;
  if (t < 3u * w) return -1;
  n = rd_uint(map->buf + t - w, w);
  kw = rd_uint(map->buf + t - 2 * w, w);
  koff = rd_uint(map->buf + t - 3 * w, w);
  if (!width_ok((unsigned)kw) || koff > t - 3u * w) return -1;
  /* values and their type bytes */
  if (n > map->size || !fx_in(map, t, n * w + n)) return -1;
  keys = (uint32_t)(t - 3u * w - koff);
  if (keys < kw || !fx_in(map, keys - kw, kw)) return -1;
  if (rd_uint(map->buf + keys - kw, (unsigned)kw) != n) return -1;
  if (!fx_in(map, keys, n * kw)) return -1;
  for (i = 0; i < (uint32_t)n; ++i) {
    const uint8_t *z;
    kpos = keys + (uint64_t)i * kw;
    koff = rd_uint(map->buf + kpos, (unsigned)kw);
    if (koff > kpos) return -1;
    kpos -= koff;
    z = memchr(map->buf + kpos, 0, map->size - kpos);
    if (z == NULL) return -1;
    if ((size_t)(z - (map->buf + kpos)) == klen && memcmp(map->buf + kpos, key, klen) == 0) {
      uint8_t packed = map->buf[t + n * w + i];
      out->buf = map->buf;
      out->size = map->size;
      out->pos = t + i * w;
      out->parent_width = (uint8_t)w;
      out->type = packed >> 2;
      out->width = (uint8_t)(1u << (packed & 3));
      return 1;
    }
  }
  return 0;
}
