/* Prints CPython 3.11's layout as the installed headers (libpython3.11-dev) have it, one
   "NAME VALUE" a line, named as native/foomhook/python.c's PY311_ constants: PythonLayoutTests
   compares the two. Built with -I/usr/include/python3.11. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <internal/pycore_frame.h>
#include <stdio.h>
#include <string.h>

#define SHOW(name, value) printf("%s %lu\n", name, (unsigned long)(value))

int main(void) {
    SHOW("TSTATE_CFRAME", offsetof(PyThreadState, cframe));
    SHOW("CFRAME_CURRENT_FRAME", offsetof(_PyCFrame, current_frame));
    SHOW("FRAME_CODE", offsetof(_PyInterpreterFrame, f_code));
    SHOW("FRAME_PREVIOUS", offsetof(_PyInterpreterFrame, previous));
    SHOW("FRAME_PREV_INSTR", offsetof(_PyInterpreterFrame, prev_instr));
    SHOW("FRAME_IS_ENTRY", offsetof(_PyInterpreterFrame, is_entry));
    SHOW("FRAME_OWNER", offsetof(_PyInterpreterFrame, owner));
    SHOW("FRAME_OWNED_BY_GENERATOR", FRAME_OWNED_BY_GENERATOR);
    SHOW("CODE_FIRSTLINENO", offsetof(PyCodeObject, co_firstlineno));
    SHOW("CODE_FILENAME", offsetof(PyCodeObject, co_filename));
    SHOW("CODE_QUALNAME", offsetof(PyCodeObject, co_qualname));
    SHOW("CODE_LINETABLE", offsetof(PyCodeObject, co_linetable));
    SHOW("CODE_FIRSTTRACEABLE", offsetof(PyCodeObject, _co_firsttraceable));
    SHOW("CODE_INSTRUCTIONS", offsetof(PyCodeObject, co_code_adaptive));
    SHOW("UNICODE_LENGTH", offsetof(PyASCIIObject, length));
    SHOW("UNICODE_STATE", offsetof(PyASCIIObject, state));
    SHOW("ASCII_DATA", sizeof(PyASCIIObject));
    SHOW("COMPACT_DATA", sizeof(PyCompactUnicodeObject));
    SHOW("BYTES_SIZE", offsetof(PyVarObject, ob_size));
    SHOW("BYTES_DATA", offsetof(PyBytesObject, ob_sval));
    /* The state bit-field's bits, as python.c reads them from the 32-bit word: kind at 2, compact at 5, ascii at 6. */
    PyASCIIObject probe;
    memset(&probe, 0, sizeof probe);
    probe.state.kind = 7;
    probe.state.compact = 1;
    probe.state.ascii = 1;
    unsigned int word;
    memcpy(&word, (char *)&probe + offsetof(PyASCIIObject, state), sizeof word);
    SHOW("UNICODE_STATE_BITS", word);
    printf("VERSION %d.%d\n", PY_MAJOR_VERSION, PY_MINOR_VERSION);
    return 0;
}
