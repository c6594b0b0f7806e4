/*
 * The application every target runs: load the model into a static arena, read raw
 * input records from a file, invoke once per record, write the raw outputs, and
 * print the counters. Shared by the Cortex-M boards (files through semihosting,
 * model linked in from model_data.c) and Linux (model read from a file, unless
 * KFDA_LINKED_MODEL).
 *
 * Usage
 *   Cortex-M (semihosting, paths relative to QEMU's working directory):
 *       reads input.bin, writes output.bin
 *   Linux:  kfda_app MODEL.tflite INPUT.bin OUTPUT.bin
 *           kfda_app --plan MODEL.tflite     (load only: print the arena bytes)
 *
 * Input: N records of exactly the model's input size in bytes, back to back.
 * Output: N records, each the model's outputs' bytes in output order.
 * stdout, one fact per line, for keras_fda.export.runner to parse:
 *   kfda: arena_bytes NEEDED of AVAILABLE
 *   kfda: inferences N
 *   kfda: <unit>_per_inference MIN MAX      (unit: instructions, cycles or ns)
 *   kfda: <unit>_total SUM
 * Errors: one line "kfda: error: ..." and a non-zero exit status.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kfda_app_model.h"
#include "kfda_app_platform.h"

#ifndef KFDA_ARENA_BYTES
#define KFDA_ARENA_BYTES (8u * 1024u * 1024u)
#endif

#ifndef KFDA_COUNTER_UNIT
#define KFDA_COUNTER_UNIT "instructions"
#endif

#if defined(__arm__) && !defined(__linux__)
#define KFDA_BARE_METAL   1
#define KFDA_LINKED_MODEL 1
#endif
#if defined(KFDA_BARE_METAL) && !defined(KFDA_LINKED_INPUTS)
#define KFDA_INPUT_PATH  "input.bin"
#define KFDA_OUTPUT_PATH "output.bin"
#endif

#ifdef KFDA_LINKED_MODEL
extern const unsigned char kfda_model_data[];
extern const unsigned int kfda_model_size;
#endif

#ifdef KFDA_LINKED_INPUTS
/* A real board without a host: the input records are linked in (input_data.c) and
 * the outputs are printed as hex lines "kfda: output <record> <hex bytes>". With no
 * records (kfda_input_size 0) it runs one inference on a zeroed input. */
extern const unsigned char kfda_input_data[];
extern const unsigned int kfda_input_size;
#endif

static uint8_t kfda_arena[KFDA_ARENA_BYTES] __attribute__((aligned(16)));

enum {
  EXIT_USAGE = 2,
  EXIT_MODEL = 3,
  EXIT_ARENA = 4,
  EXIT_INPUT = 5,
  EXIT_INVOKE = 6,
  EXIT_OUTPUT = 7,
};

static int fail(int status, const char *message) {
  fflush(stdout);
  fprintf(stderr, "kfda: error: %s\n", message);
  fflush(stderr);
  return status;
}

#ifndef KFDA_LINKED_MODEL
/* Read a whole file into 16-byte aligned memory (Linux only: the MCU links it in). */
static uint8_t *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (f == NULL || fseek(f, 0, SEEK_END) != 0) {
    if (f != NULL) {
      fclose(f);
    }
    return NULL;
  }
  long length = ftell(f);
  void *data = NULL;
  if (length <= 0 || fseek(f, 0, SEEK_SET) != 0 || posix_memalign(&data, 16, (size_t)length) != 0) {
    fclose(f);
    return NULL;
  }
  if (fread(data, 1, (size_t)length, f) != (size_t)length) {
    free(data);
    data = NULL;
  }
  fclose(f);
  *size = (size_t)length;
  return data;
}
#endif

#ifndef KFDA_LINKED_INPUTS
/* Read exactly `size` bytes; 1 if read, 0 at a clean end of file, -1 for a partial record. */
static int read_record(FILE *f, uint8_t *buffer, size_t size) {
  size_t got = 0;
  while (got < size) {
    size_t n = fread(buffer + got, 1, size - got, f);
    if (n == 0) {
      break;
    }
    got += n;
  }
  if (got == size) {
    return 1;
  }
  return got == 0 ? 0 : -1;
}
#endif

