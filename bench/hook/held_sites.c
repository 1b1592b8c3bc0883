/* The sampled-mode accuracy benchmark's program (bench/hook/sampled.sh): held_sites
   Ten call sites, each a function of its own, hold known blocks at exit (from 64 KiB to 16 MiB,
   blocks of 16 B to 1 MiB), between 2 000 000 malloc/free pairs of 16 B to 4 KiB that hold
   nothing, so the sampler runs through some 4 GB of allocations; then it exits 0 holding them.
   Deterministic: the same blocks every run, so an exact run is the truth for the sampled ones. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Every held block, visible outside (not static), so that the compiler cannot drop an allocation nothing reads. */
char *held[4096 + 8192 + 65536 + 30000 + 3000 + 1024 + 100 + 20 + 4 + 2048];
long held_count;

#define SITE(name, tag)                                                                \
    __attribute__((noinline)) static void name(size_t size, long count) {         \
        for (long i = 0; i < count; i++) {                                           \
            char *p = malloc(size);                                                  \
            if (p) p[0] = tag; /* each site's own code: no two are merged */          \
            held[held_count++] = p;                                                  \
        }                                                                            \
    }
SITE(site_16b_64k, 1) SITE(site_64b_512k, 2) SITE(site_32b_2m, 3) SITE(site_100b_3m, 4) SITE(site_1000b_3m, 5)
SITE(site_4000b_4m, 6) SITE(site_40k_4m, 7) SITE(site_200k_4m, 8) SITE(site_1m_4m, 9) SITE(site_8k_16m, 10)

static uint64_t state = 88172645463325252ull;
static uint64_t next(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static char *volatile last; /* keeps the compiler from removing a malloc/free pair */

__attribute__((noinline)) static void churn(long pairs) {
    for (long i = 0; i < pairs; i++) {
        char *p = malloc(16 + next() % 4096);
        if (p) p[0] = 2;
        last = p;
        free(last);
    }
}

int main(void) {
    churn(500000);
    site_16b_64k(16, 4096);
    site_64b_512k(64, 8192);
    churn(500000);
    site_32b_2m(32, 65536);
    site_100b_3m(100, 30000);
    site_1000b_3m(1000, 3000);
    churn(500000);
    site_4000b_4m(4000, 1024);
    site_40k_4m(40 * 1024, 100);
    site_200k_4m(200 * 1024, 20);
    site_1m_4m(1024 * 1024, 4);
    site_8k_16m(8 * 1024, 2048);
    churn(500000);
    printf("holding %ld blocks\n", held_count);
    return 0;
}
