/*
 * The modules (executable, shared libraries, vdso) of the process: published to the ring as they
 * appear and disappear, and kept here as a table of code ranges that says, for the frame-pointer
 * walk, whether a pc lies in code that keeps frame pointers, and for the table walk, where the
 * unwind tables of a pc's module are (reading a module itself is module_image.c's).
 *
 * A scan walks dl_iterate_phdr (under the loader's lock, so every module it reports is mapped
 * while its build-id note and code are read), then publishes unloads before loads (an address
 * freed by one module may already belong to the next). Scans are serialised by scan_lock; the
 * allocation path only ever tries it, so a thread inside the loader that allocates never waits on
 * a thread that holds scan_lock and waits for the loader.
 *
 * Readers of the code ranges (every frame-pointer walk) do not lock: a sequence number, odd
 * while the table is rewritten, tells them to distrust what they read.
 */
#include "modules.h"

#include "module_image.h"

#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#define MAX_MODULES 1024u
#define MAX_CODE_RANGES 2048u
#define MAX_CODE_PER_MODULE 4u
#define PATH_POOL_SIZE (4u << 20)
#define PATH_SLOTS 4096u

struct module {
    uintptr_t base, start, end;
    uint64_t path_hash;
    const char *path;
    uint16_t path_length;
    uint8_t build_id_length;
    uint8_t flags;
    uint32_t code_count;
    uint32_t last_seen;          /* the scan that last found it */
    uintptr_t code_start[MAX_CODE_PER_MODULE], code_end[MAX_CODE_PER_MODULE];
    uint8_t build_id[FOOM_RING_MAX_BUILD_ID];
    struct cfi_section unwind;
};

struct code_range {
    uintptr_t start, end;
    uint32_t frame_pointers;
    uint32_t reserved;
    struct cfi_section unwind;   /* the module's unwind tables, for the table walk */
};

static pthread_mutex_t scan_lock = PTHREAD_MUTEX_INITIALIZER;
static struct module *modules;       /* [MAX_MODULES] */
static uint32_t module_count;
static uint32_t scan_number;
static unsigned long long known_adds, known_subs;
static uint32_t new_modules[MAX_MODULES];
static uint32_t new_module_count;

static struct code_range *code_ranges; /* [MAX_CODE_RANGES], sorted by start */
static _Atomic uint32_t code_range_count;
static _Atomic uint32_t code_sequence;

static char *path_pool;
static size_t path_pool_used;
static uint32_t *path_slots;          /* pool offset + 1 by hash, to reuse a path seen before */
static char main_program_path[FOOM_RING_MAX_PATH + 1];
static size_t main_program_path_length;

static uint64_t hash_bytes(const char *text, size_t length) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < length; i++) h = (h ^ (uint8_t)text[i]) * 0x100000001b3ull;
    return h;
}

static int ensure_tables(void) {
    if (modules != NULL) return 1;
    modules = foom_raw_mmap(sizeof(struct module) * MAX_MODULES);
    code_ranges = foom_raw_mmap(sizeof(struct code_range) * MAX_CODE_RANGES);
    path_pool = foom_raw_mmap(PATH_POOL_SIZE);
    path_slots = foom_raw_mmap(sizeof(uint32_t) * PATH_SLOTS);
    return modules && code_ranges && path_pool && path_slots;
}

/* A copy of the path that lives as long as the process, shared by every module with that path. */
static const char *intern_path(const char *text, size_t length, uint64_t hash) {
    for (uint32_t probe = 0; probe < PATH_SLOTS; probe++) {
        uint32_t slot = (uint32_t)(hash + probe) & (PATH_SLOTS - 1);
        uint32_t entry = path_slots[slot];
        if (entry == 0) {
            if (path_pool_used + length + 1 > PATH_POOL_SIZE) return NULL;
            char *copy = path_pool + path_pool_used;
            memcpy(copy, text, length);
            copy[length] = 0;
            path_slots[slot] = (uint32_t)path_pool_used + 1;
            path_pool_used += length + 1;
            return copy;
        }
        const char *existing = path_pool + entry - 1;
        if (strncmp(existing, text, length) == 0 && existing[length] == 0) return existing;
    }
    return NULL;
}

/* ---- scanning --------------------------------------------------------------------------------- */

struct scan_state {
    uintptr_t vdso;
    int full;                     /* 0: only read the counters */
};

static struct module *find_module(uintptr_t base, uintptr_t start, uintptr_t end, uint64_t path_hash) {
    for (uint32_t i = 0; i < module_count; i++) {
        struct module *m = &modules[i];
        if (m->base == base && m->start == start && m->end == end && m->path_hash == path_hash) return m;
    }
    return NULL;
}

