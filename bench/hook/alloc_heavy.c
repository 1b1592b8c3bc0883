/* The hook's overhead benchmark: 2 000 000 malloc/free pairs of mixed sizes (16 B to 64 KiB)
   from three call paths of different depths, over a working set of 1024 live blocks. At the
   end it prints its own memory figures from /proc/self/status (VmHWM, RssAnon, RssFile,
   RssShmem), its CPU times and its own wall time (main's start to its end) so a run under the
   hook can be compared with a plain one.
   Arguments: pairs [threads]: with threads > 1, that many threads share the pairs, each over a
   working set of its own (the producers' contention in the ring). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define SLOTS 1024

#define MAX_THREADS 64
static const size_t sizes[16] = {16, 24, 32, 48, 64, 96, 128, 200, 256, 512, 1024, 2048, 4096, 100, 40, 65536};

__attribute__((noinline)) static void *leaf(size_t size) {
    void *p = malloc(size);
    ((volatile char *)p)[0] = 1;
    return p;
}

__attribute__((noinline)) static void *path_short(size_t size) { return leaf(size); }

__attribute__((noinline)) static void *step(int depth, size_t size) {
    void *p = depth == 0 ? leaf(size) : step(depth - 1, size);
    __asm__ volatile("" ::: "memory");
    return p;
}

__attribute__((noinline)) static void *path_deep(size_t size) { return step(8, size); }

__attribute__((noinline)) static void *path_calloc(size_t size) {
    void *p = calloc(1, size);
    __asm__ volatile("" ::: "memory");
    return p;
}

static double seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void print_memory(double started) {
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    while (status && fgets(line, sizeof line, status))
        if (!strncmp(line, "VmHWM", 5) || !strncmp(line, "RssAnon", 7) || !strncmp(line, "RssFile", 7) ||
            !strncmp(line, "RssShmem", 8))
            fputs(line, stderr);
    if (status) fclose(status);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    fprintf(stderr, "wall %.3f s\n", seconds() - started);
    fprintf(stderr, "cpu %ld.%06ld s user %ld.%06ld s system, %ld minor faults\n", (long)usage.ru_utime.tv_sec,
            (long)usage.ru_utime.tv_usec, (long)usage.ru_stime.tv_sec, (long)usage.ru_stime.tv_usec, usage.ru_minflt);
}

struct churn {
    long pairs;
    unsigned long long state;
    void *slots[SLOTS];
};

static void *churn(void *argument) {
    struct churn *c = argument;
    unsigned long long state = c->state;
    for (long i = 0; i < c->pairs; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        size_t size = sizes[state % 16];
        unsigned slot = (unsigned)(state >> 20) % SLOTS;
        free(c->slots[slot]);
        switch ((state >> 40) % 4) {
        case 0: c->slots[slot] = path_short(size); break;
        case 1: c->slots[slot] = path_calloc(size); break;
        default: c->slots[slot] = path_deep(size); break;
        }
    }
    for (int i = 0; i < SLOTS; i++) free(c->slots[i]);
    return NULL;
}

static struct churn churns[MAX_THREADS];

int main(int argc, char **argv) {
    double started = seconds();
    long pairs = argc > 1 ? atol(argv[1]) : 2000000;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    if (threads < 1 || threads > MAX_THREADS) return 64;
    pthread_t ids[MAX_THREADS];
    for (int t = 0; t < threads; t++) {
        churns[t].pairs = pairs / threads;
        churns[t].state = 88172645463325252ull + 7919ull * (unsigned long long)t;
    }
    if (threads == 1) {
        churn(&churns[0]);
    } else {
        for (int t = 0; t < threads; t++) pthread_create(&ids[t], NULL, churn, &churns[t]);
        for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
    }
    print_memory(started);
    return 0;
}
