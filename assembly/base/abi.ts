// abi.ts — every number a host reads from ralloc-wasm, defined once: errno values, the heap
// check's codes, the misuse reports' codes and operations, the event kinds, the kinds that
// ralloc_block_info returns, and the layout of the structs that ralloc_stats and ralloc_layout
// fill. The TypeScript bindings (bindings/abi.ts) and the C header (bindings/c/ralloc.h) say
// the same numbers; tests/abi.test.js reads this file and fails when either differs.
//
// Write each value as `export const NAME: u32 = <number>;` (a literal, one per line): the test
// parses exactly that form, and maps the prefixes CHECK_, M_, OP_, EV_, INFO_, ST_ and LY_ to
// the bindings' CHECK, REPORT, OP, EVENT, INFO, STATS and LAYOUT tables.

// ---- errno (wasi-libc's numbering) ---------------------------------------------------------------
export const EINVAL: i32 = 28;
export const ENOMEM: i32 = 48;

// ---- ralloc_check's codes (inspect/check.ts says what each means) ------------------------------
export const CHECK_SPAN: u32 = 1;
export const CHECK_SIZE: u32 = 2;
export const CHECK_BOUNDS: u32 = 3;
export const CHECK_PREV_BIT: u32 = 4;
export const CHECK_UNMERGED: u32 = 5;
export const CHECK_FOOTER: u32 = 6;
export const CHECK_STATE: u32 = 7;
export const CHECK_LINK: u32 = 8;
export const CHECK_CLASS: u32 = 9;
export const CHECK_BITMAP: u32 = 10;
export const CHECK_LIST_COUNT: u32 = 11;
export const CHECK_QUICK: u32 = 12;
export const CHECK_COUNTERS: u32 = 13;
export const CHECK_TAIL: u32 = 14;
export const CHECK_DEAD: u32 = 15;
export const CHECK_OVERLAP: u32 = 16;
export const CHECK_GUARD: u32 = 17;
export const CHECK_PAGE: u32 = 18;

// ---- misuse reports: ralloc_hooks.report(code, op, addr, size, aux) (diag/report.ts) -----------
//   code          message the host prints (OP is the operation's name, below)
//    1 USE_FREED  double free of A (N bytes) | OP of freed A (N bytes)
//    2 OUTSIDE    invalid OP of A (outside the heap)
//    3 MISALIGNED invalid OP of A (misaligned)
//    4 STATIC     invalid OP of A (static data, below the heap)
//    5 NEVER      invalid OP of A (never allocated)
//    6 INTERIOR   invalid OP of A (inside the N-byte block at B)
//    7 OVERFLOW   write past the end of A (N bytes), found by OP
//    8 BAD_HEADER corrupted header of A (N bytes), found by OP
//    9 BAD_LIST   corrupted free list at A (N bytes), found by OP
//   10 CHECK      heap check failed: NAME (code N) at A, after OP
//   11 LEAK       N blocks leaked (M bytes), then one line per live block
//   12 RANGE      invalid OP of A (N bytes: not inside one live block)
//   13 UNSEEDED   OP before the guard key was seeded (security build)
export const M_USE_FREED: u32 = 1;
export const M_OUTSIDE: u32 = 2;
export const M_MISALIGNED: u32 = 3;
export const M_STATIC: u32 = 4;
export const M_NEVER: u32 = 5;
export const M_INTERIOR: u32 = 6;
export const M_OVERFLOW: u32 = 7;
export const M_BAD_HEADER: u32 = 8;
export const M_BAD_LIST: u32 = 9;
export const M_CHECK: u32 = 10;
export const M_LEAK: u32 = 11;
export const M_RANGE: u32 = 12;
export const M_UNSEEDED: u32 = 13;

// The operations a report names (its `op` argument).
export const OP_FREE: u32 = 1;
export const OP_REALLOC: u32 = 2;
export const OP_USABLE: u32 = 3;
export const OP_DEALLOC: u32 = 4;
export const OP_INPLACE: u32 = 5;
export const OP_CHECK: u32 = 6;
export const OP_MALLOC: u32 = 7;
export const OP_LEAK: u32 = 8;
export const OP_HEAP_FREE: u32 = 9;
export const OP_HEAP_REALLOC: u32 = 10;
export const OP_HEAP_USABLE: u32 = 11;
export const OP_CALLOC: u32 = 12;
export const OP_ALIGNED: u32 = 13;
export const OP_ALLOC: u32 = 14;
export const OP_HEAP_ALLOC: u32 = 15;
export const OP_HEAP_CHECK: u32 = 16;

// ---- events: ralloc_hooks.event(kind, a, b, c, d) (diag/event.ts) ------------------------------
//   kind (level)  a            b            c          d
//   1 ALLOC   (2) p            n asked      align      serial
//   2 FREE    (2) p            n asked      serial
//   3 REALLOC (2) new p        new n        old p      old n      (new p == old p: in place)
//   4 DEALLOC (2) range start  length       block p               (a partial free)
//   5 GROW    (3) new memory   bytes        memory.grow calls so far
//   6 FLUSH   (3) bytes the quick lists gave back to the general lists
//   7 OOM     (3) n that memory could not meet, before the OOM handler is asked
//   8 TRIM    (3) bytes given back to the break
export const EV_ALLOC: u32 = 1;
export const EV_FREE: u32 = 2;
export const EV_REALLOC: u32 = 3;
export const EV_DEALLOC: u32 = 4;
export const EV_GROW: u32 = 5;
export const EV_FLUSH: u32 = 6;
export const EV_OOM: u32 = 7;
export const EV_TRIM: u32 = 8;

