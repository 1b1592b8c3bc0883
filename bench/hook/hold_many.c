/* The storage benchmark's target: allocates BLOCKS blocks of 16 to 64 bytes from 1024 distinct
   call paths (ten levels, each through one of two functions chosen by a bit of the path's
   number, so the stacks share their outer frames as real ones do), keeps every one of them and
   exits 0: the session then holds BLOCKS live allocations.
     hold_many [BLOCKS]        (default 1000000) */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static void *level_a(unsigned path, int depth, size_t size);
__attribute__((noinline)) static void *level_b(unsigned path, int depth, size_t size);

static void *descend(unsigned path, int depth, size_t size) {
    if (depth == 10) return malloc(size);
    return (path >> depth) & 1 ? level_b(path, depth + 1, size) : level_a(path, depth + 1, size);
}

__attribute__((noinline)) static void *level_a(unsigned path, int depth, size_t size) {
    void *p = descend(path, depth, size);
    __asm__ volatile("" ::: "memory");
    return p;
}

__attribute__((noinline)) static void *level_b(unsigned path, int depth, size_t size) {
    void *p = descend(path, depth, size);
    __asm__ volatile("" ::: "memory");
    return p;
}

int main(int argc, char **argv) {
    long blocks = argc > 1 ? atol(argv[1]) : 1000000;
    void **kept = malloc(sizeof(void *) * (size_t)blocks);
    if (!kept) return 1;
    for (long i = 0; i < blocks; i++) kept[i] = descend((unsigned)(i * 2654435761u) >> 22, 0, 16 + (size_t)(i % 4) * 16);
    printf("holding %ld blocks\n", blocks);
    return 0;
}
