/* Mappings of every kind, printed as "NAME ADDRESS" lines: anonymous, stack, shared, a file
   (argument 1: its path, at least 3 pages), a partial munmap, an mremap that moves and grows.
   Prints "fn main ADDRESS" so the test can attribute the mapping stacks. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    printf("fn main %p\n", (void *)main);
    char *anonymous = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *stack = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    char *shared = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int fd = open(argv[1], O_RDONLY);
    char *file = mmap(NULL, 3 * 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
    close(fd);
    if (anonymous == MAP_FAILED || stack == MAP_FAILED || shared == MAP_FAILED || file == MAP_FAILED) return 3;
    printf("anonymous %p\nstack %p\nshared %p\nfile %p\n", anonymous, stack, shared, file);
    munmap(anonymous + 4096, 4096);
    printf("hole %p\n", anonymous + 4096);
    char *small = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    /* keep the next pages busy so growing has to move */
    char *blocker = mmap(small + 2 * 4096, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    char *grown = mremap(small, 2 * 4096, 64 * 4096, MREMAP_MAYMOVE);
    if (grown == MAP_FAILED) return 4;
    printf("small %p\ngrown %p\nblocker %p\n", small, grown, blocker);
    munmap(grown, 64 * 4096);
    munmap(stack, 8 * 4096);
    printf("done\n");
    return 0;
}
