/*
 * ralloc_import.c -- makes ralloc-wasm the malloc of a wasi-libc program.
 *
 * Compile this file into the program. It defines the whole malloc family as thin
 * wrappers over imports from the wasm module "ralloc" (ralloc-wasm's exports), and
 * sets errno the way C and POSIX ask when a call fails (ENOMEM, EINVAL). It also
 * defines ralloc_alloc and ralloc_set_oom_handler (see ralloc.h): when memory runs
 * out, the handler set there is asked whether to retry. Because it defines every
 * symbol that wasi-libc's dlmalloc object (dlmalloc.c.obj in libc.a) defines --
 * malloc, free, calloc, realloc, aligned_alloc, posix_memalign, malloc_usable_size,
 * __libc_malloc, __libc_free, __libc_calloc -- the linker never pulls that object
 * in: the program contains none of dlmalloc. sbrk is routed to ralloc-wasm too, so
 * memory handed out by sbrk is never given to malloc callers.
 *
 * Dynamic use (the allocator is a separate instance, wired by the JS bindings):
 *   clang --target=wasm32-wasip1 -O2 prog.c bindings/c/ralloc_import.c \
 *         -Wl,--import-memory -Wl,--export=__heap_base -o prog.wasm
 *   then instantiateProgram(prog.wasm) or `ralloc-wasm run prog.wasm`.
 * Static use: the same prog.wasm, then linkStatic(prog.wasm) or
 *   `ralloc-wasm link prog.wasm -o prog.linked.wasm`.
 *
 * Heap base: a constructor that runs before every other constructor calls
 * ralloc_init(&__heap_base), so the heap starts right after the program's static
 * data and stack whichever way the allocator was linked. (If something allocated
 * before it, ralloc_init returns EINVAL and the heap simply keeps its start.)
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "ralloc.h"

#define RALLOC_FN(name) __attribute__((import_module("ralloc"), import_name(#name)))

RALLOC_FN(malloc) void *ralloc_import_malloc(size_t size);
RALLOC_FN(free) void ralloc_import_free(void *ptr);
RALLOC_FN(calloc) void *ralloc_import_calloc(size_t count, size_t size);
RALLOC_FN(realloc) void *ralloc_import_realloc(void *ptr, size_t size);
RALLOC_FN(aligned_alloc) void *ralloc_import_aligned_alloc(size_t align, size_t size);
RALLOC_FN(posix_memalign) int ralloc_import_posix_memalign(void **out, size_t align, size_t size);
RALLOC_FN(memalign) void *ralloc_import_memalign(size_t align, size_t size);
RALLOC_FN(malloc_usable_size) size_t ralloc_import_malloc_usable_size(void *ptr);
RALLOC_FN(sbrk) void *ralloc_import_sbrk(intptr_t delta);
RALLOC_FN(ralloc_alloc) void *ralloc_import_alloc(size_t size, size_t align);

/* Prototypes that wasi-libc's headers leave out (memalign) or that must match exactly. */
void *malloc(size_t size);
void free(void *ptr);
void *calloc(size_t count, size_t size);
void *realloc(void *ptr, size_t size);
void *aligned_alloc(size_t align, size_t size);
int posix_memalign(void **out, size_t align, size_t size);
void *memalign(size_t align, size_t size);
size_t malloc_usable_size(void *ptr);
void *sbrk(intptr_t delta);
void *__libc_malloc(size_t size);
void __libc_free(void *ptr);
void *__libc_calloc(size_t count, size_t size);

