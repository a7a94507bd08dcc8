/*
 * ralloc.h -- the extended API of ralloc-wasm, for C programs compiled to wasm32.
 *
 * The standard malloc family (malloc, free, calloc, realloc, aligned_alloc,
 * posix_memalign, memalign, malloc_usable_size) keeps its usual <stdlib.h> and
 * <malloc.h> declarations; compile bindings/c/ralloc_import.c into the program to
 * have ralloc-wasm serve them instead of wasi-libc's dlmalloc.
 *
 * The calls marked [import] are wasm imports from the module "ralloc": they are
 * satisfied at instantiation (instantiateProgram hands the allocator's exports to
 * the program) or ahead of time (linkStatic / `ralloc-wasm link` merges the
 * allocator in). The calls marked [ralloc_import.c] are C functions defined there,
 * because they run the C-side out-of-memory handler. Pointers and sizes are 32-bit.
 *
 * Out of memory: calls that "may call the OOM handler" first let the host decide
 * (the JS bindings' onOom, through the allocator's ralloc_hooks.oom import), then
 * call the handler set with ralloc_set_oom_handler; when it returns nonzero the
 * request is retried once. The ralloc_heap_* calls and ralloc_try_alloc never call
 * the C handler.
 */
#ifndef RALLOC_H
#define RALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__wasm__)
#define RALLOC_IMPORT(name) __attribute__((import_module("ralloc"), import_name(#name)))
#else
#define RALLOC_IMPORT(name)
#endif

/* The statistics block written by ralloc_stats (little-endian, version 1, 64 bytes). */
typedef struct ralloc_stats {
    uint32_t size;              /* size of this struct in bytes (64) */
    uint32_t version;           /* layout version (1) */
    uint32_t bytes_in_use;      /* sum of the usable sizes of live blocks */
    uint32_t peak_bytes_held;   /* most bytes held at once by live (and cached) blocks, headers included */
    uint32_t bytes_from_memory; /* bytes the heap has claimed from memory, metadata included */
    uint32_t grow_calls;        /* memory.grow calls made by the allocator */
    uint64_t malloc_calls;      /* malloc, calloc, aligned_alloc, posix_memalign, memalign calls */
    uint64_t free_calls;        /* free calls */
    uint64_t realloc_calls;     /* realloc calls */
    uint32_t live_blocks;       /* blocks allocated and not yet freed */
    uint32_t sbrk_bytes;        /* bytes currently held by sbrk callers */
    uint32_t heap_base;         /* address where the heap starts */
    uint32_t reserved;          /* 0 */
} ralloc_stats_t;

/* The layout of ralloc's memory, written by ralloc_layout (little-endian, version 1, 32 bytes). */
typedef struct ralloc_layout {
    uint32_t version;           /* layout version (1) */
    uint32_t shim_base;         /* where ralloc's state starts; the program's data and stack are below */
    uint32_t shim_end;          /* end of the shim state */
    uint32_t root;              /* the global heap's root (0 before the first allocation) */
    uint32_t root_size;         /* root size in bytes */
    uint32_t brk;               /* the break (sbrk(0)) */
    uint32_t memory_end;        /* end of memory in bytes (0xFFFFFFFF at 4 GiB) */
    uint32_t guard_bytes;       /* bytes a block carries beyond its request (0 unless guarded) */
} ralloc_layout_t;

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(ralloc_stats_t) == 64, "ralloc_stats_t must be 64 bytes");
_Static_assert(offsetof(ralloc_stats_t, malloc_calls) == 24, "ralloc_stats_t layout");
_Static_assert(offsetof(ralloc_stats_t, heap_base) == 56, "ralloc_stats_t layout");
_Static_assert(sizeof(ralloc_layout_t) == 32, "ralloc_layout_t must be 32 bytes");
#endif

/* ralloc_check's codes: 0 is a sound heap; docs/DEBUGGING.md says what each one means. */
enum ralloc_check_code {
    RALLOC_CHECK_SPAN = 1,
    RALLOC_CHECK_SIZE = 2,
    RALLOC_CHECK_BOUNDS = 3,
    RALLOC_CHECK_PREV_BIT = 4,
    RALLOC_CHECK_UNMERGED = 5,
    RALLOC_CHECK_FOOTER = 6,
    RALLOC_CHECK_STATE = 7,
    RALLOC_CHECK_LINK = 8,
    RALLOC_CHECK_CLASS = 9,
    RALLOC_CHECK_BITMAP = 10,
    RALLOC_CHECK_LIST_COUNT = 11,
    RALLOC_CHECK_QUICK = 12,
    RALLOC_CHECK_COUNTERS = 13,
    RALLOC_CHECK_TAIL = 14,
    RALLOC_CHECK_DEAD = 15,
    RALLOC_CHECK_OVERLAP = 16,
    RALLOC_CHECK_GUARD = 17,
    RALLOC_CHECK_PAGE = 18
};

