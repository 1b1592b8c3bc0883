/*
 * Python frames. A native stack through CPython shows the interpreter (_PyEval_EvalFrameDefault,
 * dict and list internals), never the Python function that asked for the memory. The interpreter
 * keeps that in its own frame chain: this thread's PyThreadState → its _PyCFrame → the current
 * _PyInterpreterFrame → previous → …, each frame holding its code object and the instruction it
 * is at. Reading the chain at each captured stack costs a few loads per Python frame; the
 * alternatives cost more or change the program (docs/hook.md, "Python frames"): a sampling
 * reader from outside (py-spy) misses the allocation's moment, a profile hook (sys.setprofile)
 * runs Python code at every call, and perf trampolines (-X perf) exist only from 3.12 and name
 * functions without lines.
 *
 * Each Python frame becomes a pseudo pc (python.h): code object id and instruction byte offset.
 * A code object is described once, the first time a stack meets it, in perf-python-PID.map
 * beside the ring: one perf-map line per range of instructions on one source line,
 * "START SIZE py::QUALNAME FILE:LINE". It is written at once, because the code object may be
 * freed before any report is made; the recorder's symbolizer reads the map like a JIT's perf map
 * (docs/report-format.md, "Python frames").
 *
 * Only CPython 3.11 is read (Debian's python3): the structures move between versions, and an
 * unknown layout read as if known would name wrong functions. Any other version, or an
 * interpreter without the symbols used here, leaves Python frames out and says why in
 * python-frames-PID.txt, which the report shows; recording goes on as without Python frames.
 */
#include "python.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <sched.h>
#include <string.h>

/* CPython 3.11's layout on x86-64 (Include/cpython/pystate.h, internal/pycore_frame.h,
   cpython/code.h, cpython/unicodeobject.h, cpython/bytesobject.h of 3.11), checked against the
   headers of Debian's libpython3.11-dev by PythonLayoutTests. */
#define PY311_TSTATE_CFRAME 56
#define PY311_CFRAME_CURRENT_FRAME 8
#define PY311_FRAME_CODE 32
#define PY311_FRAME_PREVIOUS 48
#define PY311_FRAME_PREV_INSTR 56
#define PY311_FRAME_IS_ENTRY 68
#define PY311_FRAME_OWNER 69
#define PY311_FRAME_OWNED_BY_GENERATOR 1
#define PY311_CODE_FIRSTLINENO 72
#define PY311_CODE_FILENAME 112
#define PY311_CODE_QUALNAME 128
#define PY311_CODE_LINETABLE 136
#define PY311_CODE_FIRSTTRACEABLE 168
#define PY311_CODE_INSTRUCTIONS 184
#define PY311_UNICODE_LENGTH 16
#define PY311_UNICODE_STATE 32
#define PY311_UNICODE_KIND_SHIFT 2 /* bits of the state word: kind (3 bits), compact, ascii */
#define PY311_UNICODE_COMPACT_SHIFT 5
#define PY311_UNICODE_ASCII_SHIFT 6
#define PY311_ASCII_DATA 48
#define PY311_COMPACT_DATA 72
#define PY311_BYTES_SIZE 16
#define PY311_BYTES_DATA 32

/* A runaway chain (memory the interpreter is rewriting) ends the walk rather than the program. */
#define PYTHON_MAX_WALK 1024u
#define CODE_OFFSET_LIMIT (1ull << FOOM_PYTHON_CODE_SHIFT)

static void *(*this_thread_state)(void); /* PyGILState_GetThisThreadState: this thread's, GIL or not */
static uintptr_t eval_start, eval_size; /* _PyEval_EvalFrameDefault */
static atomic_int python_active;
static int map_fd = -1, status_fd = -1;

/* ---- code objects: each described once --------------------------------------------------------- */

/* Open addressing, never shrunk: a code object's entry outlives it (its id stays in the stacks
   already sent). Lookups take no lock; an insertion holds code_lock while it writes the map. */
#define CODE_SLOTS (1u << 16)
#define CODE_LIMIT (CODE_SLOTS / 4 * 3)

struct code_entry {
    _Atomic uintptr_t code;      /* published last, with release */
    uint64_t check;
    uint32_t id;
};

static struct code_entry *code_table;
static atomic_flag code_lock = ATOMIC_FLAG_INIT;
static uint32_t code_count;
static int code_table_full_said;

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static inline uintptr_t load_pointer(uintptr_t address) { return *(const uintptr_t *)address; }

/* A freed code object's address may be reused by another one: the names, the line table and the
   first line tell them apart (each is an object of its own, freed with the code). */
