/*
 * Entry points of the mapping functions (the top layer), in the shape enter.h describes: an
 * unmapping is published before the real call, a mapping after it returns. Before the hook is
 * ready they go to the kernel directly.
 */
#include "enter.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>

#include "events.h"

static void *syscall_result(long result) {
    if (result < 0 && result > -4096) {
        errno = (int)-result;
        return MAP_FAILED;
    }
    return (void *)result;
}

static void *mmap_common(__typeof__(mmap) *next, void *address, size_t length, int prot, int flags, int fd, off_t offset) {
    struct hook_guard guard HOOK_SCOPED = hook_enter();
    void *p = next(address, length, prot, flags, fd, offset);
    if (guard.thread) {
        if (p != MAP_FAILED)
            publish_map(FOOM_SOURCE_MMAP, p, length, prot, flags, fd, offset, NULL, 0);
        else if (errno == ENOMEM)
            publish_alloc_failed(FOOM_SOURCE_MMAP, NULL, length, 0);
    }
    return p;
}

EXPORT void *mmap(void *address, size_t length, int prot, int flags, int fd, off_t offset) {
    if (unlikely(!hook_ready())) return syscall_result(syscall(SYS_mmap, address, length, prot, flags, fd, offset));
    return mmap_common(foom_real.mmap, address, length, prot, flags, fd, offset);
}

EXPORT void *mmap64(void *address, size_t length, int prot, int flags, int fd, off_t offset) {
    if (unlikely(!hook_ready())) return syscall_result(syscall(SYS_mmap, address, length, prot, flags, fd, offset));
    return mmap_common(foom_real.mmap64 ? foom_real.mmap64 : foom_real.mmap, address, length, prot, flags, fd, offset);
}

EXPORT int munmap(void *address, size_t length) {
    if (unlikely(!hook_ready())) return syscall_result(syscall(SYS_munmap, address, length)) == MAP_FAILED ? -1 : 0;
    struct hook_guard guard HOOK_SCOPED = hook_enter();
    if (guard.thread) publish_unmap(FOOM_SOURCE_MUNMAP, address, length);
    return foom_real.munmap(address, length);
}

/* An unmapping of the old range, then a mapping of the new one (kind Remap); when the call fails
   the old range is still there, and is published again. */
EXPORT void *mremap(void *old_address, size_t old_size, size_t new_size, int flags, ...) {
    void *new_address = NULL;
    if (flags & MREMAP_FIXED) {
        va_list arguments;
        va_start(arguments, flags);
        new_address = va_arg(arguments, void *);
        va_end(arguments);
    }
    if (unlikely(!hook_ready()))
        return syscall_result(syscall(SYS_mremap, old_address, old_size, new_size, flags, new_address));
    struct hook_guard guard HOOK_SCOPED = hook_enter();
    if (guard.thread && old_size) publish_unmap(FOOM_SOURCE_MREMAP, old_address, old_size);
    void *p = foom_real.mremap(old_address, old_size, new_size, flags, new_address);
    if (guard.thread) {
        if (p != MAP_FAILED) {
            publish_map(FOOM_SOURCE_MREMAP, p, new_size, 0, flags, -1, 0, old_address, 0);
        } else {
            if (errno == ENOMEM) publish_alloc_failed(FOOM_SOURCE_MREMAP, old_address, new_size, 0);
            if (old_size) publish_map(FOOM_SOURCE_MREMAP, old_address, old_size, 0, flags, -1, 0, old_address, FOOM_FLAG_RESTORED);
        }
    }
    return p;
}
