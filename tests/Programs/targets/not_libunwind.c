/* Built as a shared library named libunwind.so.8 in a directory a test puts first in
   LD_LIBRARY_PATH, it stands in for a machine without libunwind: the hook loads it and finds no
   unw_backtrace, so its table walk has nothing to hand a stack to. */
int not_libunwind;
