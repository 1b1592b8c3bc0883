/* Allocations whose call sites are known. Prints "fn NAME ADDRESS" for every function on the
   allocating paths (so a test can name frames without a symbolizer), then allocates:
     site_malloc      100 x malloc(24)                     via middle <- main
     site_calloc       50 x calloc(10, 33)                 via middle <- main
     site_realloc       a chain malloc(16) -> realloc 32, 64, ..., 4096
     site_aligned       posix_memalign(64, 100), aligned_alloc(128, 256), memalign(256, 300),
                        valloc(500), pvalloc(600)
     site_reallocarray  reallocarray(NULL, 7, 11)
   then frees the first half of the malloc(24) blocks (from main) and prints "done". */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

static void *kept[1000];
static int kept_count;

static void keep(void *p) { kept[kept_count++] = p; }

__attribute__((noinline)) void site_malloc(int n) {
    for (int i = 0; i < n; i++) keep(malloc(24));
}

__attribute__((noinline)) void site_calloc(int n) {
    for (int i = 0; i < n; i++) keep(calloc(10, 33));
}

__attribute__((noinline)) void site_realloc(void) {
    void *p = malloc(16);
    for (size_t size = 32; size <= 4096; size *= 2) p = realloc(p, size);
    keep(p);
}

__attribute__((noinline)) void site_aligned(void) {
    void *p = NULL;
    if (posix_memalign(&p, 64, 100) == 0) keep(p);
    keep(aligned_alloc(128, 256));
    keep(memalign(256, 300));
    keep(valloc(500));
    keep(pvalloc(600));
}

__attribute__((noinline)) void site_reallocarray(void) {
    keep(reallocarray(NULL, 7, 11));
}

__attribute__((noinline)) void middle(void) {
    site_malloc(100);
    site_calloc(50);
    site_realloc();
    site_aligned();
    site_reallocarray();
}

int main(void) {
    printf("fn site_malloc %p\nfn site_calloc %p\nfn site_realloc %p\nfn site_aligned %p\n", (void *)site_malloc,
           (void *)site_calloc, (void *)site_realloc, (void *)site_aligned);
    printf("fn site_reallocarray %p\nfn middle %p\nfn main %p\nfn keep %p\n", (void *)site_reallocarray, (void *)middle,
           (void *)main, (void *)keep);
    fflush(stdout);
    middle();
    for (int i = 0; i < 50; i++) free(kept[i]);
    printf("done\n");
    return 0;
}
