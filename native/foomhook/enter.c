/*
 * Entering the hook: initialisation at the first call, whichever function it is (resolve the next
 * definitions, find the hook's own code, attach to the ring named by FOOM_RING or, for the run's
 * other processes, to a spare ring of its pool), and the child of a fork leaving the ring.
 */
#include "enter.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "marks.h"
#include "python.h"
#include "unwind.h"

static size_t ring_mapping_size;
static atomic_int init_state; /* 0: not started, 1: running, 2: done */
static _Atomic(struct thread_state *) init_owner;

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

/* Opens the ring file at path and maps its header; NULL when it is not there or not a valid ring
   (then nothing stays open). */
static struct foom_ring_header *map_ring_header(const char *path, int *fd_out) {
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)FOOM_RING_HEADER_SIZE) { close(fd); return NULL; }
    long mapped = syscall(SYS_mmap, 0, FOOM_RING_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mapped < 0 && mapped > -4096) { close(fd); return NULL; }
    struct foom_ring_header *h = (struct foom_ring_header *)mapped;
    if (!valid_header(h, (uint64_t)st.st_size)) {
        syscall(SYS_munmap, h, FOOM_RING_HEADER_SIZE);
        close(fd);
        return NULL;
    }
    *fd_out = fd;
    return h;
}

static void unmap_ring_header(struct foom_ring_header *h, int fd) {
    syscall(SYS_munmap, h, FOOM_RING_HEADER_SIZE);
    close(fd);
}

