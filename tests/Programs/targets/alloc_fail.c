/* Allocations that fail for want of memory, each from a call site of its own, under an address
   space limit (RLIMIT_AS) of the memory in use plus 64 MiB: a malloc of 256 MiB, a calloc of
   64 × 4 MiB, and an anonymous mmap of 256 MiB. Prints the sites ("fn NAME ADDRESS", for the
   tests' FunctionMap), "failed SITE SIZE" for each failure, then "done". */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>

#define BIG ((size_t)256 << 20)

/* Each result goes through a volatile, so the call is no tail call and the site stays on the stack. */
static void *volatile answer;

__attribute__((noinline)) void *ask_malloc(void) { answer = malloc(BIG); return answer; }
__attribute__((noinline)) void *ask_calloc(void) { answer = calloc(64, (size_t)4 << 20); return answer; }
__attribute__((noinline)) void *ask_mmap(void) {
    answer = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return answer;
}

static size_t address_space(void) {
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    size_t kib = 0;
    while (status && fgets(line, sizeof line, status))
        if (sscanf(line, "VmSize: %zu kB", &kib) == 1) break;
    if (status) fclose(status);
    return kib << 10;
}

int main(void) {
    printf("fn ask_malloc %p\nfn ask_calloc %p\nfn ask_mmap %p\nfn main %p\n", (void *)ask_malloc, (void *)ask_calloc,
           (void *)ask_mmap, (void *)main);
    struct rlimit limit;
    limit.rlim_cur = limit.rlim_max = address_space() + ((size_t)64 << 20);
    if (setrlimit(RLIMIT_AS, &limit) != 0) { perror("setrlimit"); return 2; }
    if (ask_malloc() == NULL) printf("failed ask_malloc %zu\n", BIG);
    if (ask_calloc() == NULL) printf("failed ask_calloc %zu\n", (size_t)64 * (4 << 20));
    if (ask_mmap() == MAP_FAILED) printf("failed ask_mmap %zu\n", BIG);
    printf("done\n");
    return 0;
}