/* Where records come from and outputs go: files, or (KFDA_LINKED_INPUTS) memory and
 * hex lines on stdout. */
typedef struct {
  FILE *in, *out;
  size_t offset;
  unsigned long record;
} app_io;

static int io_open(app_io *io, const char *input_path, const char *output_path, char *error,
                   size_t error_size) {
  memset(io, 0, sizeof *io);
#ifdef KFDA_LINKED_INPUTS
  (void)input_path;
  (void)output_path;
  (void)error;
  (void)error_size;
  return 0;
#else
  io->in = fopen(input_path, "rb");
  if (io->in == NULL) {
    snprintf(error, error_size, "cannot open the input file %s", input_path);
    return EXIT_INPUT;
  }
  io->out = fopen(output_path, "wb");
  if (io->out == NULL) {
    fclose(io->in);
    snprintf(error, error_size, "cannot create the output file %s", output_path);
    return EXIT_OUTPUT;
  }
  return 0;
#endif
}

/* 1: a record was read; 0: clean end; -1: a partial record at the end. */
static int io_read(app_io *io, uint8_t *buffer, size_t size) {
#ifdef KFDA_LINKED_INPUTS
  if (kfda_input_size == 0) {
    if (io->offset++ != 0) {
      return 0;
    }
    memset(buffer, 0, size);
    return 1;
  }
  if (io->offset == kfda_input_size) {
    return 0;
  }
  if (kfda_input_size - io->offset < size) {
    return -1;
  }
  memcpy(buffer, kfda_input_data + io->offset, size);
  io->offset += size;
  return 1;
#else
  return read_record(io->in, buffer, size);
#endif
}

static int io_write(app_io *io, const uint8_t *data, size_t bytes) {
#ifdef KFDA_LINKED_INPUTS
  printf("kfda: output %lu ", io->record);
  for (size_t i = 0; i < bytes; ++i) {
    printf("%02x", data[i]);
  }
  printf("\n");
  return 0;
#else
  return fwrite(data, 1, bytes, io->out) == bytes ? 0 : -1;
#endif
}

static int io_close(app_io *io) {
  int status = 0;
  if (io->in != NULL) {
    fclose(io->in);
  }
  if (io->out != NULL && fclose(io->out) != 0) {
    status = -1;
  }
  io->in = io->out = NULL;
  return status;
}

/* v in decimal: newlib-nano's printf (the small boards' libc) has no %llu. */
static const char *u64_text(uint64_t v, char text[21]) {
  char *p = text + 20;
  *p = '\0';
  do {
    *--p = (char)('0' + v % 10u);
    v /= 10u;
  } while (v != 0);
  return p;
}

