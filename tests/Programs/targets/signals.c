/* Ends the way its argument says: "exit N", "raise SIG", "wait" (until killed), "env NAME"
   (prints a variable), "mask" (prints whether any signal is blocked or ignored). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 100;
    if (strcmp(argv[1], "exit") == 0) return atoi(argv[2]);
    if (strcmp(argv[1], "raise") == 0) { raise(atoi(argv[2])); return 101; }
    if (strcmp(argv[1], "wait") == 0) { printf("ready\n"); fflush(stdout); for (;;) pause(); }
    if (strcmp(argv[1], "env") == 0) { const char *v = getenv(argv[2]); printf("%s\n", v ? v : "(unset)"); return 0; }
    if (strcmp(argv[1], "mask") == 0) {
        sigset_t blocked; sigprocmask(SIG_BLOCK, NULL, &blocked);
        int any_blocked = 0, any_ignored = 0;
        for (int s = 1; s < 32; s++) {
            if (sigismember(&blocked, s)) any_blocked = 1;
            struct sigaction sa; sigaction(s, NULL, &sa);
            if (sa.sa_handler == SIG_IGN) any_ignored = 1;
        }
        printf("blocked=%d ignored=%d\n", any_blocked, any_ignored);
        return 0;
    }
    return 102;
}
