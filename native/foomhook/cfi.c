/*
 * Reading the unwind rule of one pc from a module's .eh_frame_hdr and .eh_frame (DWARF call
 * frame information, as the compiler emits it for C++ exceptions), for the hook's own table walk
 * (unwind.c). Only what an x86-64 walk needs to go from one frame to its caller is kept: the CFA
 * as rsp or rbp plus an offset, the return address at CFA − 8, rbp saved at CFA + n or left
 * alone. Anything else is CFI_UNSUPPORTED, and the walk hands the stack to libunwind.
 *
 * The tables come from the program's memory and may be anything (a stripped or corrupted module,
 * a packer's output): every read is checked against the section's bounds, every length and
 * offset against overflow, and every loop consumes input, so a bad table gives CFI_UNKNOWN, never
 * a fault or a hang (tests/Programs/targets/cfi_fuzz.c runs this file on real and corrupted ELF
 * files).
 */
#include "cfi.h"

#include <stdint.h>
#include <string.h>

enum { DWARF_RBP = 6, DWARF_RSP = 7, DWARF_RA = 16 };
enum { RULE_SAME = 0, RULE_OFFSET = 1, RULE_UNDEFINED = 2, RULE_OTHER = 3 };
#define MAX_REMEMBERED 8

struct reader {
    const uint8_t *p, *end;
    int ok;
};

struct row {
    uint64_t cfa_register;
    int64_t cfa_offset;
    uint8_t cfa_expression;
    uint8_t rbp_rule, ra_rule;
    int64_t rbp_offset, ra_offset;
};

static int take(struct reader *r, void *out, size_t n) {
    if (!r->ok || (size_t)(r->end - r->p) < n) {
        r->ok = 0;
        memset(out, 0, n);
        return 0;
    }
    memcpy(out, r->p, n);
    r->p += n;
    return 1;
}

static uint8_t read_u8(struct reader *r) {
    uint8_t v;
    take(r, &v, 1);
    return v;
}

static uint64_t read_uleb(struct reader *r) {
    uint64_t value = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t byte = read_u8(r);
        if (!r->ok) return 0;
        value |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) return value;
    }
    r->ok = 0;
    return 0;
}

static int64_t read_sleb(struct reader *r) {
    uint64_t value = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t byte = read_u8(r);
        if (!r->ok) return 0;
        value |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            if (shift + 7 < 64 && (byte & 0x40)) value |= ~(uint64_t)0 << (shift + 7);
            return (int64_t)value;
        }
    }
    r->ok = 0;
    return 0;
}

/* A pointer in one of the DW_EH_PE encodings: absolute, pc-relative (to the field itself) or
   data-relative (to data_base); indirect and the rarer bases are refused. */
static uint64_t read_encoded(struct reader *r, uint8_t encoding, uintptr_t data_base) {
    uintptr_t field = (uintptr_t)r->p;
    uint64_t value = 0;
    switch (encoding & 0x0f) {
    case 0x00: case 0x04: case 0x0c: take(r, &value, 8); break;
    case 0x01: value = read_uleb(r); break;
    case 0x09: value = (uint64_t)read_sleb(r); break;
    case 0x02: { uint16_t v; take(r, &v, 2); value = v; break; }
    case 0x0a: { int16_t v; take(r, &v, 2); value = (uint64_t)(int64_t)v; break; }
    case 0x03: { uint32_t v; take(r, &v, 4); value = v; break; }
    case 0x0b: { int32_t v; take(r, &v, 4); value = (uint64_t)(int64_t)v; break; }
    default: r->ok = 0; return 0;
    }
    switch (encoding & 0x70) {
    case 0x00: break;
    case 0x10: value += field; break;
    case 0x30: value += data_base; break;
    default: r->ok = 0; return 0;
    }
    return value;
}

/* The bytes of one CIE or FDE: [start + 4, start + 4 + length), inside the section. */
static int entry_bounds(const struct cfi_section *s, const uint8_t *start, struct reader *body) {
    if (start < s->low || start > s->high || s->high - start < 4) return 0;
    uint32_t length;
    memcpy(&length, start, 4);
    if (length == 0 || length == 0xffffffffu) return 0; /* terminator, or 64-bit DWARF (never in .eh_frame) */
    if ((size_t)(s->high - (start + 4)) < length) return 0;
    body->p = start + 4;
    body->end = start + 4 + length;
    body->ok = 1;
    return 1;
}

