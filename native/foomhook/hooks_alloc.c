/*
 * Entry points of the malloc family (the top layer). Each has the shape enter.h describes: the
 * original called with the guard held, then the event tracked; a free is published before the
 * real free, so the ring's reservation order is the order in which addresses changed hands.
 */
#include "enter.h"

#include <errno.h>
#include <string.h>

#include "events.h"

/* ---- the bootstrap allocator: serves dlsym and anything else before the next malloc is known */

#define BOOTSTRAP_SIZE (128 * 1024)
static uint8_t bootstrap_arena[BOOTSTRAP_SIZE] __attribute__((aligned(64)));
static _Atomic size_t bootstrap_used;

static inline int is_bootstrap(const void *p) {
    return (const uint8_t *)p >= bootstrap_arena && (const uint8_t *)p < bootstrap_arena + BOOTSTRAP_SIZE;
}

/* Never freed; each block remembers its size (16 bytes before it) for realloc. */
static void *bootstrap_alloc(size_t size, size_t alignment) {
    if (alignment < 16) alignment = 16;
    if (size > BOOTSTRAP_SIZE) return NULL;
    size_t used = atomic_load_explicit(&bootstrap_used, memory_order_relaxed);
    for (;;) {
        size_t start = (used + 16 + alignment - 1) & ~(alignment - 1);
        size_t end = start + ((size + 15) & ~(size_t)15);
        if (end > BOOTSTRAP_SIZE) return NULL;
        if (atomic_compare_exchange_weak_explicit(&bootstrap_used, &used, end, memory_order_relaxed, memory_order_relaxed)) {
            *(size_t *)(bootstrap_arena + start - 16) = size;
            return bootstrap_arena + start;
        }
    }
}

static size_t bootstrap_size(const void *p) { return *(const size_t *)((const uint8_t *)p - 16); }

/* ---- the entry points ------------------------------------------------------------------------ */

/* What an allocation came to: the block, or a failure for want of memory (NULL with ENOMEM), an
   event of its own with the size asked for and the stack. */
static inline void track_block(uint8_t source, void *p, size_t size, size_t alignment) {
    if (likely(p != NULL))
        publish_alloc(source, p, size, alignment, 0);
    else if (errno == ENOMEM)
        publish_alloc_failed(source, NULL, size, alignment);
}

EXPORT void *malloc(size_t size) {
    if (unlikely(!hook_ready())) return bootstrap_alloc(size, 16);
    struct hook_guard guard HOOK_SCOPED = hook_enter();
    void *p = foom_real.malloc(size);
    if (guard.thread) track_block(FOOM_SOURCE_MALLOC, p, size, 0);
    return p;
}

EXPORT void free(void *p) {
    if (p == NULL || unlikely(is_bootstrap(p))) return;
    if (unlikely(!hook_ready())) return; /* only our own early blocks exist */
    struct hook_guard guard HOOK_SCOPED = hook_enter();
    if (guard.thread) publish_free(FOOM_SOURCE_FREE, p);
    foom_real.free(p);
}

EXPORT void *calloc(size_t count, size_t size) {
    if (unlikely(!hook_ready())) {
        if (size != 0 && count > SIZE_MAX / size) return NULL;
        return bootstrap_alloc(count * size, 16); /* the arena starts zeroed and is never reused */
    }
    struct hook_guard guard HOOK_SCOPED = hook_enter();
    void *p = foom_real.calloc(count, size);
    if (guard.thread) track_block(FOOM_SOURCE_CALLOC, p, size != 0 && count > SIZE_MAX / size ? SIZE_MAX : count * size, 0);
    return p;
}

/* A free of the old block, then an allocation of the new one; when the call fails the old
   block is still there, and is published again. */
static void *realloc_common(uint8_t source, void *old, size_t size) {
    struct hook_guard guard HOOK_SCOPED = hook_enter();
    int old_published = guard.thread && old && publish_free(source, old);
    void *p = foom_real.realloc(old, size);
    if (guard.thread) {
        if (p) {
            publish_alloc(source, p, size, 0, 0);
        } else if (size) {
            if (errno == ENOMEM) publish_alloc_failed(source, old, size, 0);
            if (old_published) {
                size_t usable = foom_real.malloc_usable_size ? foom_real.malloc_usable_size(old) : 0;
                publish_alloc(source, old, usable, 0, FOOM_FLAG_RESTORED);
            }
        }
    }
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
    if (unlikely(!hook_ready())) return bootstrap_alloc(size, 16);
    return realloc_common(FOOM_SOURCE_REALLOC, old, size);
}

EXPORT void *reallocarray(void *old, size_t count, size_t size) {
    if (size != 0 && count > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    if (unlikely(old != NULL && is_bootstrap(old))) return realloc(old, count * size);
    if (unlikely(!hook_ready())) return bootstrap_alloc(count * size, 16);
    return realloc_common(FOOM_SOURCE_REALLOCARRAY, old, count * size);
}

EXPORT int posix_memalign(void **result, size_t alignment, size_t size) {
    if (unlikely(!hook_ready())) {
        *result = bootstrap_alloc(size, alignment);
        return *result ? 0 : ENOMEM;
    }
    struct hook_guard guard HOOK_SCOPED = hook_enter();
    int status = foom_real.posix_memalign(result, alignment, size);
    if (guard.thread) {
        if (status == 0 && *result)
            publish_alloc(FOOM_SOURCE_POSIX_MEMALIGN, *result, size, alignment, 0);
        else if (status == ENOMEM)
            publish_alloc_failed(FOOM_SOURCE_POSIX_MEMALIGN, NULL, size, alignment);
    }
    return status;
}

EXPORT void *aligned_alloc(size_t alignment, size_t size) {
    if (unlikely(!hook_ready())) return bootstrap_alloc(size, alignment);
    struct hook_guard guard HOOK_SCOPED = hook_enter();
    void *p = foom_real.aligned_alloc(alignment, size);
    if (guard.thread) track_block(FOOM_SOURCE_ALIGNED_ALLOC, p, size, alignment);
    return p;
}

EXPORT void *memalign(size_t alignment, size_t size) {
    if (unlikely(!hook_ready())) return bootstrap_alloc(size, alignment);
    struct hook_guard guard HOOK_SCOPED = hook_enter();
    void *p = foom_real.memalign(alignment, size);
    if (guard.thread) track_block(FOOM_SOURCE_MEMALIGN, p, size, alignment);
    return p;
}

EXPORT void *valloc(size_t size) {
    if (unlikely(!hook_ready())) return bootstrap_alloc(size, 4096);
    struct hook_guard guard HOOK_SCOPED = hook_enter();
    void *p = foom_real.valloc(size);
    if (guard.thread) track_block(FOOM_SOURCE_VALLOC, p, size, 4096);
    return p;
}

EXPORT void *pvalloc(size_t size) {
    if (unlikely(!hook_ready())) return bootstrap_alloc((size + 4095) & ~(size_t)4095, 4096);
    struct hook_guard guard HOOK_SCOPED = hook_enter();
    void *p = foom_real.pvalloc(size);
    if (guard.thread) track_block(FOOM_SOURCE_PVALLOC, p, size, 4096);
    return p;
}
