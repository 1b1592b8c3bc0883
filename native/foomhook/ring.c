/*
 * The producer side of the ring (see foom_ring.h for the protocol).
 *
 * A producer that finds the ring full waits, bounded by header.full_wait_ms, checking every
 * 10 ms that the recorder is still alive; a dead recorder stops recording for good (the target
 * carries on untouched, and what it does from then on is counted in the header, not published,
 * so the gap is exact). A wait that runs out drops the event, counts it in the header, and
 * puts the process into overflow: later events are dropped at once (and counted) until the
 * consumer has emptied half the ring, so a stalled recorder costs the target one wait, not one
 * per event.
 */
#include "ring.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Set by the thread whose wait ran out, read by all: drop at once until the ring has room. */
static atomic_int overflow;

static void copy_in(uint64_t position, const uint8_t *source, uint32_t length) {
    uint64_t offset = position & (foom_data_size - 1);
    uint64_t room = foom_data_size - offset;
    if (length <= room) {
        memcpy(foom_data + offset, source, length);
    } else {
        memcpy(foom_data + offset, source, room);
        memcpy(foom_data, source + room, length - room);
    }
}

/* Dead when kill says so, or when /proc shows a zombie nobody has reaped yet. */
static int recorder_alive(int32_t pid) {
    if (pid <= 0) return 1;
    if (syscall(SYS_kill, pid, 0) != 0 && errno == ESRCH) return 0;
    char path[32] = "/proc/";
    int at = 6;
    char digits[12];
    int n = 0;
    for (int32_t v = pid; v > 0; v /= 10) digits[n++] = (char)('0' + v % 10);
    while (n > 0) path[at++] = digits[--n];
    memcpy(path + at, "/stat", 6);
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno != ENOENT;
    char text[512];
    long got = syscall(SYS_read, fd, text, sizeof text - 1);
    syscall(SYS_close, fd);
    if (got <= 0) return 1;
    text[got] = 0;
    /* "pid (comm) S ...": the state follows the last ')'. */
    char *close_paren = NULL;
    for (long i = 0; i < got; i++)
        if (text[i] == ')') close_paren = text + i;
    if (close_paren == NULL || close_paren + 2 >= text + got) return 1;
    char state = close_paren[2];
    return state != 'Z' && state != 'X';
}

