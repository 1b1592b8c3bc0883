/* Runs the hook's unwind-table reader (native/foomhook/cfi.c, module_image.c) on ELF files as the
   loader would map them, then on corrupted copies:
     cfi_fuzz SEED ROUNDS FILE...
   For each file: its PT_LOAD segments are laid out at their virtual addresses, the segment holding
   .eh_frame_hdr copied to end exactly at an inaccessible page (a read past the section's end
   faults), and the rule of the start of every function in the search table, and of a few pcs
   inside each, is read. Prints "FILE functions=N rsp=N rbp=N outermost=N unsupported=N unknown=N".
   Then ROUNDS times: a fresh copy of that segment with 1-64 edits in .eh_frame_hdr/.eh_frame
   (random bytes, flipped bits, or 0xff/0x00 runs), half of them in the FDEs and CIEs of four
   functions chosen for the round, and the rules of 64 pcs read from it, half of them in those
   functions. A crash or a hang fails the test that runs this; "fuzzed FILE ROUNDS" says it finished. */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfi.h"
#include "module_image.h"

static uint64_t state;
static uint64_t next_random(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

struct image {
    const ElfW(Phdr) *phdrs;
    int phnum;
    const uint8_t *file;
    size_t file_size;
    const ElfW(Phdr) *segment; /* the PT_LOAD holding .eh_frame_hdr */
    size_t page;
};

/* A copy of the segment's bytes ending at an inaccessible page; *bias is what to add to a virtual
   address of the segment to find its byte in the copy. */
static uint8_t *copy_segment(const struct image *image, uintptr_t *bias, size_t *mapped) {
    const ElfW(Phdr) *s = image->segment;
    size_t length = s->p_memsz;
    size_t pages = (length + image->page - 1) / image->page + 1;
    uint8_t *region = mmap(NULL, pages * image->page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) return NULL;
    uint8_t *copy = region + (pages - 1) * image->page - length;
    memset(region, 0, (pages - 1) * image->page);
    size_t from_file = s->p_filesz < length ? s->p_filesz : length;
    if (s->p_offset <= image->file_size && from_file <= image->file_size - s->p_offset)
        memcpy(copy, image->file + s->p_offset, from_file);
    mprotect(region + (pages - 1) * image->page, image->page, PROT_NONE);
    *bias = (uintptr_t)copy - s->p_vaddr;
    *mapped = pages * image->page;
    return region;
}

static void section_of(const struct image *image, uintptr_t bias, struct cfi_section *section) {
    struct dl_phdr_info info;
    memset(&info, 0, sizeof info);
    info.dlpi_addr = bias;
    info.dlpi_phdr = image->phdrs;
    info.dlpi_phnum = (ElfW(Half))image->phnum;
    module_unwind_section(&info, section);
    /* only the copied segment is there to read */
    const uint8_t *low = (const uint8_t *)(bias + image->segment->p_vaddr);
    if (section->low != low) section->eh_frame_hdr = NULL;
}

int main(int argc, char **argv) {
    if (argc < 4) return 64;
    state = strtoull(argv[1], NULL, 10) * 2654435761u + 1;
    long rounds = strtol(argv[2], NULL, 10);
    for (int f = 3; f < argc; f++) {
        int fd = open(argv[f], O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) { fprintf(stderr, "%s: cannot open\n", argv[f]); return 65; }
        const uint8_t *file = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (file == MAP_FAILED || (size_t)st.st_size < sizeof(ElfW(Ehdr))) { fprintf(stderr, "%s: not ELF\n", argv[f]); return 65; }
        const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)file;
        if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_phoff + (size_t)eh->e_phnum * sizeof(ElfW(Phdr)) > (size_t)st.st_size) {
            fprintf(stderr, "%s: not ELF\n", argv[f]);
            return 65;
        }
        struct image image = {(const ElfW(Phdr) *)(file + eh->e_phoff), eh->e_phnum, file, (size_t)st.st_size, NULL, (size_t)getpagesize()};
        const ElfW(Phdr) *hdr = NULL;
        for (int i = 0; i < image.phnum; i++)
            if (image.phdrs[i].p_type == PT_GNU_EH_FRAME) hdr = &image.phdrs[i];
        for (int i = 0; hdr != NULL && i < image.phnum; i++) {
            const ElfW(Phdr) *p = &image.phdrs[i];
            if (p->p_type == PT_LOAD && hdr->p_vaddr >= p->p_vaddr && hdr->p_vaddr - p->p_vaddr < p->p_memsz) image.segment = p;
        }
        if (image.segment == NULL) { fprintf(stderr, "%s: no .eh_frame_hdr\n", argv[f]); return 66; }

        uintptr_t bias;
        size_t mapped;
        uint8_t *region = copy_segment(&image, &bias, &mapped);
        if (region == NULL) return 67;
        struct cfi_section section;
        section_of(&image, bias, &section);
        if (section.eh_frame_hdr == NULL) { fprintf(stderr, "%s: no section\n", argv[f]); return 66; }
        const uint8_t *h = section.eh_frame_hdr;
        uint32_t count = 0;
        if (h[3] == 0x3b && h[2] == 0x03) memcpy(&count, h + 8, 4);
        /* pcs: the start of each function, and 1..64 bytes into it */
        uintptr_t *pcs = malloc(sizeof(uintptr_t) * (count * 2u + 1));
        uint32_t pc_count = 0;
        long kinds[5] = {0};
        for (uint32_t i = 0; i < count; i++) {
            int32_t start;
            memcpy(&start, h + 12 + (size_t)i * 8, 4);
            pcs[pc_count++] = (uintptr_t)h + start;
            pcs[pc_count++] = (uintptr_t)h + start + 1 + next_random() % 64;
        }
        for (uint32_t i = 0; i < pc_count; i++) {
            struct cfi_rule rule;
            kinds[cfi_find_rule(&section, pcs[i], &rule)]++;
        }
        printf("%s functions=%u rsp=%ld rbp=%ld outermost=%ld unsupported=%ld unknown=%ld\n", argv[f], count,
               kinds[CFI_CFA_RSP], kinds[CFI_CFA_RBP], kinds[CFI_OUTERMOST], kinds[CFI_UNSUPPORTED], kinds[CFI_UNKNOWN]);
        munmap(region, mapped);

        /* .eh_frame_hdr and what follows it (.eh_frame, as linkers lay them out) */
        uintptr_t target_low = hdr->p_vaddr, target_high = image.segment->p_vaddr + image.segment->p_memsz;
        for (long round = 0; round < rounds; round++) {
            region = copy_segment(&image, &bias, &mapped);
            if (region == NULL) return 67;
            section_of(&image, bias, &section);
            /* Four functions whose FDE and CIE the round corrupts on purpose, so the entries the
               lookups parse are the damaged ones, not only whatever the random edits hit. */
            const uint8_t *copy_header = section.eh_frame_hdr;
            uint32_t chosen[4];
            uint8_t *entries[8];
            unsigned entry_count = 0;
            for (int c = 0; c < 4 && count > 0; c++) {
                chosen[c] = (uint32_t)(next_random() % count);
                int32_t offset;
                memcpy(&offset, copy_header + 12 + (size_t)chosen[c] * 8 + 4, 4);
                uint8_t *fde = (uint8_t *)copy_header + offset;
                if (fde < section.low || fde + 32 > section.high) continue;
                entries[entry_count++] = fde;
                uint32_t cie_pointer;
                memcpy(&cie_pointer, fde + 4, 4);
                uint8_t *cie = fde + 4 - cie_pointer;
                if (cie >= section.low && cie + 32 <= section.high) entries[entry_count++] = cie;
            }
            unsigned edits = 1 + (unsigned)(next_random() % 64);
            for (unsigned e = 0; e < edits; e++) {
                uint8_t *at;
                uintptr_t span = target_high - target_low;
                if (entry_count > 0 && next_random() % 2) {
                    /* the first 32 bytes of a chosen entry: its length, CIE pointer or id,
                       augmentation, pc range and first instructions */
                    at = entries[next_random() % entry_count] + next_random() % 32;
                } else {
                    /* elsewhere: half of these in the first 4 KiB (the header, the table, the first CIEs) */
                    if (next_random() % 2 && span > 4096) span = 4096;
                    at = (uint8_t *)(bias + target_low + next_random() % span);
                }
                size_t room = (size_t)(bias + target_high - (uintptr_t)at);
                size_t n = 1 + next_random() % 8;
                switch (next_random() % 4) {
                case 0: *at = (uint8_t)next_random(); break;
                case 1: *at ^= (uint8_t)(1u << (next_random() % 8)); break;
                case 2: memset(at, 0xff, n < room ? n : room); break;
                default: memset(at, 0, n < room ? n : room); break;
                }
            }
            for (int k = 0; k < 64 && pc_count > 0; k++) {
                uintptr_t original = k % 2 && count > 0 ? pcs[2 * chosen[next_random() % 4]] + next_random() % 64
                                                        : pcs[next_random() % pc_count] + next_random() % 16;
                struct cfi_rule rule;
                cfi_find_rule(&section, (uintptr_t)copy_header + (original - (uintptr_t)h), &rule);
            }
            munmap(region, mapped);
        }
        printf("fuzzed %s %ld\n", argv[f], rounds);
        free(pcs);
        munmap((void *)file, (size_t)st.st_size);
    }
    return 0;
}
