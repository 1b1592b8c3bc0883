# An allocation-heavy Python program for the Python-frames benchmark (python-frames.sh): each
# row is a dict, a list and a string of 600 to 999 bytes (past pymalloc's 512-byte limit, so a
# malloc and a free of its own), kept in batches of 1000 and dropped, three Python calls deep.
import sys


def row(i):
    return {"id": i, "name": "row-%d" % i, "payload": "x" * (600 + i % 400), "tags": [i, i + 1, i + 2]}


def batch(start, size):
    return [row(i) for i in range(start, start + size)]


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 300000
    kept = 0
    for start in range(0, total, 1000):
        kept += len(batch(start, 1000))
    print(kept)


main()
