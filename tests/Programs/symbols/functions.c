// Functions whose names, sizes and lines the tests check. Each line marked LINE:<name> is the one
// a symbolizer must report for the first instruction of <name>. Keep the markers on the lines of
// the function signatures.
#include <stdio.h>
#include <stdlib.h>

volatile int sink;

__attribute__((noinline)) int leaf_add(int a, int b) { /* LINE:leaf_add */
    sink = a;
    return a + b * 3;
}

__attribute__((noinline)) static int static_helper(int x) { /* LINE:static_helper */
    sink = x;
    return x * 7 - 1;
}

__attribute__((noinline)) void *make_buffer(size_t n) { /* LINE:make_buffer */
    void *p = malloc(n + (size_t)static_helper((int)n));
    sink = (int)n;
    return p;
}

__attribute__((noinline)) int strong_impl(int x) { /* LINE:strong_impl */
    sink = x;
    return x + 1;
}

int weak_alias(int x) __attribute__((weak, alias("strong_impl")));

int main(int argc, char **argv) { /* LINE:main */
    (void)argv;
    void *p = make_buffer((size_t)argc * 16);
    printf("%d\n", leaf_add(argc, weak_alias(argc)));
    free(p);
    return 0;
}
