/* A small program whose functions the symbols test names from an uploaded copy of its binary. */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) void *decode_full_size_image(size_t width, size_t height) {
    void *pixels = malloc(width * height * 4);
    if (pixels) memset(pixels, 0, width * height * 4);
    return pixels;
}

__attribute__((noinline)) void show_gallery(int images) {
    for (int i = 0; i < images; i++) decode_full_size_image(64, 64);
}

int main(int argc, char **argv) {
    show_gallery(argc > 1 ? atoi(argv[1]) : 1);
    return 0;
}