/* ralloc_block_info's low 4 bits: 0 in use, or one of these (the release build's kinds have bit 1 set). */
enum ralloc_block_kind {
    RALLOC_INFO_FREE = 1,       /* a free block */
    RALLOC_INFO_OBJECT = 2,     /* an object of a page, in use (with RALLOC_INFO_FREE: a free object slot) */
    RALLOC_INFO_CACHED = 4,     /* a block in a guarded build's quick list */
    RALLOC_INFO_PAGE = 6,       /* a page of small objects; its objects follow it in the walk */
    RALLOC_INFO_LEAD_DEAD = 8,  /* in use, its first bytes freed by ralloc_dealloc */
    RALLOC_INFO_TABLE = 10      /* the page table */
};

/* The OOM handler: gets the size that could not be allocated; returns nonzero to have the request retried once. */
typedef int (*ralloc_oom_handler_t)(size_t size);

/* A local heap's handle (0 is none). */
typedef uintptr_t ralloc_heap_t;

/* [import] Starts the heap at heap_base (normally &__heap_base); 0, or 28 (EINVAL) once the heap has started, 48 (ENOMEM) when memory cannot reach it. O(1). */
RALLOC_IMPORT(ralloc_init) int ralloc_init(void *heap_base);

/* [import] Walks the whole heap: 0 if every invariant holds, else a nonzero code naming the first broken one. O(heap size). */
RALLOC_IMPORT(ralloc_check) int ralloc_check(void);

/* [import] Writes the statistics to *out when out is not NULL; returns sizeof(ralloc_stats_t) as the module defines it. O(1). */
RALLOC_IMPORT(ralloc_stats) size_t ralloc_stats(ralloc_stats_t *out);

/* [ralloc_import.c] Allocates size bytes at a multiple of align (any value from 1 up, power of two or not); NULL on failure; may call the OOM handler. Free with free(). O(1) plus growth. */
void *ralloc_alloc(size_t size, size_t align);

/* [import] As ralloc_alloc but fails with NULL at once when memory runs out: never calls an OOM handler. O(1) plus growth. */
RALLOC_IMPORT(ralloc_try_alloc) void *ralloc_try_alloc(size_t size, size_t align);

/* [import] Grows or shrinks ptr to size bytes without moving it; returns ptr, or NULL (ptr unchanged) when it cannot. Shrinking always succeeds. O(1). */
RALLOC_IMPORT(ralloc_inplace_realloc) void *ralloc_inplace_realloc(void *ptr, size_t size);

/* [import] Frees [ptr, ptr + size): all of a live block or a prefix, suffix or middle of it; 0, or 28 (EINVAL, nothing changed) when the range is not inside one live block. */
RALLOC_IMPORT(ralloc_dealloc) int ralloc_dealloc(void *ptr, size_t size);

/* [import] Adds [ptr, ptr + size), memory malloc never handed out (a static buffer, an sbrk region), to the heap; 0, or 28 (EINVAL) when it overlaps the heap or is too small. O(spans). */
RALLOC_IMPORT(ralloc_donate) int ralloc_donate(void *ptr, size_t size);

/* [import] Gives free memory at the top of the heap back to the break (for sbrk and later growth); returns the bytes given back. O(cached blocks). */
RALLOC_IMPORT(ralloc_trim) size_t ralloc_trim(void);

/* [ralloc_import.c] Sets the C out-of-memory handler (NULL removes it), for every thread; returns the previous one. O(1). */
ralloc_oom_handler_t ralloc_set_oom_handler(ralloc_oom_handler_t handler);

/* [ralloc_import.c] Sets the calling thread's own out-of-memory handler (NULL removes it), asked instead of the global one in this thread; returns the previous one. O(1). */
ralloc_oom_handler_t ralloc_set_thread_oom_handler(ralloc_oom_handler_t handler);

/* [import] A local heap over the caller's buffer [mem, mem + size), which it never grows; its handle, or 0 when the buffer is too small. O(1). */
RALLOC_IMPORT(ralloc_heap_over) ralloc_heap_t ralloc_heap_over(void *mem, size_t size);

/* [import] A local heap that grows in chunks taken from the global heap, starting with about bytes; its handle, or 0. O(1) plus one allocation. */
RALLOC_IMPORT(ralloc_heap_new) ralloc_heap_t ralloc_heap_new(size_t bytes);

/* [import] Allocates size bytes at a multiple of align in local heap h; NULL on failure or a bad handle. O(1) plus growth. */
RALLOC_IMPORT(ralloc_heap_alloc) void *ralloc_heap_alloc(ralloc_heap_t h, size_t size, size_t align);

/* [import] Frees ptr in local heap h; 0, or 28 (EINVAL) when ptr is not a live block of h. O(1). */
RALLOC_IMPORT(ralloc_heap_free) int ralloc_heap_free(ralloc_heap_t h, void *ptr);

/* [import] realloc within local heap h (realloc's rules). O(1) plus a copy when it moves. */
RALLOC_IMPORT(ralloc_heap_realloc) void *ralloc_heap_realloc(ralloc_heap_t h, void *ptr, size_t size);

