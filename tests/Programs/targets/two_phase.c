/* Holds blocks from a few call sites in two phases, for the tests of the events a killed
   recorder left in the ring: two_phase GO_FILE [IMAGE_MIB [exit]]
   Phase 1: 2000 notes of 48 bytes, then IMAGE_MIB (default 30) images of 1 MiB, touched so they
   are resident; prints "phase 1" and waits until GO_FILE exists.
   Phase 2: 3000 more notes from the same call path (so the hook sends their stack by hash only),
   frees every other note of phase 1, grows 500 of the others to 96 bytes, 40 late notes of
   3008 bytes from a new call site, three 1 MiB mappings of which one is unmapped again.
   Then prints what it holds, one line per call site ("site NAME BLOCKS BYTES", sizes multiples
   of 16 as a report rounds them), and "phase 2", and sleeps (to be killed), or exits 0 when
   told "exit". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FIRST_NOTES 2000
#define MORE_NOTES 3000
#define GROWN 500
#define LATE 40

static char *notes[FIRST_NOTES + MORE_NOTES];
static int note_count;

__attribute__((noinline)) char *keep_note(void) { char *p = malloc(48); memset(p, 3, 48); return p; }
__attribute__((noinline)) char *grow_note(char *p) { return realloc(p, 96); }
__attribute__((noinline)) char *late_note(void) { char *p = malloc(3008); memset(p, 4, 3008); return p; }
__attribute__((noinline)) char *cache_image(void) { char *p = malloc(1 << 20); memset(p, 1, 1 << 20); return p; }
__attribute__((noinline)) void *map_buffer(void) {
    void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 5, 4096);
    return p;
}

/* One call site for both phases: the notes of phase 2 have exactly the stack of phase 1's. */
__attribute__((noinline)) void add_notes(int count) {
    for (int i = 0; i < count; i++) notes[note_count++] = keep_note();
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: two_phase GO_FILE [IMAGE_MIB [exit]]\n"); return 2; }
    int images = argc > 2 ? atoi(argv[2]) : 30;
    for (int phase = 1; phase <= 2; phase++) {
        add_notes(phase == 1 ? FIRST_NOTES : MORE_NOTES);
        if (phase == 2) break;
        for (int i = 0; i < images; i++) cache_image();
        printf("phase 1\n");
        fflush(stdout);
        while (access(argv[1], F_OK) != 0) usleep(10000);
    }

    int freed = 0, grown = 0;
    for (int i = 0; i < FIRST_NOTES; i += 2) { free(notes[i]); notes[i] = NULL; freed++; }
    for (int i = 1; i < FIRST_NOTES && grown < GROWN; i += 2) { notes[i] = grow_note(notes[i]); grown++; }
    for (int i = 0; i < LATE; i++) late_note();
    void *maps[3];
    for (int i = 0; i < 3; i++) maps[i] = map_buffer();
    munmap(maps[1], 1 << 20);

    printf("site keep_note %d %d\n", FIRST_NOTES + MORE_NOTES - freed - grown, (FIRST_NOTES + MORE_NOTES - freed - grown) * 48);
    printf("site grow_note %d %d\n", grown, grown * 96);
    printf("site late_note %d %d\n", LATE, LATE * 3008);
    printf("site cache_image %d %d\n", images, images << 20);
    printf("site map_buffer %d %d\n", 2, 2 << 20);
    printf("phase 2\n");
    fflush(stdout);
    if (argc > 3 && strcmp(argv[3], "exit") == 0) return 0;
    sleep(600);
    return 0;
}
