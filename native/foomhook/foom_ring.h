/*
 * The event ring shared by the hook (many producers, in the target) and the recorder (one
 * consumer). The recorder creates the file in the session directory, sizes it, touches every
 * page (so the pages are charged to the recorder's memory cgroup, not the target's) and names
 * it to the target with FOOM_RING=<path>. Both map it MAP_SHARED.
 *
 *   [0, 4096)                 struct foom_ring_header: identity, positions, counters, marks
 *   [4096, 4096 + data_size)  the data area: variable-length records, 8-byte aligned
 *
 * Positions (head, tail, attach_position) are monotonically increasing byte counts; a
 * position's place in the data area is position & (data_size - 1). data_size is a power of
 * two. A producer reserves [head, head + length) with a compare-and-swap on head (only when
 * head + length - tail <= data_size), writes the record's body, then publishes the record's
 * first 8 bytes (struct foom_record) with a release store: that word is never zero, so a zero
 * word at tail means "not committed yet". The consumer reads the word at tail with acquire,
 * reads the record (copying it out only when it wraps past the end of the data area), zeroes
 * the record's bytes and then advances tail with a release store. The reservation position is
 * the global order of events: a free is published before the real free, an allocation after
 * the real call has returned.
 *
 * The C# mirror is src/Foom.Ring/RingLayout.cs; tests compare the two with a C program that
 * prints offsetof/sizeof of everything here.
 */
#ifndef FOOM_RING_H
#define FOOM_RING_H

#include <stdint.h>
#include <stddef.h>

#define FOOM_RING_MAGIC 0x474e49524d4f4f46ull /* "FOOMRING" in little-endian bytes */
#define FOOM_RING_VERSION 2u
#define FOOM_RING_HEADER_SIZE 4096u
#define FOOM_RING_MAX_FRAMES 64u
#define FOOM_RING_MAX_PATH 4095u
#define FOOM_RING_MAX_BUILD_ID 64u
#define FOOM_RING_SCENE_SIZE 64u
/* The largest record a producer ever writes: a mapping with 64 frames and a full path. */
#define FOOM_RING_MAX_RECORD 8192u
#define FOOM_RING_DEFAULT_WAIT_MS 2000u
/* The run's other processes: at most this many get rings of their own (see pool_created). */
#define FOOM_RING_POOL_MAX 512u
#define FOOM_RING_COMMAND_LINE_SIZE 1024u

/* header.stopped: why recording stopped (0 while it runs). */
enum foom_stop_reason {
    FOOM_STOP_NONE = 0,
    FOOM_STOP_RECORDER_GONE = 1,    /* the hook found the recorder's pid gone */
    FOOM_STOP_BY_RECORDER = 2,      /* the recorder asked the hook to stop */
    FOOM_STOP_RING_INVALID = 3,     /* the hook found the header inconsistent */
};

/* header.state, set by foom_set_state(). */
enum foom_app_state {
    FOOM_STATE_UNKNOWN = 0,
    FOOM_STATE_FOREGROUND = 1,
    FOOM_STATE_BACKGROUND = 2,
    FOOM_STATE_SUSPENDED = 3,
};

/* header.exit_kind: how the program ended, when it ended by itself. */
enum foom_exit_kind {
    FOOM_EXIT_NONE = 0,
    FOOM_EXIT_CALL = 1,        /* exit(status) */
    FOOM_EXIT_IMMEDIATE = 2,   /* _exit(status) or _Exit(status) */
    FOOM_EXIT_MAIN_RETURN = 3, /* main returned status */
    FOOM_EXIT_UNSEEN = 4,      /* the library was unloaded at exit without seeing a status */
};

