/* Loads the library named by argument 1 (dl_plugin.c), allocates 9999 bytes twice through it
   (same stack), unloads it, loads it again and allocates once more, unloads it. Prints
   "fn plugin_alloc ADDRESS" for each load and "fn main ADDRESS". With argument 2 (dl_quiet.c, a
   library that never allocates), then loads that one and allocates 31 bytes itself. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static void *volatile sink[4];

__attribute__((noinline)) static void use(const char *path, int round) {
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        printf("dlopen failed: %s\n", dlerror());
        exit(3);
    }
    void *(*plugin_alloc)(size_t) = (void *(*)(size_t))dlsym(library, "plugin_alloc");
    printf("fn plugin_alloc%d %p\n", round, (void *)plugin_alloc);
    fflush(stdout);
    for (int i = 0; i < (round == 0 ? 2 : 1); i++) sink[round * 2 + i] = plugin_alloc(9999);
    dlclose(library);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    printf("fn main %p\nfn use %p\n", (void *)main, (void *)use);
    use(argv[1], 0);
    use(argv[1], 1);
    if (argc > 2) {
        void *quiet = dlopen(argv[2], RTLD_NOW);
        if (quiet == NULL) return 4;
        sink[3] = malloc(31);
    }
    printf("done\n");
    return 0;
}
