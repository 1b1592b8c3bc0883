/* Call frame information: the unwind rule of one pc, read from a module's .eh_frame_hdr and
   .eh_frame in memory, every read bounded (layer of its own: needs nothing of the hook). */
#ifndef FOOM_CFI_H
#define FOOM_CFI_H

#include <stdint.h>

/* A module's unwind tables: the .eh_frame_hdr search table and the readable bytes that hold it
   and the .eh_frame it points into (the PT_LOAD segment around them). */
struct cfi_section {
    const uint8_t *eh_frame_hdr;
    const uint8_t *low, *high;
};

/* How to find the caller's frame at a pc, for the registers an x86-64 walk needs: the canonical
   frame address (CFA) is rsp or rbp plus cfa_offset, the return address is at CFA − 8, and rbp
   is either left as it is or saved at CFA + rbp_offset. */
enum cfi_rule_kind {
    CFI_UNKNOWN = 0,      /* no FDE covers the pc, or the tables are missing or cannot be parsed */
    CFI_CFA_RSP = 1,
    CFI_CFA_RBP = 2,
    CFI_OUTERMOST = 3,    /* the return address is undefined: the thread's first frame */
    CFI_UNSUPPORTED = 4,  /* a rule this walk does not follow: DWARF expressions, a CFA from
                             another register, a signal frame, rbp or the return address elsewhere */
};

struct cfi_rule {
    uint8_t kind;         /* enum cfi_rule_kind */
    uint8_t rbp_saved;
    int32_t cfa_offset;
    int32_t rbp_offset;
};

/* The rule in force at pc (an address inside the instruction: a return address minus one). Never
   reads outside [section->low, section->high), and ends on any input. */
uint8_t cfi_find_rule(const struct cfi_section *section, uintptr_t pc, struct cfi_rule *rule);

#endif
