/*
 * ralloc.h -- the extended API of ralloc-wasm, for C programs compiled to wasm32.
 *
 * The standard malloc family (malloc, free, calloc, realloc, aligned_alloc,
 * posix_memalign, memalign, malloc_usable_size) keeps its usual <stdlib.h> and
 * <malloc.h> declarations; compile bindings/c/ralloc_import.c into the program to
 * have ralloc-wasm serve them instead of wasi-libc's dlmalloc.
 *
 * Every call below is a wasm import from the module "ralloc". It is satisfied
 * either at instantiation (the JS bindings hand the allocator's exports to the
 * program: instantiateProgram) or ahead of time (linkStatic / `ralloc-wasm link`
 * merges the allocator into the program). Pointers and sizes are 32-bit.
 *
 * Available in the allocator module today: ralloc_init, ralloc_check, ralloc_stats.
 * Specified in DESIGN.md but NOT yet exported by the allocator, so deliberately not
 * declared here (a declaration would become an import that fails to link):
 *   ralloc_alloc(size, align)         any alignment, powers of two or not
 *   ralloc_try_alloc(size, align)     like ralloc_alloc, never calls the OOM handler
 *   ralloc_inplace_realloc(ptr, size) grows or shrinks without moving, or fails with 0
 *   ralloc_dealloc(ptr, size)         sized free, also of part of a live block
 *   ralloc_donate(ptr, size)          adds memory malloc never handed out to the pool
 *   ralloc_set_oom_handler(...)       sets the out-of-memory handler
 *   ralloc_trim()                     gives unused memory back
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

/* Starts the heap at heap_base (normally &__heap_base); 0 on success, 28 (EINVAL) once the heap has started. O(1). */
RALLOC_IMPORT(ralloc_init) int ralloc_init(void *heap_base);

/* Walks the whole heap: 0 if every invariant holds, else a nonzero code naming the first broken one. O(heap size). */
RALLOC_IMPORT(ralloc_check) int ralloc_check(void);

/* Writes the statistics to *out when out is not NULL; returns sizeof(ralloc_stats_t) as the module defines it. O(1). */
RALLOC_IMPORT(ralloc_stats) size_t ralloc_stats(ralloc_stats_t *out);

#ifdef __cplusplus
}
#endif

#endif /* RALLOC_H */