int main(int argc, char **argv) {
  char error[160], number[21];
  const uint8_t *model;
  size_t model_size;
  const char *input_path;
  const char *output_path;
  int plan_only = 0;

#ifdef KFDA_LINKED_MODEL
  model = kfda_model_data;
  model_size = kfda_model_size;
#ifdef KFDA_BARE_METAL
  (void)argc;
  (void)argv;
#ifdef KFDA_LINKED_INPUTS
  input_path = output_path = NULL;
#else
  input_path = KFDA_INPUT_PATH;
  output_path = KFDA_OUTPUT_PATH;
#endif
#else
  if (argc != 3) {
    return fail(EXIT_USAGE, "usage: kfda_app INPUT.bin OUTPUT.bin");
  }
  input_path = argv[1];
  output_path = argv[2];
#endif
#else
  if (argc == 3 && strcmp(argv[1], "--plan") == 0) {
    plan_only = 1;
  } else if (argc != 4) {
    return fail(EXIT_USAGE,
                "usage: kfda_app MODEL.tflite INPUT.bin OUTPUT.bin | --plan MODEL.tflite");
  }
  const char *model_path = argv[plan_only ? 2 : 1];
  uint8_t *model_buffer = read_file(model_path, &model_size);
  if (model_buffer == NULL) {
    snprintf(error, sizeof error, "cannot read the model file %s", model_path);
    return fail(EXIT_MODEL, error);
  }
  model = model_buffer;
  input_path = plan_only ? NULL : argv[2];
  output_path = plan_only ? NULL : argv[3];
#endif

  size_t arena_needed = 0, arena_size = sizeof kfda_arena;
  uint8_t *arena = kfda_arena;
  int status =
      kfda_app_load(model, model_size, arena, arena_size, &arena_needed, error, sizeof error);
#if !defined(KFDA_BARE_METAL)
  /* A hosted OS: a model larger than the static arena gets one of exactly its size from
   * the heap (a board's arena is linked for its RAM instead). */
  if (arena_needed > arena_size) {
    void *heap = NULL;
    if (posix_memalign(&heap, 16, (arena_needed + 15u) & ~(size_t)15u) == 0) {
      arena = (uint8_t *)heap;
      arena_size = (arena_needed + 15u) & ~(size_t)15u;
      status =
          kfda_app_load(model, model_size, arena, arena_size, &arena_needed, error, sizeof error);
    }
  }
#endif
  if (arena_needed > arena_size) {
    snprintf(error, sizeof error,
             "the model needs a %lu-byte arena, this build has %lu (KFDA_ARENA_BYTES)",
             (unsigned long)arena_needed, (unsigned long)arena_size);
    return fail(EXIT_ARENA, error);
  }
  if (status != 0) {
    return fail(EXIT_MODEL, error);
  }
  printf("kfda: arena_bytes %lu of %lu\n", (unsigned long)arena_needed, (unsigned long)arena_size);
  if (plan_only) {
    return 0;
  }

  size_t input_bytes;
  uint8_t *input = kfda_app_input(&input_bytes);
  app_io io;
  status = io_open(&io, input_path, output_path, error, sizeof error);
  if (status != 0) {
    return fail(status, error);
  }

  unsigned long inferences = 0;
  uint64_t total = 0, least = UINT64_MAX, most = 0;
  int got;
  while ((got = io_read(&io, input, input_bytes)) == 1) {
    kfda_counter_start();
    status = kfda_app_invoke(error, sizeof error);
    uint64_t ticks = kfda_counter_ticks();
    if (status != 0) {
      io_close(&io);
      return fail(EXIT_INVOKE, error);
    }
    uint64_t count = kfda_counter_instructions(ticks);
    total += count;
    least = count < least ? count : least;
    most = count > most ? count : most;
    for (size_t i = 0; i < kfda_app_output_count(); ++i) {
      size_t bytes;
      const uint8_t *output = kfda_app_output(i, &bytes);
      if (io_write(&io, output, bytes) != 0) {
        io_close(&io);
        return fail(EXIT_OUTPUT, "cannot write the output file");
      }
    }
    io.record = ++inferences;
  }
  if (io_close(&io) != 0) {
    return fail(EXIT_OUTPUT, "cannot write the output file");
  }
  if (got < 0) {
    snprintf(error, sizeof error, "the input file's size is not a multiple of the %lu-byte input",
             (unsigned long)input_bytes);
    return fail(EXIT_INPUT, error);
  }
  if (inferences == 0) {
    least = 0;
  }
  printf("kfda: inferences %lu\n", inferences);
  printf("kfda: %s_per_inference %s", KFDA_COUNTER_UNIT, u64_text(least, number));
  printf(" %s\n", u64_text(most, number));
  printf("kfda: %s_total %s\n", KFDA_COUNTER_UNIT, u64_text(total, number));
#ifdef KFDA_BARE_METAL
  unsigned long stack_used = kfda_stack_bytes_used();
  printf("kfda: stack_bytes %lu of %lu\n", stack_used, kfda_stack_bytes_reserved());
  if (stack_used >= kfda_stack_bytes_reserved()) {
    return fail(EXIT_INVOKE,
                "the stack reserve was used up (it may have overflowed): "
                "link with a bigger __stack_size");
  }
#endif
  return 0;
}
