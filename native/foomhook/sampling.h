/* Sampled mode (header.sample_bytes = N): which heap blocks are recorded, and the set of the
   sampled blocks' addresses, so that only their frees reach the ring (layer beside ring and
   marks; needs only the state). docs/hook.md, "Sampled mode". */
#ifndef FOOM_SAMPLING_H
#define FOOM_SAMPLING_H

#include "state.h"

/* Whether the block of `size` bytes just allocated at `address` is recorded: every block of at
   least N bytes, a smaller one when this thread's byte countdown runs out inside it (a Poisson
   process over the bytes allocated, one point per N bytes on average, so a block of s bytes is
   sampled with chance 1 - e^(-s/N), independently of every other). A recorded block's address
   enters the set. */
HIDDEN int sampling_take(struct thread_state *t, uintptr_t address, size_t size);
/* A block published again (a failed realloc's old block): its address enters the set again. */
HIDDEN void sampling_remember(uintptr_t address);
/* Whether the free of `address` is published: the block was recorded (it leaves the set), or
   the set has overflowed once (then every free is). */
HIDDEN int sampling_forget(uintptr_t address);

#endif
