#!/bin/sh
# The hook's layers, lowest first: a file may include its own header and the headers of lower
# layers, never one of its own layer or above, so no two files reach into each other (state.h
# draws the picture). Every file of the hook must be placed here. Run by the Makefile.
#   check-layers.sh FILE...
set -eu
layer_of() {
    case "$(basename "$1")" in
        foom_ring.h | foom.h) echo 0 ;;                      # the formats
        state.h | state.c | cfi.h | cfi.c) echo 1 ;;
        ring.h | ring.c | marks.h | marks.c | sampling.h | sampling.c | module_image.h | module_image.c) echo 2 ;;
        modules.h | modules.c | python.h | python.c) echo 3 ;; # python: Python frames, read beside the native walk
        unwind.h | unwind.c) echo 4 ;;
        events.h | events.c) echo 5 ;;
        enter.h | enter.c) echo 6 ;;
        hooks_alloc.c | hooks_map.c | hooks_process.c | api.c) echo 7 ;; # the entry points
        *) echo "" ;;
    esac
}
status=0
for file in "$@"; do
    layer=$(layer_of "$file")
    if [ -z "$layer" ]; then
        echo "check-layers.sh: $file has no layer: place it in check-layers.sh" >&2
        status=1
        continue
    fi
    stem=$(basename "$file" | sed 's/\.[ch]$//')
    for included in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file"); do
        [ "$(echo "$included" | sed 's/\.h$//')" = "$stem" ] && continue
        other=$(layer_of "$included")
        if [ -z "$other" ]; then
            echo "check-layers.sh: $file includes $included, which has no layer" >&2
            status=1
        elif [ "$other" -ge "$layer" ]; then
            echo "check-layers.sh: $file (layer $layer) includes $included (layer $other): only lower layers" >&2
            status=1
        fi
    done
done
exit $status
