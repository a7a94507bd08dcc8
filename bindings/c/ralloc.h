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
    uint32_t peak_bytes_in_use; /* highest bytes_in_use so far */
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

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(ralloc_stats_t) == 64, "ralloc_stats_t must be 64 bytes");
_Static_assert(offsetof(ralloc_stats_t, malloc_calls) == 24, "ralloc_stats_t layout");
_Static_assert(offsetof(ralloc_stats_t, heap_base) == 56, "ralloc_stats_t layout");
#endif

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

/* [ralloc_import.c] Sets the C out-of-memory handler (NULL removes it); returns the previous one. O(1). */
ralloc_oom_handler_t ralloc_set_oom_handler(ralloc_oom_handler_t handler);

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

/* --- Debug tools (every build exports them; the debug builds stop on misuse, see the README) --- */

/* [import] Number of live blocks in the global heap; the debug builds report them as a leak (message and list) and stop when it is not 0. O(blocks). */
RALLOC_IMPORT(ralloc_assert_no_leak) unsigned ralloc_assert_no_leak(void);

/* [import] Sets the level of events sent to the host (0 none, 1 errors, 2 every operation, 3 pool events); returns the highest level the build has (0: none). O(1). */
RALLOC_IMPORT(ralloc_set_log_level) unsigned ralloc_set_log_level(unsigned level);

/* [import] Sets the 64-bit key of the guarded builds' check words, before the first allocation; 0, or 28 (EINVAL) once anything was allocated. O(1). */
RALLOC_IMPORT(ralloc_seed) int ralloc_seed(uint32_t lo, uint32_t hi);

/* [import] The next block of the global heap after block p (NULL: the first), or NULL at the end. O(1) per step. */
RALLOC_IMPORT(ralloc_walk) void *ralloc_walk(void *p);

/* [import] Size (header included) | state bits of block p from ralloc_walk: 1 free, 4 cached, 8 lead bytes freed. O(1). */
RALLOC_IMPORT(ralloc_block_info) uint32_t ralloc_block_info(void *p);

/* [import] Bytes asked for in in-use block p (guarded builds), or its usable bytes; 0 for a free block. O(1). */
RALLOC_IMPORT(ralloc_block_request) size_t ralloc_block_request(void *p);

/* [import] Allocation number of in-use block p (guarded builds; 0 otherwise). O(1). */
RALLOC_IMPORT(ralloc_block_serial) uint32_t ralloc_block_serial(void *p);

#ifdef __cplusplus
}
#endif

#endif /* RALLOC_H */
