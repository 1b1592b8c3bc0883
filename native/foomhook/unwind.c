/*
 * Backtraces: a frame-pointer walk where the chain can be trusted, a walk of the modules' DWARF
 * unwind tables (.eh_frame) where it cannot, and libunwind's unw_backtrace where the tables hold
 * a rule the table walk does not follow.
 *
 * A frame-pointer walk is only as good as the code it walks through: a function built without
 * frame pointers leaves rbp holding anything (then the walk runs off into garbage) or its
 * caller's frame (then the walk silently skips a frame). So each return address the walk finds
 * must lie in a module whose code keeps frame pointers (modules.c estimates that when the module
 * loads); the walk stops, trusted, at the thread's first frame (the return address into
 * __libc_start_call_main or start_thread, learned by wrapping main and the first thread) or at a
 * zero frame pointer; anything else (a pc in code without frame pointers or in JIT code, a
 * frame pointer outside this thread's stack or not increasing, a stack other than the thread's
 * own such as a signal stack) sends the whole capture to the table walk.
 *
 * The table walk follows the call frame information the compiler emits for exceptions: for each
 * return address, the rule that gives the caller's stack pointer (the CFA, rsp or rbp plus an
 * offset), its return address (at CFA − 8) and its rbp (saved at CFA + n, or left alone). A
 * rule is read from the module's .eh_frame once per process (cfi.c) and kept in a table shared
 * by every thread, keyed by the return address, so a walk costs about what a frame-pointer walk
 * costs: a lookup and a load or two per frame (docs/benchmarks.md). Rules it does not follow (a
 * CFA computed by a DWARF expression, as in PLT stubs and stack-realigning functions; a signal
 * frame; rbp kept in another register), a pc without tables (JIT code, a module not scanned yet)
 * and a stack word outside the thread's stack hand the whole capture to libunwind, whose stacks
 * are the reference: all three produce the same frames for the same stack (tests check), return
 * addresses minus one, innermost first, the hook's own frames left out, ending at the thread's
 * first frame. Without libunwind, the frames found so far are kept, flagged truncated.
 */
#include "unwind.h"

#include "python.h"

#include <dlfcn.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

extern void *__libc_stack_end;

/*
 * libunwind is loaded with dlopen(RTLD_LOCAL) rather than linked: linked, libunwind.so.8 would
 * join the program's global symbol scope and its _Unwind_RaiseException & co. would take over
 * C++ exceptions from libgcc_s in programs that load libgcc_s later (a C++ extension in
 * Python), and Debian's libunwind.a is not position-independent. It is loaded from the hook's
 * constructor, the first point where dlopen is safe; calls before that get frame-pointer stacks.
 */
static int (*unwind_backtrace)(void **, int);

/*
 * The rules already read, shared by every thread and written only on a miss. Lock-free: a slot
 * holds {key ^ rule, rule}, so a reader that sees halves of two writes finds the key wrong and
 * reads the FDE again (Hyatt's lockless hashing). The key mixes in the module epoch, so rules of
 * an unloaded module are never used for what is mapped there next. A wrong rule could only point
 * the walk at wrong words of the stack, and every stack read is checked against the stack's
 * bounds.
 */
#define RULE_CACHE_BITS 15u
struct rule_slot {
    _Atomic uint64_t check;
    _Atomic uint64_t rule;
};
static struct rule_slot *rule_cache;

/* A cfi_rule in 64 bits: kind in bits 0–7, rbp saved in bit 8, rbp's offset from the CFA in bits
   16–31 (signed), the CFA offset in bits 32–63. */
static uint64_t pack_rule(const struct cfi_rule *r) {
    if (r->rbp_saved && (r->rbp_offset < INT16_MIN || r->rbp_offset > INT16_MAX)) return CFI_UNSUPPORTED;
    return (uint64_t)r->kind | (uint64_t)r->rbp_saved << 8 | (uint64_t)(uint16_t)(int16_t)r->rbp_offset << 16 |
           (uint64_t)(uint32_t)r->cfa_offset << 32;
}

