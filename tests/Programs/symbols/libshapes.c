// A shared library: exported functions that stay in .dynsym after strip, and a static one that
// only .symtab names.
volatile int shapes_sink;

__attribute__((noinline)) static int shapes_private_area(int w, int h) { /* LINE:shapes_private_area */
    shapes_sink = w;
    return w * h;
}

__attribute__((noinline)) int shapes_square_area(int side) { /* LINE:shapes_square_area */
    shapes_sink = side;
    return shapes_private_area(side, side);
}

__attribute__((noinline)) int shapes_rectangle_area(int w, int h) { /* LINE:shapes_rectangle_area */
    shapes_sink = h;
    return shapes_private_area(w, h) + 0;
}
