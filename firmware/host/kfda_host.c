/*
 * kfda_host.c - native command-line driver of the runtime (tests, tooling).
 *
 *   kfda_host plan MODEL.tflite
 *       prints {"arena_bytes":..,"planned_bytes":..,"persist_bytes":..,
 *               "workspace_bytes":..,"model_struct_bytes":..,
 *               "weight_bytes":..,"ops":{"NAME":count,..},
 *               "inputs":[{"type":..,"shape":[..],"bytes":..}],"outputs":[..]}
 *   kfda_host run [--threads T] MODEL.tflite IN.bin OUT.bin N
 *       IN.bin holds N samples, each the model inputs' raw little-endian data
 *       one after the other; OUT.bin receives N samples of the outputs.
 *       --threads T (plan too): plan, load and run with T threads (builds with
 *       KFDA_THREADS; the outputs are the same for any T).
 *   kfda_host load MODEL.tflite ARENA_BYTES
 *       loads with an arena of exactly ARENA_BYTES; prints the status name.
 *   kfda_host check FILE...
 *       for each file: plan, and if that succeeds load (arena <= 64 MiB),
 *       zero the inputs and invoke; prints one status line per file (fuzzing).
 *   kfda_host ops
 *       prints the TFLite name of each op this build runs, one per line.
 *   kfda_host planbufs FILE
 *       runs the planner on buffers given as lines "size first last";
 *       prints {"total":..,"offsets":[..],"check":0} (check: overlap checker).
 *
 * Errors: one line on stderr ("kfda_host: <status>: <message>"), exit 1;
 * usage errors exit 2. The host may use malloc; the library never does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kfda/kfda.h"

static kfda_model model;
static int num_threads = 1; /* --threads */

/* kfda_model_plan with a workspace of the size it asks for (malloc'd: the host may).
 * *work is freed by the caller (the model's tables live in it). */
static kfda_status plan_model(const uint8_t *fb, size_t size, size_t *need, void **work) {
  void *raw;
  kfda_status st = kfda_model_plan_threads(&model, fb, size, NULL, 0, num_threads, need);
  *work = NULL;
  if (st != KFDA_ERR_ARENA_TOO_SMALL) return st;
  raw = malloc(*need + 16);
  if (!raw) return KFDA_ERR_ARENA_TOO_SMALL;
  *work = raw;
  return kfda_model_plan_threads(&model, fb, size,
                                 (uint8_t *)raw + (16 - ((uintptr_t)raw % 16)) % 16, *need,
                                 num_threads, need);
}

static int die(const char *what, const char *detail) {
  fprintf(stderr, "kfda_host: %s: %s\n", what, detail);
  return 1;
}

/* Read a whole file into a 16-byte aligned buffer. */
static uint8_t *read_file(const char *path, size_t *size, void **to_free) {
  FILE *f = fopen(path, "rb");
  long n;
  uint8_t *raw, *buf;
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return NULL;
  }
  raw = malloc((size_t)n + 16);
  if (!raw) {
    fclose(f);
    return NULL;
  }
  buf = raw + (16 - ((uintptr_t)raw % 16)) % 16;
  if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    fclose(f);
    free(raw);
    return NULL;
  }
  fclose(f);
  *size = (size_t)n;
  *to_free = raw;
  return buf;
}

static const char *type_name(int t) {
  switch (t) {
    case KFDA_FLOAT32: return "float32";
    case KFDA_INT32: return "int32";
    case KFDA_UINT8: return "uint8";
    case KFDA_INT64: return "int64";
    case KFDA_BOOL: return "bool";
    case KFDA_INT16: return "int16";
    case KFDA_INT8: return "int8";
  }
  return "unknown";
}

static void print_tensor_list(const int32_t *idx, int n) {
  int i, d;
  printf("[");
  for (i = 0; i < n; ++i) {
    const kfda_tensor *t = &model.tensors[idx[i]];
    printf("%s{\"type\":\"%s\",\"shape\":[", i ? "," : "", type_name(t->type));
    for (d = 0; d < t->ndim; ++d) printf("%s%d", d ? "," : "", (int)t->dims[d]);
    printf("],\"bytes\":%u,\"scale\":%.9g,\"zero_point\":%d}", (unsigned)t->bytes, (double)t->scale,
           (int)t->zero_point);
  }
  printf("]");
}

