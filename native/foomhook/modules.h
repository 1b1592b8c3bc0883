/* The program's modules: published to the ring as they come and go, and a table of code ranges
   for the frame-pointer and table walks (layer above the ring). */
#ifndef FOOM_MODULES_H
#define FOOM_MODULES_H

#include "ring.h"
#include "cfi.h"

HIDDEN void modules_scan(uint8_t source, int blocking);
/* A cheap check for modules loaded behind the hook's back (published if so); 1 if any were. */
HIDDEN int modules_discover(uint8_t source);
/* Whether pc lies in code that keeps frame pointers; *hint speeds up neighbouring lookups. */
HIDDEN int modules_frame_pointer_code(uintptr_t pc, uint32_t *hint);
HIDDEN uint32_t modules_sequence_begin(void); /* odd: being rewritten, do not trust lookups */
HIDDEN int modules_sequence_valid(uint32_t sequence);
HIDDEN int modules_contains(uintptr_t pc);
/* The unwind tables of the module whose code holds pc; 0 if none (check the sequence around use). */
HIDDEN int modules_unwind_section(uintptr_t pc, struct cfi_section *section);
HIDDEN void modules_find_hook(void);

#endif
