/* Two threads hand blocks over: "left" allocates blocks and sends them to "right", which frees
   them. Run with one arena and no tcache (MALLOC_ARENA_MAX=1,
   GLIBC_TUNABLES=glibc.malloc.tcache_count=0), a block freed by "right" is soon returned by
   malloc on "left": the order in which the ring shows those events is the test. Argument:
   rounds (default 20000). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct queue {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    void *items[16];
    int head, count;
};

static struct queue to_right = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0};
static int rounds = 20000;

static void push(struct queue *q, void *item) {
    pthread_mutex_lock(&q->lock);
    while (q->count == 16) pthread_cond_wait(&q->changed, &q->lock);
    q->items[(q->head + q->count) % 16] = item;
    q->count++;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
}

static void *pop(struct queue *q) {
    pthread_mutex_lock(&q->lock);
    while (q->count == 0) pthread_cond_wait(&q->changed, &q->lock);
    void *item = q->items[q->head];
    q->head = (q->head + 1) % 16;
    q->count--;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
    return item;
}

static void *left(void *unused) {
    for (int i = 0; i < rounds; i++) push(&to_right, malloc(48));
    return unused;
}

static void *right(void *unused) {
    for (int i = 0; i < rounds; i++) free(pop(&to_right));
    return unused;
}

int main(int argc, char **argv) {
    if (argc > 1) rounds = atoi(argv[1]);
    pthread_t a, b;
    pthread_create(&a, NULL, left, NULL);
    pthread_create(&b, NULL, right, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("done\n");
    return 0;
}