static inline uint64_t code_check(uintptr_t code) {
    return mix64(load_pointer(code + PY311_CODE_QUALNAME) * 31 + load_pointer(code + PY311_CODE_FILENAME)) ^
           mix64(load_pointer(code + PY311_CODE_LINETABLE) +
                 (uint64_t)*(const int32_t *)(code + PY311_CODE_FIRSTLINENO));
}

/* ---- writing the map without the program's heap -------------------------------------------- */

static char out[65536]; /* written under code_lock only */
static size_t out_used;

static void write_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t n = write(fd, data, length);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        data += n;
        length -= (size_t)n;
    }
}

static void out_flush(void) {
    if (out_used > 0 && map_fd >= 0) write_all(map_fd, out, out_used);
    out_used = 0;
}

static void out_bytes(const char *text, size_t length) {
    if (out_used + length > sizeof out) out_flush();
    if (length > sizeof out) length = sizeof out;
    memcpy(out + out_used, text, length);
    out_used += length;
}

static size_t format_unsigned(char *buffer, uint64_t value, unsigned base) {
    char digits[24];
    size_t n = 0;
    do {
        digits[n++] = "0123456789abcdef"[value % base];
        value /= base;
    } while (value > 0);
    for (size_t i = 0; i < n; i++) buffer[i] = digits[n - 1 - i];
    return n;
}

/* A str object's text as UTF-8, at most capacity bytes (whole characters). In a name, whitespace
   becomes '_' (the map's name ends the function at the first space); anything that is not text
   (controls, lone surrogates) becomes '?', so the line is never refused as malformed. */
static size_t python_string(uintptr_t object, char *buffer, size_t capacity, int is_name) {
    if (object == 0) return 0;
    uint32_t state = *(const uint32_t *)(object + PY311_UNICODE_STATE);
    uint32_t kind = (state >> PY311_UNICODE_KIND_SHIFT) & 7, compact = (state >> PY311_UNICODE_COMPACT_SHIFT) & 1,
             ascii = (state >> PY311_UNICODE_ASCII_SHIFT) & 1;
    int64_t length = *(const int64_t *)(object + PY311_UNICODE_LENGTH);
    if (!compact || kind == 0 || kind == 3 || kind > 4 || length < 0) return 0; /* legacy strings: code objects never hold them */
    const uint8_t *data = (const uint8_t *)(object + (ascii ? PY311_ASCII_DATA : PY311_COMPACT_DATA));
    size_t n = 0;
    for (int64_t i = 0; i < length; i++) {
        uint32_t c = kind == 1 ? data[i] : kind == 2 ? ((const uint16_t *)data)[i] : ((const uint32_t *)data)[i];
        if (c < 0x20 || c == 0x7f || (c >= 0xd800 && c < 0xe000) || c > 0x10ffff) c = '?';
        else if (is_name && c == ' ') c = '_';
        char encoded[4];
        size_t size;
        if (c < 0x80) { encoded[0] = (char)c; size = 1; }
        else if (c < 0x800) { encoded[0] = (char)(0xc0 | (c >> 6)); encoded[1] = (char)(0x80 | (c & 0x3f)); size = 2; }
        else if (c < 0x10000) {
            encoded[0] = (char)(0xe0 | (c >> 12)); encoded[1] = (char)(0x80 | ((c >> 6) & 0x3f));
            encoded[2] = (char)(0x80 | (c & 0x3f)); size = 3;
        } else {
            encoded[0] = (char)(0xf0 | (c >> 18)); encoded[1] = (char)(0x80 | ((c >> 12) & 0x3f));
            encoded[2] = (char)(0x80 | ((c >> 6) & 0x3f)); encoded[3] = (char)(0x80 | (c & 0x3f)); size = 4;
        }
        if (n + size > capacity) break;
        memcpy(buffer + n, encoded, size);
        n += size;
    }
    return n;
}

struct code_text {
    uint64_t base;               /* the code object's first pseudo pc */
    char qualname[256];
    size_t qualname_length;
    char filename[1024];
    size_t filename_length;
};

/* One map line: the instructions [start, end) (bytes) on source line `line` (none when < 0). */
static void write_range(const struct code_text *text, uint64_t start, uint64_t end, int64_t line) {
    if (start >= CODE_OFFSET_LIMIT || end <= start) return;
    if (end > CODE_OFFSET_LIMIT) end = CODE_OFFSET_LIMIT;
    char number[24];
    out_bytes(number, format_unsigned(number, text->base + start, 16));
    out_bytes(" ", 1);
    out_bytes(number, format_unsigned(number, end - start, 16));
    out_bytes(" py::", 5);
    out_bytes(text->qualname, text->qualname_length);
    out_bytes(" ", 1);
    out_bytes(text->filename, text->filename_length);
    if (line >= 0) {
        out_bytes(":", 1);
        out_bytes(number, format_unsigned(number, (uint64_t)line, 10));
    }
    out_bytes("\n", 1);
}

