/**
 * Every number the bindings read from a ralloc-wasm module: errno values, the
 * heap check's codes, the misuse reports' codes and operations, the event
 * kinds, the kinds `ralloc_block_info` returns, and the offsets of the stats
 * and layout structs. The allocator defines them in `assembly/base/abi.ts`;
 * `tests/abi.test.js` fails when this file or `bindings/c/ralloc.h` says
 * otherwise.
 *
 * @module
 */

/** errno values (wasi-libc's numbering). */
export const ERRNO = { EINVAL: 28, ENOMEM: 48 } as const;

/** `ralloc_check`'s codes: 0 is a sound heap. */
export const CHECK = {
  SPAN: 1,
  SIZE: 2,
  BOUNDS: 3,
  PREV_BIT: 4,
  UNMERGED: 5,
  FOOTER: 6,
  STATE: 7,
  LINK: 8,
  CLASS: 9,
  BITMAP: 10,
  LIST_COUNT: 11,
  QUICK: 12,
  COUNTERS: 13,
  TAIL: 14,
  DEAD: 15,
  OVERLAP: 16,
  GUARD: 17,
  PAGE: 18,
} as const;

/** Misuse report codes (the `code` argument of `ralloc_hooks.report`). */
export const REPORT = {
  USE_FREED: 1,
  OUTSIDE: 2,
  MISALIGNED: 3,
  STATIC: 4,
  NEVER: 5,
  INTERIOR: 6,
  OVERFLOW: 7,
  BAD_HEADER: 8,
  BAD_LIST: 9,
  CHECK: 10,
  LEAK: 11,
  RANGE: 12,
  UNSEEDED: 13,
} as const;

/** The operations a report names (its `op` argument), by their C names. */
export const OP = {
  FREE: 1,
  REALLOC: 2,
  USABLE: 3,
  DEALLOC: 4,
  INPLACE: 5,
  CHECK: 6,
  MALLOC: 7,
  LEAK: 8,
  HEAP_FREE: 9,
  HEAP_REALLOC: 10,
  HEAP_USABLE: 11,
  CALLOC: 12,
  ALIGNED: 13,
  ALLOC: 14,
  HEAP_ALLOC: 15,
  HEAP_CHECK: 16,
} as const;

/** Event kind numbers (the `kind` argument of `ralloc_hooks.event`). */
export const EVENT = {
  ALLOC: 1,
  FREE: 2,
  REALLOC: 3,
  DEALLOC: 4,
  GROW: 5,
  FLUSH: 6,
  OOM: 7,
  TRIM: 8,
} as const;

/**
 * `ralloc_block_info`'s low 4 bits: 0 in use, FREE, CACHED (a guarded build's
 * quick list), LEAD_DEAD (in use, its first bytes freed); the release build's
 * kinds have bit 1 set: OBJECT (with FREE: a free object slot), PAGE, TABLE.
 */
export const INFO = { FREE: 1, OBJECT: 2, CACHED: 4, PAGE: 6, LEAD_DEAD: 8, TABLE: 10 } as const;

/** The stats struct `ralloc_stats` fills: its size, version and each field's offset. */
export const STATS = {
  SIZE: 64,
  VERSION: 1,
  OFFSET: {
    size: 0,
    version: 4,
    bytesInUse: 8,
    peakBytesHeld: 12,
    bytesFromMemory: 16,
    growCalls: 20,
    mallocCalls: 24,
    freeCalls: 32,
    reallocCalls: 40,
    liveBlocks: 48,
    sbrkBytes: 52,
    heapBase: 56,
    reserved: 60,
  },
} as const;

/** The layout struct `ralloc_layout` fills: its size, version and each u32 field's offset. */
export const LAYOUT = {
  SIZE: 32,
  VERSION: 1,
  OFFSET: {
    version: 0,
    shimBase: 4,
    shimEnd: 8,
    root: 12,
    rootSize: 16,
    brk: 20,
    memoryEnd: 24,
    guardBytes: 28,
  },
} as const;