struct cie {
    uint64_t code_align;
    int64_t data_align;
    uint8_t fde_encoding;
    uint8_t has_augmentation_data;
    uint8_t signal_frame;
    struct reader instructions;
};

static int parse_cie(const struct cfi_section *s, const uint8_t *start, struct cie *cie) {
    struct reader r;
    if (!entry_bounds(s, start, &r)) return 0;
    uint32_t id;
    take(&r, &id, 4);
    uint8_t version = read_u8(&r);
    if (!r.ok || id != 0 || (version != 1 && version != 3)) return 0;
    char augmentation[8];
    size_t n = 0;
    for (;;) {
        char c = (char)read_u8(&r);
        if (!r.ok || (c != 0 && n + 1 >= sizeof augmentation)) return 0;
        augmentation[n] = c;
        if (c == 0) break;
        n++;
    }
    cie->code_align = read_uleb(&r);
    cie->data_align = read_sleb(&r);
    uint64_t return_register = version == 1 ? read_u8(&r) : read_uleb(&r);
    /* x86-64 compilers write 1 and -8; anything far off is a corrupt entry */
    if (!r.ok || return_register != DWARF_RA || cie->code_align > 64 || cie->data_align < -64 || cie->data_align > 64) return 0;
    cie->fde_encoding = 0;
    cie->signal_frame = 0;
    cie->has_augmentation_data = augmentation[0] == 'z';
    if (cie->has_augmentation_data) {
        uint64_t length = read_uleb(&r);
        if (!r.ok || length > (uint64_t)(r.end - r.p)) return 0;
        struct reader data = {r.p, r.p + length, 1};
        r.p += length;
        for (size_t i = 1; i < n; i++) {
            switch (augmentation[i]) {
            case 'R': cie->fde_encoding = read_u8(&data); break;
            case 'L': read_u8(&data); break;
            case 'P': {
                uint8_t encoding = read_u8(&data);
                /* only skipped: the personality routine is never called */
                read_encoded(&data, (uint8_t)(encoding & 0x0f), 0);
                break;
            }
            case 'S': cie->signal_frame = 1; break;
            case 'B': break;
            default: return 0;
            }
            if (!data.ok) return 0;
        }
    } else if (n != 0) {
        return 0; /* "eh" and other old augmentations: their data cannot be skipped safely */
    }
    cie->instructions = r;
    return r.ok;
}

/* A factored offset times the CIE's alignment factor; an overflow makes the entry malformed. */
static int64_t scaled(struct reader *r, int64_t value, int64_t factor) {
    int64_t result;
    if (__builtin_mul_overflow(value, factor, &result)) {
        r->ok = 0;
        return 0;
    }
    return result;
}

static int64_t scaled_uleb(struct reader *r, int64_t factor) {
    uint64_t value = read_uleb(r);
    if (value > INT64_MAX) {
        r->ok = 0;
        return 0;
    }
    return scaled(r, (int64_t)value, factor);
}

static void set_rule(struct row *row, uint64_t reg, uint8_t rule, int64_t offset) {
    if (reg == DWARF_RBP) {
        row->rbp_rule = rule;
        row->rbp_offset = offset;
    } else if (reg == DWARF_RA) {
        row->ra_rule = rule;
        row->ra_offset = offset;
    }
}

static void restore_rule(struct row *row, const struct row *initial, uint64_t reg) {
    if (reg == DWARF_RBP) {
        row->rbp_rule = initial->rbp_rule;
        row->rbp_offset = initial->rbp_offset;
    } else if (reg == DWARF_RA) {
        row->ra_rule = initial->ra_rule;
        row->ra_offset = initial->ra_offset;
    }
}

static void skip_block(struct reader *r) {
    uint64_t length = read_uleb(r);
    if (!r->ok || length > (uint64_t)(r->end - r->p)) {
        r->ok = 0;
        return;
    }
    r->p += length;
}

/* Runs call frame instructions from location *loc until the row for pc is complete (the next
   advance would pass it) or the instructions end. 0 on malformed input. */
