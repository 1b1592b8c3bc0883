/* Allocates memory step by step and touches every page, so that it is really resident:
     memory_eater TOTAL_MIB [STEP_MIB] [HOLD_SECONDS]
   prints "allocated N MiB" after each step, "done" at the end, then sleeps HOLD_SECONDS
   (default 0) and exits 0. In a memory cgroup smaller than TOTAL_MIB the kernel kills it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: memory_eater TOTAL_MIB [STEP_MIB] [HOLD_SECONDS]\n"); return 2; }
    long total = atol(argv[1]);
    long step = argc > 2 ? atol(argv[2]) : 4;
    long hold = argc > 3 ? atol(argv[3]) : 0;
    if (step < 1) step = 1;
    for (long done = 0; done < total; done += step) {
        char *block = malloc((size_t)step << 20);
        if (!block) { fprintf(stderr, "malloc failed at %ld MiB\n", done); return 3; }
        memset(block, 0x5a, (size_t)step << 20);
        printf("allocated %ld MiB\n", done + step);
        fflush(stdout);
    }
    printf("done\n");
    fflush(stdout);
    if (hold > 0) sleep((unsigned)hold);
    return 0;
}
