/*
 * threads.h - the thread pool of Linux builds (-DKFDA_THREADS) and the row split the
 * heavy ops' Eval calls; internal (threads.c). Without KFDA_THREADS every call runs
 * the rows at once on the calling thread.
 */
#ifndef KFDA_THREADS_H_
#define KFDA_THREADS_H_

#include <stddef.h>
#include <stdint.h>

#include "kfda/kfda.h"

typedef struct kfda_thread_pool kfda_thread_pool;

/* Arena bytes of the pool for num_threads (0 for 1 thread and in single-threaded builds). */
size_t kfda_thread_pool_bytes(int num_threads);
/* The most threads this build runs: KFDA_MAX_THREADS with KFDA_THREADS, else 1. */
int kfda_threads_supported(void);
/* Starts m->num_threads - 1 workers on the pool's memory and sets m->thread_pool. */
kfda_status kfda_thread_pool_start(kfda_model *m, kfda_thread_pool *pool);
/* Joins the workers (nothing when none were started). */
void kfda_thread_pool_stop(kfda_model *m);

#endif /* KFDA_THREADS_H_ */