static uint64_t read_rule(uintptr_t pc, uint64_t key) {
    uint32_t sequence = modules_sequence_begin();
    if (sequence & 1) return CFI_UNKNOWN;
    struct cfi_section section;
    int found = modules_unwind_section(pc, &section);
    /* the copy is whole only if the table was not rewritten meanwhile */
    if (!modules_sequence_valid(sequence) || !found) return CFI_UNKNOWN;
    struct cfi_rule rule;
    cfi_find_rule(&section, pc, &rule);
    uint64_t packed = pack_rule(&rule);
    if (modules_sequence_valid(sequence)) {
        struct rule_slot *slot = &rule_cache[(key * 0x9e3779b97f4a7c15ull) >> (64 - RULE_CACHE_BITS)];
        atomic_store_explicit(&slot->rule, packed, memory_order_relaxed);
        atomic_store_explicit(&slot->check, key ^ packed, memory_order_relaxed);
    }
    return packed;
}

static inline uint64_t find_rule(uintptr_t pc, uint32_t epoch) {
    uint64_t key = (uint64_t)pc ^ ((uint64_t)epoch << 48);
    const struct rule_slot *slot = &rule_cache[(key * 0x9e3779b97f4a7c15ull) >> (64 - RULE_CACHE_BITS)];
    uint64_t rule = atomic_load_explicit(&slot->rule, memory_order_relaxed);
    uint64_t check = atomic_load_explicit(&slot->check, memory_order_relaxed);
    if (likely((check ^ rule) == key)) return rule;
    return read_rule(pc, key);
}

void unwind_load(void) {
    if (rule_cache == NULL) rule_cache = foom_raw_mmap(sizeof(struct rule_slot) << RULE_CACHE_BITS);
    if (unwind_backtrace != NULL || foom_real.dlopen == NULL) return;
    void *library = foom_real.dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) return;
    typedef int set_caching_policy(void *, int);
    set_caching_policy *set_policy = (set_caching_policy *)dlsym(library, "_ULx86_64_set_caching_policy");
    void **local_space = (void **)dlsym(library, "_ULx86_64_local_addr_space");
    if (set_policy != NULL && local_space != NULL) set_policy(*local_space, 2 /* UNW_CACHE_PER_THREAD */);
    unwind_backtrace = (int (*)(void **, int))dlsym(library, "unw_backtrace");
}

static inline int in_hook(uintptr_t pc) { return pc - foom_hook_start < foom_hook_end - foom_hook_start; }

static inline int is_root(uintptr_t return_address) {
    return return_address == atomic_load_explicit(&foom_main_root, memory_order_relaxed) ||
           return_address == atomic_load_explicit(&foom_thread_root, memory_order_relaxed);
}

/* The main thread's stack; other threads' bounds are recorded as they start (hook.c). */
static void find_thread_stack(struct thread_state *t) {
    t->stack_high = 1; /* unknown for good unless found below */
    if ((pid_t)foom_thread_id(t) != getpid()) return;
    uintptr_t high = (uintptr_t)__libc_stack_end;
    struct rlimit limit;
    uintptr_t reach = 8u << 20;
    if (getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur > reach)
        reach = (uintptr_t)limit.rlim_cur;
    if (high > reach) {
        t->stack_low = high - reach;
        t->stack_high = high;
    }
}

__attribute__((noinline)) static int walk_frame_pointers(struct thread_state *t, uint64_t *frames,
                                                         struct stack_info *info) {
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    uintptr_t high = t->stack_high;
    if (fp < t->stack_low || fp >= high) return 0;
    uint32_t sequence = modules_sequence_begin();
    if (sequence & 1) return 0;
    uint32_t hint = 0;
    uint32_t n = 0;
    int sound = 0;
    /* On a broken chain the frames found so far are still right (each came from a frame that
       could be trusted): info->count says how many, for when libunwind is not there. */
    for (;;) {
        if ((fp & 7) != 0 || fp + 16 > high) break;
        uintptr_t next = ((const uintptr_t *)fp)[0];
        uintptr_t return_address = ((const uintptr_t *)fp)[1];
        if (!in_hook(return_address)) {
            if (n == FOOM_RING_MAX_FRAMES) {
                info->flags |= FOOM_FLAG_TRUNCATED;
                sound = 1;
                break;
            }
            frames[n++] = return_address - 1;
            if (is_root(return_address)) {
                sound = 1;
                break;
            }
            if (!modules_frame_pointer_code(return_address, &hint)) break;
        }
        if (next == 0) {
            sound = 1;
            break;
        }
        if (next <= fp) break;
        fp = next;
    }
    info->count = n;
    info->flags |= FOOM_FLAG_FRAME_POINTERS;
    return sound && modules_sequence_valid(sequence);
}