static int run_instructions(struct reader r, const struct cie *cie, const struct row *initial, struct row *row,
                            uint64_t *loc, uintptr_t pc) {
    struct row remembered[MAX_REMEMBERED];
    unsigned depth = 0;
    while (r.ok && r.p < r.end) {
        uint8_t op = read_u8(&r);
        uint64_t advance = 0, reg = 0;
        int has_advance = 0;
        switch (op & 0xc0) {
        case 0x40: advance = op & 0x3f; has_advance = 1; break;
        case 0x80: reg = op & 0x3f; set_rule(row, reg, RULE_OFFSET, scaled_uleb(&r, cie->data_align)); continue;
        case 0xc0: restore_rule(row, initial, op & 0x3f); continue;
        default: break;
        }
        if (!has_advance) {
            switch (op) {
            case 0x00: break;
            case 0x01: {
                uint64_t target = read_encoded(&r, cie->fde_encoding, 0);
                if (!r.ok || target < *loc) return 0;
                if (target > pc) return 1;
                *loc = target;
                break;
            }
            case 0x02: advance = read_u8(&r); has_advance = 1; break;
            case 0x03: { uint16_t v; take(&r, &v, 2); advance = v; has_advance = 1; break; }
            case 0x04: { uint32_t v; take(&r, &v, 4); advance = v; has_advance = 1; break; }
            case 0x05: reg = read_uleb(&r); set_rule(row, reg, RULE_OFFSET, scaled_uleb(&r, cie->data_align)); break;
            case 0x06: restore_rule(row, initial, read_uleb(&r)); break;
            case 0x07: set_rule(row, read_uleb(&r), RULE_UNDEFINED, 0); break;
            case 0x08: set_rule(row, read_uleb(&r), RULE_SAME, 0); break;
            case 0x09: reg = read_uleb(&r); read_uleb(&r); set_rule(row, reg, RULE_OTHER, 0); break;
            case 0x0a:
                if (depth == MAX_REMEMBERED) return 0;
                remembered[depth++] = *row;
                break;
            case 0x0b:
                if (depth == 0) return 0;
                *row = remembered[--depth];
                break;
            case 0x0c: row->cfa_register = read_uleb(&r); row->cfa_offset = scaled_uleb(&r, 1); row->cfa_expression = 0; break;
            case 0x0d: row->cfa_register = read_uleb(&r); break;
            case 0x0e: row->cfa_offset = scaled_uleb(&r, 1); break;
            case 0x0f: skip_block(&r); row->cfa_expression = 1; break;
            case 0x10: reg = read_uleb(&r); skip_block(&r); set_rule(row, reg, RULE_OTHER, 0); break;
            case 0x11: reg = read_uleb(&r); set_rule(row, reg, RULE_OFFSET, scaled(&r, read_sleb(&r), cie->data_align)); break;
            case 0x12:
                row->cfa_register = read_uleb(&r);
                row->cfa_offset = scaled(&r, read_sleb(&r), cie->data_align);
                row->cfa_expression = 0;
                break;
            case 0x13: row->cfa_offset = scaled(&r, read_sleb(&r), cie->data_align); break;
            case 0x14: reg = read_uleb(&r); read_uleb(&r); set_rule(row, reg, RULE_OTHER, 0); break;
            case 0x15: reg = read_uleb(&r); read_sleb(&r); set_rule(row, reg, RULE_OTHER, 0); break;
            case 0x16: reg = read_uleb(&r); skip_block(&r); set_rule(row, reg, RULE_OTHER, 0); break;
            case 0x2e: read_uleb(&r); break; /* GNU_args_size: the stack pointer is the CFA's business */
            case 0x2f: reg = read_uleb(&r); set_rule(row, reg, RULE_OFFSET, scaled_uleb(&r, -cie->data_align)); break;
            default: return 0;
            }
        }
        if (has_advance) {
            uint64_t delta = advance * cie->code_align;
            if (cie->code_align != 0 && delta / cie->code_align != advance) return 0;
            if (delta > pc - *loc) return r.ok; /* the next row starts past pc */
            *loc += delta;
        }
    }
    return r.ok;
}

