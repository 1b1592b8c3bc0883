/* Changes its mappings without pause, the way a busy runtime does, so that /proc/PID/smaps read
   meanwhile sees them at different instants:
     map_churn
   makes 64 one-MiB anonymous mappings with one-MiB holes between them, prints "churning", then
   forever fills a hole (the kernel merges the three into one mapping, which grows past a range a
   reader has already listed), touches a page of it and unmaps it again (the mapping splits). */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB (1024L * 1024L)
#define REGIONS 64

int main(void) {
    char *space = mmap(NULL, 2 * REGIONS * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (space == MAP_FAILED) return 3;
    /* Touched before the holes are made, so the pieces share one anon_vma and may merge again. */
    for (int i = 0; i < REGIONS; i++) space[2 * i * MIB] = 1;
    for (int i = 0; i < REGIONS; i++) munmap(space + (2 * i + 1) * MIB, MIB);
    printf("churning\n");
    fflush(stdout);
    for (unsigned long round = 0;; round++) {
        for (int i = 0; i < REGIONS - 1; i++) {
            char *hole = space + (2 * i + 1) * MIB;
            if (mmap(hole, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != hole) return 4;
            hole[(round % 256) * 4096] = 1;
            munmap(hole, MIB);
        }
    }
}