/* The location table of 3.11 (Objects/locations.md): entries of a first byte 1CCCCLLL (code,
   length − 1 in code units) and the code's extra bytes; varints in 6-bit chunks, 0x40 meaning
   more. Only the line matters here. */
struct table_reader {
    const uint8_t *at, *end;
};

static uint64_t read_varint(struct table_reader *r) {
    uint64_t value = 0;
    unsigned shift = 0;
    while (r->at < r->end) {
        uint8_t b = *r->at++;
        if (shift < 64) value |= (uint64_t)(b & 0x3f) << shift;
        shift += 6;
        if (!(b & 0x40)) break;
    }
    return value;
}

static int64_t read_signed_varint(struct table_reader *r) {
    uint64_t value = read_varint(r);
    return (value & 1) ? -(int64_t)(value >> 1) : (int64_t)(value >> 1);
}

static void describe_code(uintptr_t code, uint32_t id) {
    struct code_text text;
    text.base = FOOM_PYTHON_PC_BASE + ((uint64_t)id << FOOM_PYTHON_CODE_SHIFT);
    text.qualname_length = python_string(load_pointer(code + PY311_CODE_QUALNAME), text.qualname, sizeof text.qualname, 1);
    if (text.qualname_length == 0) { memcpy(text.qualname, "?", 1); text.qualname_length = 1; }
    text.filename_length = python_string(load_pointer(code + PY311_CODE_FILENAME), text.filename, sizeof text.filename, 0);
    if (text.filename_length == 0) { memcpy(text.filename, "?", 1); text.filename_length = 1; }

    uintptr_t table = load_pointer(code + PY311_CODE_LINETABLE);
    struct table_reader r = { (const uint8_t *)(table + PY311_BYTES_DATA), (const uint8_t *)(table + PY311_BYTES_DATA) };
    if (table != 0) r.end += *(const int64_t *)(table + PY311_BYTES_SIZE);
    int64_t line = *(const int32_t *)(code + PY311_CODE_FIRSTLINENO);
    uint64_t offset = 0, range_start = 0;
    int64_t range_line = -2; /* no range open */
    while (r.at < r.end) {
        uint8_t first = *r.at++;
        if (!(first & 0x80)) continue; /* not an entry's first byte: resynchronise */
        uint32_t kind = (first >> 3) & 15;
        uint64_t length = ((uint64_t)(first & 7) + 1) * 2;
        int64_t entry_line = line;
        if (kind == 15) {
            entry_line = -1;
        } else if (kind == 14) {
            line += read_signed_varint(&r);
            entry_line = line;
            read_varint(&r);
            read_varint(&r);
            read_varint(&r);
        } else if (kind == 13) {
            line += read_signed_varint(&r);
            entry_line = line;
        } else if (kind >= 10) {
            line += kind - 10;
            entry_line = line;
            r.at += 2;
        } else {
            r.at += 1;
        }
        if (entry_line != range_line) {
            if (range_line != -2) write_range(&text, range_start, offset, range_line);
            range_start = offset;
            range_line = entry_line;
        }
        offset += length;
    }
    if (range_line != -2) write_range(&text, range_start, offset, range_line);
    out_flush();
}

/* One line of python-frames-PID.txt: "STATE<tab>what". */
static void say(const char *state, const char *first, const char *second, const char *third) {
    if (status_fd < 0) return;
    char line[512];
    size_t n = 0;
    const char *parts[5] = { state, "\t", first, second, third };
    for (int p = 0; p < 5; p++) {
        if (parts[p] == NULL) continue;
        size_t length = strnlen(parts[p], sizeof line - 1 - n);
        memcpy(line + n, parts[p], length);
        n += length;
    }
    line[n++] = '\n';
    write_all(status_fd, line, n);
}

