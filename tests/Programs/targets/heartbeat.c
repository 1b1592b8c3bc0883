/* A program with a main loop that beats (foom_heartbeat) BEATS times every 100 ms, then stalls
   forever as if its main thread hung: heartbeat BEATS [background]. With "background" it first
   declares itself in the background, where no watchdog applies, and exits after a while. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void foom_heartbeat(void) __attribute__((weak));
extern void foom_set_state(const char *state) __attribute__((weak));

int main(int argc, char **argv) {
    int beats = argc > 1 ? atoi(argv[1]) : 5;
    int background = argc > 2 && strcmp(argv[2], "background") == 0;
    if (!foom_heartbeat || !foom_set_state) { fprintf(stderr, "not running under the foom hook\n"); return 3; }
    foom_set_state(background ? "background" : "foreground");
    for (int i = 0; i < beats; i++) { foom_heartbeat(); usleep(100000); }
    printf("stalled\n");
    fflush(stdout);
    if (background) { sleep(3); return 0; }
    for (;;) pause();
}
