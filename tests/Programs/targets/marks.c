/* Uses the hook's public API (looked up with dlsym, so it also runs without the hook) and ends
   the way argument 1 says:
     state      background, scene "ChatRoom", a heartbeat, then exit(3)
     immediate  _exit(5)
     crash      a null-pointer write (SIGSEGV)
     abort      abort()
     quit       SIGTERM to itself
     handlers   prints what sigaction/signal report for SIGINT and SIGTERM, installs its own
                SIGSEGV handler, faults, and leaves from that handler with _exit(9)
     warnings   prints "ready", waits (30 s at most) for a memory warning on foom_warning_fd and
                for the callback, prints what it got, exits 0 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "foom.h"

#define API(name) ((__typeof__(&name))dlsym(RTLD_DEFAULT, #name))

static volatile int callback_calls;

static void on_warning(void *context) {
    (void)context;
    __atomic_add_fetch(&callback_calls, 1, __ATOMIC_SEQ_CST);
}

static void own_handler(int signal) {
    (void)signal;
    static const char text[] = "own handler\n";
    if (write(1, text, sizeof text - 1) < 0) _exit(10);
    _exit(9);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *mode = argv[1];
    if (API(foom_set_state) == NULL) {
        printf("no hook\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    if (strcmp(mode, "state") == 0) {
        printf("bad state %d\n", API(foom_set_state)("sideways"));
        API(foom_set_state)("background");
        API(foom_set_scene)("ChatRoom");
        API(foom_heartbeat)();
        exit(3);
    }
    if (strcmp(mode, "immediate") == 0) _exit(5);
    if (strcmp(mode, "crash") == 0) {
        API(foom_set_scene)("Crashing");
        *(volatile int *)(uintptr_t)16 = 1;
        return 4;
    }
    if (strcmp(mode, "abort") == 0) abort();
    if (strcmp(mode, "quit") == 0) {
        kill(getpid(), SIGTERM);
        for (;;) pause();
    }
    if (strcmp(mode, "handlers") == 0) {
        struct sigaction current;
        sigaction(SIGINT, NULL, &current);
        printf("sigint %s\n", current.sa_handler == SIG_DFL ? "default" : "taken");
        printf("sigterm %s\n", signal(SIGTERM, SIG_DFL) == SIG_DFL ? "default" : "taken");
        signal(SIGSEGV, own_handler);
        *(volatile int *)(uintptr_t)16 = 1;
        return 4;
    }
    if (strcmp(mode, "warnings") == 0) {
        int fd = API(foom_warning_fd)();
        if (API(foom_on_memory_warning)(on_warning, NULL) != 0) return 5;
        printf("ready %d\n", fd);
        struct pollfd wait = {fd, POLLIN, 0};
        if (poll(&wait, 1, 30000) != 1) {
            printf("no warning\n");
            return 6;
        }
        uint64_t count = 0;
        if (read(fd, &count, sizeof count) != sizeof count) return 7;
        for (int i = 0; i < 3000 && __atomic_load_n(&callback_calls, __ATOMIC_SEQ_CST) == 0; i++) usleep(10000);
        uint64_t footprint = 0, limit = 0;
        uint64_t warnings = API(foom_last_warning)(&footprint, &limit);
        printf("warning read %llu callbacks %d count %llu footprint %llu limit %llu\n", (unsigned long long)count,
               callback_calls, (unsigned long long)warnings, (unsigned long long)footprint, (unsigned long long)limit);
        return 0;
    }
    return 2;
}