static uint32_t insert_code(uintptr_t code, uint64_t check, uint64_t hash) {
    while (atomic_flag_test_and_set_explicit(&code_lock, memory_order_acquire)) sched_yield();
    uint32_t id = 0;
    for (uint32_t i = (uint32_t)hash & (CODE_SLOTS - 1), probes = 0; probes < CODE_SLOTS; i = (i + 1) & (CODE_SLOTS - 1), probes++) {
        struct code_entry *e = &code_table[i];
        uintptr_t found = atomic_load_explicit(&e->code, memory_order_relaxed);
        if (found == code && e->check == check) { id = e->id; break; } /* another thread was first */
        if (found != 0) continue;
        if (code_count >= CODE_LIMIT) {
            /* Its frames keep id 0, which no map line names: the report shows them unnamed. */
            if (!code_table_full_said) {
                code_table_full_said = 1;
                char number[24];
                number[format_unsigned(number, CODE_LIMIT, 10)] = 0;
                say("partial", "Python frames partly unnamed: the hook describes at most ", number,
                    " code objects per process, and frames of later ones read as pcs in no perf map");
            }
            break;
        }
        id = ++code_count;
        describe_code(code, id);
        e->check = check;
        e->id = id;
        atomic_store_explicit(&e->code, code, memory_order_release);
        break;
    }
    atomic_flag_clear_explicit(&code_lock, memory_order_release);
    return id;
}

static inline uint32_t code_id(uintptr_t code) {
    uint64_t check = code_check(code);
    uint64_t hash = mix64(code ^ check);
    for (uint32_t i = (uint32_t)hash & (CODE_SLOTS - 1), probes = 0; probes < CODE_SLOTS; i = (i + 1) & (CODE_SLOTS - 1), probes++) {
        struct code_entry *e = &code_table[i];
        uintptr_t found = atomic_load_explicit(&e->code, memory_order_acquire);
        if (found == 0) break;
        if (found == code && e->check == check) return e->id;
    }
    return insert_code(code, check, hash);
}

/* ---- the frames ----------------------------------------------------------------------------- */

uint32_t python_add_frames(uint64_t *frames, uint32_t count, uint32_t capacity, uint32_t *flags) {
    if (likely(!atomic_load_explicit(&python_active, memory_order_acquire))) return count;
    uintptr_t thread_state = (uintptr_t)this_thread_state();
    if (thread_state == 0) return count; /* a thread Python does not know, or before Py_Initialize */
    uintptr_t cframe = load_pointer(thread_state + PY311_TSTATE_CFRAME);
    uintptr_t frame = cframe == 0 ? 0 : load_pointer(cframe + PY311_CFRAME_CURRENT_FRAME);
    if (frame == 0) return count;

    uint64_t merged[FOOM_RING_MAX_FRAMES];
    if (capacity > FOOM_RING_MAX_FRAMES) capacity = FOOM_RING_MAX_FRAMES;
    uint32_t n = 0, walked = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (n == capacity) { *flags |= FOOM_FLAG_TRUNCATED; break; }
        merged[n++] = frames[i];
        if (frame == 0 || frames[i] - eval_start >= eval_size) continue;
        /* This evaluation runs the Python frames from the current one up to the one it was
           entered for (is_entry); 3.11 runs Python-to-Python calls in the same C call. */
        while (frame != 0 && walked++ < PYTHON_MAX_WALK) {
            uintptr_t code = load_pointer(frame + PY311_FRAME_CODE);
            uintptr_t instruction = load_pointer(frame + PY311_FRAME_PREV_INSTR);
            uint8_t is_entry = *(const uint8_t *)(frame + PY311_FRAME_IS_ENTRY);
            uint8_t owner = *(const uint8_t *)(frame + PY311_FRAME_OWNER);
            uintptr_t first = code + PY311_CODE_INSTRUCTIONS;
            int32_t traceable = *(const int32_t *)(code + PY311_CODE_FIRSTTRACEABLE);
            frame = load_pointer(frame + PY311_FRAME_PREVIOUS);
            /* A frame still being set up (before its first traceable instruction) is not yet
               running: CPython's own tracebacks leave it out too. */
            if (owner == PY311_FRAME_OWNED_BY_GENERATOR || instruction >= first + (uintptr_t)traceable * 2) {
                if (n == capacity) { *flags |= FOOM_FLAG_TRUNCATED; break; }
                /* One past the instruction's first byte, as a return address is one past its
                   call: a reader that steps back one byte to find the call lands in the same
                   2-byte code unit, so on the same line. */
                uint64_t offset = instruction >= first ? instruction - first : 0;
                if (offset >= CODE_OFFSET_LIMIT - 1) offset = CODE_OFFSET_LIMIT - 2;
                merged[n++] = FOOM_PYTHON_PC_BASE + ((uint64_t)code_id(code) << FOOM_PYTHON_CODE_SHIFT) + offset + 1;
            }
            if (is_entry) break;
        }
    }
    memcpy(frames, merged, n * sizeof merged[0]);
    return n;
}

/* ---- finding the interpreter ---------------------------------------------------------------- */

