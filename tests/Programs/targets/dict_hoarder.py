# Fills a dict until the kernel kills it (the Python hoarder of issue 15). The line that stores
# into the dict is marked: PythonFramesTests finds it by the marker, so editing this file keeps
# the test right.
import sys


def remember(cache, key):
    cache[key] = "session-state " * 8 + str(key)  # the hoarding line


def serve_forever(limit):
    cache = {}
    key = 0
    while key < limit:
        remember(cache, key)
        key += 1
    return cache


def main():
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 62
    cache = serve_forever(limit)
    print(len(cache), flush=True)


main()
