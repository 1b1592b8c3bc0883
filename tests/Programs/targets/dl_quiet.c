/* A library that never allocates, loaded by dl_host.c. */
int quiet_answer(void) { return 42; }
