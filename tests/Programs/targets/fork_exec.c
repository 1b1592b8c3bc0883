/* Processes around the recorded one. The sizes name who allocated:
     fork       parent 1111, fork, child 2222 x5 and _exit(7), parent prints "child N", then 3333
     exec       4444, then execs itself as "exec-stage2": 5555 x3 (same pid: a new image)
     spawn      6666, fork + exec of itself as "spawned": 7777 (another process, same environment),
                parent waits, prints "spawned N", then 8888
     relay      6666, fork + exec of itself as "relayed": 9999, then it execs itself as "spawned": 7777
                (one process of the run, two images); parent waits, prints "spawned N", then 8888 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *volatile sink[16];

static int wait_child(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *mode = argv[1];
    if (strcmp(mode, "fork") == 0) {
        sink[0] = malloc(1111);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            for (int i = 0; i < 5; i++) sink[1 + i] = malloc(2222);
            _exit(7);
        }
        printf("child %d\n", wait_child(pid));
        sink[7] = malloc(3333);
        return 0;
    }
    if (strcmp(mode, "exec") == 0) {
        sink[0] = malloc(4444);
        printf("pid %d\n", getpid());
        fflush(stdout);
        execl("/proc/self/exe", argv[0], "exec-stage2", (char *)NULL);
        return 3;
    }
    if (strcmp(mode, "exec-stage2") == 0) {
        for (int i = 0; i < 3; i++) sink[i] = malloc(5555);
        printf("stage2 pid %d\n", getpid());
        return 0;
    }
    if (strcmp(mode, "spawn") == 0 || strcmp(mode, "relay") == 0) {
        const char *child = mode[0] == 'r' ? "relayed" : "spawned";
        sink[0] = malloc(6666);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            execl("/proc/self/exe", argv[0], child, (char *)NULL);
            _exit(127);
        }
        printf("spawned %d\n", wait_child(pid));
        sink[1] = malloc(8888);
        return 0;
    }
    if (strcmp(mode, "relayed") == 0) {
        sink[0] = malloc(9999);
        execl("/proc/self/exe", argv[0], "spawned", (char *)NULL);
        return 3;
    }
    if (strcmp(mode, "spawned") == 0) {
        sink[0] = malloc(7777);
        return 0;
    }
    return 2;
}