struct foom_ring_header {
    /* [0, 64): identity, written by the recorder before the target starts. */
    uint64_t magic;              /* FOOM_RING_MAGIC, written last by the recorder */
    uint32_t version;            /* FOOM_RING_VERSION */
    uint32_t header_size;        /* FOOM_RING_HEADER_SIZE */
    uint64_t data_size;          /* bytes in the data area, a power of two */
    uint64_t created_ms;         /* wall clock, ms since the epoch */
    int32_t recorder_pid;        /* the consumer, for the hook's liveness checks (0: unknown) */
    uint32_t full_wait_ms;       /* how long a producer waits for room (0: the default, 2000) */
    uint32_t options;            /* enum foom_ring_option bits */
    uint32_t reserved0;
    uint64_t sample_bytes;       /* 0: record every allocation; N: sample heap blocks by bytes, one per N on average */
    uint64_t reserved1;

    /* [64, 128): the producers' line. */
    uint64_t head;               /* next reservation position */
    uint64_t reserved2[7];

    /* [128, 192): the consumer's line. */
    uint64_t tail;               /* everything before it has been consumed and zeroed */
    uint64_t reserved3[7];

    /* [192, 256): attach and stop. */
    int32_t target_pid;          /* the process that records; 0 until the first attach */
    uint32_t generation;         /* 1 at the first attach, +1 at each exec of the same pid */
    uint64_t attach_position;    /* position of the latest attach record */
    uint64_t attach_ms;          /* wall clock of the latest attach */
    uint32_t stopped;            /* enum foom_stop_reason */
    uint32_t foreign_attaches;   /* other processes (exec'd children) that found the ring: each
                                    then claims a spare ring of the pool, or counts in pool_exhausted */
    uint64_t stopped_ms;
    uint64_t target_mapped_bytes; /* ring bytes the target mapped resident at attach (0: left to faults) */
    uint64_t reserved4[2];

    /* [256, 384): counters. */
    uint64_t dropped_events;     /* events the hook could not publish (ring full too long) */
    uint64_t dropped_bytes;
    uint64_t full_waits;         /* times a producer found the ring full and waited */
    uint64_t full_wait_ns;       /* total time producers spent waiting for room */
    uint64_t unknown_stacks;     /* consumer: hash-only events whose stack it did not know */
    uint64_t dropped_allocs;     /* of dropped_events: allocations and mappings */
    uint64_t dropped_frees;      /* of dropped_events: frees and unmappings */
    /* Once recording has stopped (stopped != 0), what the program went on doing is counted here
       instead of published, so the gap is exact: no event is ever lost without a count. */
    uint64_t unrecorded_allocs;      /* malloc family (a failed realloc's old block counts as freed and allocated again) */
    uint64_t unrecorded_alloc_bytes; /* their requested sizes (a restored block: its usable size) */
    uint64_t unrecorded_frees;       /* free, realloc's old block (sizes unknown to the hook) */
    uint64_t unrecorded_maps;        /* mmap, mremap's new range */
    uint64_t unrecorded_map_bytes;
    uint64_t unrecorded_unmaps;      /* munmap, mremap's old range */
    uint64_t unrecorded_unmap_bytes;
    /* Sampled mode: sampled blocks the hook's set of sampled addresses had no room for. From the
       first, every free is published (the recorder ignores frees of blocks it does not hold). */
    uint64_t sample_set_overflows;
    uint64_t reserved5;

    /* [384, 480): app marks (foom_set_state, foom_set_scene, foom_heartbeat). */
    uint32_t state;              /* enum foom_app_state */
    uint32_t scene_sequence;     /* seqlock over scene: odd while being written */
    uint64_t state_ms;
    uint64_t heartbeat_ms;
    uint64_t scene_ms;
    char scene[FOOM_RING_SCENE_SIZE]; /* NUL-terminated */

    /* [480, 576): how the program ended, as far as it could say. */
    uint32_t exit_kind;          /* enum foom_exit_kind */
    int32_t exit_status;
    uint64_t exit_ms;
    int32_t crash_signal;        /* SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT */
    int32_t crash_code;          /* si_code of the crash */
    uint64_t crash_ms;
    uint64_t crash_address;      /* si_addr of the crash */
    int32_t quit_signal;         /* SIGTERM, SIGINT, SIGHUP */
    int32_t quit_sender_pid;     /* si_pid of the quit signal */
    uint64_t quit_ms;
    uint64_t reserved6[5];

