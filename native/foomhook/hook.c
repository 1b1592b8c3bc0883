/*
 * libfoomhook.so: interposes the allocation and mapping functions of the program it is preloaded
 * into and publishes every event into the ring the recorder named in FOOM_RING.
 *
 * Every entry point follows the same pattern: make sure the hook is initialised (the first call,
 * whichever function it is, resolves the next definitions and attaches to the ring); if this
 * thread is already inside the hook (the hook's own calls, libunwind's, dlsym's) or the process
 * is not recording, go straight to the next definition; otherwise set the guard, call it, and
 * publish: frees and unmappings before the real call, allocations and mappings after it returns,
 * so the ring's reservation order is the order in which addresses changed hands.
 */
#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

__thread struct thread_state foom_thread __attribute__((tls_model("initial-exec")));

struct real_functions foom_real;
int foom_ready;
volatile int foom_active;
struct foom_ring_header *foom_header;
uint8_t *foom_data;
uint64_t foom_data_size;
uint32_t foom_options;
uintptr_t foom_hook_start, foom_hook_end;
volatile uintptr_t foom_main_root;
volatile uintptr_t foom_thread_root;
volatile uint32_t foom_stack_epoch;
/* The next dlopen, for the assembly entry point below (which must not add a frame). */
HIDDEN __attribute__((used)) void *foom_next_dlopen;

static size_t ring_mapping_size;
static int init_state; /* 0: not started, 1: running, 2: done */
static struct thread_state *init_owner;

/* ---- small helpers ------------------------------------------------------------------------ */

uint32_t foom_thread_id(struct thread_state *t) {
    if (unlikely(t->thread_id == 0)) t->thread_id = (uint32_t)syscall(SYS_gettid);
    return t->thread_id;
}

uint64_t foom_wall_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

uint64_t foom_monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