/* 1 when the stack was walked to its end (or to 64 frames) through rules it follows; 0 hands it
   to libunwind, with info->count the frames found so far. */
__attribute__((noinline)) static int walk_tables(struct thread_state *t, uint64_t *frames, struct stack_info *info,
                                                 uint32_t epoch) {
    uintptr_t low = t->stack_low, high = t->stack_high;
    info->count = 0;
    info->flags |= FOOM_FLAG_UNWIND_TABLES;
    /* Out of the hook by its own frame pointers (it keeps them): the first return address outside
       it, with the caller's rsp and rbp as that return will leave them. */
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    uintptr_t pc, sp, rbp;
    for (;;) {
        if (fp < low || (fp & 7) != 0 || fp + 16 > high) return 0;
        uintptr_t next = ((const uintptr_t *)fp)[0];
        uintptr_t return_address = ((const uintptr_t *)fp)[1];
        if (!in_hook(return_address)) {
            pc = return_address;
            sp = fp + 16;
            rbp = next;
            break;
        }
        if (next <= fp) return 0;
        fp = next;
    }
    uint32_t n = 0;
    for (;;) {
        if (pc == 0) break;
        /* the hook's own frames are left out wherever they are (its wrapper of main, of a thread) */
        if (!in_hook(pc)) {
            if (n == FOOM_RING_MAX_FRAMES) {
                info->flags |= FOOM_FLAG_TRUNCATED;
                break;
            }
            frames[n++] = pc - 1;
            info->count = n;
            if (is_root(pc)) break;
        }
        uint64_t rule = find_rule(pc - 1, epoch);
        uint8_t kind = (uint8_t)rule;
        if (kind == CFI_OUTERMOST) break;
        if (kind != CFI_CFA_RSP && kind != CFI_CFA_RBP) return 0;
        uintptr_t cfa = (kind == CFI_CFA_RSP ? sp : rbp) + (uintptr_t)(int64_t)(int32_t)(rule >> 32);
        if (cfa < sp + 8 || cfa > high || (cfa & 7) != 0) return 0;
        if (rule & 0x100) {
            uintptr_t saved = cfa + (uintptr_t)(int64_t)(int16_t)(rule >> 16);
            if (saved < sp || saved + 8 > high || (saved & 7) != 0) return 0;
            rbp = *(const uintptr_t *)saved;
        }
        pc = ((const uintptr_t *)cfa)[-1];
        sp = cfa;
    }
    return 1;
}

#define UNWIND_EXTRA 16 /* room for the hook's own frames */

__attribute__((noinline)) static void unwind_with_tables(uint64_t *frames, struct stack_info *info) {
    void *pcs[FOOM_RING_MAX_FRAMES + UNWIND_EXTRA];
    int got = unwind_backtrace(pcs, FOOM_RING_MAX_FRAMES + UNWIND_EXTRA);
    uint32_t n = 0;
    int ended = 0;
    for (int i = 0; i < got; i++) {
        uintptr_t pc = (uintptr_t)pcs[i];
        if (in_hook(pc)) continue;
        if (n == FOOM_RING_MAX_FRAMES) {
            info->flags |= FOOM_FLAG_TRUNCATED;
            ended = 1;
            break;
        }
        frames[n++] = pc - 1;
        if (is_root(pc)) {
            ended = 1;
            break;
        }
    }
    if (!ended && got == FOOM_RING_MAX_FRAMES + UNWIND_EXTRA) info->flags |= FOOM_FLAG_TRUNCATED;
    info->count = n;
    info->flags |= FOOM_FLAG_UNWIND_TABLES | FOOM_FLAG_LIBUNWIND;
}