static int on_module(struct dl_phdr_info *info, size_t size, void *data) {
    struct scan_state *scan = data;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
        known_adds = info->dlpi_adds;
        known_subs = info->dlpi_subs;
    }
    if (!scan->full) return 1;

    uintptr_t low = UINTPTR_MAX, high = 0;
    uintptr_t code_start[MAX_CODE_PER_MODULE], code_end[MAX_CODE_PER_MODULE];
    uint32_t code_count = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t from = info->dlpi_addr + ph->p_vaddr;
        uintptr_t to = from + ph->p_memsz;
        if (from < low) low = from;
        if (to > high) high = to;
        if ((ph->p_flags & PF_X) && code_count < MAX_CODE_PER_MODULE) {
            code_start[code_count] = from;
            code_end[code_count] = to;
            code_count++;
        }
    }
    if (high == 0) return 0;
    uintptr_t page = (uintptr_t)getpagesize();
    uintptr_t start = low & ~(page - 1);
    uintptr_t end = (high + page - 1) & ~(page - 1);

    const char *name = info->dlpi_name ? info->dlpi_name : "";
    uint8_t flags = 0;
    if (start == scan->vdso || (uintptr_t)info->dlpi_addr == scan->vdso) flags |= FOOM_MODULE_VDSO;
    if (*name == 0 && !(flags & FOOM_MODULE_VDSO)) {
        name = main_program_path;
        flags |= FOOM_MODULE_MAIN_PROGRAM;
    }
    size_t name_length = strnlen(name, FOOM_RING_MAX_PATH);
    uint64_t path_hash = hash_bytes(name, name_length);

    struct module *m = find_module(info->dlpi_addr, start, end, path_hash);
    if (m != NULL) {
        m->last_seen = scan_number;
        return 0;
    }
    if (module_count >= MAX_MODULES) return 0;
    m = &modules[module_count];
    memset(m, 0, sizeof *m);
    m->base = info->dlpi_addr;
    m->start = start;
    m->end = end;
    m->path_hash = path_hash;
    m->path = intern_path(name, name_length, path_hash);
    m->path_length = m->path ? (uint16_t)name_length : 0;
    m->flags = flags;
    m->code_count = code_count;
    memcpy(m->code_start, code_start, sizeof code_start);
    memcpy(m->code_end, code_end, sizeof code_end);
    m->last_seen = scan_number;
    m->build_id_length = module_read_build_id(info, m->build_id);
    if (module_keeps_frame_pointers(info, code_start, code_end, code_count)) m->flags |= FOOM_MODULE_FRAME_POINTERS;
    module_unwind_section(info, &m->unwind);
    new_modules[new_module_count++] = module_count;
    module_count++;
    return 0;
}

static void publish_module(uint8_t kind, uint8_t source, const struct module *m) {
    struct {
        struct foom_record_module r;
        uint8_t tail[FOOM_RING_MAX_BUILD_ID + FOOM_RING_MAX_PATH + 8];
    } record;
    memset(&record.r, 0, sizeof record.r);
    size_t used = 0;
    memcpy(record.tail, m->build_id, m->build_id_length);
    used += m->build_id_length;
    if (m->path) memcpy(record.tail + used, m->path, m->path_length);
    used += m->path ? m->path_length : 0;
    memset(record.tail + used, 0, 8);
    uint32_t length = (uint32_t)((sizeof record.r + used + 7) & ~(size_t)7);
    record.r.header.length = length;
    record.r.header.kind = kind;
    record.r.header.source = source;
    record.r.thread_id = foom_thread_id(&foom_thread);
    record.r.path_length = m->path ? m->path_length : 0;
    record.r.build_id_length = m->build_id_length;
    record.r.module_flags = m->flags;
    record.r.base = m->base;
    record.r.start = m->start;
    record.r.size = m->end - m->start;
    ring_publish(&record, length);
}

static int compare_ranges(const struct code_range *a, const struct code_range *b) {
    return a->start < b->start ? -1 : a->start > b->start ? 1 : 0;
}

