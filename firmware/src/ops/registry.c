/* registry.c - the op resolver: kfda_op_table, built from op_list.h, and the names
 * of the builtins the runtime knows but does not run (for error messages). */
#include <string.h>

#include "op_util.h"

/* KFDA_LINKED(NAME): 1 when the build links op NAME, else 0. With KFDA_OPS_SELECTED,
 * only ops given as -DKFDA_OP_<NAME> (defined as 1, or empty): the Linux kernel's
 * IS_ENABLED trick turns "is KFDA_OP_<NAME> defined as 1" into a 1 or 0 token. */
#if defined(KFDA_OPS_SELECTED)
#define KFDA_PLACEHOLDER_1                 0,
#define KFDA_PLACEHOLDER_                  0,
#define KFDA_SECOND_ARG(ignored, val, ...) val
#define KFDA_IS_SET(x)                     KFDA_IS_SET_(x)
#define KFDA_IS_SET_(val)                  KFDA_IS_SET__(KFDA_PLACEHOLDER_##val)
#define KFDA_IS_SET__(arg_or_junk)         KFDA_SECOND_ARG(arg_or_junk 1, 0, ~)
#define KFDA_LINKED(NAME)                  KFDA_IS_SET(KFDA_OP_##NAME)
#else
#define KFDA_LINKED(NAME) 1
#endif
#define KFDA_REGISTRATION(linked, symbol)  KFDA_REGISTRATION_(linked, symbol)
#define KFDA_REGISTRATION_(linked, symbol) KFDA_REGISTRATION_##linked(symbol)
#define KFDA_REGISTRATION_1(symbol)        &kfda_op_##symbol
#define KFDA_REGISTRATION_0(symbol)        NULL

#define KFDA_OP(NAME, symbol, code) extern const kfda_op_registration kfda_op_##symbol;
#include "op_list.h"
#undef KFDA_OP

const kfda_op_entry kfda_op_table[] = {
#define KFDA_OP(NAME, symbol, code) {#NAME, code, KFDA_REGISTRATION(KFDA_LINKED(NAME), symbol)},
#include "op_list.h"
#undef KFDA_OP
};
const int kfda_op_table_size = (int)(sizeof kfda_op_table / sizeof kfda_op_table[0]);

int kfda_op_lookup(int32_t builtin_code, const char *custom, uint32_t custom_len) {
  int i;
  for (i = 0; i < kfda_op_table_size; ++i) {
    const kfda_op_entry *e = &kfda_op_table[i];
    if (e->builtin_code != builtin_code) continue;
    if (builtin_code != KFDA_BUILTIN_CUSTOM ||
        (strlen(e->name) == custom_len && memcmp(e->name, custom, custom_len) == 0))
      return i;
  }
  return -1;
}

/* Builtins we do not run, for error messages. */
static const struct {
  int32_t code;
  const char *name;
} other_builtins[] = {{5, "DEPTH_TO_SPACE"},
                      {8, "FLOOR"},
                      {23, "RESIZE_BILINEAR"},
                      {32, "CUSTOM"},
                      {36, "GATHER"},
                      {37, "BATCH_TO_SPACE_ND"},
                      {38, "SPACE_TO_BATCH_ND"},
                      {42, "DIV"},
                      {47, "EXP"},
                      {50, "LOG_SOFTMAX"},
                      {53, "CAST"},
                      {60, "PADV2"},
                      {65, "SLICE"},
                      {74, "SUM"},
                      {77, "SHAPE"},
                      {80, "REDUCE_MAX"},
                      {83, "PACK"},
                      {88, "UNPACK"},
                      {97, "RESIZE_NEAREST_NEIGHBOR"},
                      {98, "LEAKY_RELU"},
                      {102, "SPLIT_V"}};

const char *kfda_builtin_name(int32_t builtin_code) {
  size_t k;
  const int i = builtin_code == KFDA_BUILTIN_CUSTOM ? -1 : kfda_op_lookup(builtin_code, NULL, 0);
  if (i >= 0) return kfda_op_table[i].name;
  for (k = 0; k < sizeof other_builtins / sizeof other_builtins[0]; ++k)
    if (other_builtins[k].code == builtin_code) return other_builtins[k].name;
  return NULL;
}

const char *kfda_linked_op_name(int i) {
  int k;
  for (k = 0; k < kfda_op_table_size; ++k)
    if (kfda_op_table[k].registration != NULL && i-- == 0) return kfda_op_table[k].name;
  return NULL;
}
