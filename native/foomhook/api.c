/*
 * The public API (foom.h; the top layer): what the program says about itself (state, scene,
 * heartbeat) into the marks area of the ring header, and the memory warnings the recorder raises,
 * delivered by eventfd and callbacks from a watcher thread. Every function does nothing
 * (successfully) when the program runs without the recorder.
 */
#include "enter.h"

#include <linux/futex.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

#include "foom.h"

static struct foom_ring_header *api_header(void) {
    hook_ready();
    return foom_target_header();
}

EXPORT int foom_set_state(const char *state) {
    uint32_t value;
    if (state == NULL) return -1;
    if (strcmp(state, "foreground") == 0)
        value = FOOM_STATE_FOREGROUND;
    else if (strcmp(state, "background") == 0)
        value = FOOM_STATE_BACKGROUND;
    else if (strcmp(state, "suspended") == 0)
        value = FOOM_STATE_SUSPENDED;
    else
        return -1;
    struct foom_ring_header *h = api_header();
    if (h == NULL) return 0;
    h->state_ms = foom_wall_ms();
    __atomic_store_n(&h->state, value, __ATOMIC_RELEASE);
    return 0;
}

EXPORT int foom_set_scene(const char *scene) {
    if (scene == NULL) return -1;
    struct foom_ring_header *h = api_header();
    if (h == NULL) return 0;
    static pthread_mutex_t scene_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&scene_lock);
    uint32_t sequence = h->scene_sequence;
    __atomic_store_n(&h->scene_sequence, sequence + 1, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    size_t length = strnlen(scene, FOOM_RING_SCENE_SIZE - 1);
    memcpy(h->scene, scene, length);
    memset(h->scene + length, 0, FOOM_RING_SCENE_SIZE - length);
    h->scene_ms = foom_wall_ms();
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    __atomic_store_n(&h->scene_sequence, sequence + 2, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&scene_lock);
    return 0;
}

EXPORT void foom_heartbeat(void) {
    struct foom_ring_header *h = api_header();
    if (h != NULL) __atomic_store_n(&h->heartbeat_ms, foom_wall_ms(), __ATOMIC_RELEASE);
}

/* ---- memory warnings ------------------------------------------------------------------------- */

#define MAX_CALLBACKS 8

static pthread_mutex_t watcher_lock = PTHREAD_MUTEX_INITIALIZER;
static int warning_fd = -1;
static int watcher_running;
static uint32_t watcher_seen;
static struct {
    void (*callback)(void *);
    void *context;
} callbacks[MAX_CALLBACKS];
static uint32_t callback_count;

static void *watch_warnings(void *argument) {
    struct foom_ring_header *h = argument;
    uint32_t seen = watcher_seen;
    for (;;) {
        uint32_t current = __atomic_load_n(&h->warning_sequence, __ATOMIC_ACQUIRE);
        if (current == seen) {
            /* A shared futex: the recorder wakes it from its own mapping of the same file. */
            syscall(SYS_futex, &h->warning_sequence, FUTEX_WAIT, seen, NULL, NULL, 0);
            continue;
        }
        uint32_t raised = current - seen;
        seen = current;
        uint64_t count = raised;
        if (write(warning_fd, &count, sizeof count) < 0) { /* the counter is full: readers are far behind */ }
        uint32_t n = __atomic_load_n(&callback_count, __ATOMIC_ACQUIRE);
        for (uint32_t i = 0; i < n; i++) callbacks[i].callback(callbacks[i].context);
    }
    return NULL;
}

/* Starts the watcher thread once, with every signal blocked. 0 when it runs. */
static int ensure_watcher(struct foom_ring_header *h) {
    int result = 0;
    pthread_mutex_lock(&watcher_lock);
    if (!watcher_running) {
        warning_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
        if (warning_fd < 0) {
            result = -1;
        } else {
            watcher_seen = __atomic_load_n(&h->warning_sequence, __ATOMIC_ACQUIRE);
            sigset_t all, previous;
            sigfillset(&all);
            pthread_sigmask(SIG_SETMASK, &all, &previous);
            pthread_attr_t attributes;
            pthread_attr_init(&attributes);
            pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
            pthread_t thread;
            if (foom_real.pthread_create(&thread, &attributes, watch_warnings, h) == 0) {
                pthread_setname_np(thread, "foom-warnings");
                watcher_running = 1;
            } else {
                close(warning_fd);
                warning_fd = -1;
                result = -1;
            }
            pthread_attr_destroy(&attributes);
            pthread_sigmask(SIG_SETMASK, &previous, NULL);
        }
    }
    pthread_mutex_unlock(&watcher_lock);
    return result;
}

EXPORT int foom_warning_fd(void) {
    struct foom_ring_header *h = api_header();
    if (h == NULL || ensure_watcher(h) != 0) return -1;
    return warning_fd;
}

EXPORT int foom_on_memory_warning(void (*callback)(void *context), void *context) {
    struct foom_ring_header *h = api_header();
    if (h == NULL || callback == NULL) return -1;
    pthread_mutex_lock(&watcher_lock);
    int result = -1;
    if (callback_count < MAX_CALLBACKS) {
        callbacks[callback_count].callback = callback;
        callbacks[callback_count].context = context;
        __atomic_store_n(&callback_count, callback_count + 1, __ATOMIC_RELEASE);
        result = 0;
    }
    pthread_mutex_unlock(&watcher_lock);
    if (result == 0 && ensure_watcher(h) != 0) return -1;
    return result;
}

EXPORT uint64_t foom_last_warning(uint64_t *footprint, uint64_t *limit) {
    struct foom_ring_header *h = api_header();
    uint64_t f = 0, l = 0;
    uint32_t sequence = 0;
    if (h != NULL) {
        uint32_t again;
        do {
            sequence = __atomic_load_n(&h->warning_sequence, __ATOMIC_ACQUIRE);
            f = __atomic_load_n(&h->warning_footprint, __ATOMIC_ACQUIRE);
            l = __atomic_load_n(&h->warning_limit, __ATOMIC_ACQUIRE);
            again = __atomic_load_n(&h->warning_sequence, __ATOMIC_ACQUIRE);
        } while (again != sequence);
    }
    if (footprint) *footprint = f;
    if (limit) *limit = l;
    return sequence;
}
