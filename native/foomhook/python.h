/* Python frames: the CPython interpreter's own frame chain read at each captured stack, each
   Python frame a pseudo pc whose code object is described once in the session's Python code map
   (layer beside modules, below unwind). */
#ifndef FOOM_PYTHON_H
#define FOOM_PYTHON_H

#include "state.h"

/* Pseudo pcs of Python frames: above every user-space address (x86-64 user space ends below
   2^47) and below 2^48, where the consumer keeps a pc that lies in no module as it is. Each code
   object gets 2^20 bytes of them: FOOM_PYTHON_PC_BASE + id * 2^20 + instruction byte offset + 1
   (the frame's current instruction, read as a return address is). */
#define FOOM_PYTHON_PC_BASE 0x800000000000ull
#define FOOM_PYTHON_CODE_SHIFT 20

/* Finds a supported CPython in the process (its dynamic symbols), and writes beside the ring
   named by ring_path python-frames-PID.txt, lines of "STATE<tab>what" (STATE: recorded, off,
   missing, partial) saying whether Python frames are recorded and why not, and, when they are, perf-python-PID.map, the code objects' line ranges. */
HIDDEN void python_load(const char *ring_path);

/* Adds this thread's Python frames to a native stack of count frames (innermost first), each
   run of them after the _PyEval_EvalFrameDefault frame that runs it; returns the new count, at
   most capacity, and sets FOOM_FLAG_TRUNCATED in *flags when frames did not fit. */
HIDDEN uint32_t python_add_frames(uint64_t *frames, uint32_t count, uint32_t capacity, uint32_t *flags);

#endif
