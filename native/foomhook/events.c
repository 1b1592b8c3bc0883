/*
 * Building the records: allocations and mappings with their stacks (in full the first time this
 * thread sends a stack, as its hash afterwards), frees and unmappings without.
 */
#include "events.h"

#include "sampling.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif

/* After a dlopen, this thread's next events look for what it loaded (a cheap check while
   nothing changed); the first that finds it ends the search. */
static inline void after_dlopen(struct thread_state *t) {
    if (likely(t->dlopen_checks == 0)) return;
    t->dlopen_checks = modules_discover(FOOM_SOURCE_DLOPEN) ? 0 : t->dlopen_checks - 1;
}

/* Captures this thread's stack and decides whether it travels in full. */
static int capture(struct thread_state *t, uint64_t *frames, struct stack_info *info) {
    stack_capture(t, frames, info);
    int full = (foom_options & FOOM_OPTION_NO_STACK_CACHE) || !stack_cache_contains(t, info->hash);
    if (full) {
        /* A stack about to be sent in full may pass through a library loaded behind the hook's
           back (a dlopen that has not been published yet): publish it first. */
        for (uint32_t i = 0; i < info->count; i++) {
            if (!modules_contains((uintptr_t)frames[i])) {
                modules_discover(FOOM_SOURCE_DISCOVERED);
                break;
            }
        }
    }
    return full;
}

/* An allocation, or one that failed: the same first fields, then (failed) the time, then the
   frames. Inlined into both with the kind a constant. */
static inline __attribute__((always_inline)) void publish_block(uint8_t kind, uint8_t source, void *address, size_t size,
                                                                size_t alignment, uint8_t flags) {
    int saved_errno = errno;
    struct thread_state *t = &foom_thread;
    after_dlopen(t);
    uint8_t buffer[sizeof(struct foom_record_alloc_failed) + FOOM_RING_MAX_FRAMES * 8] __attribute__((aligned(8)));
    struct foom_record_alloc *record = (struct foom_record_alloc *)buffer;
    uint32_t body = kind == FOOM_RECORD_ALLOC ? sizeof(struct foom_record_alloc) : sizeof(struct foom_record_alloc_failed);
    struct stack_info stack;
    int full = capture(t, (uint64_t *)(buffer + body), &stack);
    uint32_t length = body + (full ? stack.count * 8u : 0);
    record->header.length = length;
    record->header.kind = kind;
    record->header.source = source;
    record->header.frame_count = (uint8_t)stack.count;
    record->header.flags = (uint8_t)(stack.flags | flags | (full ? FOOM_FLAG_FULL_STACK : 0));
    record->thread_id = foom_thread_id(t);
    record->alignment = (uint32_t)alignment;
    record->address = (uint64_t)(uintptr_t)address;
    record->size = size;
    record->stack_hash = stack.hash;
    if (kind == FOOM_RECORD_ALLOC_FAILED) ((struct foom_record_alloc_failed *)buffer)->wall_ms = foom_wall_ms();
    if (ring_publish(buffer, length) != UINT64_MAX && full) stack_cache_insert(t, stack.hash);
    errno = saved_errno;
}

void publish_alloc(uint8_t source, void *address, size_t size, size_t alignment, uint8_t flags) {
    if (unlikely(!foom_is_active())) {
        ring_count_unrecorded(FOOM_RECORD_ALLOC, size);
        return;
    }
    /* Sampled mode decides before any unwinding: an unsampled block costs a subtraction. A
       block published again after a failed realloc was sampled when its free was published. */
    if (foom_sample_bytes != 0) {
        if (unlikely(flags & FOOM_FLAG_RESTORED))
            sampling_remember((uintptr_t)address);
        else if (!sampling_take(&foom_thread, (uintptr_t)address, size))
            return;
    }
    publish_block(FOOM_RECORD_ALLOC, source, address, size, alignment, flags);
}

void publish_alloc_failed(uint8_t source, void *address, size_t size, size_t alignment) {
    if (unlikely(!foom_is_active())) return; /* a failure changes no live memory: nothing to count */
    publish_block(FOOM_RECORD_ALLOC_FAILED, source, address, size, alignment, 0);
}