/* A ring belongs to one process: the first to attach, or the same pid after exec. */
static int take_ring(struct foom_ring_header *h, int32_t pid) {
    int32_t expected = 0;
    return __atomic_compare_exchange_n(&h->target_pid, &expected, pid, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ||
           expected == pid;
}

/* This process's index in the run's pool: the one it claimed before an exec, else a new one;
   -1 (counted) when the recorder has no spare ring ready. */
static int claim_pool_index(struct foom_ring_header *run, int32_t pid) {
    uint32_t claimed = __atomic_load_n(&run->pool_claimed, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < claimed && i < FOOM_RING_POOL_MAX; i++)
        if (__atomic_load_n(&run->pool_pids[i], __ATOMIC_ACQUIRE) == pid) return (int)i;
    for (;;) {
        uint32_t created = __atomic_load_n(&run->pool_created, __ATOMIC_ACQUIRE);
        if (claimed >= created || claimed >= FOOM_RING_POOL_MAX) {
            __atomic_fetch_add(&run->pool_exhausted, 1, __ATOMIC_RELAXED);
            return -1;
        }
        if (__atomic_compare_exchange_n(&run->pool_claimed, &claimed, claimed + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            __atomic_store_n(&run->pool_pids[claimed], pid, __ATOMIC_RELEASE);
            return (int)claimed;
        }
    }
}

/* <directory of run_path>/rings/<index>.ring into path; 0 when it does not fit. */
static int pool_ring_path(const char *run_path, int index, char *path, size_t size) {
    const char *slash = strrchr(run_path, '/');
    size_t directory = slash == NULL ? 0 : (size_t)(slash - run_path) + 1;
    static const char middle[] = "rings/";
    static const char suffix[] = ".ring";
    char digits[12];
    int n = 0;
    do {
        digits[n++] = (char)('0' + index % 10);
        index /= 10;
    } while (index > 0);
    if (directory + sizeof middle - 1 + (size_t)n + sizeof suffix > size) return 0;
    memcpy(path, run_path, directory);
    memcpy(path + directory, middle, sizeof middle - 1);
    size_t at = directory + sizeof middle - 1;
    while (n > 0) path[at++] = digits[--n];
    memcpy(path + at, suffix, sizeof suffix);
    return 1;
}

/* Who this process is, in its ring's header: the parent and the command line (the recorder's
   session of a process that has already ended takes them from here, /proc being gone). */
static void note_process(struct foom_ring_header *h) {
    __atomic_store_n(&h->parent_pid, (int32_t)syscall(SYS_getppid), __ATOMIC_RELAXED);
    uint32_t length = 0;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        while (length < FOOM_RING_COMMAND_LINE_SIZE) {
            long got = syscall(SYS_read, fd, h->command_line + length, FOOM_RING_COMMAND_LINE_SIZE - length);
            if (got <= 0) break;
            length += (uint32_t)got;
        }
        syscall(SYS_close, fd);
    }
    __atomic_store_n(&h->command_line_length, length, __ATOMIC_RELEASE);
}

/* The ring this process records into: the run's (FOOM_RING) when it is the program, else a spare
   ring of the run's pool. NULL when it records nowhere. */
static struct foom_ring_header *find_ring(int *fd_out) {
    const char *path = initial_getenv("FOOM_RING");
    if (path == NULL || *path == 0) return NULL;
    int fd;
    struct foom_ring_header *h = map_ring_header(path, &fd);
    if (h == NULL) return NULL;
    int32_t pid = (int32_t)getpid();
    if (take_ring(h, pid)) {
        *fd_out = fd;
        return h;
    }
    /* Another process of the run (a child that exec'd, or any program started with the run's
       environment): a ring of its own from the pool. */
    __atomic_fetch_add(&h->foreign_attaches, 1, __ATOMIC_RELAXED);
    int index = claim_pool_index(h, pid);
    unmap_ring_header(h, fd);
    char own_path[FOOM_RING_MAX_PATH + 1];
    if (index < 0 || !pool_ring_path(path, index, own_path, sizeof own_path)) return NULL;
    h = map_ring_header(own_path, &fd);
    if (h == NULL) return NULL;
    if (!take_ring(h, pid)) {
        unmap_ring_header(h, fd);
        return NULL;
    }
    *fd_out = fd;
    return h;
}

static void attach(void) {
    int fd;
    struct foom_ring_header *h = find_ring(&fd);
    if (h == NULL) return;
    note_process(h);
    uint64_t data_size = h->data_size;
    syscall(SYS_munmap, h, FOOM_RING_HEADER_SIZE);
    size_t total = FOOM_RING_HEADER_SIZE + data_size;
    long mapped = syscall(SYS_mmap, 0, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
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
    foom_sample_bytes = foom_header->sample_bytes;
    uint32_t generation = __atomic_add_fetch(&foom_header->generation, 1, __ATOMIC_ACQ_REL);

    pthread_atfork(NULL, NULL, after_fork_in_child);
    marks_install_signal_handlers();
    if (__atomic_load_n(&foom_header->stopped, __ATOMIC_ACQUIRE) != FOOM_STOP_NONE) {
        atomic_store_explicit(&foom_mode, FOOM_MODE_COUNTING, memory_order_relaxed);
        return;
    }
    atomic_store_explicit(&foom_mode, FOOM_MODE_RECORDING, memory_order_relaxed);
    publish_attach(generation);
    modules_scan(FOOM_SOURCE_STARTUP, 1);
}

/* The child of a fork is left untracked until it execs (then its new image claims a ring of its
   own from the pool): it neither writes events nor marks into the parent's ring (its own exit
   status would overwrite the parent's). Recording a fork child from the fork on would need a ring
   claimed inside the atfork handler and a copy of the parent's live set; the program's children
   nearly always exec at once (shells, make, compilers' drivers), so they are recorded from the
   exec, and a fork that never execs is named in the report as not recorded. */
static void after_fork_in_child(void) {
    atomic_store_explicit(&foom_mode, FOOM_MODE_OFF, memory_order_relaxed);
    if (foom_header != NULL) {
        struct foom_ring_header *h = foom_header;
        foom_header = NULL;
        foom_data = NULL;
        syscall(SYS_munmap, h, ring_mapping_size);
    }
}

static void resolve_real_functions(void) {
#define FOOM_RESOLVE(name) foom_real.name = (__typeof__(foom_real.name))dlsym(RTLD_NEXT, #name);
    FOOM_HOOKED_FUNCTIONS(FOOM_RESOLVE)
    FOOM_CALLED_FUNCTIONS(FOOM_RESOLVE)
#undef FOOM_RESOLVE
}

int foom_initialize(void) {
    if (likely(atomic_load_explicit(&init_state, memory_order_acquire) == 2)) return 1;
    struct thread_state *t = &foom_thread;
    int expected = 0;
    if (atomic_compare_exchange_strong_explicit(&init_state, &expected, 1, memory_order_acq_rel, memory_order_acquire)) {
        int saved_errno = errno;
        atomic_store_explicit(&init_owner, t, memory_order_relaxed);
        t->in_hook++;
        resolve_real_functions();
        modules_find_hook();
        attach();
        t->in_hook--;
        atomic_store_explicit(&foom_ready, 1, memory_order_release);
        atomic_store_explicit(&init_state, 2, memory_order_release);
        errno = saved_errno;
        return 1;
    }
    /* Called again from inside initialisation (dlsym allocating, say): usable once the next
       malloc is known, and the guard sends the call straight to it. */
    if (atomic_load_explicit(&init_owner, memory_order_relaxed) == t) return foom_real.malloc != NULL && foom_real.free != NULL;
    while (atomic_load_explicit(&init_state, memory_order_acquire) != 2) sched_yield();
    return 1;
}

__attribute__((constructor)) static void foom_constructor(void) {
    foom_initialize();
    if (!foom_is_active()) return;
    struct thread_state *t = &foom_thread;
    t->in_hook++;
    unwind_load();
    python_load(getenv("FOOM_RING"));
    /* Libraries loaded between the first call and now. */
    modules_scan(FOOM_SOURCE_STARTUP, 1);
    t->in_hook--;
}
