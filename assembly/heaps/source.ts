// source.ts — where a heap's memory comes from when it runs out (its growth policy), and where
// it goes back to when it is trimmed.
//
// The core heap never asks where memory comes from (it is handed spans); this file is the one
// place that decides, per heap, from the root's `source` field (base/root.ts):
//   FIXED  the memory it was given and nothing more (a local heap over a buffer, a test arena)
//   SHIM   memory.grow through the shim, geometrically (the global heap)
//   POOL   chunks taken from the global heap, doubling (a local heap grown from it)

import { ALIGN, HEADER, PREV_FREE, sizeOf, header, prevFreeOf } from "../base/block";
import { R_SOURCE, R_CLAIMED, R_SPANS, SOURCE_SHIM, SOURCE_POOL, ROOT_MAGIC, field } from "../base/root";
import { MEMTRIM_LIMIT, GUARDED, THREADS, THREAD_CHUNK } from "../base/config";
import { EV_GROW, EV_TRIM } from "../base/abi";
import {
  skipForeignGrowth, shimClaim, shimBreak, shimRelease, shimReady, shimGrowCalls, memoryBytes,
} from "../platform/shim";
import { GUARD, guardedBlockFor, guardSet, nextSerial, requestOf } from "../diag/guard";
import { poolEvent } from "../diag/event";
import { SPAN_OVERHEAD, spanEnd, truncateTop } from "../core/span";
import { heapAddMemory, takeBlock } from "../core/heap";
import { noteAlloc } from "../core/counters";
import { heapAlloc, flushCaches } from "../small/front";
import { threadChunk } from "./thread";
import { globalHeapRoot } from "./global";

/** The source of heap r. O(1). */
@inline export function sourceOf(r: usize): u32 {
  return field(r, R_SOURCE) & 0xFFFF;
}

/** Whether h looks like a live heap root: aligned, inside memory, with the root mark. O(1). */
export function isHeapRoot(h: usize): bool {
  return h != 0 && (h & 15) == 0 && <u64>h + 64 <= memoryBytes()
    && (field(h, R_SOURCE) & 0xFFFF_0000) == ROOT_MAGIC;
}

/** Gets heap r more memory, enough for a block of size s, from its source: returns the free
 *  block that holds it (the new memory, merged with a free block before it), or 0 when the
 *  source has none. O(1), plus one memory.grow (SHIM) or one allocation from the global heap
 *  (POOL). */
export function growHeap(r: usize, s: usize): usize {
  let source = sourceOf(r);
  if (source == SOURCE_SHIM) {
    // The break first moves past any memory grown by others: the free block ending the newest
    // span extends new memory only when that span still ends at the break.
    skipForeignGrowth();
    let top = topFree(r);
    let start = shimClaim((s > top ? s - top : 0) + SPAN_OVERHEAD + ALIGN);
    if (!start) return 0;
    poolEvent(EV_GROW, start, shimBreak() - start, shimGrowCalls());
    return heapAddMemory(r, start, shimBreak());
  }
  let pool = globalHeapRoot();
  if (source == SOURCE_POOL && pool != 0) {
    let need = s + SPAN_OVERHEAD + ALIGN;
    let more = <usize>field(r, R_CLAIMED);
    if (THREADS) more = min<usize>(more, THREAD_CHUNK); // a thread heap's chunks stop doubling there
    let chunk = takeChunk(max<usize>(need, more), r); // double the heap when it can
    if (!chunk) chunk = takeChunk(need, r);
    return chunk ? heapAddMemory(r, chunk, chunkEnd(chunk)) : 0;
  }
  return 0;
}

/** Gets heap r more memory for a block of size s and takes that block, or returns 0. It takes
 *  the new block directly, never through a rounded-up search, so growth never falls short of
 *  what the search would ask. O(1), plus growHeap. */
export function growFor(r: usize, s: usize): usize {
  let p = growHeap(r, s);
  return p && sizeOf(p) >= s ? takeBlock(r, p, s) : 0;
}

/** Bytes of the free block that ends heap r's newest span when that span ends at the break:
 *  new memory extends it, so growth needs only the rest. O(1). */
function topFree(r: usize): usize {
  let sp = <usize>field(r, R_SPANS);
  if (!sp) return 0;
  let end = spanEnd(sp);
  return end == shimBreak() && (header(end) & PREV_FREE) != 0 ? sizeOf(prevFreeOf(end)) : 0;
}

/** A block of at least `bytes` from the global heap (counted there as a live block; guarded
 *  like any other in the guarded builds), for a POOL heap's root or span (`heap`, when it
 *  exists); 0 when the global heap cannot give it. Its usable end is chunkEnd. The threads
 *  build takes it from the hub's global part, mapped to its owner. O(1), plus growth. */
export function takeChunk(bytes: usize, heap: usize = 0): usize {
  if (THREADS) return threadChunk(bytes, heap); // the hub's, under its lock
  let pool = globalHeapRoot();
  let s = GUARDED ? guardedBlockFor(bytes) : (bytes + HEADER + 15) & ~15;
  let p = heapAlloc(pool, s);
  if (!p) p = growFor(pool, s);
  if (p) {
    noteAlloc(pool, sizeOf(p)); // a live block of the global heap
    if (GUARDED) guardSet(p, sizeOf(p) - HEADER - GUARD, nextSerial(), false);
  }
  return p;
}

/** End of the memory a chunk from takeChunk gives its local heap (its guard stays out). O(1). */
export function chunkEnd(chunk: usize): usize {
  return GUARDED ? chunk + requestOf(chunk) : chunk + sizeOf(chunk) - HEADER;
}

/** Gives the free memory at the top of heap r back to the shim's break, where sbrk and later
 *  growth find it (SHIM heaps only). Returns the bytes given back. O(cached blocks). */
export function trimTop(r: usize): usize {
  if (sourceOf(r) != SOURCE_SHIM || !shimReady()) return 0;
  flushCaches(r);
  let top = shimBreak();
  let end = truncateTop(r, top);
  if (!end) return 0;
  shimRelease(end, top);
  poolEvent(EV_TRIM, top - end, 0, 0);
  return top - end;
}

/** The MEMTRIM_LIMIT knob: trims heap r when the free block at its top has reached the limit.
 *  Compiled away when the knob is 0. O(1), plus the trim. */
@inline export function autoTrim(r: usize): void {
  if (MEMTRIM_LIMIT > 0) {
    let s = <usize>field(r, R_SPANS);
    if (!s) return;
    let end = spanEnd(s);
    if (end == shimBreak() && (header(end) & PREV_FREE) != 0 && sizeOf(prevFreeOf(end)) >= MEMTRIM_LIMIT) {
      trimTop(r);
    }
  }
}