/* [import] Usable bytes of live block ptr in local heap h, or 0. O(1). */
RALLOC_IMPORT(ralloc_heap_usable_size) size_t ralloc_heap_usable_size(ralloc_heap_t h, void *ptr);

/* [import] Releases local heap h and every block in it at once; 0, or 28 (EINVAL) for a bad handle. O(chunks). */
RALLOC_IMPORT(ralloc_heap_destroy) int ralloc_heap_destroy(ralloc_heap_t h);

/* [import] Walks local heap h: 0, a check code as ralloc_check's, or 28 (EINVAL) for a bad handle. O(heap size). */
RALLOC_IMPORT(ralloc_heap_check) int ralloc_heap_check(ralloc_heap_t h);

/* [import] Writes local heap h's statistics to *out when out is not NULL; returns the struct's size, or 0 for a bad handle. O(1). */
RALLOC_IMPORT(ralloc_heap_stats) size_t ralloc_heap_stats(ralloc_heap_t h, ralloc_stats_t *out);

/* --- Debug tools (every build but tiny exports them; the debug builds stop on misuse: docs/DEBUGGING.md) --- */

/* [import] Number of live blocks in the global heap; the debug builds report them as a leak (message and list) and stop when it is not 0. O(blocks). */
RALLOC_IMPORT(ralloc_assert_no_leak) unsigned ralloc_assert_no_leak(void);

/* [import] Sets the level of events sent to the host (0 none, 1 errors, 2 every operation, 3 pool events); returns the highest level the build has (0: none). O(1). */
RALLOC_IMPORT(ralloc_set_log_level) unsigned ralloc_set_log_level(unsigned level);

/* [import] Sets the 64-bit key of the guarded builds' check words, before the first allocation; 0, or 28 (EINVAL) once anything was allocated. O(1). */
RALLOC_IMPORT(ralloc_seed) int ralloc_seed(uint32_t lo, uint32_t hi);

/* [import] The next block of the global heap after block p (NULL: the first), or NULL at the end. O(1) per step. */
RALLOC_IMPORT(ralloc_walk) void *ralloc_walk(void *p);

/* [import] Size (header included; an object's size) | its kind in the low 4 bits (enum ralloc_block_kind) of block p from ralloc_walk. O(1). */
RALLOC_IMPORT(ralloc_block_info) uint32_t ralloc_block_info(void *p);

/* [import] Bytes asked for in in-use block p (guarded builds), or its usable bytes; 0 for a free block. O(1). */
RALLOC_IMPORT(ralloc_block_request) size_t ralloc_block_request(void *p);

/* [import] Allocation number of in-use block p (guarded builds; 0 otherwise). O(1). */
RALLOC_IMPORT(ralloc_block_serial) uint32_t ralloc_block_serial(void *p);

/* [import] Writes the layout of ralloc's memory to *out when out is not NULL; returns sizeof(ralloc_layout_t) as the module defines it. O(1). */
RALLOC_IMPORT(ralloc_layout) size_t ralloc_layout(ralloc_layout_t *out);

/* [import] The span after span s of the global heap (NULL: the first), as its link reads, or NULL at the end or when s is not a sound span. O(1). */
RALLOC_IMPORT(ralloc_span_next) void *ralloc_span_next(void *s);

/* [import] End of span s of the global heap, or NULL when s is not a sound span (its link was overwritten). O(1). */
RALLOC_IMPORT(ralloc_span_end) void *ralloc_span_end(void *s);

/* --- Threads (the threads build only: docs/THREADS.md) --- */

/* [import] The calling thread is done allocating: its empty memory goes back to the global part, and a heap with live blocks is left for another thread to adopt (its blocks stay valid: any thread may free them). Returns the live blocks left behind (0: none). O(spans + pages). */
RALLOC_IMPORT(ralloc_thread_exit) unsigned ralloc_thread_exit(void);

/* [import] Takes the global lock, waiting (memory.atomic.wait32) while another thread holds it; nested calls are counted. Lock reuse: the ralloc_locked_* calls that follow take it without waiting. O(1) uncontended. */
RALLOC_IMPORT(ralloc_lock) void ralloc_lock(void);

/* [import] Gives the global lock back (the outermost call releases it); 0, or 28 (EINVAL) when this thread does not hold it. O(1). */
RALLOC_IMPORT(ralloc_unlock) int ralloc_unlock(void);

/* [import] 1 when the calling thread holds the global lock, else 0. O(1). */
RALLOC_IMPORT(ralloc_lock_held) unsigned ralloc_lock_held(void);

/* [import] size bytes at a multiple of align (any value from 1 up) from the global part, under the global lock: a block no thread owns, which any thread frees with free or ralloc_locked_free. NULL on failure. O(1) plus growth. */
RALLOC_IMPORT(ralloc_locked_alloc) void *ralloc_locked_alloc(size_t size, size_t align);

/* [import] Frees ptr (as free does: a block of the global part under the lock, any other block where it belongs). O(1). */
RALLOC_IMPORT(ralloc_locked_free) void ralloc_locked_free(void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* RALLOC_H */
