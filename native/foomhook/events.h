/* The events an entry point tracks, built into records with their stacks and published (layer
   above unwind); once recording has stopped, only counted. Each keeps errno as it found it, so
   an entry point returns the real call's. */
#ifndef FOOM_EVENTS_H
#define FOOM_EVENTS_H

#include "unwind.h"

HIDDEN void publish_alloc(uint8_t source, void *address, size_t size, size_t alignment, uint8_t flags);
/* An allocation or mapping that failed for want of memory (nothing once recording has stopped:
   it changes no live memory). */
HIDDEN void publish_alloc_failed(uint8_t source, void *address, size_t size, size_t alignment);
/* Returns 0 when sampled mode left the free out (its block was never recorded): a failed
   realloc then does not publish the old block again either. */
HIDDEN int publish_free(uint8_t source, void *address);
HIDDEN void publish_map(uint8_t source, void *address, size_t length, int prot, int flags, int fd,
                        off_t offset, void *old_address, uint8_t record_flags);
HIDDEN void publish_unmap(uint8_t source, void *address, size_t length);

#endif
