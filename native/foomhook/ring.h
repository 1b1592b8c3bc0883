/* The producer side of the event ring (layer above state). */
#ifndef FOOM_RING_PRODUCER_H
#define FOOM_RING_PRODUCER_H

#include "state.h"

/* Reserves, copies and commits one record; returns its position, or UINT64_MAX if dropped. */
HIDDEN uint64_t ring_publish(const void *record, uint32_t length);
/* Stops recording for good; the process goes on counting what it does not record. */
HIDDEN void ring_stop(uint32_t reason);
/* Once recording has stopped: counts an event of this kind (and bytes) in the header. */
HIDDEN void ring_count_unrecorded(uint8_t kind, uint64_t bytes);
/* Stops recording when the recorder has gone; raw system calls only (async-signal-safe). */
HIDDEN void ring_check_recorder(void);

#endif