static int search_table(const struct cfi_section *s, uintptr_t pc, const uint8_t **fde) {
    const uint8_t *hdr = s->eh_frame_hdr;
    if (hdr < s->low || hdr > s->high || s->high - hdr < 4) return 0;
    struct reader r = {hdr, s->high, 1};
    uint8_t version = read_u8(&r), pointer_encoding = read_u8(&r), count_encoding = read_u8(&r), table_encoding = read_u8(&r);
    if (version != 1 || pointer_encoding == 0xff || count_encoding == 0xff) return 0;
    /* Every linker of the last twenty years writes the table as data-relative 4-byte pairs. */
    if (table_encoding != 0x3b) return 0;
    read_encoded(&r, pointer_encoding, (uintptr_t)hdr);
    uint64_t count = read_encoded(&r, count_encoding, (uintptr_t)hdr);
    if (!r.ok || count == 0 || count > (uint64_t)(s->high - r.p) / 8) return 0;
    const uint8_t *table = r.p;
    int64_t target = (int64_t)(pc - (uintptr_t)hdr);
    uint64_t low = 0, high = count; /* the last entry whose start is <= target */
    while (high - low > 1) {
        uint64_t middle = low + (high - low) / 2;
        int32_t start;
        memcpy(&start, table + middle * 8, 4);
        if ((int64_t)start <= target)
            low = middle;
        else
            high = middle;
    }
    int32_t start, offset;
    memcpy(&start, table + low * 8, 4);
    memcpy(&offset, table + low * 8 + 4, 4);
    if ((int64_t)start > target) return 0;
    *fde = hdr + offset;
    return 1;
}

uint8_t cfi_find_rule(const struct cfi_section *section, uintptr_t pc, struct cfi_rule *rule) {
    memset(rule, 0, sizeof *rule);
    const uint8_t *fde;
    if (!search_table(section, pc, &fde)) return CFI_UNKNOWN;
    struct reader r;
    if (!entry_bounds(section, fde, &r)) return CFI_UNKNOWN;
    uint32_t cie_pointer;
    take(&r, &cie_pointer, 4);
    const uint8_t *cie_field = fde + 4;
    if (cie_pointer == 0 || (uintptr_t)cie_field - (uintptr_t)section->low < cie_pointer) return CFI_UNKNOWN;
    struct cie cie;
    if (!parse_cie(section, cie_field - cie_pointer, &cie)) return CFI_UNKNOWN;
    uint64_t begin = read_encoded(&r, cie.fde_encoding, 0);
    uint64_t range = read_encoded(&r, (uint8_t)(cie.fde_encoding & 0x0f), 0);
    if (cie.has_augmentation_data) skip_block(&r);
    if (!r.ok || pc < begin || pc - begin >= range) return CFI_UNKNOWN;
    if (cie.signal_frame) return rule->kind = CFI_UNSUPPORTED;

    /* Registers without a rule keep their value ("same value", as GCC and libunwind assume for
       the callee-saved rbp); the return address has none until the CIE gives it one. */
    struct row row = {0, 0, 0, RULE_SAME, RULE_OTHER, 0, 0};
    uint64_t loc = begin;
    if (!run_instructions(cie.instructions, &cie, &row, &row, &loc, UINTPTR_MAX)) return CFI_UNKNOWN;
    struct row initial = row;
    loc = begin;
    if (!run_instructions(r, &cie, &initial, &row, &loc, pc)) return CFI_UNKNOWN;

    if (row.ra_rule == RULE_UNDEFINED) return rule->kind = CFI_OUTERMOST;
    if (row.cfa_expression || (row.cfa_register != DWARF_RSP && row.cfa_register != DWARF_RBP) ||
        row.ra_rule != RULE_OFFSET || row.ra_offset != -8 || row.cfa_offset < 8 || row.cfa_offset > INT32_MAX ||
        (row.rbp_rule != RULE_SAME && row.rbp_rule != RULE_OFFSET && row.rbp_rule != RULE_UNDEFINED) ||
        row.rbp_offset < INT32_MIN || row.rbp_offset > INT32_MAX)
        return rule->kind = CFI_UNSUPPORTED;
    rule->kind = row.cfa_register == DWARF_RSP ? CFI_CFA_RSP : CFI_CFA_RBP;
    rule->cfa_offset = (int32_t)row.cfa_offset;
    rule->rbp_saved = row.rbp_rule == RULE_OFFSET;
    rule->rbp_offset = (int32_t)row.rbp_offset;
    return rule->kind;
}
