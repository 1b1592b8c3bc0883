/* Allocates and frees in a loop: argument 1 rounds (malloc of 16..1024 bytes, then free),
   argument 2 blocks kept alive at the end (malloc(64) each, from keep_alive). Prints
   "fn keep_alive ADDRESS" and "fn main ADDRESS", "running" after the first tenth, "done" at
   the end. */
#include <stdio.h>
#include <stdlib.h>

static void *volatile sink;

__attribute__((noinline)) void keep_alive(long count) {
    for (long i = 0; i < count; i++) sink = malloc(64);
}

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : 1000000;
    long kept = argc > 2 ? atol(argv[2]) : 0;
    printf("fn keep_alive %p\nfn main %p\n", (void *)keep_alive, (void *)main);
    fflush(stdout);
    for (long i = 0; i < rounds; i++) {
        void *p = malloc(16 + (size_t)(i % 64) * 16);
        sink = p;
        free(p);
        if (i == rounds / 10) {
            printf("running\n");
            fflush(stdout);
        }
    }
    keep_alive(kept);
    printf("done\n");
    return 0;
}