void ring_stop(uint32_t reason) {
    struct foom_ring_header *h = foom_header;
    atomic_store_explicit(&foom_mode, h == NULL ? FOOM_MODE_OFF : FOOM_MODE_COUNTING, memory_order_relaxed);
    if (h == NULL) return;
    uint32_t expected = FOOM_STOP_NONE;
    if (__atomic_compare_exchange_n(&h->stopped, &expected, reason, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        __atomic_store_n(&h->stopped_ms, foom_wall_ms(), __ATOMIC_RELEASE);
}

void ring_check_recorder(void) {
    struct foom_ring_header *h = foom_header;
    if (h == NULL) return;
    if (__atomic_load_n(&h->stopped, __ATOMIC_ACQUIRE) != FOOM_STOP_NONE) {
        atomic_store_explicit(&foom_mode, FOOM_MODE_COUNTING, memory_order_relaxed);
        return;
    }
    if (!recorder_alive(h->recorder_pid)) ring_stop(FOOM_STOP_RECORDER_GONE);
}

static void count_drop(const uint8_t *record, uint32_t length) {
    struct foom_ring_header *h = foom_header;
    __atomic_fetch_add(&h->dropped_events, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->dropped_bytes, length, __ATOMIC_RELAXED);
    uint8_t kind = ((const struct foom_record *)record)->kind;
    if (kind == FOOM_RECORD_ALLOC || kind == FOOM_RECORD_MAP)
        __atomic_fetch_add(&h->dropped_allocs, 1, __ATOMIC_RELAXED);
    else if (kind == FOOM_RECORD_FREE || kind == FOOM_RECORD_UNMAP)
        __atomic_fetch_add(&h->dropped_frees, 1, __ATOMIC_RELAXED);
}

void ring_count_unrecorded(uint8_t kind, uint64_t bytes) {
    struct foom_ring_header *h = foom_header;
    if (h == NULL) return;
    switch (kind) {
    case FOOM_RECORD_ALLOC:
        __atomic_fetch_add(&h->unrecorded_allocs, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&h->unrecorded_alloc_bytes, bytes, __ATOMIC_RELAXED);
        break;
    case FOOM_RECORD_FREE:
        __atomic_fetch_add(&h->unrecorded_frees, 1, __ATOMIC_RELAXED);
        break;
    case FOOM_RECORD_MAP:
        __atomic_fetch_add(&h->unrecorded_maps, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&h->unrecorded_map_bytes, bytes, __ATOMIC_RELAXED);
        break;
    case FOOM_RECORD_UNMAP:
        __atomic_fetch_add(&h->unrecorded_unmaps, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&h->unrecorded_unmap_bytes, bytes, __ATOMIC_RELAXED);
        break;
    default: /* modules and attaches change no live memory */
        break;
    }
}

/* A record built while recording ran that could not go in because recording stopped. */
static void count_unrecorded_record(const void *record) {
    uint8_t kind = ((const struct foom_record *)record)->kind;
    uint64_t bytes = 0;
    if (kind == FOOM_RECORD_ALLOC)
        bytes = ((const struct foom_record_alloc *)record)->size;
    else if (kind == FOOM_RECORD_MAP)
        bytes = ((const struct foom_record_map *)record)->length;
    else if (kind == FOOM_RECORD_UNMAP)
        bytes = ((const struct foom_record_unmap *)record)->length;
    ring_count_unrecorded(kind, bytes);
}

/* The ring is full: wait for the consumer to make room for length bytes. 1 with *head fresh when
   there is room, 0 when the event must be dropped (or recording stopped meanwhile). */
static int wait_for_room(uint64_t *head, uint32_t length) {
    struct foom_ring_header *h = foom_header;
    uint64_t size = foom_data_size;
    if (atomic_load_explicit(&overflow, memory_order_relaxed)) return 0;
    uint32_t budget_ms = h->full_wait_ms ? h->full_wait_ms : FOOM_RING_DEFAULT_WAIT_MS;
    uint64_t start = foom_monotonic_ns();
    uint64_t last_check = start;
    uint64_t deadline = start + (uint64_t)budget_ms * 1000000u;
    __atomic_fetch_add(&h->full_waits, 1, __ATOMIC_RELAXED);
    int result = 0;
    for (unsigned attempt = 0;; attempt++) {
        if (!foom_is_active()) break;
        uint64_t current = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE);
        uint64_t tail = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);
        if (tail > current || current + length - tail <= size) {
            *head = current;
            result = 1;
            break;
        }
        uint64_t now = foom_monotonic_ns();
        if (now - last_check >= 10000000u) {
            last_check = now;
            ring_check_recorder();
            if (!foom_is_active()) break;
        }
        if (now >= deadline) {
            atomic_store_explicit(&overflow, 1, memory_order_relaxed);
            break;
        }
        if (attempt < 32) {
            sched_yield();
        } else {
            unsigned shift = attempt - 32 < 6 ? attempt - 32 : 6;
            struct timespec pause = {0, (long)(15625u << shift)}; /* 15.6 us, doubling to 1 ms */
            nanosleep(&pause, NULL);
        }
    }
    __atomic_fetch_add(&h->full_wait_ns, foom_monotonic_ns() - start, __ATOMIC_RELAXED);
    return result;
}

uint64_t ring_publish(const void *record, uint32_t length) {
    struct foom_ring_header *h = foom_header;
    if (h == NULL) return UINT64_MAX;
    if (unlikely(!foom_is_active())) {
        count_unrecorded_record(record);
        return UINT64_MAX;
    }
    uint64_t size = foom_data_size;
    uint64_t head = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
    for (;;) {
        uint64_t tail = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);
        if (unlikely(atomic_load_explicit(&overflow, memory_order_relaxed))) {
            if (tail <= head && head - tail > size / 2) {
                count_drop(record, length);
                return UINT64_MAX;
            }
            atomic_store_explicit(&overflow, 0, memory_order_relaxed);
        }
        if (likely(tail <= head && head + length - tail <= size)) {
            if (__atomic_compare_exchange_n(&h->head, &head, head + length, 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
                break;
            continue;
        }
        if (tail > head) {
            /* Our head was older than the tail we read: read it again. A tail past the current
               head is something no consumer writes: stop rather than write over unread events. */
            uint64_t fresh_tail = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);
            head = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE); /* read after the tail: never below it */
            if (fresh_tail > head) {
                ring_stop(FOOM_STOP_RING_INVALID);
                count_unrecorded_record(record);
                return UINT64_MAX;
            }
            continue;
        }
        if (!wait_for_room(&head, length)) {
            /* Dropped while recording, or not recorded because recording stopped meanwhile. */
            if (foom_is_active())
                count_drop(record, length);
            else
                count_unrecorded_record(record);
            return UINT64_MAX;
        }
    }
    /* Ask for the lines a few records ahead now, so the stores that will land there do not wait
       for them (a locked reservation waits for every store before it). */
    __builtin_prefetch(foom_data + ((head + 512) & (size - 1)), 1, 3);
    copy_in(head + 8, (const uint8_t *)record + 8, length - 8);
    uint64_t word;
    memcpy(&word, record, 8);
    __atomic_store_n((uint64_t *)(foom_data + (head & (size - 1))), word, __ATOMIC_RELEASE);
    /* Every MiB of traffic: is the recorder still there, and does it still want events? */
    if (unlikely(((head ^ (head + length)) >> 20) != 0)) ring_check_recorder();
    return head;
}