int publish_free(uint8_t source, void *address) {
    if (unlikely(!foom_is_active())) {
        ring_count_unrecorded(FOOM_RECORD_FREE, 0);
        return 1;
    }
    /* Sampled mode: only the frees of recorded blocks reach the ring. */
    if (foom_sample_bytes != 0 && !sampling_forget((uintptr_t)address)) return 0;
    int saved_errno = errno;
    struct thread_state *t = &foom_thread;
    after_dlopen(t);
    struct foom_record_free record;
    record.header.length = sizeof record;
    record.header.kind = FOOM_RECORD_FREE;
    record.header.source = source;
    record.header.frame_count = 0;
    record.header.flags = 0;
    record.thread_id = foom_thread_id(t);
    record.reserved = 0;
    record.address = (uint64_t)(uintptr_t)address;
    ring_publish(&record, sizeof record);
    errno = saved_errno;
    return 1;
}

/* "/proc/self/fd/N" without snprintf (which may allocate). */
static ssize_t descriptor_path(int fd, char *buffer, size_t capacity) {
    char link[32] = "/proc/self/fd/";
    int at = 14;
    char digits[12];
    int n = 0;
    unsigned value = (unsigned)fd;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    while (n > 0) link[at++] = digits[--n];
    link[at] = 0;
    ssize_t length = readlink(link, buffer, capacity);
    return length < 0 ? 0 : length;
}

void publish_map(uint8_t source, void *address, size_t length, int prot, int flags, int fd, off_t offset,
                 void *old_address, uint8_t record_flags) {
    if (unlikely(!foom_is_active())) {
        ring_count_unrecorded(FOOM_RECORD_MAP, length);
        return;
    }
    int saved_errno = errno;
    struct thread_state *t = &foom_thread;
    after_dlopen(t);
    /* record, frames, path: laid out one after the other as the ring carries them */
    uint8_t buffer[sizeof(struct foom_record_map) + FOOM_RING_MAX_FRAMES * 8 + FOOM_RING_MAX_PATH + 16]
        __attribute__((aligned(8)));
    struct foom_record_map *record = (struct foom_record_map *)buffer;
    uint64_t *frames = (uint64_t *)(buffer + sizeof *record);
    struct stack_info stack;
    int full = capture(t, frames, &stack);
    uint32_t body = (uint32_t)(sizeof *record + (full ? stack.count * 8u : 0));
    char *path = (char *)buffer + body;
    uint8_t kind;
    ssize_t path_length = 0;
    if (source == FOOM_SOURCE_MREMAP) {
        kind = FOOM_MAP_REMAP;
    } else if (flags & MAP_ANONYMOUS) {
        int type = flags & 0x0f;
        if (flags & (MAP_STACK | MAP_GROWSDOWN))
            kind = FOOM_MAP_STACK;
        else if (type == MAP_SHARED || type == MAP_SHARED_VALIDATE)
            kind = FOOM_MAP_SHARED;
        else
            kind = FOOM_MAP_ANONYMOUS;
    } else {
        kind = FOOM_MAP_FILE;
        if (fd >= 0) path_length = descriptor_path(fd, path, FOOM_RING_MAX_PATH);
    }
    uint32_t total = (uint32_t)((body + (size_t)path_length + 7) & ~(size_t)7);
    memset(path + path_length, 0, 8);
    record->header.length = total;
    record->header.kind = FOOM_RECORD_MAP;
    record->header.source = source;
    record->header.frame_count = (uint8_t)stack.count;
    record->header.flags = (uint8_t)(stack.flags | record_flags | (full ? FOOM_FLAG_FULL_STACK : 0));
    record->thread_id = foom_thread_id(t);
    record->prot = prot;
    record->address = (uint64_t)(uintptr_t)address;
    record->length = length;
    record->map_flags = flags;
    record->map_kind = kind;
    record->reserved = 0;
    record->path_length = (uint16_t)path_length;
    record->file_offset = (uint64_t)offset;
    record->old_address = (uint64_t)(uintptr_t)old_address;
    record->stack_hash = stack.hash;
    if (ring_publish(record, total) != UINT64_MAX && full) stack_cache_insert(t, stack.hash);
    errno = saved_errno;
}

void publish_unmap(uint8_t source, void *address, size_t length) {
    if (unlikely(!foom_is_active())) {
        ring_count_unrecorded(FOOM_RECORD_UNMAP, length);
        return;
    }
    int saved_errno = errno;
    struct thread_state *t = &foom_thread;
    after_dlopen(t);
    struct foom_record_unmap record;
    record.header.length = sizeof record;
    record.header.kind = FOOM_RECORD_UNMAP;
    record.header.source = source;
    record.header.frame_count = 0;
    record.header.flags = 0;
    record.thread_id = foom_thread_id(t);
    record.reserved = 0;
    record.address = (uint64_t)(uintptr_t)address;
    record.length = length;
    ring_publish(&record, sizeof record);
    errno = saved_errno;
}
