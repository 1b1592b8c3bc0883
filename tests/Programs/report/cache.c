/* A program whose functions the report's symbolization test names: the frames of a session are
   placed inside these functions, and the report must call them by name with file and line. */
#include <stdlib.h>
#include <string.h>

char *grow_cache(size_t size)
{
    char *block = malloc(size);
    memset(block, 1, size);
    return block;
}

char *load_file(size_t size)
{
    return grow_cache(size * 2);
}

int main(int argc, char **argv)
{
    (void)argv;
    return load_file((size_t)argc)[0] == 1 ? 0 : 1;
}
