/* Mappings whose resident bytes are known, held until a file appears:
     resident GO_FILE
   site_touched maps 64 MiB and touches its first 16 MiB; site_reserved maps 32 MiB right after
   it and touches none (the kernel merges the two into one mapping, so only page-level residency
   tells them apart); both without transparent huge pages, so a touch makes exactly one page
   resident. site_large_block mallocs 40 MiB (a block malloc serves with a mapping of its own)
   and touches its first 4 MiB. Then 24 MiB more from malloc, touched (that raises the footprint past a warning
   threshold only after the mappings are settled), prints "ready" and waits for GO_FILE (at
   most a minute), then exits 0 holding everything. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB (1024L * 1024L)

char *touched;
char *reserved;
char *filler;
char *large;

__attribute__((noinline)) void site_touched(char *at) {
    touched = mmap(at, 64 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (touched != at) exit(3);
    madvise(touched, 64 * MIB, MADV_NOHUGEPAGE);
}

__attribute__((noinline)) void site_reserved(void) {
    reserved = mmap(touched + 64 * MIB, 32 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (reserved != touched + 64 * MIB) exit(4);
    madvise(reserved, 32 * MIB, MADV_NOHUGEPAGE);
}

__attribute__((noinline)) void site_large_block(void) {
    large = malloc(40 * MIB);
    if (!large) exit(7);
    char *first_page = (char *)((unsigned long)large & ~4095UL);
    madvise(first_page, 40 * MIB + 4096, MADV_NOHUGEPAGE);
    for (long offset = 0; offset < 4 * MIB; offset += 4096) large[offset] = 1;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    /* 96 MiB of free address space, found by mapping it once and giving it back. */
    char *space = mmap(NULL, 96 * MIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (space == MAP_FAILED) return 3;
    munmap(space, 96 * MIB);
    site_touched(space);
    site_reserved();
    for (long offset = 0; offset < 16 * MIB; offset += 4096) touched[offset] = 1;
    site_large_block();
    filler = malloc(24 * MIB);
    if (!filler) return 5;
    memset(filler, 7, 24 * MIB);
    printf("ready\n");
    fflush(stdout);
    for (int i = 0; i < 3000 && access(argv[1], F_OK) != 0; i++) usleep(20000);
    return access(argv[1], F_OK) == 0 ? 0 : 6;
}
