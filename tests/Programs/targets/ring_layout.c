/* Prints the ring layout as the C compiler sees it (offset and size of every field, the size of
   every struct, every constant), for RingLayoutTests to compare with the C# mirror. */
#include <stdio.h>
#include <stddef.h>
#include "foom_ring.h"

#define FIELD(s, f) printf("field %s %s %zu %zu\n", #s, #f, offsetof(struct s, f), sizeof(((struct s *)0)->f))
#define SIZE(s) printf("size %s %zu\n", #s, sizeof(struct s))
#define VALUE(n) printf("value %s %llu\n", #n, (unsigned long long)(n))

int main(void) {
    SIZE(foom_ring_header);
    FIELD(foom_ring_header, magic); FIELD(foom_ring_header, version); FIELD(foom_ring_header, header_size);
    FIELD(foom_ring_header, data_size); FIELD(foom_ring_header, created_ms); FIELD(foom_ring_header, recorder_pid);
    FIELD(foom_ring_header, full_wait_ms); FIELD(foom_ring_header, options); FIELD(foom_ring_header, sample_bytes);
    FIELD(foom_ring_header, head); FIELD(foom_ring_header, tail);
    FIELD(foom_ring_header, target_pid); FIELD(foom_ring_header, generation); FIELD(foom_ring_header, attach_position);
    FIELD(foom_ring_header, attach_ms); FIELD(foom_ring_header, stopped); FIELD(foom_ring_header, foreign_attaches);
    FIELD(foom_ring_header, stopped_ms); FIELD(foom_ring_header, target_mapped_bytes);
    FIELD(foom_ring_header, dropped_events); FIELD(foom_ring_header, dropped_bytes); FIELD(foom_ring_header, full_waits);
    FIELD(foom_ring_header, full_wait_ns); FIELD(foom_ring_header, unknown_stacks); FIELD(foom_ring_header, dropped_allocs);
    FIELD(foom_ring_header, dropped_frees); FIELD(foom_ring_header, unrecorded_allocs);
    FIELD(foom_ring_header, unrecorded_alloc_bytes); FIELD(foom_ring_header, unrecorded_frees);
    FIELD(foom_ring_header, unrecorded_maps); FIELD(foom_ring_header, unrecorded_map_bytes);
    FIELD(foom_ring_header, unrecorded_unmaps); FIELD(foom_ring_header, unrecorded_unmap_bytes); FIELD(foom_ring_header, sample_set_overflows);
    FIELD(foom_ring_header, state); FIELD(foom_ring_header, scene_sequence); FIELD(foom_ring_header, state_ms);
    FIELD(foom_ring_header, heartbeat_ms); FIELD(foom_ring_header, scene_ms); FIELD(foom_ring_header, scene);
    FIELD(foom_ring_header, exit_kind); FIELD(foom_ring_header, exit_status); FIELD(foom_ring_header, exit_ms);
    FIELD(foom_ring_header, crash_signal); FIELD(foom_ring_header, crash_code); FIELD(foom_ring_header, crash_ms);
    FIELD(foom_ring_header, crash_address); FIELD(foom_ring_header, quit_signal); FIELD(foom_ring_header, quit_sender_pid);
    FIELD(foom_ring_header, quit_ms);
    FIELD(foom_ring_header, warning_sequence); FIELD(foom_ring_header, warning_footprint); FIELD(foom_ring_header, warning_limit);
    FIELD(foom_ring_header, warning_ms);
    FIELD(foom_ring_header, pool_created); FIELD(foom_ring_header, pool_claimed); FIELD(foom_ring_header, pool_exhausted);
    FIELD(foom_ring_header, parent_pid); FIELD(foom_ring_header, command_line_length); FIELD(foom_ring_header, pool_pids);
    FIELD(foom_ring_header, command_line);

    SIZE(foom_record);
    FIELD(foom_record, length); FIELD(foom_record, kind); FIELD(foom_record, source); FIELD(foom_record, frame_count);
    FIELD(foom_record, flags);

    SIZE(foom_record_alloc);
    FIELD(foom_record_alloc, header); FIELD(foom_record_alloc, thread_id); FIELD(foom_record_alloc, alignment);
    FIELD(foom_record_alloc, address); FIELD(foom_record_alloc, size); FIELD(foom_record_alloc, stack_hash);

    SIZE(foom_record_alloc_failed);
    FIELD(foom_record_alloc_failed, alloc); FIELD(foom_record_alloc_failed, wall_ms);

    SIZE(foom_record_free);
    FIELD(foom_record_free, header); FIELD(foom_record_free, thread_id); FIELD(foom_record_free, reserved);
    FIELD(foom_record_free, address);

    SIZE(foom_record_map);
    FIELD(foom_record_map, header); FIELD(foom_record_map, thread_id); FIELD(foom_record_map, prot);
    FIELD(foom_record_map, address); FIELD(foom_record_map, length); FIELD(foom_record_map, map_flags);
    FIELD(foom_record_map, map_kind); FIELD(foom_record_map, reserved); FIELD(foom_record_map, path_length);
    FIELD(foom_record_map, file_offset); FIELD(foom_record_map, old_address); FIELD(foom_record_map, stack_hash);

    SIZE(foom_record_unmap);
    FIELD(foom_record_unmap, header); FIELD(foom_record_unmap, thread_id); FIELD(foom_record_unmap, reserved);
    FIELD(foom_record_unmap, address); FIELD(foom_record_unmap, length);

    SIZE(foom_record_module);
    FIELD(foom_record_module, header); FIELD(foom_record_module, thread_id); FIELD(foom_record_module, path_length);
    FIELD(foom_record_module, build_id_length); FIELD(foom_record_module, module_flags); FIELD(foom_record_module, base);
    FIELD(foom_record_module, start); FIELD(foom_record_module, size);

    SIZE(foom_record_attach);
    FIELD(foom_record_attach, header); FIELD(foom_record_attach, pid); FIELD(foom_record_attach, generation);
    FIELD(foom_record_attach, wall_ms); FIELD(foom_record_attach, monotonic_ns); FIELD(foom_record_attach, attach_flags);
    FIELD(foom_record_attach, path_length); FIELD(foom_record_attach, hook_version);

    VALUE(FOOM_RING_MAGIC); VALUE(FOOM_RING_VERSION); VALUE(FOOM_RING_HEADER_SIZE); VALUE(FOOM_RING_MAX_FRAMES);
    VALUE(FOOM_RING_MAX_PATH); VALUE(FOOM_RING_MAX_BUILD_ID); VALUE(FOOM_RING_SCENE_SIZE); VALUE(FOOM_RING_MAX_RECORD);
    VALUE(FOOM_RING_DEFAULT_WAIT_MS); VALUE(FOOM_RING_POOL_MAX); VALUE(FOOM_RING_COMMAND_LINE_SIZE);

    VALUE(FOOM_STOP_NONE); VALUE(FOOM_STOP_RECORDER_GONE); VALUE(FOOM_STOP_BY_RECORDER); VALUE(FOOM_STOP_RING_INVALID);
    VALUE(FOOM_STATE_UNKNOWN); VALUE(FOOM_STATE_FOREGROUND); VALUE(FOOM_STATE_BACKGROUND); VALUE(FOOM_STATE_SUSPENDED);
    VALUE(FOOM_EXIT_NONE); VALUE(FOOM_EXIT_CALL); VALUE(FOOM_EXIT_IMMEDIATE); VALUE(FOOM_EXIT_MAIN_RETURN);
    VALUE(FOOM_EXIT_UNSEEN);
    VALUE(FOOM_OPTION_NO_STACK_CACHE); VALUE(FOOM_OPTION_FP_ONLY); VALUE(FOOM_OPTION_UNWIND_ONLY); VALUE(FOOM_OPTION_LIBUNWIND_ONLY); VALUE(FOOM_OPTION_CHECK_UNWIND);
    VALUE(FOOM_RECORD_ALLOC); VALUE(FOOM_RECORD_FREE); VALUE(FOOM_RECORD_MAP); VALUE(FOOM_RECORD_UNMAP);
    VALUE(FOOM_RECORD_MODULE_LOAD); VALUE(FOOM_RECORD_MODULE_UNLOAD); VALUE(FOOM_RECORD_ATTACH);
    VALUE(FOOM_RECORD_ALLOC_FAILED);
    VALUE(FOOM_SOURCE_MALLOC); VALUE(FOOM_SOURCE_CALLOC); VALUE(FOOM_SOURCE_REALLOC); VALUE(FOOM_SOURCE_REALLOCARRAY);
    VALUE(FOOM_SOURCE_POSIX_MEMALIGN); VALUE(FOOM_SOURCE_ALIGNED_ALLOC); VALUE(FOOM_SOURCE_MEMALIGN);
    VALUE(FOOM_SOURCE_VALLOC); VALUE(FOOM_SOURCE_PVALLOC); VALUE(FOOM_SOURCE_FREE); VALUE(FOOM_SOURCE_MMAP);
    VALUE(FOOM_SOURCE_MUNMAP); VALUE(FOOM_SOURCE_MREMAP); VALUE(FOOM_SOURCE_DLOPEN); VALUE(FOOM_SOURCE_DLCLOSE);
    VALUE(FOOM_SOURCE_STARTUP); VALUE(FOOM_SOURCE_DISCOVERED);
    VALUE(FOOM_FLAG_FULL_STACK); VALUE(FOOM_FLAG_FRAME_POINTERS); VALUE(FOOM_FLAG_UNWIND_TABLES);
    VALUE(FOOM_FLAG_TRUNCATED); VALUE(FOOM_FLAG_RESTORED); VALUE(FOOM_FLAG_LIBUNWIND); VALUE(FOOM_FLAG_UNWIND_DIFFERS);
    VALUE(FOOM_MAP_ANONYMOUS); VALUE(FOOM_MAP_STACK); VALUE(FOOM_MAP_SHARED); VALUE(FOOM_MAP_FILE); VALUE(FOOM_MAP_REMAP);
    VALUE(FOOM_MODULE_MAIN_PROGRAM); VALUE(FOOM_MODULE_VDSO); VALUE(FOOM_MODULE_FRAME_POINTERS);
    VALUE(FOOM_ATTACH_EXEC);
    return 0;
}