static int cmd_plan(const char *path) {
  size_t size, need;
  void *raw, *work;
  uint8_t *fb = read_file(path, &size, &raw);
  kfda_status st;
  int i, j, first = 1;
  if (!fb) return die("cannot read", path);
  st = plan_model(fb, size, &need, &work);
  if (st != KFDA_OK) {
    fprintf(stderr, "kfda_host: %s: %s\n", kfda_status_string(st), kfda_model_error(&model));
    free(raw);
    free(work);
    return 1;
  }
  printf(
      "{\"arena_bytes\":%lu,\"planned_bytes\":%lu,\"persist_bytes\":%lu,"
      "\"workspace_bytes\":%lu,\"model_struct_bytes\":%lu,\"weight_bytes\":%lu,\"ops\":{",
      (unsigned long)need, (unsigned long)kfda_model_planned_bytes(&model),
      (unsigned long)kfda_model_persistent_bytes(&model),
      (unsigned long)kfda_model_workspace_bytes(&model), (unsigned long)sizeof(kfda_model),
      (unsigned long)kfda_model_weight_bytes(&model));
  for (i = 0; i < kfda_model_num_ops(&model); ++i) {
    const char *name = kfda_model_op_name(&model, i);
    int count = 0, seen = 0;
    for (j = 0; j < i; ++j)
      if (strcmp(kfda_model_op_name(&model, j), name) == 0) seen = 1;
    if (seen) continue;
    for (j = i; j < kfda_model_num_ops(&model); ++j)
      if (strcmp(kfda_model_op_name(&model, j), name) == 0) ++count;
    printf("%s\"%s\":%d", first ? "" : ",", name, count);
    first = 0;
  }
  printf("},\"inputs\":");
  print_tensor_list(model.inputs, model.n_inputs);
  printf(",\"outputs\":");
  print_tensor_list(model.outputs, model.n_outputs);
  printf("}\n");
  free(raw);
  free(work);
  return 0;
}

static int cmd_run(const char *path, const char *in_path, const char *out_path, long n) {
  size_t size, need, in_size, per_in = 0, off;
  void *raw, *raw_in, *arena_raw, *work;
  uint8_t *fb = read_file(path, &size, &raw), *inputs, *arena;
  FILE *out;
  kfda_status st;
  long s;
  int i;
  if (!fb) return die("cannot read", path);
  st = plan_model(fb, size, &need, &work);
  free(work);
  if (st != KFDA_OK) {
    fprintf(stderr, "kfda_host: %s: %s\n", kfda_status_string(st), kfda_model_error(&model));
    return 1;
  }
  arena_raw = malloc(need + 16);
  if (!arena_raw) return die("out of memory", "arena");
  arena = (uint8_t *)arena_raw + (16 - ((uintptr_t)arena_raw % 16)) % 16;
  st = kfda_model_load_threads(&model, fb, size, arena, need, num_threads);
  if (st != KFDA_OK) {
    fprintf(stderr, "kfda_host: %s: %s\n", kfda_status_string(st), kfda_model_error(&model));
    return 1;
  }
  for (i = 0; i < kfda_model_num_inputs(&model); ++i) {
    kfda_tensor_info info;
    kfda_model_input(&model, i, &info);
    per_in += info.bytes;
  }
  inputs = read_file(in_path, &in_size, &raw_in);
  if (!inputs) return die("cannot read", in_path);
  if (in_size != per_in * (size_t)n) return die("input file size", "does not match N samples");
  out = fopen(out_path, "wb");
  if (!out) return die("cannot write", out_path);
  for (s = 0; s < n; ++s) {
    off = per_in * (size_t)s;
    for (i = 0; i < kfda_model_num_inputs(&model); ++i) {
      kfda_tensor_info info;
      void *dst = kfda_model_input(&model, i, &info);
      memcpy(dst, inputs + off, info.bytes);
      off += info.bytes;
    }
    st = kfda_model_invoke(&model);
    if (st != KFDA_OK) return die("invoke", kfda_status_string(st));
    for (i = 0; i < kfda_model_num_outputs(&model); ++i) {
      kfda_tensor_info info;
      const void *src = kfda_model_output(&model, i, &info);
      if (fwrite(src, 1, info.bytes, out) != info.bytes) return die("cannot write", out_path);
    }
  }
  fclose(out);
  kfda_model_release(&model);
  free(raw);
  free(raw_in);
  free(arena_raw);
  return 0;
}

static int cmd_load(const char *path, long bytes) {
  size_t size;
  void *raw, *arena_raw;
  uint8_t *fb = read_file(path, &size, &raw), *arena;
  kfda_status st;
  if (!fb) return die("cannot read", path);
  arena_raw = malloc((size_t)bytes + 16);
  if (!arena_raw) return die("out of memory", "arena");
  arena = (uint8_t *)arena_raw + (16 - ((uintptr_t)arena_raw % 16)) % 16;
  st = kfda_model_load(&model, fb, size, arena, (size_t)bytes);
  printf("{\"status\":\"%s\",\"arena_bytes\":%lu,\"error\":\"%s\"}\n", kfda_status_string(st),
         (unsigned long)kfda_model_arena_bytes(&model),
         st == KFDA_OK ? "" : kfda_model_error(&model));
  free(raw);
  free(arena_raw);
  return st == KFDA_OK ? 0 : 1;
}

