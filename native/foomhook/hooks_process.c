/*
 * Entry points of the process's life (the top layer): dlopen and dlclose, thread starts, main
 * and exit, sigaction and signal.
 */
#include "enter.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

#include "events.h"
#include "marks.h"

/* ---- modules ---------------------------------------------------------------------------------- */

/*
 * dlopen finds its caller from its return address and searches that object's RPATH/RUNPATH and
 * expands $ORIGIN against it; a wrapper that calls it would make the hook the caller and break
 * programs that rely on those. So dlopen is entered here, notes what earlier dlopens loaded, and
 * jumps to the next dlopen with the caller's return address still on top of the stack. What this
 * dlopen loads is published by the next events of the same thread (they look for new modules
 * for a while), before any stack that passes through it (an unknown pc makes the hook look),
 * and at the latest at the next dlopen or dlclose, or at exit. (x86-64 only: the Makefile
 * refuses any other target.)
 */
#define DLOPEN_CHECKS 64

/* The next dlopen, for the assembly entry point below (which must not add a frame); atomic
   because every thread's dlopen stores it (the same value) before jumping through it. */
HIDDEN __attribute__((used)) _Atomic(void *) foom_next_dlopen;

HIDDEN __attribute__((used)) void foom_before_dlopen(void) {
    hook_ready();
    atomic_store_explicit(&foom_next_dlopen, (void *)foom_real.dlopen, memory_order_relaxed);
    struct hook_guard guard HOOK_SCOPED = hook_enter();
    if (guard.thread == NULL || !foom_is_active()) return;
    int saved_errno = errno;
    modules_discover(FOOM_SOURCE_DLOPEN);
    guard.thread->dlopen_checks = DLOPEN_CHECKS;
    errno = saved_errno;
}

__asm__(
    ".text\n"
    ".globl dlopen\n"
    ".type dlopen, @function\n"
    "dlopen:\n"
    "    .cfi_startproc\n"
    "    push %rdi\n"
    "    .cfi_adjust_cfa_offset 8\n"
    "    push %rsi\n"
    "    .cfi_adjust_cfa_offset 8\n"
    "    sub $8, %rsp\n"
    "    .cfi_adjust_cfa_offset 8\n"
    "    call foom_before_dlopen\n"
    "    add $8, %rsp\n"
    "    .cfi_adjust_cfa_offset -8\n"
    "    pop %rsi\n"
    "    .cfi_adjust_cfa_offset -8\n"
    "    pop %rdi\n"
    "    .cfi_adjust_cfa_offset -8\n"
    "    jmp *foom_next_dlopen(%rip)\n"
    "    .cfi_endproc\n"
    ".size dlopen, .-dlopen\n");

EXPORT int dlclose(void *handle) {
    hook_ready();
    int result = foom_real.dlclose(handle);
    struct hook_guard guard HOOK_SCOPED = hook_enter();
    if (guard.thread && foom_is_active()) {
        int saved_errno = errno;
        modules_scan(FOOM_SOURCE_DLCLOSE, 1);
        errno = saved_errno;
    }
    return result;
}

/* ---- threads: where their stacks are, and where their first frame is ---------------------------- */

/*
 * Every thread the program creates starts in thread_start, which records the thread's stack
 * bounds (for the frame-pointer walk) before the program's code runs: asking later, from inside
 * an allocation, could deadlock (pthread_getattr_np holds the thread's lock while it allocates)
 * and cost a syscall. It also learns the return address into libc's start_thread, where every
 * thread's stack ends. The start routine and its argument travel in a slot of a static pool;
 * with the pool exhausted a thread starts unwrapped, and its stacks come from libunwind.
 */
#define THREAD_SLOTS 1024u
struct thread_start_slot {
    void *(*start)(void *);
    void *argument;
    int in_use;
};
static struct thread_start_slot thread_slots[THREAD_SLOTS];
static uint32_t next_thread_slot;

