/* Reading one module as the loader mapped it: its build-id, whether its code keeps frame
   pointers, where its unwind tables are (layer above cfi; modules.c keeps the table of modules). */
#ifndef FOOM_MODULE_IMAGE_H
#define FOOM_MODULE_IMAGE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <link.h>
#include <stdint.h>

#include "cfi.h"
#include "foom_ring.h"

/* Copies the GNU build-id note (at most FOOM_RING_MAX_BUILD_ID bytes); its length, 0 if none. */
uint8_t module_read_build_id(const struct dl_phdr_info *info, uint8_t *build_id);
/* An estimate from sampled prologues against the number of functions with unwind info. */
int module_keeps_frame_pointers(const struct dl_phdr_info *info, const uintptr_t *code_start, const uintptr_t *code_end,
                                uint32_t code_count);
/* The module's .eh_frame_hdr and the loaded segment around it; all zero when it has none. */
void module_unwind_section(const struct dl_phdr_info *info, struct cfi_section *section);

#endif
