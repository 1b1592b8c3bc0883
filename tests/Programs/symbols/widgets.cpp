// C++ names the tests expect demangled: a namespace, a class, an overload and a template.
#include <cstdio>
#include <vector>

namespace ui {
struct Widget {
    __attribute__((noinline)) static int grow(int n);
    __attribute__((noinline)) static int grow(double n);
};

int Widget::grow(int n) { /* LINE:ui::Widget::grow(int) */
    return n * 7 + std::printf("%d\n", n);
}

int Widget::grow(double n) { /* LINE:ui::Widget::grow(double) */
    return (int)n + std::printf("%f\n", n);
}

template <typename T>
__attribute__((noinline)) T accumulate_all(const std::vector<T> &values) { /* LINE:ui::accumulate_all */
    T total{};
    for (const auto &v : values) total += v;
    return total;
}
}  // namespace ui

int main(int argc, char **) {
    std::vector<long> values{1, 2, 3, argc};
    return (int)ui::accumulate_all(values) + ui::Widget::grow(argc) + ui::Widget::grow(argc * 0.5);
}