static struct thread_start_slot *claim_thread_slot(void) {
    for (uint32_t attempt = 0; attempt < THREAD_SLOTS; attempt++) {
        uint32_t index = __atomic_fetch_add(&next_thread_slot, 1, __ATOMIC_RELAXED) & (THREAD_SLOTS - 1);
        int expected = 0;
        if (__atomic_compare_exchange_n(&thread_slots[index].in_use, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return &thread_slots[index];
    }
    return NULL;
}

__attribute__((noinline)) static void *thread_start(void *argument) {
    struct thread_start_slot *slot = argument;
    void *(*start)(void *) = slot->start;
    void *start_argument = slot->argument;
    __atomic_store_n(&slot->in_use, 0, __ATOMIC_RELEASE);
    if (atomic_load_explicit(&foom_thread_root, memory_order_relaxed) == 0)
        atomic_store_explicit(&foom_thread_root, (uintptr_t)__builtin_return_address(0), memory_order_relaxed);
    struct thread_state *t = &foom_thread;
    t->in_hook++;
    pthread_attr_t attributes;
    if (pthread_getattr_np(pthread_self(), &attributes) == 0) {
        void *address;
        size_t size;
        if (pthread_attr_getstack(&attributes, &address, &size) == 0 && size > 0) {
            t->stack_low = (uintptr_t)address;
            t->stack_high = (uintptr_t)address + size;
        }
        pthread_attr_destroy(&attributes);
    }
    t->in_hook--;
    void *result = start(start_argument);
    __asm__ volatile("" ::: "memory"); /* keep this frame (no tail call): the walk ends below it */
    return result;
}

EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attributes, void *(*start)(void *), void *argument) {
    hook_ready();
    struct thread_start_slot *slot = foom_is_active() ? claim_thread_slot() : NULL;
    if (slot == NULL) return foom_real.pthread_create(thread, attributes, start, argument);
    slot->start = start;
    slot->argument = argument;
    int result = foom_real.pthread_create(thread, attributes, thread_start, slot);
    if (result != 0) __atomic_store_n(&slot->in_use, 0, __ATOMIC_RELEASE);
    return result;
}

/* ---- program start and exit ------------------------------------------------------------------- */

typedef int main_function(int, char **, char **);
EXPORT int __libc_start_main(main_function *main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                             void (*rtld_fini)(void), void *stack_end);

static main_function *program_main;

/* The exit marks, then, outside signal context, what the recorder may not find on its own:
   modules loaded late that no event has published yet, and whether the recorder is still
   there. */
static void note_exit(uint32_t kind, int status) {
    if (!marks_store_exit(kind, status)) return;
    struct hook_guard guard HOOK_SCOPED = hook_enter();
    if (guard.thread == NULL || !foom_is_active()) return;
    int saved_errno = errno;
    modules_scan(FOOM_SOURCE_DISCOVERED, 0);
    ring_check_recorder();
    errno = saved_errno;
}

/* Runs main to learn the return address into libc's __libc_start_call_main (the main thread's
   first frame) and to see the status main returns. */
__attribute__((noinline)) static int main_wrapper(int argc, char **argv, char **envp) {
    atomic_store_explicit(&foom_main_root, (uintptr_t)__builtin_return_address(0), memory_order_relaxed);
    int status = program_main(argc, argv, envp);
    note_exit(FOOM_EXIT_MAIN_RETURN, status);
    return status;
}

EXPORT int __libc_start_main(main_function *main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                             void (*rtld_fini)(void), void *stack_end) {
    __typeof__(__libc_start_main) *next = (__typeof__(__libc_start_main) *)dlsym(RTLD_NEXT, "__libc_start_main");
    program_main = main;
    return next(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}

EXPORT void exit(int status) {
    hook_ready();
    note_exit(FOOM_EXIT_CALL, status);
    foom_real.exit(status);
    __builtin_unreachable();
}

/* _exit and _Exit are called from signal handlers (a crash handler's last act, a child after
   vfork): only stores into the header and raw system calls (the recorder's liveness check), no
   initialisation, no module scan. Whatever else the end needs, the recorder sees for itself. */
static void note_immediate_exit(int status) {
    if (!foom_is_ready()) return;
    if (marks_store_exit(FOOM_EXIT_IMMEDIATE, status) && foom_is_active()) ring_check_recorder();
}

EXPORT void _exit(int status) {
    note_immediate_exit(status);
    if (foom_is_ready() && foom_real._exit) foom_real._exit(status);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

EXPORT void _Exit(int status) {
    note_immediate_exit(status);
    if (foom_is_ready() && foom_real._Exit) foom_real._Exit(status);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

__attribute__((destructor)) static void foom_destructor(void) { note_exit(FOOM_EXIT_UNSEEN, 0); }

/* ---- signals: the hook's crash and quit handlers stay invisible ------------------------------- */

EXPORT int sigaction(int signal, const struct sigaction *action, struct sigaction *old) {
    hook_ready();
    struct sigaction previous;
    int result = foom_real.sigaction(signal, action, &previous);
    if (result != 0) return result;
    if ((previous.sa_flags & SA_SIGINFO) && marks_is_fatal_handler((const void *)previous.sa_sigaction)) {
        memset(&previous, 0, sizeof previous);
        previous.sa_handler = SIG_DFL;
    }
    if (old != NULL) *old = previous;
    return 0;
}

EXPORT sighandler_t signal(int signal, sighandler_t handler) {
    hook_ready();
    sighandler_t previous = foom_real.signal(signal, handler);
    if (marks_is_fatal_handler((const void *)previous)) return SIG_DFL;
    return previous;
}
