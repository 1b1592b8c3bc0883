/* The smallest real target: allocates a known amount, prints, and exits with a chosen status. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    int status = argc > 1 ? atoi(argv[1]) : 0;
    char *kept = malloc(4096);
    kept[0] = 'x';
    printf("hello from a test program\n");
    return status;
}
