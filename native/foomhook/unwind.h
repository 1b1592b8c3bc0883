/* Backtraces: a frame-pointer walk where the chain can be trusted, libunwind otherwise; the
   per-thread cache of stacks already sent (layer above modules). */
#ifndef FOOM_UNWIND_H
#define FOOM_UNWIND_H

#include "modules.h"

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

#endif
