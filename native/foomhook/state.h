/*
 * The hook's bottom layer: the state every other layer shares (the ring's mapping, whether this
 * process records, each thread's guard and stack cache, the next definitions of the interposed
 * functions) and the few primitives that need nothing else (clocks, the hook's own memory).
 * Nothing here is exported.
 *
 * The layers, each including only the layers below it (check-layers.sh, run by the Makefile,
 * refuses anything else):
 *   entry points (hooks_*.c, api.c) → enter (initialise, attach, the guard) → events →
 *   unwind → modules, python → ring, marks, sampling → state → foom_ring.h, foom.h (the formats)
 */
#ifndef FOOM_STATE_H
#define FOOM_STATE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include "foom_ring.h"

#define HIDDEN __attribute__((visibility("hidden")))
#define EXPORT __attribute__((visibility("default")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Per-thread stack cache: hashes of stacks this thread published in full, direct-mapped. */
#define STACK_CACHE_SLOTS 512u

struct thread_state {
    int in_hook;                 /* recursion guard: the hook's own calls go straight through */
    uint32_t thread_id;          /* gettid(), 0 until first needed */
    uintptr_t stack_low;         /* this thread's stack, for the frame-pointer walk's bounds */
    uintptr_t stack_high;        /* 0: not known yet; 1: unknown for good (no walk) */
    uint32_t stack_epoch;        /* foom_stack_epoch when the cache was last cleared */
    uint32_t dlopen_checks;      /* events left that look for what this thread's dlopen loaded */
    int64_t sample_countdown;    /* sampled mode: bytes this thread allocates before its next sample */
    uint64_t sample_random;      /* sampled mode: this thread's generator (0: not seeded yet) */
    uint64_t stack_cache[STACK_CACHE_SLOTS];
};

extern __thread struct thread_state foom_thread __attribute__((tls_model("initial-exec"))) HIDDEN;

/* The functions the hook interposes, listed once: their next definitions (dlsym(RTLD_NEXT)) are
   typed from libc's own declarations and resolved from this list. */
#define FOOM_HOOKED_FUNCTIONS(X)                                                                   \
    X(malloc) X(free) X(calloc) X(realloc) X(reallocarray) X(posix_memalign) X(aligned_alloc)       \
    X(memalign) X(valloc) X(pvalloc) X(mmap) X(mmap64) X(munmap) X(mremap) X(dlopen) X(dlclose)    \
    X(exit) X(_exit) X(_Exit) X(pthread_create) X(sigaction) X(signal)
/* Called, not interposed. */
#define FOOM_CALLED_FUNCTIONS(X) X(malloc_usable_size)

struct real_functions {
#define FOOM_REAL_POINTER(name) __typeof__(name) *name;
    FOOM_HOOKED_FUNCTIONS(FOOM_REAL_POINTER)
    FOOM_CALLED_FUNCTIONS(FOOM_REAL_POINTER)
#undef FOOM_REAL_POINTER
};
extern struct real_functions foom_real HIDDEN;

/* Set once by initialisation (before foom_ready is published) and cleared in a fork child
   (single-threaded then): plain reads. */
extern struct foom_ring_header *foom_header HIDDEN; /* mapped while this process is the target */
extern uint8_t *foom_data HIDDEN;
extern uint64_t foom_data_size HIDDEN;
extern uint32_t foom_options HIDDEN;
extern uint64_t foom_sample_bytes HIDDEN;   /* header.sample_bytes at attach: 0 records every block */
extern uintptr_t foom_hook_start HIDDEN, foom_hook_end HIDDEN; /* the hook's own code */

/* What the entry points do with an event. */
enum foom_mode {
    FOOM_MODE_OFF = 0,           /* no ring (or not this process's): straight to the original */
    FOOM_MODE_RECORDING = 1,     /* publish into the ring */
    FOOM_MODE_COUNTING = 2,      /* recording has stopped: count what is not recorded (ring_count_unrecorded) */
};

/* Read by every thread while others write them. */
extern atomic_int foom_ready HIDDEN;                 /* real functions resolved, attach attempted */
extern atomic_int foom_mode HIDDEN;                  /* enum foom_mode */
extern _Atomic uintptr_t foom_main_root HIDDEN;      /* return address into __libc_start_call_main */
extern _Atomic uintptr_t foom_thread_root HIDDEN;    /* return address into start_thread */
extern _Atomic uint32_t foom_stack_epoch HIDDEN;     /* +1 whenever a module is unloaded */

static inline int foom_is_ready(void) { return atomic_load_explicit(&foom_ready, memory_order_acquire); }
/* Whether this process records into the ring, or only counts what it does not record. */
static inline int foom_is_active(void) { return atomic_load_explicit(&foom_mode, memory_order_relaxed) == FOOM_MODE_RECORDING; }
static inline int foom_is_attached(void) { return atomic_load_explicit(&foom_mode, memory_order_relaxed) != FOOM_MODE_OFF; }

HIDDEN uint32_t foom_thread_id(struct thread_state *t);
HIDDEN uint64_t foom_wall_ms(void);
HIDDEN uint64_t foom_monotonic_ns(void);
HIDDEN void *foom_raw_mmap(size_t length);  /* the hook's own memory, never the target's heap */
/* The header when this process is the one being recorded (not a vfork child sharing the
   mapping); async-signal-safe. */
HIDDEN struct foom_ring_header *foom_target_header(void);

#endif