void *foom_raw_mmap(size_t length) {
    long p = syscall(SYS_mmap, 0, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return (p < 0 && p > -4096) ? NULL : (void *)p;
}

/* ---- the bootstrap allocator: serves dlsym and anything else before the next malloc is known */

#define BOOTSTRAP_SIZE (128 * 1024)
static uint8_t bootstrap_arena[BOOTSTRAP_SIZE] __attribute__((aligned(64)));
static size_t bootstrap_used;

static inline int is_bootstrap(const void *p) {
    return (const uint8_t *)p >= bootstrap_arena && (const uint8_t *)p < bootstrap_arena + BOOTSTRAP_SIZE;
}

/* Never freed; each block remembers its size (16 bytes before it) for realloc. */
static void *bootstrap_alloc(size_t size, size_t alignment) {
    if (alignment < 16) alignment = 16;
    if (size > BOOTSTRAP_SIZE) return NULL;
    size_t used = __atomic_load_n(&bootstrap_used, __ATOMIC_RELAXED);
    for (;;) {
        size_t start = (used + 16 + alignment - 1) & ~(alignment - 1);
        size_t end = start + ((size + 15) & ~(size_t)15);
        if (end > BOOTSTRAP_SIZE) return NULL;
        if (__atomic_compare_exchange_n(&bootstrap_used, &used, end, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            *(size_t *)(bootstrap_arena + start - 16) = size;
            return bootstrap_arena + start;
        }
    }
}

static size_t bootstrap_size(const void *p) { return *(const size_t *)((const uint8_t *)p - 16); }

/* ---- the initial environment ---------------------------------------------------------------- */

extern void *__libc_stack_end;
extern char **environ;

/* getenv, or, before libc has set environ up, the environment on the initial stack. */
static const char *initial_getenv(const char *name) {
    size_t length = strlen(name);
    char **env = environ;
    if (env == NULL && __libc_stack_end != NULL) {
        long argc = *(long *)__libc_stack_end;
        env = (char **)__libc_stack_end + argc + 2;
    }
    if (env == NULL) return NULL;
    for (; *env; env++)
        if (strncmp(*env, name, length) == 0 && (*env)[length] == '=') return *env + length + 1;
    return NULL;
}

/* ---- attaching to the ring -------------------------------------------------------------------- */

static void after_fork_in_child(void);

static int valid_header(const struct foom_ring_header *h, uint64_t file_size) {
    if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != FOOM_RING_MAGIC) return 0;
    if (h->version != FOOM_RING_VERSION || h->header_size != FOOM_RING_HEADER_SIZE) return 0;
    uint64_t size = h->data_size;
    if (size < 65536 || (size & (size - 1)) != 0) return 0;
    return file_size >= FOOM_RING_HEADER_SIZE + size;
}

static void publish_attach(uint32_t generation) {
    struct {
        struct foom_record_attach a;
        char path[FOOM_RING_MAX_PATH + 8];
    } record;
    memset(&record.a, 0, sizeof record.a);
    ssize_t n = readlink("/proc/self/exe", record.path, FOOM_RING_MAX_PATH);
    if (n < 0) n = 0;
    uint32_t length = (uint32_t)((sizeof record.a + (size_t)n + 7) & ~(size_t)7);
    memset(record.path + n, 0, 8);
    record.a.header.length = length;
    record.a.header.kind = FOOM_RECORD_ATTACH;
    record.a.pid = (int32_t)getpid();
    record.a.generation = generation;
    record.a.wall_ms = foom_wall_ms();
    record.a.monotonic_ns = foom_monotonic_ns();
    record.a.attach_flags = generation > 1 ? FOOM_ATTACH_EXEC : 0;
    record.a.path_length = (uint16_t)n;
    record.a.hook_version = FOOM_RING_VERSION;
    uint64_t position = ring_publish(&record, length);
    if (position != UINT64_MAX) {
        __atomic_store_n(&foom_header->attach_ms, record.a.wall_ms, __ATOMIC_RELAXED);
        __atomic_store_n(&foom_header->attach_position, position, __ATOMIC_RELEASE);
    }
}

static void attach(void) {
    const char *path = initial_getenv("FOOM_RING");
    if (path == NULL || *path == 0) return;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)FOOM_RING_HEADER_SIZE) { close(fd); return; }
    long mapped = syscall(SYS_mmap, 0, FOOM_RING_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mapped < 0 && mapped > -4096) { close(fd); return; }
    struct foom_ring_header *h = (struct foom_ring_header *)mapped;
    if (!valid_header(h, (uint64_t)st.st_size)) {
        syscall(SYS_munmap, h, FOOM_RING_HEADER_SIZE);
        close(fd);
        return;
    }
    /* The ring belongs to one process: the first to attach, or the same pid after exec. Fork
       children and other programs started with the inherited environment stay out. */
    int32_t pid = (int32_t)getpid();
    int32_t expected = 0;
    if (!__atomic_compare_exchange_n(&h->target_pid, &expected, pid, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) &&
        expected != pid) {
        __atomic_fetch_add(&h->foreign_attaches, 1, __ATOMIC_RELAXED);
        syscall(SYS_munmap, h, FOOM_RING_HEADER_SIZE);
        close(fd);
        return;
    }
    uint64_t data_size = h->data_size;
    syscall(SYS_munmap, h, FOOM_RING_HEADER_SIZE);
    size_t total = FOOM_RING_HEADER_SIZE + data_size;
    mapped = syscall(SYS_mmap, 0, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (mapped < 0 && mapped > -4096) return;
    /* Map every page writable now, in one call: otherwise each first write to a ring page is a
       page fault of its own (2048 for the default ring), all on the program's clock, and on this
       kind of virtual machine a fault costs microseconds. The pages exist already (the recorder
       touched them), so nothing new is charged to the program; the recorder takes them out of
       the program's resident bytes. Kernels before 5.14 say EINVAL and the pages fault in as
       they are reached. */
    if (syscall(SYS_madvise, mapped, total, MADV_POPULATE_WRITE) == 0)
        __atomic_store_n(&((struct foom_ring_header *)mapped)->target_mapped_bytes, (uint64_t)total, __ATOMIC_RELEASE);
    ring_mapping_size = total;
    foom_header = (struct foom_ring_header *)mapped;
    foom_data = (uint8_t *)mapped + FOOM_RING_HEADER_SIZE;
    foom_data_size = data_size;
    foom_options = foom_header->options;
    uint32_t generation = __atomic_add_fetch(&foom_header->generation, 1, __ATOMIC_ACQ_REL);

    pthread_atfork(NULL, NULL, after_fork_in_child);
    marks_install_signal_handlers();
    if (__atomic_load_n(&foom_header->stopped, __ATOMIC_ACQUIRE) != FOOM_STOP_NONE) return;
    foom_active = 1;
    publish_attach(generation);
    modules_scan(FOOM_SOURCE_STARTUP, 1);
}

