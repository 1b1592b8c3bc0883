/* The marks the hook itself writes into the ring header: how the program ended (layer above
   state). Everything here is async-signal-safe: stores into the header and raw system calls. */
#ifndef FOOM_MARKS_H
#define FOOM_MARKS_H

#include "state.h"

HIDDEN void marks_install_signal_handlers(void);
/* Whether handler is the hook's own crash/quit handler (sigaction and signal hide it). */
HIDDEN int marks_is_fatal_handler(const void *handler);
/* Stores how the program ends; 0 when nothing was stored (not the target, or an unseen exit
   after one already seen). */
HIDDEN int marks_store_exit(uint32_t kind, int status);

#endif
