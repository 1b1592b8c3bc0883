/* Allocates before main: a constructor allocates 1234 bytes and starts a thread that allocates
   2345 bytes before main runs; main allocates 3456 bytes. Prints "fn NAME ADDRESS" lines. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *volatile sink[3];
static pthread_t early_thread;

__attribute__((noinline)) static void *early_thread_main(void *unused) {
    sink[1] = malloc(2345);
    return unused;
}

__attribute__((constructor, noinline)) static void early_constructor(void) {
    sink[0] = malloc(1234);
    pthread_create(&early_thread, NULL, early_thread_main, NULL);
    pthread_join(early_thread, NULL);
}

int main(void) {
    sink[2] = malloc(3456);
    printf("fn early_constructor %p\nfn early_thread_main %p\nfn main %p\n", (void *)early_constructor,
           (void *)early_thread_main, (void *)main);
    return 0;
}
