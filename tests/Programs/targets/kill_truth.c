/* The program's own ground truth for the kill tests (issue 16): kill_truth TRUTH_FILE OPERATIONS SEED
   Allocates and frees at random from one call site (hold_block, sizes 16 to 4096 bytes in
   multiples of 16, up to 4096 blocks held), OPERATIONS times, then exits 0 holding what it holds.
   What it holds is kept, after every operation, in TRUTH_FILE mapped MAP_SHARED (the page
   cache outlives a SIGKILL of the program): the operation about to happen is written first
   ("pending"), then done, then counted, so a reader knows the truth at any instant of a kill,
   up to the one pending operation. Says "running" on stdout after 2000 operations. Nothing but
   hold_block's malloc and free (and one write) after the start: every later event is the site's. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define SLOTS 4096

struct truth {                 /* read by the test: 8 little-endian int64s */
    int64_t held_blocks, held_bytes, allocations, frees;
    int64_t pending;           /* +size: an allocation in flight; -size: a free in flight; 0: none */
    int64_t operations_done;
    int64_t finished;          /* 1 once the last operation was counted */
    int64_t reserved;
};

static char *slots[SLOTS];
static int64_t sizes[SLOTS];

__attribute__((noinline)) char *hold_block(size_t size) {
    char *p = malloc(size);
    if (p) p[0] = 1;
    return p;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: kill_truth TRUTH_FILE OPERATIONS SEED\n"); return 2; }
    long operations = atol(argv[2]);
    uint64_t state = strtoull(argv[3], NULL, 10) * 0x9e3779b97f4a7c15ull + 1;
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, sizeof(struct truth)) != 0) { perror(argv[1]); return 1; }
    volatile struct truth *truth = mmap(NULL, sizeof(struct truth), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (truth == MAP_FAILED) { perror("mmap"); return 1; }
    for (long op = 0; op < operations; op++) {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17;
        int slot = (int)(state % SLOTS);
        if (slots[slot]) {
            truth->pending = -sizes[slot];
            __atomic_signal_fence(__ATOMIC_SEQ_CST);
            free(slots[slot]);
            slots[slot] = NULL;
            truth->held_blocks--;
            truth->held_bytes -= sizes[slot];
            truth->frees++;
        } else {
            int64_t size = (int64_t)(16 * (1 + (state >> 32) % 256));
            truth->pending = size;
            __atomic_signal_fence(__ATOMIC_SEQ_CST);
            slots[slot] = hold_block((size_t)size);
            sizes[slot] = size;
            truth->held_blocks++;
            truth->held_bytes += size;
            truth->allocations++;
        }
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        truth->pending = 0;
        truth->operations_done = op + 1;
        if (op + 1 == 2000 && write(1, "running\n", 8) != 8) return 1;
    }
    truth->finished = 1;
    return 0;
}
