/* Hoards memory from two call sites until killed (or until it has the amount asked for):
   hoard MIB_TOTAL [CHUNK_KIB]. Touches every page so it is resident, then sleeps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) char *cache_image(size_t bytes) { char *p = malloc(bytes); memset(p, 1, bytes); return p; }
__attribute__((noinline)) char *keep_message(size_t bytes) { char *p = malloc(bytes); memset(p, 2, bytes); return p; }

int main(int argc, char **argv) {
    size_t total = (size_t)(argc > 1 ? atol(argv[1]) : 64) << 20;
    size_t chunk = (size_t)(argc > 2 ? atol(argv[2]) : 256) << 10;
    size_t held = 0;
    for (int i = 0; held < total; i++) {
        if (i % 4 == 0) keep_message(chunk / 8); else cache_image(chunk);
        held += i % 4 == 0 ? chunk / 8 : chunk;
    }
    printf("held %zu bytes\n", held);
    fflush(stdout);
    if (argc > 3) sleep(atoi(argv[3]));
    return 0;
}