/* The child of a fork is left untracked: it neither writes events nor marks into the parent's
   ring (its own exit status would overwrite the parent's). */
static void after_fork_in_child(void) {
    foom_active = 0;
    if (foom_header != NULL) {
        struct foom_ring_header *h = foom_header;
        foom_header = NULL;
        foom_data = NULL;
        syscall(SYS_munmap, h, ring_mapping_size);
    }
}

#define RESOLVE(name) foom_real.name = (__typeof__(foom_real.name))dlsym(RTLD_NEXT, #name)

static void resolve_real_functions(void) {
    RESOLVE(malloc);
    RESOLVE(free);
    RESOLVE(calloc);
    RESOLVE(realloc);
    RESOLVE(reallocarray);
    RESOLVE(posix_memalign);
    RESOLVE(aligned_alloc);
    RESOLVE(memalign);
    RESOLVE(valloc);
    RESOLVE(pvalloc);
    RESOLVE(malloc_usable_size);
    RESOLVE(mmap);
    RESOLVE(mmap64);
    RESOLVE(munmap);
    RESOLVE(mremap);
    RESOLVE(dlopen);
    RESOLVE(dlclose);
    RESOLVE(exit);
    RESOLVE(_exit);
    RESOLVE(_Exit);
    RESOLVE(pthread_create);
    RESOLVE(sigaction);
    RESOLVE(signal);
    foom_next_dlopen = (void *)foom_real.dlopen;
}

int foom_initialize(void) {
    if (likely(__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) == 2)) return 1;
    struct thread_state *t = &foom_thread;
    int expected = 0;
    if (__atomic_compare_exchange_n(&init_state, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        int saved_errno = errno;
        init_owner = t;
        t->in_hook++;
        resolve_real_functions();
        modules_find_hook();
        attach();
        t->in_hook--;
        __atomic_store_n(&foom_ready, 1, __ATOMIC_RELEASE);
        __atomic_store_n(&init_state, 2, __ATOMIC_RELEASE);
        errno = saved_errno;
        return 1;
    }
    /* Called again from inside initialisation (dlsym allocating, say): usable once the next
       malloc is known, and the guard sends the call straight to it. */
    if (init_owner == t) return foom_real.malloc != NULL && foom_real.free != NULL;
    while (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != 2) sched_yield();
    return 1;
}

__attribute__((constructor)) static void foom_constructor(void) {
    foom_initialize();
    if (!foom_active) return;
    struct thread_state *t = &foom_thread;
    t->in_hook++;
    unwind_load();
    /* Libraries loaded between the first call and now. */
    modules_scan(FOOM_SOURCE_STARTUP, 1);
    t->in_hook--;
}

/* ---- the allocation functions ------------------------------------------------------------------ */

#define ENTER_OR_RETURN(call)                                                             \
    struct thread_state *t = &foom_thread;                                                \
    if (t->in_hook || !foom_active) return call;                                          \
    int saved_errno;                                                                      \
    t->in_hook = 1

#define LEAVE() \
    t->in_hook = 0

