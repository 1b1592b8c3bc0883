/*
 * Foom's public C API, exported by libfoomhook.so (loaded into the program with LD_PRELOAD by
 * `foom run`). Every function is safe to call when the program runs without the recorder: it
 * then does nothing (and foom_warning_fd returns -1).
 *
 * The marks are written into the header of the ring file in the session directory, with the
 * wall clock in milliseconds, so they survive the death of both the program and the recorder
 * and can be read at the next launch.
 *
 * From .NET (the library is already loaded, and dlopen finds it by its soname):
 *
 *   [LibraryImport("libfoomhook.so", StringMarshalling = StringMarshalling.Utf8)]
 *   static partial int foom_set_state(string state);
 *   [LibraryImport("libfoomhook.so", StringMarshalling = StringMarshalling.Utf8)]
 *   static partial int foom_set_scene(string scene);
 *   [LibraryImport("libfoomhook.so")] static partial void foom_heartbeat();
 *   [LibraryImport("libfoomhook.so")] static partial int foom_warning_fd();
 *   [LibraryImport("libfoomhook.so")]
 *   static unsafe partial int foom_on_memory_warning(delegate* unmanaged<nint, void> callback, nint context);
 *   [LibraryImport("libfoomhook.so")]
 *   static partial ulong foom_last_warning(out ulong footprint, out ulong limit);
 */
#ifndef FOOM_H
#define FOOM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "foreground", "background" or "suspended". Returns 0, or -1 for another word. */
int foom_set_state(const char *state);

/* The program's current scene (screen, page, job), at most 63 bytes kept. Returns 0 or -1. */
int foom_set_scene(const char *scene);

/* "Still alive": the time of the last heartbeat tells a hang from a quick death. */
void foom_heartbeat(void);

/*
 * A descriptor that becomes readable once per memory warning raised by the recorder (each
 * read(fd, &u64, 8) takes one warning). Made by a watcher thread started on the first call, with
 * every signal blocked. -1 when not recording.
 */
int foom_warning_fd(void);

/*
 * Calls callback(context) on the watcher thread after each memory warning. Up to 8 callbacks;
 * returns 0, or -1 when full or not recording.
 */
int foom_on_memory_warning(void (*callback)(void *context), void *context);

/* The latest warning's footprint and limit in bytes; returns how many warnings there were. */
uint64_t foom_last_warning(uint64_t *footprint, uint64_t *limit);

#ifdef __cplusplus
}
#endif

#endif
