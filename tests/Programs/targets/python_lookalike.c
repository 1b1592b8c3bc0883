/* A program that looks like a Python interpreter the hook cannot read: it exports the symbols
   the hook looks for (built with -rdynamic), with a version chosen at build time
   (-DLOOKALIKE_VERSION=0x030a0cf0 for 3.10.12) and, unless -DLOOKALIKE_EVAL, no
   _PyEval_EvalFrameDefault. Then it allocates like any program: the hook must record that and
   say in the report why Python frames are missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LOOKALIKE_VERSION
#define LOOKALIKE_VERSION 0x030a0cf0ul
#endif

const unsigned long Py_Version = LOOKALIKE_VERSION;

void Py_Initialize(void) {}

void *PyGILState_GetThisThreadState(void) { return NULL; }

__attribute__((noinline)) static char *keep_block(size_t size) {
    char *block = malloc(size);
    if (block != NULL) memset(block, 1, size);
    return block;
}

int main(int argc, char **argv) {
    Py_Initialize();
    int count = argc > 1 ? atoi(argv[1]) : 64;
    char **kept = malloc(sizeof(char *) * (size_t)count);
    for (int i = 0; i < count; i++) kept[i] = keep_block(1 << 16);
    printf("%d\n", count);
    fflush(stdout);
    _exit(0);
}
