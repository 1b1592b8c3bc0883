// Compiled for arm64 and x86_64 Apple targets by clang and linked by ld64.lld into real Mach-O
// images. LINE markers as in functions.c.
volatile int mach_sink;

__attribute__((noinline)) int mach_helper(int x) { /* LINE:mach_helper */
    mach_sink = x;
    return x * 3;
}

__attribute__((noinline)) static int mach_hidden(int z) { /* LINE:mach_hidden */
    mach_sink = z;
    return z - 1;
}

__attribute__((noinline)) int mach_entry(int y) { /* LINE:mach_entry */
    return mach_helper(y) + mach_hidden(y);
}
