/*
 * How the program ended, as the hook sees it: the exit status and kind, the crash signal, the
 * quit signal. Written into the ring header with the wall clock, so they outlive both processes.
 * Only stores and raw system calls: the crash handlers run in signal context, and _exit is
 * called from signal handlers.
 *
 * Crash and quit handlers go only where the disposition is the default, and hide themselves:
 * sigaction and signal report SIG_DFL for them, so a program that installs its own handler only
 * when none is there (Python's SIGINT → KeyboardInterrupt) behaves exactly as without Foom. A
 * handler records the signal, restores the default and raises the signal again, so the process
 * dies of it as it would have.
 */
#include "marks.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
static const int quit_signals[] = {SIGTERM, SIGINT, SIGHUP};

static int is_crash_signal(int signal) {
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
        if (crash_signals[i] == signal) return 1;
    return 0;
}

static void on_fatal_signal(int signal, siginfo_t *info, void *context) {
    (void)context;
    int saved_errno = errno;
    struct foom_ring_header *h = foom_target_header();
    if (h != NULL) {
        uint64_t now = foom_wall_ms();
        if (is_crash_signal(signal)) {
            h->crash_code = info ? info->si_code : 0;
            h->crash_address = info ? (uint64_t)(uintptr_t)info->si_addr : 0;
            h->crash_ms = now;
            __atomic_store_n(&h->crash_signal, signal, __ATOMIC_RELEASE);
        } else {
            h->quit_sender_pid = info ? info->si_pid : 0;
            h->quit_ms = now;
            __atomic_store_n(&h->quit_signal, signal, __ATOMIC_RELEASE);
        }
    }
    struct sigaction default_action;
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    foom_real.sigaction(signal, &default_action, NULL);
    /* Pending until this handler returns (the signal is blocked in it), then fatal. A fault
       would also strike again when the instruction is retried. */
    syscall(SYS_tgkill, syscall(SYS_getpid), syscall(SYS_gettid), signal);
    errno = saved_errno;
}

static void install(int signal) {
    struct sigaction old;
    if (foom_real.sigaction(signal, NULL, &old) != 0) return;
    if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) return;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fatal_signal;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigfillset(&action.sa_mask);
    foom_real.sigaction(signal, &action, NULL);
}

void marks_install_signal_handlers(void) {
    if (foom_real.sigaction == NULL) return;
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++) install(crash_signals[i]);
    for (size_t i = 0; i < sizeof quit_signals / sizeof quit_signals[0]; i++) install(quit_signals[i]);
}

int marks_is_fatal_handler(const void *handler) { return handler == (const void *)on_fatal_signal; }

int marks_store_exit(uint32_t kind, int status) {
    struct foom_ring_header *h = foom_target_header();
    if (h == NULL) return 0;
    if (kind == FOOM_EXIT_UNSEEN && __atomic_load_n(&h->exit_kind, __ATOMIC_ACQUIRE) != FOOM_EXIT_NONE) return 0;
    h->exit_status = status;
    h->exit_ms = foom_wall_ms();
    __atomic_store_n(&h->exit_kind, kind, __ATOMIC_RELEASE);
    return 1;
}
