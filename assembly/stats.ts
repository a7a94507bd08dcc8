// stats.ts — the counters every heap keeps, and the versioned struct ralloc_stats fills.
//
//   the stats struct, version 1 (64 bytes, little-endian)
//   ┌──────┬────────────────────┬──────────────────────────────────────────────────────┐
//   │    0 │ size          u32  │ bytes of this struct (64)                            │
//   │    4 │ version       u32  │ 1                                                    │
//   │    8 │ bytesInUse    u32  │ usable bytes of the live blocks (guarded builds: what│
//   │      │                    │ they asked for, which is what they may use)          │
//   │   12 │ peakHeld      u32  │ most bytes held at once by live and cached blocks,   │
//   │      │                    │ headers included (so at least bytesInUse)            │
//   │   16 │ bytesClaimed  u32  │ memory given to the heap, its own metadata included  │
//   │   20 │ growCalls     u32  │ memory.grow calls made by the shim                   │
//   │   24 │ mallocCalls   u64  │ successful malloc, calloc, aligned_alloc, … calls    │
//   │   32 │ freeCalls     u64  │ free calls that freed a block                        │
//   │   40 │ reallocCalls  u64  │ realloc calls                                        │
//   │   48 │ liveBlocks    u32  │ blocks handed out and not freed (malloc - free calls)│
//   │   52 │ sbrkBytes     u32  │ bytes held by sbrk callers                           │
//   │   56 │ heapBase      u32  │ start of the heap                                    │
//   │   60 │ (reserved, 0)      │                                                      │
//   └──────┴────────────────────┴──────────────────────────────────────────────────────┘
//   A later version only appends fields: read `size` before reading past it.

import { HEADER, MIN_BLOCK, FREE, CACHED, SIZE_MASK, header } from "./block";
import { spanNext, spanEnd, spanFirst } from "./span";
import { GUARDED, PAGES } from "./config";
import { pageLive, pageOf, pageIntact } from "./page";
import { requestOf } from "./guard";
import {
  R_FREE_BYTES, R_PEAK_HELD, R_BLOCK_BYTES, R_QUICK_BYTES, R_CLAIMED, R_SPLITS, R_MALLOCS, R_FREES,
  R_REALLOCS, R_SPANS, field, setField,
} from "./root";
import { shimGrowCalls, shimSbrkHeld, shimBase } from "./shim";

export const STATS_SIZE: usize = 64;
export const STATS_VERSION: u32 = 1;

/** Counts an allocation (of a block of size s). O(1): one counter; bytes in use are derived. */
@inline export function noteAlloc(r: usize, s: usize): void {
  store<u64>(r + R_MALLOCS, load<u64>(r + R_MALLOCS) + 1);
}

/** Counts the freeing of a block (of size s). O(1): one counter. */
@inline export function noteFree(r: usize, s: usize): void {
  store<u64>(r + R_FREES, load<u64>(r + R_FREES) + 1);
}

/** Live blocks: every counted allocation, plus blocks split off by partial frees, minus every
 *  counted free. O(1). */
export function liveBlocks(r: usize): u32 {
  return <u32>(load<u64>(r + R_MALLOCS) - load<u64>(r + R_FREES)) + field(r, R_SPLITS);
}

/** Bytes of the blocks not in the free lists: live blocks and cached ones, headers included.
 *  Changes only on the general path. O(1). */
@inline export function heldBytes(r: usize): u32 {
  return field(r, R_BLOCK_BYTES) - field(r, R_FREE_BYTES);
}

/** Usable bytes of the live blocks. The small build derives them: held bytes, less the cache,
 *  less a header per live block, O(1). In the guarded builds a block's usable bytes are exactly
 *  its request (guard.ts), and in release small objects live in pages (page.ts), so there they
 *  are summed by a walk: O(blocks + page objects). Nothing on the fast paths keeps a count. */
export function bytesInUse(r: usize): u32 {
  if (GUARDED || PAGES) return walkedBytes(r);
  return heldBytes(r) - field(r, R_QUICK_BYTES) - <u32>HEADER * liveBlocks(r);
}

/** Sum over heap r's live blocks of what they asked for (guarded builds), or of their usable
 *  bytes, with the live objects of each page (release). O(blocks + page objects). */
function walkedBytes(r: usize): u32 {
  let sum: u32 = 0;
  for (let s = <usize>field(r, R_SPANS); s; s = spanNext(s)) {
    let end = spanEnd(s);
    for (let p = spanFirst(s); p < end; ) {
      let h = header(p);
      let size = <usize>(h & SIZE_MASK);
      if (size < MIN_BLOCK || size > end - p) break; // a broken heap: check.ts says so
      if ((h & (FREE | CACHED)) == 0) sum += GUARDED ? <u32>requestOf(p) : <u32>(size - HEADER);
      else if (PAGES && (h & FREE) == 0 && pageOf(r, p) == p && pageIntact(p)) sum += <u32>(pageLive(p) >> 32);
      p += size;
    }
  }
  return sum;
}

/** Raises the peak of held bytes; called where they can grow (the general path hands out a
 *  block, a block grows in place). O(1). */
@inline export function noteHeld(r: usize): void {
  let held = heldBytes(r);
  if (held > field(r, R_PEAK_HELD)) setField(r, R_PEAK_HELD, held);
}

/** Counts a realloc call. O(1). */
@inline export function noteRealloc(r: usize): void {
  store<u64>(r + R_REALLOCS, load<u64>(r + R_REALLOCS) + 1);
}

/** Writes heap r's stats struct at out (r may be 0: a heap not yet made). O(1). */
export function writeStats(r: usize, out: usize): void {
  writeStatsStruct(out, r ? bytesInUse(r) : 0, r ? field(r, R_PEAK_HELD) : 0, r ? field(r, R_CLAIMED) : 0,
    r ? load<u64>(r + R_MALLOCS) : 0, r ? load<u64>(r + R_FREES) : 0, r ? load<u64>(r + R_REALLOCS) : 0,
    r ? liveBlocks(r) : 0, shimGrowCalls(), shimSbrkHeld(), <u32>shimBase());
}

/** Writes the stats struct (version 1, the layout above) at out from its fields. O(1). */
export function writeStatsStruct(
  out: usize, inUse: u32, peakHeld: u32, claimed: u32, mallocs: u64, frees: u64, reallocs: u64,
  live: u32, growCalls: u32, sbrkHeld: u32, heapBase: u32,
): void {
  store<u32>(out, <u32>STATS_SIZE, 0);
  store<u32>(out, STATS_VERSION, 4);
  store<u32>(out, inUse, 8);
  store<u32>(out, peakHeld, 12);
  store<u32>(out, claimed, 16);
  store<u32>(out, growCalls, 20);
  store<u64>(out, mallocs, 24);
  store<u64>(out, frees, 32);
  store<u64>(out, reallocs, 40);
  store<u32>(out, live, 48);
  store<u32>(out, sbrkHeld, 52);
  store<u32>(out, heapBase, 56);
  store<u32>(out, 0, 60);
}
