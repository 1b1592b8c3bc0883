/* Internals shared by the hook's translation units. Nothing here is exported. */
#ifndef FOOM_INTERNAL_H
#define FOOM_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
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
    uint64_t stack_cache[STACK_CACHE_SLOTS];
};

extern __thread struct thread_state foom_thread __attribute__((tls_model("initial-exec"))) HIDDEN;

/* The next definitions of what the hook interposes, found with dlsym(RTLD_NEXT). */
struct real_functions {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*reallocarray)(void *, size_t, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
    void *(*mmap)(void *, size_t, int, int, int, off_t);
    void *(*mmap64)(void *, size_t, int, int, int, off_t);
    int (*munmap)(void *, size_t);
    void *(*mremap)(void *, size_t, size_t, int, ...);
    void *(*dlopen)(const char *, int);
    int (*dlclose)(void *);
    void (*exit)(int) __attribute__((noreturn));
    void (*_exit)(int) __attribute__((noreturn));
    void (*_Exit)(int) __attribute__((noreturn));
    int (*pthread_create)(void *, const void *, void *(*)(void *), void *);
    int (*sigaction)(int, const void *, void *);
    void *(*signal)(int, void *);
};
extern struct real_functions foom_real HIDDEN;

/* ---- global state (hook.c) ---- */
extern int foom_ready HIDDEN;               /* real functions resolved, attach attempted */
extern volatile int foom_active HIDDEN;     /* recording into the ring */
extern struct foom_ring_header *foom_header HIDDEN; /* mapped while this process is the target */
extern uint8_t *foom_data HIDDEN;
extern uint64_t foom_data_size HIDDEN;
extern uint32_t foom_options HIDDEN;
extern uintptr_t foom_hook_start HIDDEN, foom_hook_end HIDDEN; /* the hook's own code */
extern volatile uintptr_t foom_main_root HIDDEN;   /* return address into __libc_start_call_main */
extern volatile uintptr_t foom_thread_root HIDDEN; /* return address into start_thread */
extern volatile uint32_t foom_stack_epoch HIDDEN;  /* +1 whenever a module is unloaded */

HIDDEN int foom_initialize(void);           /* 1 when the caller may use foom_real */
HIDDEN uint32_t foom_thread_id(struct thread_state *t);
HIDDEN uint64_t foom_wall_ms(void);
HIDDEN uint64_t foom_monotonic_ns(void);
HIDDEN void *foom_raw_mmap(size_t length);  /* the hook's own memory, never the target's heap */

/* ---- ring.c ---- */
/* Reserves, copies and commits one record; returns its position, or UINT64_MAX if dropped. */
HIDDEN uint64_t ring_publish(const void *record, uint32_t length);
HIDDEN void ring_stop(uint32_t reason);
HIDDEN void ring_check_recorder(void);

/* ---- unwind.c ---- */
struct stack_info {
    uint64_t hash;
    uint32_t count;
    uint32_t flags;              /* FOOM_FLAG_FRAME_POINTERS / UNWIND_TABLES / TRUNCATED */
};
HIDDEN void unwind_load(void);
/* Fills frames[0..FOOM_RING_MAX_FRAMES) innermost first, skipping the hook's own frames. */
HIDDEN void stack_capture(struct thread_state *t, uint64_t *frames, struct stack_info *info);
HIDDEN int stack_cache_contains(struct thread_state *t, uint64_t hash);
HIDDEN void stack_cache_insert(struct thread_state *t, uint64_t hash);

/* ---- modules.c ---- */
HIDDEN void modules_scan(uint8_t source, int blocking);
/* A cheap check for modules loaded behind the hook's back (published if so); 1 if any were. */
HIDDEN int modules_discover(uint8_t source);
/* Whether pc lies in code that keeps frame pointers; *hint speeds up neighbouring lookups. */
HIDDEN int modules_frame_pointer_code(uintptr_t pc, uint32_t *hint);
HIDDEN uint32_t modules_sequence_begin(void); /* odd: being rewritten, do not trust lookups */
HIDDEN int modules_sequence_valid(uint32_t sequence);
HIDDEN int modules_contains(uintptr_t pc);
HIDDEN void modules_find_hook(void);

/* ---- marks.c ---- */
HIDDEN void marks_install_signal_handlers(void);
HIDDEN void marks_exit(uint32_t kind, int status);

/* ---- events.c ---- */
HIDDEN void publish_alloc(uint8_t source, void *address, size_t size, size_t alignment, uint8_t flags);
HIDDEN void publish_free(uint8_t source, void *address);
HIDDEN void publish_map(uint8_t source, void *address, size_t length, int prot, int flags, int fd,
                        off_t offset, void *old_address, uint8_t record_flags);
HIDDEN void publish_unmap(uint8_t source, void *address, size_t length);

#endif