    /* [576, 640): memory warnings, raised by the recorder. */
    uint32_t warning_sequence;   /* futex word (shared): +1 per warning, after the fields below */
    uint32_t reserved7;
    uint64_t warning_footprint;  /* bytes */
    uint64_t warning_limit;      /* bytes */
    uint64_t warning_ms;
    uint64_t reserved8[4];

    /* [640, 704): the run's process tree. Every process of the run that loads the hook with the
       run's FOOM_RING finds this ring first; the first (the program) owns it. Any other process
       claims a spare ring of the pool: the recorder makes the files <directory of FOOM_RING>/
       rings/0.ring, 1.ring, ... (created, touched, header written) and then raises pool_created;
       a process claims index pool_claimed by compare-and-swap (while it is below pool_created),
       writes its pid into pool_pids[index] and owns rings/<index>.ring from then on, its exec'd
       images included (they find their pid in pool_pids). The recorder drains each claimed ring
       into a session of its own and makes more spares. In a claimed ring, these fields are the
       owning process's own (parent_pid, command_line). */
    uint32_t pool_created;       /* spare ring files the recorder has made (indexes below it exist) */
    uint32_t pool_claimed;       /* indexes claimed by processes */
    uint32_t pool_exhausted;     /* processes that found no spare ring left: not recorded */
    int32_t parent_pid;          /* the owning process's parent at its latest attach (getppid) */
    uint32_t command_line_length; /* bytes of command_line (NUL-separated arguments, truncated) */
    uint32_t reserved9;
    uint64_t reserved10[5];

    /* [704, 2752): the pid that claimed each pool index (0 until it is written, just after the claim). */
    int32_t pool_pids[FOOM_RING_POOL_MAX];

    uint8_t reserved_tail[FOOM_RING_HEADER_SIZE - 2752 - FOOM_RING_COMMAND_LINE_SIZE];

    /* [3072, 4096): /proc/self/cmdline of the owning process at its latest attach. */
    char command_line[FOOM_RING_COMMAND_LINE_SIZE];
};

/* header.options */
enum foom_ring_option {
    FOOM_OPTION_NO_STACK_CACHE = 1, /* always send full stacks (diagnostics, tests) */
    FOOM_OPTION_FP_ONLY = 2,        /* never fall back to libunwind (benchmarks) */
    FOOM_OPTION_UNWIND_ONLY = 4,    /* never walk frame pointers (benchmarks) */
    FOOM_OPTION_LIBUNWIND_ONLY = 8, /* unwind with libunwind, never the hook's table walk (the
                                       reference the table walk is compared with: tests, benchmarks) */
    FOOM_OPTION_CHECK_UNWIND = 16,  /* unwind every table-walked stack with libunwind too and flag
                                       the events where they differ (tests) */
};

/* ---------------------------------------------------------------------------------------------
 * Records. Every record starts with struct foom_record; length counts the whole record
 * (header, body, frames, strings, padding) and is a multiple of 8.
 */
enum foom_record_kind {
    FOOM_RECORD_ALLOC = 1,
    FOOM_RECORD_FREE = 2,
    FOOM_RECORD_MAP = 3,
    FOOM_RECORD_UNMAP = 4,
    FOOM_RECORD_MODULE_LOAD = 5,
    FOOM_RECORD_MODULE_UNLOAD = 6,
    FOOM_RECORD_ATTACH = 7,
    FOOM_RECORD_ALLOC_FAILED = 8,
};

/* struct foom_record.source: the function that produced the event. */
enum foom_source {
    FOOM_SOURCE_MALLOC = 1,
    FOOM_SOURCE_CALLOC = 2,
    FOOM_SOURCE_REALLOC = 3,
    FOOM_SOURCE_REALLOCARRAY = 4,
    FOOM_SOURCE_POSIX_MEMALIGN = 5,
    FOOM_SOURCE_ALIGNED_ALLOC = 6,
    FOOM_SOURCE_MEMALIGN = 7,
    FOOM_SOURCE_VALLOC = 8,
    FOOM_SOURCE_PVALLOC = 9,
    FOOM_SOURCE_FREE = 10,
    FOOM_SOURCE_MMAP = 11,
    FOOM_SOURCE_MUNMAP = 12,
    FOOM_SOURCE_MREMAP = 13,
    FOOM_SOURCE_DLOPEN = 14,     /* modules found after a dlopen */
    FOOM_SOURCE_DLCLOSE = 15,
    FOOM_SOURCE_STARTUP = 16,   /* modules present at attach */
    FOOM_SOURCE_DISCOVERED = 17, /* modules found loaded by other means (an unknown pc, exit) */
};

