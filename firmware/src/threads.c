/*
 * threads.c - the work items of the heavy ops (output rows of LceBconv2d, CONV_2D,
 * DEPTHWISE_CONV_2D, the pools, LceQuantize, ADD, MUL; on small maps their channel slices;
 * FULLY_CONNECTED's units) split over a small pthread pool on Linux builds (-DKFDA_THREADS: set
 * only by the Linux builds, see firmware/README.md "Threads"). Without KFDA_THREADS (every
 * bare-metal build) this file has no pthread dependency and runs the rows in one call.
 *
 * The pool lives in the arena's persistent part (no malloc): its workers are started at
 * the end of kfda_model_load and joined by kfda_model_release. An op's Eval hands the
 * pool a row job: task t of n computes rows [rows * t / n, rows * (t + 1) / n) with its
 * thread's share of the op's scratch, thread k taking task (k + job) % n; the calling
 * thread (k = 0) takes a task too and waits for the others.
 * Each output element is computed by exactly one thread with the same arithmetic, so the
 * output is bit-identical for any thread count. Waiting blocks (no spinning: an idle
 * thread executes nothing) in futex on Linux, on a condition variable elsewhere; a job
 * costs the caller one wake-up call and at most one wait.
 */
#if defined(KFDA_THREADS) && defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* syscall() */
#endif
#include "threads.h"

#include <string.h>

#include "ops/op_util.h"

#if defined(KFDA_THREADS)
#include <limits.h>
#include <pthread.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

struct kfda_thread_pool {
  /* the current job, written by the caller before it bumps `generation` */
  const kfda_model *m;
  const kfda_op *op;
  const void *params;
  kfda_rows_fn fn;
  int32_t rows, tasks;
  uint32_t generation; /* counts jobs (a worker runs each once); workers wait on it */
  uint32_t pending;    /* workers that have not finished the current job; the caller waits */
  int32_t stop;
  int32_t n_workers; /* started workers: num_threads - 1 once load succeeded */
#if !defined(__linux__)
  pthread_mutex_t lock; /* no futex: the waits block on one condition variable */
  pthread_cond_t changed;
#endif
  struct kfda_worker {
    struct kfda_thread_pool *pool;
    int32_t thread; /* 1 .. num_threads - 1 */
    pthread_t handle;
  } workers[KFDA_MAX_THREADS - 1];
};

#define LOAD(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

#if defined(__linux__)
/* Blocks while *word == value (returns at once if it no longer is; callers re-check). */
static void wait_while(kfda_thread_pool *pool, uint32_t *word, uint32_t value) {
  (void)pool;
  syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}
static void wake(kfda_thread_pool *pool, uint32_t *word, int count) {
  (void)pool;
  syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}
#else
static void wait_while(kfda_thread_pool *pool, uint32_t *word, uint32_t value) {
  pthread_mutex_lock(&pool->lock);
  while (LOAD(word) == value) pthread_cond_wait(&pool->changed, &pool->lock);
  pthread_mutex_unlock(&pool->lock);
}
static void wake(kfda_thread_pool *pool, uint32_t *word, int count) {
  (void)word;
  (void)count;
  /* the lock orders the change before a waiter's check and its wait */
  pthread_mutex_lock(&pool->lock);
  pthread_mutex_unlock(&pool->lock);
  pthread_cond_broadcast(&pool->changed);
}
#endif

size_t kfda_thread_pool_bytes(int num_threads) {
  return num_threads > 1 ? sizeof(kfda_thread_pool) : 0;
}

int kfda_threads_supported(void) { return KFDA_MAX_THREADS; }

/* Thread `thread` takes task (thread + generation) % num_threads: the task with the
 * larger share of uneven rows (and the border rows of the first and last) moves from
 * job to job instead of always landing on the same thread. Rows of task t out of
 * `tasks`: [rows * t / tasks, rows * (t + 1) / tasks); its scratch is the thread's. */
static void run_task(const kfda_thread_pool *pool, int32_t thread, uint32_t generation) {
  const kfda_op *op = pool->op;
  const int32_t n = pool->m->num_threads;
  const int32_t task = (int32_t)(((uint32_t)thread + generation) % (uint32_t)n);
  uint8_t *scratch;
  int32_t begin, end;
  if (task >= pool->tasks) return;
  begin = (int32_t)((int64_t)pool->rows * task / pool->tasks);
  end = (int32_t)((int64_t)pool->rows * (task + 1) / pool->tasks);
  if (begin == end) return;
  scratch = (uint8_t *)kfda_op_scratch(pool->m, op);
  if (scratch) scratch += (size_t)thread * (op->scratch_bytes / (uint32_t)n);
  pool->fn(pool->m, op, pool->params, begin, end, scratch);
}

static void *worker_main(void *arg) {
  struct kfda_worker *w = (struct kfda_worker *)arg;
  kfda_thread_pool *pool = w->pool;
  uint32_t seen = 0, generation;
  for (;;) {
    while ((generation = LOAD(&pool->generation)) == seen)
      wait_while(pool, &pool->generation, seen);
    if (LOAD(&pool->stop)) break;
    seen = generation;
    run_task(pool, w->thread, generation);
    if (__atomic_sub_fetch(&pool->pending, 1, __ATOMIC_ACQ_REL) == 0) wake(pool, &pool->pending, 1);
  }
  return NULL;
}

static void stop_workers(kfda_thread_pool *pool) {
  int32_t i;
  STORE(&pool->stop, 1);
  __atomic_add_fetch(&pool->generation, 1, __ATOMIC_RELEASE);
  wake(pool, &pool->generation, INT_MAX);
  for (i = 0; i < pool->n_workers; ++i) pthread_join(pool->workers[i].handle, NULL);
#if !defined(__linux__)
  pthread_cond_destroy(&pool->changed);
  pthread_mutex_destroy(&pool->lock);
#endif
}

kfda_status kfda_thread_pool_start(kfda_model *m, kfda_thread_pool *pool) {
  int32_t i;
  memset(pool, 0, sizeof *pool);
#if !defined(__linux__)
  if (pthread_mutex_init(&pool->lock, NULL) != 0) goto fail;
  if (pthread_cond_init(&pool->changed, NULL) != 0) {
    pthread_mutex_destroy(&pool->lock);
    goto fail;
  }
#endif
  for (i = 0; i < m->num_threads - 1; ++i) {
    pool->workers[i].pool = pool;
    pool->workers[i].thread = i + 1;
    if (pthread_create(&pool->workers[i].handle, NULL, worker_main, &pool->workers[i]) != 0) {
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
  uint32_t generation, left;
  if (pool == NULL || rows < 2) {
    fn(m, op, params, 0, rows, kfda_op_scratch(m, op));
    return;
  }
  /* the workers are all waiting (the previous job's pending reached 0): the job's fields
   * are the caller's until the release of the new generation publishes them */
  pool->m = m;
  pool->op = op;
  pool->params = params;
  pool->fn = fn;
  pool->rows = rows;
  pool->tasks = rows < m->num_threads ? rows : m->num_threads;
  __atomic_store_n(&pool->pending, (uint32_t)pool->n_workers, __ATOMIC_RELAXED);
  generation = __atomic_add_fetch(&pool->generation, 1, __ATOMIC_RELEASE);
  wake(pool, &pool->generation, INT_MAX);
  run_task(pool, 0, generation);
  while ((left = LOAD(&pool->pending)) != 0) wait_while(pool, &pool->pending, left);
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
