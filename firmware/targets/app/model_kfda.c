/*
 * kfda_app_model.h implemented with the keras-fda runtime (firmware/include/kfda).
 * One model input (the application feeds one buffer); every output, in order.
 */
#include <stdio.h>

#include "kfda/kfda.h"
#include "kfda_app_model.h"

static kfda_model app_model; /* a small header: its tables live in the arena */

#if defined(KFDA_THREADS)
#include <stdlib.h>
/* Linux builds: KFDA_NUM_THREADS=N in the environment runs the convolutions on N threads
 * (the same outputs; load refuses a count outside 1..8 with one line). Bare-metal builds
 * have no threads and no environment. */
static int app_threads(void) {
  const char *text = getenv("KFDA_NUM_THREADS");
  return text != NULL ? atoi(text) : 1;
}
#else
static int app_threads(void) { return 1; }
#endif

int kfda_app_load(const uint8_t *flatbuffer, size_t size, uint8_t *arena, size_t arena_size,
                  size_t *arena_needed, char *error, size_t error_size) {
  kfda_status status =
      kfda_model_load_threads(&app_model, flatbuffer, size, arena, arena_size, app_threads());
  *arena_needed = status == KFDA_OK ? kfda_model_arena_bytes(&app_model) : 0;
  if (status == KFDA_ERR_ARENA_TOO_SMALL) {
    /* the exact need: plan with the arena as workspace (never more than the arena
     * needs; a workspace that is too small still gives a lower bound) */
    size_t need = 0;
    kfda_status planned = kfda_model_plan_threads(&app_model, flatbuffer, size, arena, arena_size,
                                                  app_threads(), &need);
    if (planned == KFDA_OK || planned == KFDA_ERR_ARENA_TOO_SMALL) *arena_needed = need;
  }
  if (status != KFDA_OK) {
    snprintf(error, error_size, "cannot load the model: %s: %s", kfda_status_string(status),
             kfda_model_error(&app_model));
    return 1;
  }
  if (kfda_model_num_inputs(&app_model) != 1) {
    snprintf(error, error_size, "the model has %d inputs; kfda_app feeds exactly one",
             kfda_model_num_inputs(&app_model));
    return 1;
  }
  return 0;
}

uint8_t *kfda_app_input(size_t *bytes) {
  kfda_tensor_info info;
  uint8_t *data = kfda_model_input(&app_model, 0, &info);
  *bytes = data != NULL ? info.bytes : 0;
  return data;
}

size_t kfda_app_output_count(void) { return (size_t)kfda_model_num_outputs(&app_model); }

const uint8_t *kfda_app_output(size_t index, size_t *bytes) {
  kfda_tensor_info info;
  const uint8_t *data = kfda_model_output(&app_model, (int)index, &info);
  *bytes = data != NULL ? info.bytes : 0;
  return data;
}

int kfda_app_invoke(char *error, size_t error_size) {
  kfda_status status = kfda_model_invoke(&app_model);
  if (status != KFDA_OK) {
    snprintf(error, error_size, "inference failed: %s: %s", kfda_status_string(status),
             kfda_model_error(&app_model));
    return 1;
  }
  return 0;
}