/* struct foom_record.flags */
enum foom_record_flag {
    FOOM_FLAG_FULL_STACK = 1,     /* frame_count frames follow; else stack_hash names a stack
                                     this thread sent before */
    FOOM_FLAG_FRAME_POINTERS = 2, /* the stack came from a frame-pointer walk */
    FOOM_FLAG_UNWIND_TABLES = 4,  /* the stack came from DWARF unwind tables: the hook's table
                                     walk, or libunwind when FOOM_FLAG_LIBUNWIND is set too */
    FOOM_FLAG_TRUNCATED = 8,      /* the stack had more than 64 frames */
    FOOM_FLAG_RESTORED = 16,      /* realloc/mremap failed: the old block is published again */
    FOOM_FLAG_LIBUNWIND = 32,     /* unwound by libunwind (unw_backtrace): the table walk met a
                                     rule it does not follow (a signal frame, a DWARF expression)
                                     or code without unwind tables */
    FOOM_FLAG_UNWIND_DIFFERS = 64,  /* FOOM_OPTION_CHECK_UNWIND: libunwind found other frames than
                                     the table walk for this stack */
};

/* The first 8 bytes of every record, published last. */
struct foom_record {
    uint32_t length;
    uint8_t kind;                /* enum foom_record_kind */
    uint8_t source;              /* enum foom_source */
    uint8_t frame_count;         /* frames in the record (FULL_STACK) or in the hashed stack */
    uint8_t flags;               /* enum foom_record_flag */
};

/*
 * Frames, innermost first, are return addresses minus one (an address inside the call
 * instruction), so a module offset (pc - base) is an ELF virtual address that symbol tables and
 * addr2line resolve directly. Frames of the hook itself are skipped. Pcs outside every module
 * (JIT code) are left as they are.
 */

struct foom_record_alloc {     /* FOOM_RECORD_ALLOC, followed by frames when FULL_STACK */
    struct foom_record header;
    uint32_t thread_id;          /* gettid() */
    uint32_t alignment;          /* memalign family; 0 otherwise */
    uint64_t address;
    uint64_t size;               /* requested bytes */
    uint64_t stack_hash;
};

/* An allocation or mapping that failed for want of memory: the malloc family returning NULL
   (posix_memalign: ENOMEM) with errno ENOMEM, mmap or mremap failing with ENOMEM. source names
   the function; alloc.address is 0 (mremap: the mapping that could not grow), alloc.size the
   bytes asked for (calloc: count × size, SIZE_MAX when that overflows). */
struct foom_record_alloc_failed { /* FOOM_RECORD_ALLOC_FAILED, followed by frames when FULL_STACK */
    struct foom_record_alloc alloc;
    uint64_t wall_ms;            /* when it failed */
};

struct foom_record_free {      /* FOOM_RECORD_FREE */
    struct foom_record header;
    uint32_t thread_id;
    uint32_t reserved;
    uint64_t address;
};

/* struct foom_record_map.map_kind */
enum foom_map_kind {
    FOOM_MAP_ANONYMOUS = 1,
    FOOM_MAP_STACK = 2,          /* MAP_STACK or MAP_GROWSDOWN */
    FOOM_MAP_SHARED = 3,         /* anonymous MAP_SHARED */
    FOOM_MAP_FILE = 4,           /* path names the file (from the descriptor) */
    FOOM_MAP_REMAP = 5,          /* mremap's result: the kind of the mapping at old_address */
};

