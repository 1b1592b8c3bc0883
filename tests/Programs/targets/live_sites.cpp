// A program that exits normally while holding allocations from known call sites, for a test
// that compares `foom report` with what the program holds, site by site. It holds at exit:
//   site_malloc    100 x malloc(40)            (200 allocated, 100 freed by main)
//   site_reuse     100 x malloc(40)            (after those frees: glibc hands their addresses back)
//   site_calloc     60 x calloc(12, 25)
//   site_realloc     4 x 3000 bytes            (chains malloc(16) -> realloc 100, 1000, 3000)
//   site_new        30 x new Node (120 bytes)  (50 made, 20 deleted by main)
//   site_new_array   3 x new char[5000]
//   site_mmap        2 mappings: 64 KiB, and 64 KiB whose last 16 KiB were unmapped (a third unmapped whole)
// It prints "reused N" (how many of site_reuse's blocks came back at a freed site_malloc
// address), then "holding" and exits 0 from main without freeing anything else.
#include <sys/mman.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>

struct Node {
    char payload[120];
};

// Not static: the compiler must assume someone reads them, so no allocation is optimised away.
extern "C" {
void *malloc_blocks[200];
void *reuse_blocks[100];
void *calloc_blocks[60];
void *realloc_blocks[4];
Node *nodes[50];
char *arrays[3];
char *mappings[3];

// C names, so that the report names the sites without a signature.
__attribute__((noinline)) void site_malloc() {
    for (int i = 0; i < 200; i++) malloc_blocks[i] = std::malloc(40);
}

__attribute__((noinline)) void site_reuse() {
    for (int i = 0; i < 100; i++) reuse_blocks[i] = std::malloc(40);
}

__attribute__((noinline)) void site_calloc() {
    for (int i = 0; i < 60; i++) calloc_blocks[i] = std::calloc(12, 25);
}

__attribute__((noinline)) void site_realloc() {
    for (int i = 0; i < 4; i++) {
        void *p = std::malloc(16);
        p = std::realloc(p, 100);
        p = std::realloc(p, 1000);
        realloc_blocks[i] = std::realloc(p, 3000);
    }
}

__attribute__((noinline)) void site_new() {
    for (int i = 0; i < 50; i++) nodes[i] = new Node();
}

__attribute__((noinline)) void site_new_array() {
    for (int i = 0; i < 3; i++) arrays[i] = new char[5000];
}

__attribute__((noinline)) void site_mmap() {
    for (int i = 0; i < 3; i++) {
        void *p = mmap(nullptr, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        mappings[i] = p == MAP_FAILED ? nullptr : static_cast<char *>(p);
    }
}

}

int main() {
    site_malloc();
    site_calloc();
    site_realloc();
    site_new();
    site_new_array();
    site_mmap();
    if (!mappings[0] || !mappings[1] || !mappings[2]) return 3;
    std::memset(mappings[0], 1, 64 * 1024);

    // Every other block freed, newest first, so that the next 100 malloc(40) find them again.
    for (int i = 199; i >= 0; i -= 2) std::free(malloc_blocks[i]);
    site_reuse();
    int reused = 0;
    for (int i = 0; i < 100; i++)
        for (int j = 1; j < 200; j += 2)
            if (reuse_blocks[i] == malloc_blocks[j]) reused++;
    for (int i = 0; i < 20; i++) delete nodes[i];
    munmap(mappings[1] + 48 * 1024, 16 * 1024);
    munmap(mappings[2], 64 * 1024);

    std::printf("reused %d\nholding\n", reused);
    return 0;
}