// ---- ralloc_block_info(p): size | kind, the kind in the low 4 bits -----------------------------
//   0 in use, 1 free, 4 cached (guarded builds' quick lists), 8 in use with a dead lead; release
//   adds 2 an object of a page in use (3: a free object slot), 6 a page, 10 the page table. Bit 1
//   marks release's kinds: a header's PREV_FREE bit would sit there, and info never shows it.
export const INFO_FREE: u32 = 1;
export const INFO_OBJECT: u32 = 2;
export const INFO_CACHED: u32 = 4;
export const INFO_PAGE: u32 = 6;
export const INFO_LEAD_DEAD: u32 = 8;
export const INFO_TABLE: u32 = 10;

// ---- the stats struct that ralloc_stats(out) fills, version 1 (64 bytes, little-endian) --------
//   ┌──────┬──────────────────────┬────────────────────────────────────────────────────┐
//   │    0 │ size            u32  │ bytes of this struct (64)                          │
//   │    4 │ version         u32  │ 1                                                  │
//   │    8 │ bytesInUse      u32  │ usable bytes of the live blocks (guarded builds:   │
//   │      │                      │ what they asked for, which is what they may use)   │
//   │   12 │ peakBytesHeld   u32  │ most bytes held at once by live and cached blocks, │
//   │      │                      │ headers included (so at least bytesInUse)          │
//   │   16 │ bytesFromMemory u32  │ memory given to the heap, its own metadata included│
//   │   20 │ growCalls       u32  │ memory.grow calls made by the shim                 │
//   │   24 │ mallocCalls     u64  │ successful malloc, calloc, aligned_alloc, … calls  │
//   │   32 │ freeCalls       u64  │ free calls that freed a block                      │
//   │   40 │ reallocCalls    u64  │ realloc calls                                      │
//   │   48 │ liveBlocks      u32  │ blocks handed out and not freed                    │
//   │   52 │ sbrkBytes       u32  │ bytes held by sbrk callers                         │
//   │   56 │ heapBase        u32  │ start of the heap                                  │
//   │   60 │ reserved        u32  │ 0                                                  │
//   └──────┴──────────────────────┴────────────────────────────────────────────────────┘
//   A later version only appends fields: read `size` before reading past it. The names are the
//   JS ones (HeapStats); C's are the same in snake_case (ralloc_stats_t), here in upper case.
export const STATS_SIZE: u32 = 64;
export const STATS_VERSION: u32 = 1;
export const ST_SIZE: u32 = 0;
export const ST_VERSION: u32 = 4;
export const ST_BYTES_IN_USE: u32 = 8;
export const ST_PEAK_BYTES_HELD: u32 = 12;
export const ST_BYTES_FROM_MEMORY: u32 = 16;
export const ST_GROW_CALLS: u32 = 20;
export const ST_MALLOC_CALLS: u32 = 24;
export const ST_FREE_CALLS: u32 = 32;
export const ST_REALLOC_CALLS: u32 = 40;
export const ST_LIVE_BLOCKS: u32 = 48;
export const ST_SBRK_BYTES: u32 = 52;
export const ST_HEAP_BASE: u32 = 56;
export const ST_RESERVED: u32 = 60;

// ---- the layout struct that ralloc_layout(out) fills, version 1 (8 × u32) ----------------------
//   ┌────┬─────────────┬──────────────────────────────────────────────────────────────────┐
//   │  0 │ version     │ 1                                                                │
//   │  4 │ shimBase    │ where ralloc's state starts (the program's data and stack below) │
//   │  8 │ shimEnd     │ end of the shim state                                            │
//   │ 12 │ root        │ the global heap's root (0 before the first allocation)           │
//   │ 16 │ rootSize    │ root size in bytes                                               │
//   │ 20 │ brk         │ the break (sbrk(0))                                              │
//   │ 24 │ memoryEnd   │ end of memory in bytes (0xFFFFFFFF at 4 GiB)                     │
//   │ 28 │ guardBytes  │ bytes a block carries beyond its request (0 unless guarded)      │
//   └────┴─────────────┴──────────────────────────────────────────────────────────────────┘
//   All u32. Memory in [shimEnd, brk) that is neither the root nor a span was handed out by
//   sbrk (or grown by someone else). Names as for the stats struct (HeapLayout, ralloc_layout_t).
export const LAYOUT_SIZE: u32 = 32;
export const LAYOUT_VERSION: u32 = 1;
export const LY_VERSION: u32 = 0;
export const LY_SHIM_BASE: u32 = 4;
export const LY_SHIM_END: u32 = 8;
export const LY_ROOT: u32 = 12;
export const LY_ROOT_SIZE: u32 = 16;
export const LY_BRK: u32 = 20;
export const LY_MEMORY_END: u32 = 24;
export const LY_GUARD_BYTES: u32 = 28;
