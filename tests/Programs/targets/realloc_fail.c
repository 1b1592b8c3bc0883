/* Calls that fail after the hook has published the old block's release: realloc and mremap to
   sizes that cannot be had. The old block and mapping are still there; prints their addresses
   ("block ADDRESS", "mapping ADDRESS") and "done". */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(void) {
    char *block = malloc(100);
    if (realloc(block, SIZE_MAX / 2) != NULL) return 3;
    char *mapping = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mremap(mapping, 4096, (size_t)1 << 50, 0) != MAP_FAILED) return 4;
    block[0] = mapping[0] = 1; /* both still usable */
    printf("block %p\nmapping %p\ndone\n", (void *)block, (void *)mapping);
    return 0;
}