struct foom_record_map {       /* FOOM_RECORD_MAP, then frames (FULL_STACK), then path */
    struct foom_record header;
    uint32_t thread_id;
    int32_t prot;                /* PROT_* */
    uint64_t address;
    uint64_t length;
    int32_t map_flags;           /* MAP_* as passed to mmap (mremap: MREMAP_* flags) */
    uint8_t map_kind;            /* enum foom_map_kind */
    uint8_t reserved;
    uint16_t path_length;        /* bytes of path, no terminating NUL */
    uint64_t file_offset;
    uint64_t old_address;        /* FOOM_MAP_REMAP: the mapping this one came from */
    uint64_t stack_hash;
};

struct foom_record_unmap {     /* FOOM_RECORD_UNMAP */
    struct foom_record header;
    uint32_t thread_id;
    uint32_t reserved;
    uint64_t address;
    uint64_t length;
};

/* struct foom_record_module.module_flags */
enum foom_module_flag {
    FOOM_MODULE_MAIN_PROGRAM = 1,
    FOOM_MODULE_VDSO = 2,
    FOOM_MODULE_FRAME_POINTERS = 4, /* its code keeps frame pointers (the hook's estimate) */
};

struct foom_record_module {    /* FOOM_RECORD_MODULE_LOAD / _UNLOAD, then build_id, then path */
    struct foom_record header;
    uint32_t thread_id;
    uint16_t path_length;
    uint8_t build_id_length;
    uint8_t module_flags;        /* enum foom_module_flag */
    uint64_t base;               /* load bias (dlpi_addr): pc - base is the ELF virtual address */
    uint64_t start;              /* lowest mapped address of its PT_LOAD segments */
    uint64_t size;               /* extent of its PT_LOAD segments */
};

/* struct foom_record_attach.attach_flags */
enum foom_attach_flag {
    FOOM_ATTACH_EXEC = 1,        /* the same pid attached again after exec: reset allocations,
                                    mappings, modules and stacks */
};

struct foom_record_attach {    /* FOOM_RECORD_ATTACH, then the executable's path */
    struct foom_record header;
    int32_t pid;
    uint32_t generation;
    uint64_t wall_ms;
    uint64_t monotonic_ns;       /* CLOCK_MONOTONIC */
    uint32_t attach_flags;       /* enum foom_attach_flag */
    uint16_t path_length;
    uint16_t hook_version;       /* FOOM_RING_VERSION of the hook */
};

#ifndef __cplusplus
_Static_assert(sizeof(struct foom_ring_header) == FOOM_RING_HEADER_SIZE, "header size");
_Static_assert(offsetof(struct foom_ring_header, head) == 64, "head line");
_Static_assert(offsetof(struct foom_ring_header, tail) == 128, "tail line");
_Static_assert(offsetof(struct foom_ring_header, target_pid) == 192, "attach line");
_Static_assert(offsetof(struct foom_ring_header, dropped_events) == 256, "counters");
_Static_assert(offsetof(struct foom_ring_header, state) == 384, "marks");
_Static_assert(offsetof(struct foom_ring_header, exit_kind) == 480, "exit marks");
_Static_assert(offsetof(struct foom_ring_header, warning_sequence) == 576, "warnings");
_Static_assert(offsetof(struct foom_ring_header, pool_created) == 640, "process tree");
_Static_assert(offsetof(struct foom_ring_header, pool_pids) == 704, "pool pids");
_Static_assert(offsetof(struct foom_ring_header, command_line) == 3072, "command line");
_Static_assert(sizeof(struct foom_record) == 8, "record header");
_Static_assert(sizeof(struct foom_record_alloc) == 40, "alloc record");
_Static_assert(sizeof(struct foom_record_alloc_failed) == 48, "failed allocation record");
_Static_assert(sizeof(struct foom_record_free) == 24, "free record");
_Static_assert(sizeof(struct foom_record_map) == 64, "map record");
_Static_assert(sizeof(struct foom_record_unmap) == 32, "unmap record");
_Static_assert(sizeof(struct foom_record_module) == 40, "module record");
_Static_assert(sizeof(struct foom_record_attach) == 40, "attach record");
#endif

#endif
