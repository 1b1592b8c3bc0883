// Holds 16 MiB chunks (new char[]) under an address space limit (RLIMIT_AS) of the memory in use
// plus 256 MiB until operator new throws std::bad_alloc, which nobody catches: the program ends
// in std::terminate and abort (SIGABRT), as a C++ program that runs out of memory does. Prints
// the functions first ("fn NAME ADDRESS", for the tests' FunctionMap).
#include <cstdio>
#include <cstring>
#include <sys/resource.h>
#include <vector>

static const size_t Chunk = 16u << 20;

__attribute__((noinline)) char *hoard_chunk() {
    char *chunk = new char[Chunk];
    std::memset(chunk, 1, 4096);
    return chunk;
}

__attribute__((noinline)) void hoard() {
    std::vector<char *> held;
    held.reserve(64);
    for (;;) held.push_back(hoard_chunk());
}

int main() {
    std::printf("fn hoard_chunk %p\nfn hoard %p\n", (void *)hoard_chunk, (void *)hoard);
    rlimit limit{};
    size_t kib = 0;
    if (FILE *status = std::fopen("/proc/self/status", "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, status))
            if (std::sscanf(line, "VmSize: %zu kB", &kib) == 1) break;
        std::fclose(status);
    }
    limit.rlim_cur = limit.rlim_max = (kib << 10) + (256u << 20);
    if (setrlimit(RLIMIT_AS, &limit) != 0) return 2;
    std::printf("hoarding\n");
    std::fflush(stdout);
    hoard();
}
