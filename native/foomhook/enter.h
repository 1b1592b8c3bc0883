/*
 * How a call enters the hook (layer above events): the first call, whichever function it is,
 * initialises (resolves the next definitions, attaches to the ring); then every entry point has
 * one shape, like memray's hooks:
 *
 *     if (unlikely(!hook_ready())) return <what works before the hook is ready>;
 *     struct hook_guard guard HOOK_SCOPED = hook_enter();
 *     result = foom_real.function(...);          // the original, with the guard held
 *     if (guard.thread) publish_...(...);         // track (frees and unmappings before the call)
 *     return result;                              // the guard is let go as the scope ends
 *
 * The guard sends the hook's own calls (and libunwind's, dlsym's) straight to the original.
 */
#ifndef FOOM_ENTER_H
#define FOOM_ENTER_H

#include "state.h"

/* Initialises once; 1 when the caller may use foom_real. */
HIDDEN int foom_initialize(void);

static inline int hook_ready(void) { return likely(foom_is_ready()) || foom_initialize(); }

/* An entry point's hold on this thread's recursion guard. thread is set when this call took the
   guard and is to track its event (publish it, or count it once recording has stopped): not when
   the call came from inside the hook, nor when the process has no ring. */
struct hook_guard {
    struct thread_state *thread;
};

static inline struct hook_guard hook_enter(void) {
    struct thread_state *t = &foom_thread;
    if (t->in_hook || !foom_is_attached()) return (struct hook_guard){NULL};
    t->in_hook = 1;
    return (struct hook_guard){t};
}

static inline void hook_leave(struct hook_guard *guard) {
    if (guard->thread != NULL) guard->thread->in_hook = 0;
}

#define HOOK_SCOPED __attribute__((cleanup(hook_leave)))

#endif
