/*
 * The modules (executable, shared libraries, vdso) of the process: published to the ring as they
 * appear and disappear, and kept here as a table of code ranges that says, for the frame-pointer
 * walk, whether a pc lies in code that keeps frame pointers.
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
};

struct code_range {
    uintptr_t start, end;
    uint32_t frame_pointers;
    uint32_t reserved;
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

/* ---- reading a module in memory --------------------------------------------------------------- */

static void read_build_id(const struct dl_phdr_info *info, struct module *m) {
    m->build_id_length = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE) continue;
        size_t align = ph->p_align == 8 ? 8 : 4;
        const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
        const uint8_t *end = p + ph->p_memsz;
        while (p + 12 <= end) {
            uint32_t name_size, desc_size, type;
            memcpy(&name_size, p, 4);
            memcpy(&desc_size, p + 4, 4);
            memcpy(&type, p + 8, 4);
            const uint8_t *name = p + 12;
            const uint8_t *desc = name + ((name_size + align - 1) & ~(align - 1));
            const uint8_t *next = desc + ((desc_size + align - 1) & ~(align - 1));
            if (next > end || next <= p) break;
            if (type == NT_GNU_BUILD_ID && name_size == 4 && memcmp(name, "GNU", 4) == 0 && desc_size > 0) {
                size_t n = desc_size < FOOM_RING_MAX_BUILD_ID ? desc_size : FOOM_RING_MAX_BUILD_ID;
                memcpy(m->build_id, desc, n);
                m->build_id_length = (uint8_t)n;
                return;
            }
            p = next;
        }
    }
}

static int read_encoded(const uint8_t **cursor, const uint8_t *end, uint8_t encoding, uint64_t *value) {
    const uint8_t *p = *cursor;
    switch (encoding & 0x0f) {
    case 0x03: /* udata4 */
    case 0x0b: /* sdata4 */
        if (p + 4 > end) return 0;
        {
            uint32_t v;
            memcpy(&v, p, 4);
            *value = v;
        }
        *cursor = p + 4;
        return 1;
    case 0x00: /* absptr */
    case 0x04: /* udata8 */
    case 0x0c: /* sdata8 */
        if (p + 8 > end) return 0;
        memcpy(value, p, 8);
        *cursor = p + 8;
        return 1;
    default:
        return 0;
    }
}

/* Functions with unwind info, from the .eh_frame_hdr search table; 0 when it cannot tell. */
static uint64_t function_count(const struct dl_phdr_info *info) {
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_GNU_EH_FRAME || ph->p_memsz < 8) continue;
        const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
        const uint8_t *end = p + ph->p_memsz;
        if (p[0] != 1 || p[2] == 0xff) return 0;
        uint8_t pointer_encoding = p[1], count_encoding = p[2];
        const uint8_t *cursor = p + 4;
        uint64_t ignored, count;
        if (!read_encoded(&cursor, end, pointer_encoding, &ignored)) return 0;
        if (!read_encoded(&cursor, end, count_encoding, &count)) return 0;
        return count;
    }
    return 0;
}

static uint64_t count_prologues(const uint8_t *code, size_t length) {
    uint64_t n = 0;
    /* push %rbp; mov %rsp,%rbp */
    for (size_t i = 0; i + 4 <= length; i++)
        if (code[i] == 0x55 && code[i + 1] == 0x48 && code[i + 2] == 0x89 && code[i + 3] == 0xe5) n++;
    return n;
}

/*
 * Does this module's code keep frame pointers? Count the "push %rbp; mov %rsp,%rbp" prologues
 * (all of a big module's code would be paged in to count them, so sample 32 windows of 8 KiB)
 * and compare with the number of functions: built with frame pointers, nearly every function has
 * one (libcoreclr 0.99, the dotnet host 0.99); without, only the few that need rbp (Debian's libc
 * 0.02, libstdc++ 0.01, python3 0.0002). Without a function count, 1 per 2 KiB of code is the line.
 */
static int keeps_frame_pointers(const struct dl_phdr_info *info, const struct module *m) {
    uint64_t code_bytes = 0, sampled = 0, found = 0;
    for (uint32_t i = 0; i < m->code_count; i++) code_bytes += m->code_end[i] - m->code_start[i];
    if (code_bytes == 0) return 0;
    const size_t window = 8192, windows = 32;
    for (uint32_t i = 0; i < m->code_count; i++) {
        const uint8_t *code = (const uint8_t *)m->code_start[i];
        size_t length = m->code_end[i] - m->code_start[i];
        if (code_bytes <= window * windows) {
            found += count_prologues(code, length);
            sampled += length;
            continue;
        }
        size_t share = (size_t)((length * windows + code_bytes - 1) / code_bytes);
        if (share == 0) continue;
        size_t stride = length / share;
        for (size_t w = 0; w < share; w++) {
            size_t at = w * stride;
            size_t take = length - at < window ? length - at : window;
            found += count_prologues(code + at, take);
            sampled += take;
        }
    }
    if (sampled == 0) return 0;
    uint64_t estimated = found * code_bytes / sampled;
    uint64_t functions = function_count(info);
    if (functions > 0) return estimated * 4 >= functions;
    return estimated * 2048 >= code_bytes;
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
    read_build_id(info, m);
    if (keeps_frame_pointers(info, m)) m->flags |= FOOM_MODULE_FRAME_POINTERS;
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
            struct code_range r = {m->code_start[c], m->code_end[c], (m->flags & FOOM_MODULE_FRAME_POINTERS) != 0, 0};
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

int modules_contains(uintptr_t pc) {
    uint32_t hint = 0;
    return find_range(pc, &hint) != NULL;
}
