// C++ under the hook: new/delete reach malloc/free, exceptions unwind through libgcc as before,
// std::thread starts through pthread_create. Prints "fn NAME ADDRESS" lines and what happened.
#include <cstdio>
#include <stdexcept>
#include <thread>
#include <vector>

static char *volatile kept;
static char *volatile kept_in_thread;

__attribute__((noinline)) void make_array() { kept = new char[12345]; }

__attribute__((noinline)) void throw_and_catch() {
    try {
        std::vector<int> numbers(1000, 7);
        throw std::runtime_error("thrown through the hook");
    } catch (const std::exception &error) {
        std::printf("caught %s\n", error.what());
    }
}

__attribute__((noinline)) void in_thread() {
    kept_in_thread = new char[23456];
    delete[] kept_in_thread;
}

int main() {
    std::printf("fn make_array %p\nfn in_thread %p\n", (void *)make_array, (void *)in_thread);
    make_array();
    throw_and_catch();
    std::thread worker(in_thread);
    worker.join();
    std::printf("done\n");
    return 0;
}
