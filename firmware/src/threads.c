/*
 * threads.c - the work items of the heavy ops (output rows of LceBconv2d, CONV_2D,
 * DEPTHWISE_CONV_2D, the pools, LceQuantize, ADD, MUL; on small maps their channel slices;
 * FULLY_CONNECTED's units) split over a small pthread pool on Linux builds (-DKFDA_THREADS: set
 * only by the Linux builds, see firmware/README.md "Threads"). Without KFDA_THREADS (every
 * bare-metal build) this file has no pthread dependency and runs the rows in one call.
 *
 * The pool lives in the arena's persistent part (no malloc): its workers are started at
 * the end of kfda_model_load and joined by kfda_model_release. An op's Eval hands the
 * pool a row job; worker t computes rows [rows * t / n, rows * (t + 1) / n) with its own
 * share of the op's scratch, the calling thread takes task 0 and waits for the others.
 * Each output element is computed by exactly one thread with the same arithmetic, so the
 * output is bit-identical for any thread count. Waiting blocks on condition variables
 * (no spinning): an idle thread executes nothing.
 */
#include "threads.h"

#include <string.h>

#include "ops/op_util.h"

#if defined(KFDA_THREADS)
#include <pthread.h>

struct kfda_thread_pool {
  pthread_mutex_t lock;
  pthread_cond_t work_ready; /* a new job (generation changed) or stop */
  pthread_cond_t work_done;  /* pending reached 0 */
  /* the current job */
  const kfda_model *m;
  const kfda_op *op;
  const void *params;
  kfda_rows_fn fn;
  int32_t rows, tasks;
  uint32_t generation; /* counts jobs: a worker runs each generation once */
  int32_t pending;     /* workers that have not finished the current job */
  int32_t stop;
  int32_t n_workers; /* started workers: num_threads - 1 once load succeeded */
  struct kfda_worker {
    struct kfda_thread_pool *pool;
    int32_t task; /* 1 .. num_threads - 1 */
    pthread_t thread;
  } workers[KFDA_MAX_THREADS - 1];
};

size_t kfda_thread_pool_bytes(int num_threads) {
  return num_threads > 1 ? sizeof(kfda_thread_pool) : 0;
}

int kfda_threads_supported(void) { return KFDA_MAX_THREADS; }

/* Rows of task t out of `tasks`: [rows * t / tasks, rows * (t + 1) / tasks). */
static void run_task(const kfda_thread_pool *pool, int32_t task) {
  const kfda_op *op = pool->op;
  const int32_t begin = (int32_t)((int64_t)pool->rows * task / pool->tasks);
  const int32_t end = (int32_t)((int64_t)pool->rows * (task + 1) / pool->tasks);
  uint8_t *scratch = (uint8_t *)kfda_op_scratch(pool->m, op);
  if (task >= pool->tasks || begin == end) return;
  if (scratch) scratch += (size_t)task * (op->scratch_bytes / (uint32_t)pool->m->num_threads);
  pool->fn(pool->m, op, pool->params, begin, end, scratch);
}

static void *worker_main(void *arg) {
  struct kfda_worker *w = (struct kfda_worker *)arg;
  kfda_thread_pool *pool = w->pool;
  uint32_t seen = 0;
  pthread_mutex_lock(&pool->lock);
  for (;;) {
    while (pool->generation == seen && !pool->stop)
      pthread_cond_wait(&pool->work_ready, &pool->lock);
    if (pool->stop) break;
    seen = pool->generation;
    pthread_mutex_unlock(&pool->lock);
    run_task(pool, w->task);
    pthread_mutex_lock(&pool->lock);
    if (--pool->pending == 0) pthread_cond_signal(&pool->work_done);
  }
  pthread_mutex_unlock(&pool->lock);
  return NULL;
}

static void stop_workers(kfda_thread_pool *pool) {
  int32_t i;
  pthread_mutex_lock(&pool->lock);
  pool->stop = 1;
  pthread_cond_broadcast(&pool->work_ready);
  pthread_mutex_unlock(&pool->lock);
  for (i = 0; i < pool->n_workers; ++i) pthread_join(pool->workers[i].thread, NULL);
  pthread_cond_destroy(&pool->work_done);
  pthread_cond_destroy(&pool->work_ready);
  pthread_mutex_destroy(&pool->lock);
}

kfda_status kfda_thread_pool_start(kfda_model *m, kfda_thread_pool *pool) {
  int32_t i;
  memset(pool, 0, sizeof *pool);
  if (pthread_mutex_init(&pool->lock, NULL) != 0) goto fail;
  if (pthread_cond_init(&pool->work_ready, NULL) != 0) {
    pthread_mutex_destroy(&pool->lock);
    goto fail;
  }
  if (pthread_cond_init(&pool->work_done, NULL) != 0) {
    pthread_cond_destroy(&pool->work_ready);
    pthread_mutex_destroy(&pool->lock);
    goto fail;
  }
  for (i = 0; i < m->num_threads - 1; ++i) {
    pool->workers[i].pool = pool;
    pool->workers[i].task = i + 1;
    if (pthread_create(&pool->workers[i].thread, NULL, worker_main, &pool->workers[i]) != 0) {
      stop_workers(pool);
      goto fail;
    }
    pool->n_workers = i + 1;
  }
  m->thread_pool = pool;
  return KFDA_OK;
fail:
  return kfda_fail(m, KFDA_ERR_LIMIT, -1, "could not start the threads (pthread_create failed)");
}

void kfda_thread_pool_stop(kfda_model *m) {
  if (m->thread_pool == NULL) return;
  stop_workers(m->thread_pool);
  m->thread_pool = NULL;
}

void kfda_op_run_rows(const kfda_model *m, const kfda_op *op, const void *params, int32_t rows,
                      kfda_rows_fn fn) {
  kfda_thread_pool *pool = m->thread_pool;
  if (pool == NULL || rows < 2) {
    fn(m, op, params, 0, rows, kfda_op_scratch(m, op));
    return;
  }
  pthread_mutex_lock(&pool->lock);
  pool->m = m;
  pool->op = op;
  pool->params = params;
  pool->fn = fn;
  pool->rows = rows;
  pool->tasks = rows < m->num_threads ? rows : m->num_threads;
  pool->pending = pool->n_workers;
  ++pool->generation;
  pthread_cond_broadcast(&pool->work_ready);
  pthread_mutex_unlock(&pool->lock);
  run_task(pool, 0);
  pthread_mutex_lock(&pool->lock);
  while (pool->pending > 0) pthread_cond_wait(&pool->work_done, &pool->lock);
  pthread_mutex_unlock(&pool->lock);
}

#else /* single-threaded: no pool, no pthread */

size_t kfda_thread_pool_bytes(int num_threads) {
  (void)num_threads;
  return 0;
}

int kfda_threads_supported(void) { return 1; }

kfda_status kfda_thread_pool_start(kfda_model *m, kfda_thread_pool *pool) {
  (void)m;
  (void)pool;
  return KFDA_OK;
}

void kfda_thread_pool_stop(kfda_model *m) { (void)m; }

void kfda_op_run_rows(const kfda_model *m, const kfda_op *op, const void *params, int32_t rows,
                      kfda_rows_fn fn) {
  fn(m, op, params, 0, rows, kfda_op_scratch(m, op));
}

#endif
