/* oom.c -- per-thread out-of-memory handlers in C, on the threads build: the program is compiled
 * with bindings/c/ralloc_import.c (mode "threads": no libc, so errno is defined here). Every
 * thread runs run(index): thread 0 sets its own handler, which overrides the global one for it;
 * the others keep the global one. Each then asks for more memory than the heap can ever give.
 * The handlers count their calls in shared memory; calls() reads them. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include "ralloc.h"

_Thread_local int errno; /* wasi-libc's, when there is a libc */

static unsigned global_calls, thread_calls;
/* Where the blocks go: volatile, so that clang keeps every malloc and its result's test. */
static void *volatile sink;

static int on_global(size_t size) {
    (void)size;
    __atomic_add_fetch(&global_calls, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static int on_thread(size_t size) {
    (void)size;
    __atomic_add_fetch(&thread_calls, 1, __ATOMIC_SEQ_CST);
    return 0;
}

/* Sets the global handler (once, before the threads run). */
int setup(void) {
    return ralloc_set_oom_handler(on_global) == NULL ? 0 : 1;
}

/* Thread index: thread 0 installs its own handler; every thread then fails one huge request and
 * one ordinary request must still succeed. Returns 0, or what went wrong (1 .. 3). */
int run(int index) {
    if (index == 0 && ralloc_set_thread_oom_handler(on_thread) != NULL) return 1;
    sink = malloc((size_t)3 << 30);
    if (sink != NULL) return 2;
    if (errno != ENOMEM) return 3;
    sink = malloc(100);
    if (sink == NULL) return 4;
    free(sink);
    return 0;
}

/* The handlers' calls: global ones in the low 16 bits, the thread handler's above. */
unsigned calls(void) {
    return __atomic_load_n(&global_calls, __ATOMIC_SEQ_CST) | __atomic_load_n(&thread_calls, __ATOMIC_SEQ_CST) << 16;
}
