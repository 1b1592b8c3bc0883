/*
 * Reading one module as the loader mapped it (dl_iterate_phdr's view, under the loader's lock so
 * it stays mapped while read): the build-id note, an estimate of whether its code keeps frame
 * pointers, and where its unwind tables are for the table walk.
 */
#include "module_image.h"

#include <elf.h>
#include <string.h>

uint8_t module_read_build_id(const struct dl_phdr_info *info, uint8_t *build_id) {
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE) continue;
        size_t align = ph->p_align == 8 ? 8 : 4;
        const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
        const uint8_t *end = p + ph->p_memsz;
        while (p + 12 <= end) {
            uint32_t name_size, desc_size, type;
            memcpy(&name_size, p, 4);
            memcpy(&desc_size, p + 4, 4);
            memcpy(&type, p + 8, 4);
            const uint8_t *name = p + 12;
            const uint8_t *desc = name + ((name_size + align - 1) & ~(align - 1));
            const uint8_t *next = desc + ((desc_size + align - 1) & ~(align - 1));
            if (next > end || next <= p) break;
            if (type == NT_GNU_BUILD_ID && name_size == 4 && memcmp(name, "GNU", 4) == 0 && desc_size > 0) {
                size_t n = desc_size < FOOM_RING_MAX_BUILD_ID ? desc_size : FOOM_RING_MAX_BUILD_ID;
                memcpy(build_id, desc, n);
                return (uint8_t)n;
            }
            p = next;
        }
    }
    return 0;
}

static int read_encoded(const uint8_t **cursor, const uint8_t *end, uint8_t encoding, uint64_t *value) {
    const uint8_t *p = *cursor;
    switch (encoding & 0x0f) {
    case 0x03: /* udata4 */
    case 0x0b: /* sdata4 */
        if (p + 4 > end) return 0;
        {
            uint32_t v;
            memcpy(&v, p, 4);
            *value = v;
        }
        *cursor = p + 4;
        return 1;
    case 0x00: /* absptr */
    case 0x04: /* udata8 */
    case 0x0c: /* sdata8 */
        if (p + 8 > end) return 0;
        memcpy(value, p, 8);
        *cursor = p + 8;
        return 1;
    default:
        return 0;
    }
}

/* Functions with unwind info, from the .eh_frame_hdr search table; 0 when it cannot tell. */
static uint64_t function_count(const struct dl_phdr_info *info) {
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_GNU_EH_FRAME || ph->p_memsz < 8) continue;
        const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
        const uint8_t *end = p + ph->p_memsz;
        if (p[0] != 1 || p[2] == 0xff) return 0;
        uint8_t pointer_encoding = p[1], count_encoding = p[2];
        const uint8_t *cursor = p + 4;
        uint64_t ignored, count;
        if (!read_encoded(&cursor, end, pointer_encoding, &ignored)) return 0;
        if (!read_encoded(&cursor, end, count_encoding, &count)) return 0;
        return count;
    }
    return 0;
}

static uint64_t count_prologues(const uint8_t *code, size_t length) {
    uint64_t n = 0;
    /* push %rbp; mov %rsp,%rbp */
    for (size_t i = 0; i + 4 <= length; i++)
        if (code[i] == 0x55 && code[i + 1] == 0x48 && code[i + 2] == 0x89 && code[i + 3] == 0xe5) n++;
    return n;
}

/*
 * Does this module's code keep frame pointers? Count the "push %rbp; mov %rsp,%rbp" prologues
 * (all of a big module's code would be paged in to count them, so sample 32 windows of 8 KiB)
 * and compare with the number of functions: built with frame pointers, nearly every function has
 * one (libcoreclr 0.99, the dotnet host 0.99); without, only the few that need rbp (Debian's libc
 * 0.02, libstdc++ 0.01, python3 0.0002). Without a function count, 1 per 2 KiB of code is the line.
 */
int module_keeps_frame_pointers(const struct dl_phdr_info *info, const uintptr_t *code_start, const uintptr_t *code_end,
                                uint32_t code_count) {
    uint64_t code_bytes = 0, sampled = 0, found = 0;
    for (uint32_t i = 0; i < code_count; i++) code_bytes += code_end[i] - code_start[i];
    if (code_bytes == 0) return 0;
    const size_t window = 8192, windows = 32;
    for (uint32_t i = 0; i < code_count; i++) {
        const uint8_t *code = (const uint8_t *)code_start[i];
        size_t length = code_end[i] - code_start[i];
        if (code_bytes <= window * windows) {
            found += count_prologues(code, length);
            sampled += length;
            continue;
        }
        size_t share = (size_t)((length * windows + code_bytes - 1) / code_bytes);
        if (share == 0) continue;
        size_t stride = length / share;
        for (size_t w = 0; w < share; w++) {
            size_t at = w * stride;
            size_t take = length - at < window ? length - at : window;
            found += count_prologues(code + at, take);
            sampled += take;
        }
    }
    if (sampled == 0) return 0;
    uint64_t estimated = found * code_bytes / sampled;
    uint64_t functions = function_count(info);
    if (functions > 0) return estimated * 4 >= functions;
    return estimated * 2048 >= code_bytes;
}

void module_unwind_section(const struct dl_phdr_info *info, struct cfi_section *section) {
    memset(section, 0, sizeof *section);
    const ElfW(Phdr) *eh_frame_hdr = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME) eh_frame_hdr = &info->dlpi_phdr[i];
    if (eh_frame_hdr == NULL) return;
    /* Bounded by the loaded segment that holds the header (and, as linkers lay them out, the
       .eh_frame after it): the gaps between segments may be unmapped or PROT_NONE. */
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_R)) continue;
        if (eh_frame_hdr->p_vaddr < ph->p_vaddr || eh_frame_hdr->p_vaddr - ph->p_vaddr >= ph->p_memsz) continue;
        section->eh_frame_hdr = (const uint8_t *)(info->dlpi_addr + eh_frame_hdr->p_vaddr);
        section->low = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
        section->high = section->low + ph->p_memsz;
        return;
    }
}