/* FOOM_OPTION_CHECK_UNWIND: the table walk's frames against libunwind's for the same stack. */
__attribute__((noinline)) static void check_against_libunwind(const uint64_t *frames, struct stack_info *info) {
    uint64_t reference[FOOM_RING_MAX_FRAMES];
    struct stack_info expected = {0, 0, 0};
    unwind_with_tables(reference, &expected);
    if (expected.count != info->count || (expected.flags & FOOM_FLAG_TRUNCATED) != (info->flags & FOOM_FLAG_TRUNCATED) ||
        memcmp(reference, frames, info->count * sizeof *frames) != 0)
        info->flags |= FOOM_FLAG_UNWIND_DIFFERS;
}

/* Two accumulators whose per-frame steps do not depend on each other's multiplications, so a
   deep stack hashes at about a cycle per frame; the final mix spreads every bit. */
static inline uint64_t hash_frames(const uint64_t *frames, uint32_t count, uint32_t epoch) {
    uint64_t sum = 0x9e3779b97f4a7c15ull * ((uint64_t)epoch + 1) + count;
    uint64_t mix = 0x6a09e667f3bcc909ull ^ count;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t x = frames[i] + (uint64_t)i * 0x9e3779b97f4a7c15ull;
        sum += x * 0xff51afd7ed558ccdull;
        mix ^= ((x << 31) | (x >> 33)) * 0xc4ceb9fe1a85ec53ull;
    }
    uint64_t h = sum ^ ((mix << 27) | (mix >> 37));
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h ? h : 1;
}

void stack_capture(struct thread_state *t, uint64_t *frames, struct stack_info *info) {
    info->count = 0;
    info->flags = 0;
    if (unlikely(t->stack_high == 0)) find_thread_stack(t);
    /* A module was unloaded since this thread last looked: its addresses may now mean another
       module's code, so forget which stacks the consumer has. The epoch is part of the hash too. */
    uint32_t epoch = atomic_load_explicit(&foom_stack_epoch, memory_order_acquire);
    if (unlikely(t->stack_epoch != epoch)) {
        memset(t->stack_cache, 0, sizeof t->stack_cache);
        t->stack_epoch = epoch;
    }
    int walked = 0;
    if (!(foom_options & FOOM_OPTION_UNWIND_ONLY) && t->stack_high > 1) walked = walk_frame_pointers(t, frames, info);
    if (!walked && !(foom_options & (FOOM_OPTION_FP_ONLY | FOOM_OPTION_LIBUNWIND_ONLY)) && t->stack_high > 1 &&
        rule_cache != NULL) {
        info->flags = 0;
        walked = walk_tables(t, frames, info, epoch);
        if (walked && (foom_options & FOOM_OPTION_CHECK_UNWIND) && unwind_backtrace != NULL) check_against_libunwind(frames, info);
    }
    if (!walked) {
        if (!(foom_options & FOOM_OPTION_FP_ONLY) && unwind_backtrace != NULL) {
            info->count = 0;
            info->flags = 0;
            unwind_with_tables(frames, info);
        } else if (info->flags & FOOM_FLAG_UNWIND_TABLES) {
            /* No libunwind: what the table walk found before the rule it could not follow. */
            info->flags = FOOM_FLAG_UNWIND_TABLES | FOOM_FLAG_TRUNCATED;
        } else {
            /* Before libunwind is loaded (other libraries' constructors): the trusted part. */
            info->flags = FOOM_FLAG_FRAME_POINTERS | FOOM_FLAG_TRUNCATED;
        }
    }
    /* Python frames (python.c), beside the interpreter's evaluation frames: before the hash,
       which tells the stacks apart by them too. */
    info->count = python_add_frames(frames, info->count, FOOM_RING_MAX_FRAMES, &info->flags);
    info->hash = hash_frames(frames, info->count, epoch);
}

int stack_cache_contains(struct thread_state *t, uint64_t hash) {
    return t->stack_cache[hash & (STACK_CACHE_SLOTS - 1)] == hash;
}

void stack_cache_insert(struct thread_state *t, uint64_t hash) {
    t->stack_cache[hash & (STACK_CACHE_SLOTS - 1)] = hash;
}