static void rebuild_code_ranges(void) {
    uint32_t sequence = atomic_load_explicit(&code_sequence, memory_order_relaxed);
    atomic_store_explicit(&code_sequence, sequence + 1, memory_order_release);
    atomic_thread_fence(memory_order_seq_cst);
    uint32_t n = 0;
    for (uint32_t i = 0; i < module_count; i++) {
        const struct module *m = &modules[i];
        for (uint32_t c = 0; c < m->code_count && n < MAX_CODE_RANGES; c++) {
            struct code_range r = {m->code_start[c], m->code_end[c], (m->flags & FOOM_MODULE_FRAME_POINTERS) != 0, 0, m->unwind};
            /* insertion sort: the table is small and rebuilt only when modules change */
            uint32_t at = n;
            while (at > 0 && compare_ranges(&code_ranges[at - 1], &r) > 0) {
                code_ranges[at] = code_ranges[at - 1];
                at--;
            }
            code_ranges[at] = r;
            n++;
        }
    }
    atomic_store_explicit(&code_range_count, n, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    atomic_store_explicit(&code_sequence, sequence + 2, memory_order_release);
}

/* With scan_lock held. */
static void scan_locked(uint8_t source) {
    if (!ensure_tables()) return;
    if (main_program_path_length == 0) {
        ssize_t n = readlink("/proc/self/exe", main_program_path, FOOM_RING_MAX_PATH);
        main_program_path_length = n > 0 ? (size_t)n : 0;
        main_program_path[main_program_path_length] = 0;
    }
    struct scan_state scan = {getauxval(AT_SYSINFO_EHDR), 1};
    scan_number++;
    new_module_count = 0;
    dl_iterate_phdr(on_module, &scan);

    int removed = 0;
    for (uint32_t i = 0; i < module_count;) {
        if (modules[i].last_seen == scan_number) {
            i++;
            continue;
        }
        publish_module(FOOM_RECORD_MODULE_UNLOAD, source, &modules[i]);
        /* keep the new-module indexes pointing at the right entries */
        uint32_t last = module_count - 1;
        for (uint32_t k = 0; k < new_module_count; k++)
            if (new_modules[k] == last) new_modules[k] = i;
        modules[i] = modules[last];
        module_count--;
        removed = 1;
    }
    if (removed) atomic_fetch_add_explicit(&foom_stack_epoch, 1, memory_order_acq_rel);
    for (uint32_t k = 0; k < new_module_count; k++) publish_module(FOOM_RECORD_MODULE_LOAD, source, &modules[new_modules[k]]);
    if (removed || new_module_count > 0) rebuild_code_ranges();
}

void modules_scan(uint8_t source, int blocking) {
    if (blocking) {
        pthread_mutex_lock(&scan_lock);
    } else if (pthread_mutex_trylock(&scan_lock) != 0) {
        return;
    }
    scan_locked(source);
    pthread_mutex_unlock(&scan_lock);
}

int modules_discover(uint8_t source) {
    if (pthread_mutex_trylock(&scan_lock) != 0) return 0;
    unsigned long long adds = known_adds, subs = known_subs;
    struct scan_state peek = {0, 0};
    dl_iterate_phdr(on_module, &peek);
    int changed = known_adds != adds || known_subs != subs;
    if (changed) scan_locked(source);
    pthread_mutex_unlock(&scan_lock);
    return changed;
}

static int find_hook(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    uintptr_t self = (uintptr_t)data;
    uintptr_t low = UINTPTR_MAX, high = 0;
    int contains = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t from = info->dlpi_addr + ph->p_vaddr, to = from + ph->p_memsz;
        if (self >= from && self < to) contains = 1;
        if (from < low) low = from;
        if (to > high) high = to;
    }
    if (!contains) return 0;
    foom_hook_start = low;
    foom_hook_end = high;
    return 1;
}

void modules_find_hook(void) {
    dl_iterate_phdr(find_hook, (void *)(uintptr_t)&modules_find_hook);
}

/* ---- lookups for the frame-pointer walk --------------------------------------------------------- */

uint32_t modules_sequence_begin(void) { return atomic_load_explicit(&code_sequence, memory_order_acquire); }

int modules_sequence_valid(uint32_t sequence) {
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&code_sequence, memory_order_relaxed) == sequence;
}

static const struct code_range *find_range(uintptr_t pc, uint32_t *hint) {
    const struct code_range *ranges = code_ranges;
    if (ranges == NULL) return NULL;
    uint32_t count = atomic_load_explicit(&code_range_count, memory_order_relaxed);
    if (count > MAX_CODE_RANGES) return NULL;
    uint32_t h = *hint;
    if (h < count && pc >= ranges[h].start && pc < ranges[h].end) return &ranges[h];
    uint32_t low = 0, high = count;
    while (low < high) {
        uint32_t middle = (low + high) / 2;
        if (ranges[middle].end <= pc)
            low = middle + 1;
        else
            high = middle;
    }
    if (low < count && pc >= ranges[low].start && pc < ranges[low].end) {
        *hint = low;
        return &ranges[low];
    }
    return NULL;
}

int modules_frame_pointer_code(uintptr_t pc, uint32_t *hint) {
    const struct code_range *r = find_range(pc, hint);
    return r != NULL && r->frame_pointers;
}

int modules_unwind_section(uintptr_t pc, struct cfi_section *section) {
    uint32_t hint = 0;
    const struct code_range *r = find_range(pc, &hint);
    if (r == NULL || r->unwind.eh_frame_hdr == NULL) return 0;
    *section = r->unwind;
    return 1;
}

int modules_contains(uintptr_t pc) {
    uint32_t hint = 0;
    return find_range(pc, &hint) != NULL;
}
