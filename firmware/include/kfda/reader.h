/*
 * reader.h - bounds-checked readers for FlatBuffers (the TFLite model) and
 * FlexBuffers (LCE custom options). No library, no allocation.
 *
 * Every function validates each offset, vtable, vector length and string
 * before use and reads multi-byte values byte by byte (little endian), so a
 * malformed or hostile buffer can only produce an error, never an
 * out-of-bounds or unaligned access.
 *
 * Return convention for "get" functions: 1 = present, 0 = absent (default
 * applied), -1 = malformed.
 */
#ifndef KFDA_READER_H_
#define KFDA_READER_H_

#include <stddef.h>
#include <stdint.h>

typedef struct {
  const uint8_t *buf;
  size_t size;
} kfda_fb;

typedef struct {
  uint32_t pos;      /* table start */
  uint32_t vt;       /* vtable start */
  uint16_t vt_size;  /* bytes of the vtable */
  uint16_t tbl_size; /* bytes of the table's inline data */
} kfda_fb_table;

typedef struct {
  uint32_t pos; /* first element */
  uint32_t len; /* number of elements */
} kfda_fb_vec;

uint32_t kfda_rd_u32(const uint8_t *p);
uint16_t kfda_rd_u16(const uint8_t *p);
float kfda_rd_f32(const uint8_t *p);
int64_t kfda_rd_i64(const uint8_t *p);

/* Root table of the buffer. Returns 0 on success, -1 if malformed. */
int kfda_fb_root(const kfda_fb *fb, kfda_fb_table *t);
/* Table at absolute position pos. 0 ok, -1 malformed. */
int kfda_fb_table_at(const kfda_fb *fb, uint32_t pos, kfda_fb_table *t);

/* Scalars (field id = index in the schema). */
int kfda_fb_u8(const kfda_fb *fb, const kfda_fb_table *t, int id, uint8_t def, uint8_t *out);
int kfda_fb_i32(const kfda_fb *fb, const kfda_fb_table *t, int id, int32_t def, int32_t *out);
int kfda_fb_u32(const kfda_fb *fb, const kfda_fb_table *t, int id, uint32_t def, uint32_t *out);
int kfda_fb_u64(const kfda_fb *fb, const kfda_fb_table *t, int id, uint64_t def, uint64_t *out);
int kfda_fb_f32(const kfda_fb *fb, const kfda_fb_table *t, int id, float def, float *out);
/* Sub-table field. */
int kfda_fb_table_field(const kfda_fb *fb, const kfda_fb_table *t, int id, kfda_fb_table *out);
/* Vector field of elem_size-byte elements (elements bounds-checked). */
int kfda_fb_vector(const kfda_fb *fb, const kfda_fb_table *t, int id, uint32_t elem_size,
                   kfda_fb_vec *out);
/* Element i of a vector of tables. 0 ok, -1 malformed / out of range. */
int kfda_fb_vec_table(const kfda_fb *fb, const kfda_fb_vec *v, uint32_t i, kfda_fb_table *out);
/* String field: pointer into the buffer (not necessarily NUL-terminated
 * within len; use len). */
int kfda_fb_string(const kfda_fb *fb, const kfda_fb_table *t, int id, const char **s,
                   uint32_t *len);

/* ---- FlexBuffers ------------------------------------------------------- */
typedef struct {
  const uint8_t *buf;
  size_t size;
  uint32_t pos;         /* where the value (or its offset) is stored */
  uint8_t parent_width; /* byte width of the slot at pos */
  uint8_t type;         /* flexbuffer type */
  uint8_t width;        /* own byte width (from the packed type) */
} kfda_flex;

enum {
  KFDA_FLEX_NULL = 0,
  KFDA_FLEX_INT = 1,
  KFDA_FLEX_UINT = 2,
  KFDA_FLEX_FLOAT = 3,
  KFDA_FLEX_KEY = 4,
  KFDA_FLEX_STRING = 5,
  KFDA_FLEX_INDIRECT_INT = 6,
  KFDA_FLEX_INDIRECT_UINT = 7,
  KFDA_FLEX_INDIRECT_FLOAT = 8,
  KFDA_FLEX_MAP = 9,
  KFDA_FLEX_VECTOR = 10,
  KFDA_FLEX_VECTOR_INT = 11,
  KFDA_FLEX_VECTOR_UINT = 12,
  KFDA_FLEX_VECTOR_FLOAT = 13,
  KFDA_FLEX_VECTOR_KEY = 14,
  KFDA_FLEX_BOOL = 26,
  KFDA_FLEX_VECTOR_BOOL = 36
};

/* Root value. 0 ok, -1 malformed. */
int kfda_flex_root(const uint8_t *buf, size_t size, kfda_flex *out);
/* Look a key up in a map: 1 found, 0 not found, -1 malformed/not a map. */
int kfda_flex_map_get(const kfda_flex *map, const char *key, kfda_flex *out);
/* Integer value (INT, UINT, BOOL, INDIRECT_*, FLOAT truncated). 0/-1. */
int kfda_flex_int(const kfda_flex *v, int64_t *out);
/* String (STRING or KEY). 0/-1. */
int kfda_flex_str(const kfda_flex *v, const char **s, uint32_t *len);

#endif /* KFDA_READER_H_ */
