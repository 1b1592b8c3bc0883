/* A library that allocates, loaded by dl_host.c. */
#include <stdlib.h>

__attribute__((noinline)) void *plugin_alloc(size_t size) {
    void *p = malloc(size);
    __asm__ volatile("" ::: "memory");
    return p;
}
