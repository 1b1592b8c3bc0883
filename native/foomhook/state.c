/* The shared state's definitions and the primitives that need nothing but the kernel. */
#include "state.h"

#include <sys/syscall.h>
#include <time.h>

__thread struct thread_state foom_thread __attribute__((tls_model("initial-exec")));

struct real_functions foom_real;
struct foom_ring_header *foom_header;
uint8_t *foom_data;
uint64_t foom_data_size;
uint32_t foom_options;
uint64_t foom_sample_bytes;
uintptr_t foom_hook_start, foom_hook_end;
atomic_int foom_ready;
atomic_int foom_mode;
_Atomic uintptr_t foom_main_root;
_Atomic uintptr_t foom_thread_root;
_Atomic uint32_t foom_stack_epoch;

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

struct foom_ring_header *foom_target_header(void) {
    struct foom_ring_header *h = foom_header;
    if (h == NULL) return NULL;
    if (__atomic_load_n(&h->target_pid, __ATOMIC_ACQUIRE) != (int32_t)syscall(SYS_getpid)) return NULL;
    return h;
}