/* DIR/NAME-PID.EXTENSION, DIR being the ring's directory; 0 when it does not fit. */
static int session_file(char *path, size_t capacity, const char *ring_path, const char *name, const char *extension) {
    const char *slash = strrchr(ring_path, '/');
    size_t dir = slash == NULL ? 0 : (size_t)(slash - ring_path + 1);
    char pid[24];
    size_t pid_length = format_unsigned(pid, (uint64_t)getpid(), 10);
    size_t name_length = strlen(name), extension_length = strlen(extension);
    if (dir + name_length + pid_length + extension_length + 1 > capacity) return 0;
    memcpy(path, ring_path, dir);
    memcpy(path + dir, name, name_length);
    memcpy(path + dir + name_length, pid, pid_length);
    memcpy(path + dir + name_length + pid_length, extension, extension_length + 1);
    return 1;
}

/*
 * dlsym of a name that is not there leaves an error message that glibc allocated while the
 * hook's guard was held (so unrecorded), and the next dl call frees it, recorded: a free of a
 * block the recorder never saw, in any program that is not Python. Asking dlerror twice
 * delivers the message and then frees it here, under the guard, leaving no error behind (an
 * error another library's constructor left unread before the hook's would be read here too).
 */
static void *python_symbol(const char *name) {
    void *found = dlsym(RTLD_DEFAULT, name);
    if (found == NULL) {
        dlerror();
        dlerror();
    }
    return found;
}

void python_load(const char *ring_path) {
    if (ring_path == NULL || *ring_path == 0) return;
    const unsigned long *version = (const unsigned long *)python_symbol("Py_Version");
    /* Not a Python program (or one that loads libpython later, which is not looked for). */
    if (version == NULL && python_symbol("Py_Initialize") == NULL) return;
    char path[4096];
    if (!session_file(path, sizeof path, ring_path, "python-frames-", ".txt")) return;
    status_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (status_fd < 0) return;

    const char *setting = getenv("FOOM_PYTHON_FRAMES");
    if (setting != NULL && strcmp(setting, "0") == 0) {
        say("off", "Python frames off: FOOM_PYTHON_FRAMES=0 in the program's environment", NULL, NULL);
        return;
    }
    if (version == NULL) {
        say("missing", "Python frames missing: the program has Py_Initialize but no Py_Version, so it is CPython 3.10 or older, "
            "and Python frames are read from CPython 3.11 only", NULL, NULL);
        return;
    }
    char name[64];
    size_t n = 0;
    memcpy(name, "CPython ", 8);
    n = 8;
    n += format_unsigned(name + n, (*version >> 24) & 0xff, 10);
    name[n++] = '.';
    n += format_unsigned(name + n, (*version >> 16) & 0xff, 10);
    name[n++] = '.';
    n += format_unsigned(name + n, (*version >> 8) & 0xff, 10);
    name[n] = 0;
    if (((*version >> 16) & 0xffff) != 0x030b) {
        say("missing", "Python frames missing: ", name, " is not supported (Python frames are read from CPython 3.11 only)");
        return;
    }
    this_thread_state = (void *(*)(void))python_symbol("PyGILState_GetThisThreadState");
    void *eval = python_symbol("_PyEval_EvalFrameDefault");
    if (this_thread_state == NULL || eval == NULL) {
        say("missing", "Python frames missing: ", name,
            this_thread_state == NULL ? " has no PyGILState_GetThisThreadState among its dynamic symbols"
                                      : " has no _PyEval_EvalFrameDefault among its dynamic symbols");
        return;
    }
    Dl_info info;
    const ElfW(Sym) *symbol = NULL;
    if (dladdr1(eval, &info, (void **)&symbol, RTLD_DL_SYMENT) == 0 || symbol == NULL || symbol->st_size == 0) {
        say("missing", "Python frames missing: ", name, "'s _PyEval_EvalFrameDefault has no size in its symbol table");
        return;
    }
    eval_start = (uintptr_t)eval;
    eval_size = symbol->st_size;
    code_table = (struct code_entry *)foom_raw_mmap(CODE_SLOTS * sizeof(struct code_entry));
    if (code_table == NULL) {
        say("missing", "Python frames missing: the hook could not map its table of code objects", NULL, NULL);
        return;
    }
    if (!session_file(path, sizeof path, ring_path, "perf-python-", ".map") ||
        (map_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644)) < 0) {
        say("missing", "Python frames missing: the hook could not create perf-python-PID.map beside the ring", NULL, NULL);
        return;
    }
    say("recorded", name, ": Python frames recorded (function, file and line)", NULL);
    atomic_store_explicit(&python_active, 1, memory_order_release);
}
