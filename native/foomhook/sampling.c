/*
 * Sampled mode: the sampling decision and the set of sampled addresses.
 *
 * The decision is tcmalloc's and heapprofd's: each thread counts down the bytes it allocates
 * from an exponentially distributed start (mean N, header.sample_bytes); the block in which the
 * countdown runs out is sampled and a new countdown drawn. The exponential is memoryless, so
 * every block of s bytes is sampled with chance p = 1 - e^(-s/N) independently of the others,
 * and the recorder weights it by 1/p (docs/report-format.md, "Sampled runs"). Blocks of N bytes
 * or more are always recorded, exactly, and leave the countdown alone.
 *
 * The set makes frees cheap: a free whose address is not in it (nearly every free) costs a few
 * probes of one or two cache lines and no ring write. It is an open-addressing table of
 * addresses in the hook's own memory, fixed in size (2^18 slots, 2 MiB of address space reserved,
 * pages touched only where addresses land), linear probing bounded by PROBES slots; a removed
 * address leaves a tombstone that a later insertion reuses. An address is in the set at most
 * once: it is inserted after the real allocation returned it and removed before the real free
 * gives it back, so two threads never insert or remove the same address at once. Should an
 * insertion find no room within PROBES slots (more than about 130 000 sampled blocks live, or
 * a crowded neighbourhood), the set overflows for good: the block is still recorded, the header
 * counts it (sample_set_overflows) and from then on every free is published, as in exact mode.
 */
#include "sampling.h"

#include <math.h>
#include <sys/syscall.h>

#define SET_SLOTS (1u << 18)
#define PROBES 64u
#define EMPTY 0u
#define TOMBSTONE 1u /* no block lives at address 1 */

static _Atomic(_Atomic uintptr_t *) set;
static atomic_int overflowed;

static _Atomic uintptr_t *the_set(void) {
    _Atomic uintptr_t *s = atomic_load_explicit(&set, memory_order_acquire);
    if (likely(s != NULL)) return s;
    _Atomic uintptr_t *fresh = foom_raw_mmap(SET_SLOTS * sizeof(uintptr_t));
    if (fresh == NULL) return NULL;
    if (atomic_compare_exchange_strong_explicit(&set, &s, fresh, memory_order_acq_rel, memory_order_acquire)) return fresh;
    syscall(SYS_munmap, (void *)fresh, SET_SLOTS * sizeof(uintptr_t)); /* another thread made it first */
    return s;
}

static inline uint32_t slot_of(uintptr_t address) {
    return (uint32_t)(((uint64_t)address * 0x9e3779b97f4a7c15ull) >> (64 - 18));
}

static void overflow(void) {
    atomic_store_explicit(&overflowed, 1, memory_order_relaxed);
    struct foom_ring_header *h = foom_header;
    if (h != NULL) __atomic_fetch_add(&h->sample_set_overflows, 1, __ATOMIC_RELAXED);
}

void sampling_remember(uintptr_t address) {
    _Atomic uintptr_t *s = the_set();
    if (s == NULL) { overflow(); return; }
    uint32_t at = slot_of(address);
    for (uint32_t i = 0; i < PROBES; i++) {
        _Atomic uintptr_t *slot = &s[(at + i) & (SET_SLOTS - 1)];
        uintptr_t seen = atomic_load_explicit(slot, memory_order_relaxed);
        while (seen == EMPTY || seen == TOMBSTONE) {
            if (atomic_compare_exchange_weak_explicit(slot, &seen, address, memory_order_release, memory_order_relaxed)) return;
        }
    }
    overflow();
}

int sampling_forget(uintptr_t address) {
    _Atomic uintptr_t *s = atomic_load_explicit(&set, memory_order_acquire);
    if (s != NULL) {
        uint32_t at = slot_of(address);
        for (uint32_t i = 0; i < PROBES; i++) {
            _Atomic uintptr_t *slot = &s[(at + i) & (SET_SLOTS - 1)];
            uintptr_t seen = atomic_load_explicit(slot, memory_order_acquire);
            if (seen == address) {
                atomic_store_explicit(slot, TOMBSTONE, memory_order_relaxed);
                return 1;
            }
            if (seen == EMPTY) break;
        }
    }
    return atomic_load_explicit(&overflowed, memory_order_relaxed);
}

/* An exponential draw of mean n from this thread's xorshift64* generator. */
static int64_t next_countdown(struct thread_state *t, uint64_t n) {
    uint64_t x = t->sample_random;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->sample_random = x;
    double u = (double)(((x * 0x2545f4914f6cdd1dull) >> 11) + 1) * 0x1.0p-53; /* (0, 1] */
    double draw = -log(u) * (double)n;
    return draw < 1.0 ? 1 : draw > 9.0e18 ? INT64_MAX : (int64_t)draw;
}

int sampling_take(struct thread_state *t, uintptr_t address, size_t size) {
    uint64_t n = foom_sample_bytes;
    if (size < n) {
        if (unlikely(t->sample_random == 0)) {
            /* Seeded per thread from its id and the clock; never 0 (xorshift's fixed point). */
            t->sample_random = (foom_monotonic_ns() ^ ((uint64_t)foom_thread_id(t) * 0x9e3779b97f4a7c15ull)) | 1;
            t->sample_countdown = next_countdown(t, n);
        }
        t->sample_countdown -= (int64_t)size;
        if (likely(t->sample_countdown > 0)) return 0;
        t->sample_countdown = next_countdown(t, n);
    }
    sampling_remember(address);
    return 1;
}
