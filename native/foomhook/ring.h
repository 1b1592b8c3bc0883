/* The producer side of the event ring (layer above state). */
#ifndef FOOM_RING_PRODUCER_H
#define FOOM_RING_PRODUCER_H

#include "state.h"

/* Reserves, copies and commits one record; returns its position, or UINT64_MAX if dropped. */
HIDDEN uint64_t ring_publish(const void *record, uint32_t length);
HIDDEN void ring_stop(uint32_t reason);
/* Stops recording when the recorder has gone; raw system calls only (async-signal-safe). */
HIDDEN void ring_check_recorder(void);

#endif