EXPORT void *malloc(size_t size) {
    if (unlikely(!foom_ready) && !foom_initialize()) return bootstrap_alloc(size, 16);
    ENTER_OR_RETURN(foom_real.malloc(size));
    void *p = foom_real.malloc(size);
    saved_errno = errno;
    if (p) publish_alloc(FOOM_SOURCE_MALLOC, p, size, 0, 0);
    errno = saved_errno;
    LEAVE();
    return p;
}

EXPORT void free(void *p) {
    if (p == NULL || unlikely(is_bootstrap(p))) return;
    if (unlikely(!foom_ready) && !foom_initialize()) return; /* only our own early blocks exist */
    struct thread_state *t = &foom_thread;
    if (t->in_hook || !foom_active) {
        foom_real.free(p);
        return;
    }
    t->in_hook = 1;
    int saved_errno = errno;
    publish_free(FOOM_SOURCE_FREE, p);
    errno = saved_errno;
    foom_real.free(p);
    t->in_hook = 0;
}

EXPORT void *calloc(size_t count, size_t size) {
    if (unlikely(!foom_ready) && !foom_initialize()) {
        if (size != 0 && count > SIZE_MAX / size) return NULL;
        return bootstrap_alloc(count * size, 16); /* the arena starts zeroed and is never reused */
    }
    ENTER_OR_RETURN(foom_real.calloc(count, size));
    void *p = foom_real.calloc(count, size);
    saved_errno = errno;
    if (p) publish_alloc(FOOM_SOURCE_CALLOC, p, count * size, 0, 0);
    errno = saved_errno;
    LEAVE();
    return p;
}

static void *realloc_common(uint8_t source, void *old, size_t size) {
    ENTER_OR_RETURN(foom_real.realloc(old, size));
    saved_errno = errno;
    if (old) publish_free(source, old);
    errno = saved_errno;
    void *p = foom_real.realloc(old, size);
    saved_errno = errno;
    if (p) {
        publish_alloc(source, p, size, 0, 0);
    } else if (old && size) {
        /* The call failed and the old block is still there: publish it again. */
        size_t usable = foom_real.malloc_usable_size ? foom_real.malloc_usable_size(old) : 0;
        publish_alloc(source, old, usable, 0, FOOM_FLAG_RESTORED);
    }
    errno = saved_errno;
    LEAVE();
    return p;
}

EXPORT void *realloc(void *old, size_t size) {
    if (unlikely(old != NULL && is_bootstrap(old))) {
        void *p = malloc(size);
        if (p) {
            size_t copy = bootstrap_size(old);
            memcpy(p, old, copy < size ? copy : size);
        }
        return p;
    }
    if (unlikely(!foom_ready) && !foom_initialize()) return bootstrap_alloc(size, 16);
    return realloc_common(FOOM_SOURCE_REALLOC, old, size);
}

