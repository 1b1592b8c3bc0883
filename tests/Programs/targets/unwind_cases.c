/* Stacks the hook's table walk cannot follow to the end, one per argument, each allocating a block
   of a size of its own from a function whose address it prints ("fn NAME 0xADDRESS"):
     signal   malloc(4242) in a SIGUSR1 handler, the signal raised from before_signal: the stack
              passes through the kernel's signal frame (__restore_rt)
     jit      malloc(4343) from machine code written into an anonymous mapping (no unwind tables,
              no frame pointer), called from call_jit; prints "jit 0xSTART 0xEND"
     context  malloc(4444) in on_other_stack, run by swapcontext on a stack the program mapped
              (outside the thread's stack)
     deep     malloc(4545) at the bottom of 100 nested calls of recurse (more than 64 frames)
   then prints "done". */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

static void *volatile kept;

__attribute__((noinline)) void in_handler(int signal) {
    (void)signal;
    kept = malloc(4242);
}

__attribute__((noinline)) void before_signal(void) {
    raise(SIGUSR1);
    __asm__ volatile("" ::: "memory"); /* not a tail call */
}

__attribute__((noinline)) void call_jit(void (*code)(void)) {
    code();
    __asm__ volatile("" ::: "memory");
}

static ucontext_t main_context, other_context;

__attribute__((noinline)) void on_other_stack(void) { kept = malloc(4444); }

__attribute__((noinline)) int recurse(int depth) {
    if (depth == 0) {
        kept = malloc(4545);
        return 1;
    }
    int r = recurse(depth - 1);
    __asm__ volatile("" ::: "memory");
    return r + 1;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("fn main %p\nfn in_handler %p\nfn before_signal %p\nfn call_jit %p\nfn on_other_stack %p\nfn recurse %p\n",
           (void *)main, (void *)in_handler, (void *)before_signal, (void *)call_jit, (void *)on_other_stack,
           (void *)recurse);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "signal") == 0) {
            struct sigaction action;
            memset(&action, 0, sizeof action);
            action.sa_handler = in_handler;
            sigaction(SIGUSR1, &action, NULL);
            before_signal();
        } else if (strcmp(argv[i], "jit") == 0) {
            uint8_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (code == MAP_FAILED) return 2;
            /* sub $8,%rsp; mov $4343,%edi; movabs $malloc,%rax; call *%rax; mov %rax,kept; add $8,%rsp; ret */
            uint8_t *p = code;
            *p++ = 0x48; *p++ = 0x83; *p++ = 0xec; *p++ = 0x08;
            *p++ = 0xbf; uint32_t size = 4343; memcpy(p, &size, 4); p += 4;
            *p++ = 0x48; *p++ = 0xb8; void *target = (void *)malloc; memcpy(p, &target, 8); p += 8;
            *p++ = 0xff; *p++ = 0xd0;
            *p++ = 0x48; *p++ = 0xa3; void *slot = (void *)&kept; memcpy(p, &slot, 8); p += 8;
            *p++ = 0x48; *p++ = 0x83; *p++ = 0xc4; *p++ = 0x08;
            *p++ = 0xc3;
            printf("jit %p %p\n", (void *)code, (void *)p);
            call_jit((void (*)(void))code);
        } else if (strcmp(argv[i], "context") == 0) {
            size_t size = 256 * 1024;
            void *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (stack == MAP_FAILED) return 3;
            getcontext(&other_context);
            other_context.uc_stack.ss_sp = stack;
            other_context.uc_stack.ss_size = size;
            other_context.uc_link = &main_context;
            makecontext(&other_context, on_other_stack, 0);
            swapcontext(&main_context, &other_context);
        } else if (strcmp(argv[i], "deep") == 0) {
            recurse(100);
        } else {
            return 1;
        }
    }
    printf("done\n");
    return 0;
}