static int is_power_of_two(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

/* The C out-of-memory handlers: the global one (ralloc_set_oom_handler), for every thread, and
 * this thread's own (ralloc_set_thread_oom_handler), which overrides it for this thread. NULL
 * when none is set. Without threads (no -matomics -mbulk-memory) clang makes the thread-local
 * one an ordinary variable: the program's one thread has it. */
static ralloc_oom_handler_t oom_handler;
static _Thread_local ralloc_oom_handler_t thread_oom_handler;

ralloc_oom_handler_t ralloc_set_oom_handler(ralloc_oom_handler_t handler) {
    return __atomic_exchange_n(&oom_handler, handler, __ATOMIC_SEQ_CST);
}

ralloc_oom_handler_t ralloc_set_thread_oom_handler(ralloc_oom_handler_t handler) {
    ralloc_oom_handler_t old = thread_oom_handler;
    thread_oom_handler = handler;
    return old;
}

/* Whether to retry a failed request of size bytes: asks this thread's handler, else the global
 * one, if any. Off the fast path. */
__attribute__((noinline, cold)) static int retry_after_oom(size_t size) {
    ralloc_oom_handler_t handler = thread_oom_handler;
    if (handler == NULL) handler = __atomic_load_n(&oom_handler, __ATOMIC_SEQ_CST);
    return handler != NULL && handler(size) != 0;
}

void *malloc(size_t size) {
    void *p = ralloc_import_malloc(size);
    if (__builtin_expect(p == NULL, 0)) {
        if (retry_after_oom(size)) p = ralloc_import_malloc(size);
        if (p == NULL) errno = ENOMEM; /* malloc(0) is non-null, so NULL always means out of memory */
    }
    return p;
}

void free(void *ptr) { ralloc_import_free(ptr); }

void *calloc(size_t count, size_t size) {
    void *p = ralloc_import_calloc(count, size);
    if (__builtin_expect(p == NULL, 0)) {
        /* count * size overflowing is ENOMEM too, as glibc does, but no reason to call the handler. */
        if (!(count != 0 && size > SIZE_MAX / count) && retry_after_oom(count * size)) p = ralloc_import_calloc(count, size);
        if (p == NULL) errno = ENOMEM;
    }
    return p;
}

void *realloc(void *ptr, size_t size) {
    void *p = ralloc_import_realloc(ptr, size);
    /* realloc(p, 0) frees p and returns NULL: that is success, errno stays. */
    if (__builtin_expect(p == NULL, 0) && !(ptr != NULL && size == 0)) {
        if (retry_after_oom(size)) p = ralloc_import_realloc(ptr, size);
        if (p == NULL) errno = ENOMEM;
    }
    return p;
}

void *aligned_alloc(size_t align, size_t size) {
    void *p = ralloc_import_aligned_alloc(align, size);
    if (__builtin_expect(p == NULL, 0)) {
        if (!is_power_of_two(align)) {
            errno = EINVAL;
            return NULL;
        }
        if (retry_after_oom(size)) p = ralloc_import_aligned_alloc(align, size);
        if (p == NULL) errno = ENOMEM;
    }
    return p;
}

/* Returns its error code and leaves errno alone, as POSIX specifies. */
int posix_memalign(void **out, size_t align, size_t size) {
    int r = ralloc_import_posix_memalign(out, align, size);
    if (r == ENOMEM && retry_after_oom(size)) r = ralloc_import_posix_memalign(out, align, size);
    return r;
}

void *memalign(size_t align, size_t size) {
    void *p = ralloc_import_memalign(align, size);
    if (__builtin_expect(p == NULL, 0)) {
        if (!is_power_of_two(align)) {
            errno = EINVAL;
            return NULL;
        }
        if (retry_after_oom(size)) p = ralloc_import_memalign(align, size);
        if (p == NULL) errno = ENOMEM;
    }
    return p;
}

size_t malloc_usable_size(void *ptr) { return ralloc_import_malloc_usable_size(ptr); }

void *sbrk(intptr_t delta) {
    void *old = ralloc_import_sbrk(delta);
    if (old == (void *)-1) errno = ENOMEM;
    return old;
}

void *ralloc_alloc(size_t size, size_t align) {
    void *p = ralloc_import_alloc(size, align);
    if (__builtin_expect(p == NULL, 0)) {
        if (align != 0 && retry_after_oom(size)) p = ralloc_import_alloc(size, align);
        if (p == NULL) errno = align == 0 ? EINVAL : ENOMEM;
    }
    return p;
}

/* wasi-libc's own allocations (locales, atexit) go through these names. */
void *__libc_malloc(size_t size) { return malloc(size); }
void __libc_free(void *ptr) { free(ptr); }
void *__libc_calloc(size_t count, size_t size) { return calloc(count, size); }

extern unsigned char __heap_base;

/* Priority 1 runs before wasi-libc's and the program's constructors (101 and up). */
__attribute__((constructor(1))) static void ralloc_import_start_heap(void) {
    (void)ralloc_init(&__heap_base);
}
