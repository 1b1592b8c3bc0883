/* What sampled mode is tested on: sampled_sites HELD_BLOCKS
   hold_kept keeps HELD_BLOCKS blocks of 3000 bytes; hold_freed makes 20000 blocks of 200 bytes
   and frees them all; churn allocates and frees 200000 blocks of 1000 bytes one at a time. Then
   it says "holding" on stdout and grow_until_killed takes blocks of 1 MiB, touching every page,
   until the memory limit kills it. At the kill hold_kept holds exactly HELD_BLOCKS × 3000 bytes
   and the other two sites nothing: in a sampled report hold_kept is an estimate to be checked
   against that count, and the freed sites must be gone (their sampled blocks' frees seen). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) static char *hold_kept(size_t size) {
    char *p = malloc(size);
    if (p) p[0] = 1;
    return p;
}

__attribute__((noinline)) static char *hold_freed(size_t size) {
    char *p = malloc(size);
    if (p) p[0] = 2;
    return p;
}

__attribute__((noinline)) static char *churn(size_t size) {
    char *p = malloc(size);
    if (p) p[0] = 3;
    return p;
}

__attribute__((noinline)) static char *grow_until_killed(size_t size) {
    char *p = malloc(size);
    if (p) memset(p, 4, size);
    return p;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: sampled_sites HELD_BLOCKS\n"); return 2; }
    long held = atol(argv[1]);
    char **kept = malloc((size_t)held * sizeof *kept);
    for (long i = 0; i < held; i++) kept[i] = hold_kept(3000);
    enum { FREED = 20000 };
    static char *freed[FREED];
    for (int i = 0; i < FREED; i++) freed[i] = hold_freed(200);
    for (int i = 0; i < FREED; i++) free(freed[i]);
    for (int i = 0; i < 200000; i++) free(churn(1000));
    printf("holding\n");
    fflush(stdout);
    for (;;) {
        if (grow_until_killed(1 << 20) == NULL) { sleep(1); }
    }
}
