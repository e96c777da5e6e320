/* Preloaded by scripts/tsan.sh: tells ThreadSanitizer how GLib orders
 * threads. GLib on Linux builds GMutex, GCond and g_once on futexes and its
 * own atomics, which an uninstrumented libglib hides from the sanitizer:
 * every GMutex the project takes looked like no lock at all (drmad_net_get_params()
 * beside a training step, under step_lock, was reported as a race), and so
 * did the hand-over of a GTask's data to its pool thread and of an idle
 * source's data to the main context (docs/reliability.md, "ThreadSanitizer").
 * It wraps the calls the project and libgio make into libglib; libglib's
 * calls to itself stay hidden. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <glib.h>

/* weak: a program without the sanitizer (a shell, Xvfb) loads this too */
void __tsan_acquire (void *addr) __attribute__ ((weak));
void __tsan_release (void *addr) __attribute__ ((weak));
#define __tsan_acquire(a) (__tsan_acquire ? __tsan_acquire (a) : (void) 0)
#define __tsan_release(a) (__tsan_release ? __tsan_release (a) : (void) 0)

#define REAL(name) \
  static __typeof__ (name) *real_##name; \
  if (!real_##name) real_##name = (__typeof__ (name) *) dlsym (RTLD_NEXT, #name)

/* A lock's release is seen by whoever takes it next. */
#define WRAP_LOCK(Type, lock, trylock, unlock) \
  void lock (Type *l) { REAL (lock); real_##lock (l); __tsan_acquire (l); } \
  gboolean trylock (Type *l) \
  { REAL (trylock); gboolean taken = real_##trylock (l); if (taken) __tsan_acquire (l); return taken; } \
  void unlock (Type *l) { REAL (unlock); __tsan_release (l); real_##unlock (l); }

WRAP_LOCK (GMutex, g_mutex_lock, g_mutex_trylock, g_mutex_unlock)
WRAP_LOCK (GRecMutex, g_rec_mutex_lock, g_rec_mutex_trylock, g_rec_mutex_unlock)
WRAP_LOCK (GRWLock, g_rw_lock_writer_lock, g_rw_lock_writer_trylock, g_rw_lock_writer_unlock)
WRAP_LOCK (GRWLock, g_rw_lock_reader_lock, g_rw_lock_reader_trylock, g_rw_lock_reader_unlock)

void
g_cond_wait (GCond *cond, GMutex *mutex)
{
  REAL (g_cond_wait);
  __tsan_release (mutex);
  real_g_cond_wait (cond, mutex);
  __tsan_acquire (mutex);
}

gboolean
g_cond_wait_until (GCond *cond, GMutex *mutex, gint64 end_time)
{
  REAL (g_cond_wait_until);
  __tsan_release (mutex);
  gboolean signalled = real_g_cond_wait_until (cond, mutex, end_time);
  __tsan_acquire (mutex);
  return signalled;
}

/* g_once_init_enter() is a macro that reads the location with an atomic
 * load (instrumented, in the caller) before it calls the function: the
 * release in g_once_init_leave() is what that load acquires. */
gboolean
(g_once_init_enter) (volatile void *location)
{
  REAL (g_once_init_enter);
  gboolean first = real_g_once_init_enter (location);
  __tsan_acquire ((void *) location);
  return first;
}

void
(g_once_init_leave) (volatile void *location, gsize result)
{
  REAL (g_once_init_leave);
  __tsan_release ((void *) location);
  real_g_once_init_leave (location, result);
}

/* A thread pool's work (GTask's threads): what the pushing thread wrote
 * before g_thread_pool_push() is seen by the worker that runs it; GLib's
 * queue between them is internal to libglib. */
typedef struct {
  GFunc    func;
  gpointer user_data;
} PoolFunc;

static void
pool_trampoline (gpointer data, gpointer user_data)
{
  PoolFunc *pool = user_data;
  __tsan_acquire (data);
  pool->func (data, pool->user_data);
}

GThreadPool *
g_thread_pool_new_full (GFunc func, gpointer user_data, GDestroyNotify item_free_func, gint max_threads,
                        gboolean exclusive, GError **error)
{
  REAL (g_thread_pool_new_full);
  PoolFunc *pool = g_new (PoolFunc, 1);   /* lives as long as the pool: kept */
  *pool = (PoolFunc) { func, user_data };
  return real_g_thread_pool_new_full (pool_trampoline, pool, item_free_func, max_threads, exclusive, error);
}

GThreadPool *
g_thread_pool_new (GFunc func, gpointer user_data, gint max_threads, gboolean exclusive, GError **error)
{
  return g_thread_pool_new_full (func, user_data, NULL, max_threads, exclusive, error);
}

gboolean
g_thread_pool_push (GThreadPool *pool, gpointer data, GError **error)
{
  REAL (g_thread_pool_push);
  __tsan_release (data);
  return real_g_thread_pool_push (pool, data, error);
}

/* A source's callback (an idle source a worker attaches to the main
 * context): what the thread that set it wrote before is seen by the
 * callback and by its destroy notify, wherever the context runs them. */
typedef struct {
  GSourceFunc    func;
  gpointer       data;
  GDestroyNotify notify;
} SourceCallback;

static gboolean
source_trampoline (gpointer data)
{
  SourceCallback *callback = data;
  __tsan_acquire (callback);
  return callback->func (callback->data);
}

static void
source_notify (gpointer data)
{
  SourceCallback *callback = data;
  __tsan_acquire (callback);
  if (callback->notify)
    callback->notify (callback->data);
  g_free (callback);
}

void
g_source_set_callback (GSource *source, GSourceFunc func, gpointer data, GDestroyNotify notify)
{
  REAL (g_source_set_callback);
  /* only idle and timeout sources: others call their callback with other
   * arguments (a child watch's GChildWatchFunc) */
  static const GSourceFuncs *idle_funcs, *timeout_funcs;
  if (!idle_funcs) {
    GSource *idle = g_idle_source_new (), *timeout = g_timeout_source_new (1);
    timeout_funcs = timeout->source_funcs;
    idle_funcs = idle->source_funcs;
    g_source_unref (idle);
    g_source_unref (timeout);
  }
  if (!func || (source->source_funcs != idle_funcs && source->source_funcs != timeout_funcs)) {
    real_g_source_set_callback (source, func, data, notify);
    return;
  }
  SourceCallback *callback = g_new (SourceCallback, 1);
  *callback = (SourceCallback) { func, data, notify };
  __tsan_release (callback);
  real_g_source_set_callback (source, source_trampoline, callback, source_notify);
}
