/* Registers for Foom's memory warnings (the hook's callback and --warn-signal's SIGUSR1), grows
   to MIB megabytes, waits up to two seconds for a warning, and says what it received. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void foom_on_memory_warning(void (*callback)(void *), void *context) __attribute__((weak));

static volatile int callbacks, signals;
static void on_warning(void *context) { (void)context; callbacks++; }
static void on_signal(int signal) { (void)signal; signals++; }

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 64;
    if (!foom_on_memory_warning) { fprintf(stderr, "not running under the foom hook\n"); return 3; }
    foom_on_memory_warning(on_warning, NULL);
    signal(SIGUSR1, on_signal);
    for (size_t i = 0; i < mib; i++) memset(malloc(1 << 20), 7, 1 << 20);
    for (int waited = 0; waited < 40 && (callbacks == 0 || signals == 0); waited++) usleep(50000);
    printf("callbacks=%d signals=%d\n", callbacks > 0, signals > 0);
    return 0;
}