static int cmd_planbufs(const char *path) {
  static kfda_plan_buf bufs[4096];
  static int16_t a[4096], b[4096];
  FILE *f = fopen(path, "r");
  unsigned long size;
  long first, last;
  int n = 0, i;
  size_t total = 0;
  if (!f) return die("cannot read", path);
  while (n < 4096 && fscanf(f, "%lu %ld %ld", &size, &first, &last) == 3) {
    bufs[n].size = (uint32_t)size;
    bufs[n].first = (int32_t)first;
    bufs[n].last = (int32_t)last;
    ++n;
  }
  fclose(f);
  if (kfda_plan_greedy(bufs, n, KFDA_ARENA_ALIGN, a, b, &total) != 0)
    return die("planner", "bad buffers");
  printf("{\"total\":%lu,\"offsets\":[", (unsigned long)total);
  for (i = 0; i < n; ++i) printf("%s%lu", i ? "," : "", (unsigned long)bufs[i].offset);
  printf("],\"check\":%d}\n", kfda_plan_check(bufs, n, total));
  return 0;
}

static int cmd_check(int n, char **paths) {
  int i, k;
  for (i = 0; i < n; ++i) {
    size_t size, need = 0;
    void *raw, *work;
    uint8_t *fb = read_file(paths[i], &size, &raw);
    kfda_status st;
    if (!fb) {
      printf("unreadable\n");
      continue;
    }
    st = plan_model(fb, size, &need, &work);
    free(work);
    if (st == KFDA_OK && need <= (64u << 20)) {
      void *arena_raw = malloc(need + 16);
      uint8_t *arena = (uint8_t *)arena_raw + (16 - ((uintptr_t)arena_raw % 16)) % 16;
      st = kfda_model_load(&model, fb, size, arena, need);
      if (st == KFDA_OK) {
        for (k = 0; k < kfda_model_num_inputs(&model); ++k) {
          kfda_tensor_info info;
          void *p = kfda_model_input(&model, k, &info);
          memset(p, 0, info.bytes);
        }
        st = kfda_model_invoke(&model);
      }
      free(arena_raw);
    }
    printf("%s\n", st == KFDA_OK ? "ran" : kfda_status_string(st));
    free(raw);
  }
  return 0;
}

static int cmd_ops(void) {
  int i;
  const char *name;
  for (i = 0; (name = kfda_linked_op_name(i)) != NULL; ++i) puts(name);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "plan") == 0) &&
      strcmp(argv[2], "--threads") == 0) { /* kfda_host CMD --threads T ... */
    char *end;
    long t = strtol(argv[3], &end, 10);
    if (*end || t < 1 || t > kfda_max_threads()) {
      fprintf(stderr, "kfda_host: --threads must be 1 to %d in this build, not %s\n",
              kfda_max_threads(), argv[3]);
      return 2;
    }
    num_threads = (int)t;
    argv[3] = argv[1];
    argv += 2;
    argc -= 2;
  }
  if (argc == 2 && strcmp(argv[1], "ops") == 0) return cmd_ops();
  if (argc >= 3 && strcmp(argv[1], "check") == 0) return cmd_check(argc - 2, argv + 2);
  if (argc == 4 && strcmp(argv[1], "load") == 0) return cmd_load(argv[2], atol(argv[3]));
  if (argc == 3 && strcmp(argv[1], "planbufs") == 0) return cmd_planbufs(argv[2]);
  if (argc == 3 && strcmp(argv[1], "plan") == 0) return cmd_plan(argv[2]);
  if (argc == 6 && strcmp(argv[1], "run") == 0) {
    char *end;
    long n = strtol(argv[5], &end, 10);
    if (*end || n < 0) return die("bad N", argv[5]) + 1;
    return cmd_run(argv[2], argv[3], argv[4], n);
  }
  fprintf(stderr,
          "usage: kfda_host plan [--threads T] MODEL.tflite\n"
          "       kfda_host run [--threads T] MODEL.tflite IN.bin OUT.bin N\n"
          "       kfda_host load MODEL.tflite ARENA_BYTES\n"
          "       kfda_host check FILE...\n"
          "       kfda_host planbufs FILE\n"
          "       kfda_host ops\n");
  return 2;
}