EXPORT void *reallocarray(void *old, size_t count, size_t size) {
    if (size != 0 && count > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    if (unlikely(old != NULL && is_bootstrap(old))) return realloc(old, count * size);
    if (unlikely(!foom_ready) && !foom_initialize()) return bootstrap_alloc(count * size, 16);
    return realloc_common(FOOM_SOURCE_REALLOCARRAY, old, count * size);
}

EXPORT int posix_memalign(void **result, size_t alignment, size_t size) {
    if (unlikely(!foom_ready) && !foom_initialize()) {
        *result = bootstrap_alloc(size, alignment);
        return *result ? 0 : ENOMEM;
    }
    ENTER_OR_RETURN(foom_real.posix_memalign(result, alignment, size));
    int status = foom_real.posix_memalign(result, alignment, size);
    saved_errno = errno;
    if (status == 0 && *result) publish_alloc(FOOM_SOURCE_POSIX_MEMALIGN, *result, size, alignment, 0);
    errno = saved_errno;
    LEAVE();
    return status;
}

#define ALIGNED_ENTRY(name, source, params, call, size_expr, alignment_expr, boot_size, boot_alignment) \
    EXPORT void *name params {                                                                       \
        if (unlikely(!foom_ready) && !foom_initialize()) return bootstrap_alloc(boot_size, boot_alignment); \
        ENTER_OR_RETURN(foom_real.call);                                                             \
        void *p = foom_real.call;                                                                    \
        saved_errno = errno;                                                                         \
        if (p) publish_alloc(source, p, size_expr, alignment_expr, 0);                               \
        errno = saved_errno;                                                                         \
        LEAVE();                                                                                     \
        return p;                                                                                    \
    }

ALIGNED_ENTRY(aligned_alloc, FOOM_SOURCE_ALIGNED_ALLOC, (size_t alignment, size_t size),
              aligned_alloc(alignment, size), size, alignment, size, alignment)
ALIGNED_ENTRY(memalign, FOOM_SOURCE_MEMALIGN, (size_t alignment, size_t size),
              memalign(alignment, size), size, alignment, size, alignment)
ALIGNED_ENTRY(valloc, FOOM_SOURCE_VALLOC, (size_t size), valloc(size), size, 4096, size, 4096)
ALIGNED_ENTRY(pvalloc, FOOM_SOURCE_PVALLOC, (size_t size), pvalloc(size), size, 4096,
              (size + 4095) & ~(size_t)4095, 4096)

/* ---- mappings --------------------------------------------------------------------------------- */

static void *raw_mmap(void *address, size_t length, int prot, int flags, int fd, off_t offset) {
    long p = syscall(SYS_mmap, address, length, prot, flags, fd, offset);
    if (p < 0 && p > -4096) {
        errno = (int)-p;
        return MAP_FAILED;
    }
    return (void *)p;
}

static void *mmap_common(void *(*next)(void *, size_t, int, int, int, off_t), void *address, size_t length,
                         int prot, int flags, int fd, off_t offset) {
    ENTER_OR_RETURN(next(address, length, prot, flags, fd, offset));
    void *p = next(address, length, prot, flags, fd, offset);
    saved_errno = errno;
    if (p != MAP_FAILED) publish_map(FOOM_SOURCE_MMAP, p, length, prot, flags, fd, offset, NULL, 0);
    errno = saved_errno;
    LEAVE();
    return p;
}

EXPORT void *mmap(void *address, size_t length, int prot, int flags, int fd, off_t offset) {
    if (unlikely(!foom_ready) && !foom_initialize()) return raw_mmap(address, length, prot, flags, fd, offset);
    return mmap_common(foom_real.mmap, address, length, prot, flags, fd, offset);
}

EXPORT void *mmap64(void *address, size_t length, int prot, int flags, int fd, off_t offset) {
    if (unlikely(!foom_ready) && !foom_initialize()) return raw_mmap(address, length, prot, flags, fd, offset);
    return mmap_common(foom_real.mmap64 ? foom_real.mmap64 : foom_real.mmap, address, length, prot, flags, fd, offset);
}

EXPORT int munmap(void *address, size_t length) {
    if (unlikely(!foom_ready) && !foom_initialize()) {
        long r = syscall(SYS_munmap, address, length);
        if (r < 0) { errno = (int)-r; return -1; }
        return 0;
    }
    ENTER_OR_RETURN(foom_real.munmap(address, length));
    saved_errno = errno;
    publish_unmap(FOOM_SOURCE_MUNMAP, address, length);
    errno = saved_errno;
    int result = foom_real.munmap(address, length);
    LEAVE();
    return result;
}

EXPORT void *mremap(void *old_address, size_t old_size, size_t new_size, int flags, ...) {
    void *new_address = NULL;
    if (flags & MREMAP_FIXED) {
        va_list arguments;
        va_start(arguments, flags);
        new_address = va_arg(arguments, void *);
        va_end(arguments);
    }
    if (unlikely(!foom_ready) && !foom_initialize()) {
        long p = syscall(SYS_mremap, old_address, old_size, new_size, flags, new_address);
        if (p < 0 && p > -4096) { errno = (int)-p; return MAP_FAILED; }
        return (void *)p;
    }
    ENTER_OR_RETURN(foom_real.mremap(old_address, old_size, new_size, flags, new_address));
    saved_errno = errno;
    if (old_size) publish_unmap(FOOM_SOURCE_MREMAP, old_address, old_size);
    errno = saved_errno;
    void *p = foom_real.mremap(old_address, old_size, new_size, flags, new_address);
    saved_errno = errno;
    if (p != MAP_FAILED)
        publish_map(FOOM_SOURCE_MREMAP, p, new_size, 0, flags, -1, 0, old_address, 0);
    else if (old_size)
        publish_map(FOOM_SOURCE_MREMAP, old_address, old_size, 0, flags, -1, 0, old_address, FOOM_FLAG_RESTORED);
    errno = saved_errno;
    LEAVE();
    return p;
}

/* ---- modules ---------------------------------------------------------------------------------- */

/*
 * dlopen finds its caller from its return address and searches that object's RPATH/RUNPATH and
 * expands $ORIGIN against it; a wrapper that calls it would make the hook the caller and break
 * programs that rely on those. So dlopen is entered here, notes what earlier dlopens loaded, and
 * jumps to the next dlopen with the caller's return address still on top of the stack. What this
 * dlopen loads is published by the next events of the same thread (they look for new modules
 * for a while), before any stack that passes through it (an unknown pc makes the hook look),
 * and at the latest at the next dlopen or dlclose, or at exit.
 */
#define DLOPEN_CHECKS 64

HIDDEN __attribute__((used)) void foom_before_dlopen(void) {
    if (unlikely(!foom_ready)) foom_initialize();
    struct thread_state *t = &foom_thread;
    if (t->in_hook || !foom_active) return;
    int saved_errno = errno;
    t->in_hook = 1;
    modules_discover(FOOM_SOURCE_DLOPEN);
    t->dlopen_checks = DLOPEN_CHECKS;
    t->in_hook = 0;
    errno = saved_errno;
}

#if defined(__x86_64__)
__asm__(
    ".text\n"
    ".globl dlopen\n"
    ".type dlopen, @function\n"
    "dlopen:\n"
    "    .cfi_startproc\n"
    "    push %rdi\n"
    "    .cfi_adjust_cfa_offset 8\n"
    "    push %rsi\n"
    "    .cfi_adjust_cfa_offset 8\n"
    "    sub $8, %rsp\n"
    "    .cfi_adjust_cfa_offset 8\n"
    "    call foom_before_dlopen\n"
    "    add $8, %rsp\n"
    "    .cfi_adjust_cfa_offset -8\n"
    "    pop %rsi\n"
    "    .cfi_adjust_cfa_offset -8\n"
    "    pop %rdi\n"
    "    .cfi_adjust_cfa_offset -8\n"
    "    jmp *foom_next_dlopen(%rip)\n"
    "    .cfi_endproc\n"
    ".size dlopen, .-dlopen\n");
#else
#error "libfoomhook's dlopen entry is written for x86-64"
#endif

EXPORT int dlclose(void *handle) {
    if (unlikely(!foom_ready)) foom_initialize();
    int result = foom_real.dlclose(handle);
    struct thread_state *t = &foom_thread;
    if (!t->in_hook && foom_active) {
        int saved_errno = errno;
        t->in_hook = 1;
        modules_scan(FOOM_SOURCE_DLCLOSE, 1);
        t->in_hook = 0;
        errno = saved_errno;
    }
    return result;
}

/* ---- threads: where their stacks are, and where their first frame is ---------------------------- */

/*
 * Every thread the program creates starts in thread_start, which records the thread's stack
 * bounds (for the frame-pointer walk) before the program's code runs: asking later, from inside
 * an allocation, could deadlock (pthread_getattr_np holds the thread's lock while it allocates)
 * and cost a syscall. It also learns the return address into libc's start_thread, where every
 * thread's stack ends. The start routine and its argument travel in a slot of a static pool;
 * with the pool exhausted a thread starts unwrapped, and its stacks come from libunwind.
 */
#define THREAD_SLOTS 1024u
struct thread_start_slot {
    void *(*start)(void *);
    void *argument;
    int in_use;
};
static struct thread_start_slot thread_slots[THREAD_SLOTS];
static uint32_t next_thread_slot;

static struct thread_start_slot *claim_thread_slot(void) {
    for (uint32_t attempt = 0; attempt < THREAD_SLOTS; attempt++) {
        uint32_t index = __atomic_fetch_add(&next_thread_slot, 1, __ATOMIC_RELAXED) & (THREAD_SLOTS - 1);
        int expected = 0;
        if (__atomic_compare_exchange_n(&thread_slots[index].in_use, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return &thread_slots[index];
    }
    return NULL;
}

__attribute__((noinline)) static void *thread_start(void *argument) {
    struct thread_start_slot *slot = argument;
    void *(*start)(void *) = slot->start;
    void *start_argument = slot->argument;
    __atomic_store_n(&slot->in_use, 0, __ATOMIC_RELEASE);
    if (foom_thread_root == 0) foom_thread_root = (uintptr_t)__builtin_return_address(0);
    struct thread_state *t = &foom_thread;
    t->in_hook++;
    pthread_attr_t attributes;
    if (pthread_getattr_np(pthread_self(), &attributes) == 0) {
        void *address;
        size_t size;
        if (pthread_attr_getstack(&attributes, &address, &size) == 0 && size > 0) {
            t->stack_low = (uintptr_t)address;
            t->stack_high = (uintptr_t)address + size;
        }
        pthread_attr_destroy(&attributes);
    }
    t->in_hook--;
    void *result = start(start_argument);
    __asm__ volatile("" ::: "memory"); /* keep this frame (no tail call): the walk ends below it */
    return result;
}

EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attributes, void *(*start)(void *), void *argument) {
    if (unlikely(!foom_ready)) foom_initialize();
    struct thread_start_slot *slot = foom_active ? claim_thread_slot() : NULL;
    if (slot == NULL) return foom_real.pthread_create(thread, attributes, start, argument);
    slot->start = start;
    slot->argument = argument;
    int result = foom_real.pthread_create(thread, attributes, thread_start, slot);
    if (result != 0) __atomic_store_n(&slot->in_use, 0, __ATOMIC_RELEASE);
    return result;
}

/* ---- program start and exit ------------------------------------------------------------------------- */

typedef int (*main_function)(int, char **, char **);
static main_function program_main;

/* Runs main to learn the return address into libc's __libc_start_call_main (the main thread's
   first frame) and to see the status main returns. */
__attribute__((noinline)) static int main_wrapper(int argc, char **argv, char **envp) {
    foom_main_root = (uintptr_t)__builtin_return_address(0);
    int status = program_main(argc, argv, envp);
    marks_exit(FOOM_EXIT_MAIN_RETURN, status);
    return status;
}

EXPORT int __libc_start_main(main_function main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                             void (*rtld_fini)(void), void *stack_end) {
    typedef int (*start_function)(main_function, int, char **, void (*)(void), void (*)(void), void (*)(void), void *);
    start_function next = (start_function)dlsym(RTLD_NEXT, "__libc_start_main");
    program_main = main;
    return next(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}

EXPORT void exit(int status) {
    if (unlikely(!foom_ready)) foom_initialize();
    marks_exit(FOOM_EXIT_CALL, status);
    foom_real.exit(status);
}

EXPORT void _exit(int status) {
    if (unlikely(!foom_ready)) foom_initialize();
    marks_exit(FOOM_EXIT_IMMEDIATE, status);
    if (foom_real._exit) foom_real._exit(status);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

EXPORT void _Exit(int status) {
    if (unlikely(!foom_ready)) foom_initialize();
    marks_exit(FOOM_EXIT_IMMEDIATE, status);
    if (foom_real._Exit) foom_real._Exit(status);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

__attribute__((destructor)) static void foom_destructor(void) {
    marks_exit(FOOM_EXIT_UNSEEN, 0);
}
