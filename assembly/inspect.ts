// inspect.ts — the heap as a host sees it: a walk of the global heap's blocks and spans, the
// layout of ralloc's memory, leaks, the event level and the key of the guarded builds. The heap
// map (bindings/heapmap.ts), leak lists and log lines are drawn host-side from these exports.
//
//   ralloc_layout's struct, version 1 (8 × u32)
//   ┌────┬──────────────────────────────────────────────────────────────────────────────┐
//   │  0 │ version (1)                                                                  │
//   │  4 │ shim base: where ralloc's state starts; the program's data and stack are below│
//   │  8 │ end of the shim state                                                        │
//   │ 12 │ the global heap's root (0 before the first allocation)                       │
//   │ 16 │ root size in bytes                                                           │
//   │ 20 │ the break (sbrk(0))                                                          │
//   │ 24 │ end of memory in bytes (0xFFFFFFFF at 4 GiB)                                 │
//   │ 28 │ guard bytes a block carries beyond its request (0 unless guarded)            │
//   └────┴──────────────────────────────────────────────────────────────────────────────┘
//   Memory in [shim end, break) that is neither the root nor a span was handed out by sbrk
//   (or grown by someone else).

import { HEADER, MIN_BLOCK, FREE, CACHED, META, PREV_FREE, SIZE_MASK, header, sizeOf } from "./block";
import { ROOT_SIZE, R_SPANS, R_LO, R_HI, field } from "./root";
import { spanNext, spanEnd, spanFirst } from "./span";
import { shimReady, shimBase, shimBreak, SHIM_SIZE } from "./shim";
import { GUARDED, DEBUG, PAGES } from "./config";
import { pageOf, pageIntact, objectSize, objectLive, firstOf, capacityOf, isTable } from "./page";
import { GUARD, guardSeed, guardsMade, requestOf, serialOf } from "./guard";
import { leadOf } from "./range";
import { report, M_LEAK, OP_LEAK } from "./misuse";
import { setEventLevel } from "./event";
import { EINVAL, globalHeapRoot } from "./cabi";

/** The span of the global heap whose blocks end at `end` (its tail), or 0. O(spans). */
function spanEndingAt(r: usize, end: usize): usize {
  for (let s = <usize>field(r, R_SPANS), n = 0; s && n < 0x10000; s = spanNext(s), ++n) {
    if (spanEnd(s) == end) return s;
  }
  return 0;
}

/** The next block of the global heap after block p (p = 0: the first), span after span in the
 *  root's span order; 0 at the end. In release a page is followed by each of its objects, free
 *  or live. O(1) within a span, O(spans) from one span to the next. */
export function ralloc_walk(p: usize): usize {
  let r = globalHeapRoot();
  if (!r) return 0;
  let s: usize;
  if (p == 0) {
    s = <usize>field(r, R_SPANS);
  } else {
    if (!inHeap(r, p)) return 0;
    if (PAGES) {
      // Release: after a page come its objects, one by one; after its last, the next block.
      let pg = pageOf(r, p);
      if (pg) {
        if (!pageIntact(pg)) return 0; // a broken page header: stop
        let size = objectSize(pg), first = pg + firstOf(pg);
        let q = p == pg ? first : p + size;
        if (q < first + capacityOf(pg) * size) return q;
        p = pg;
      }
    }
    if (!sizeInHeap(r, p)) return 0; // not a block, or a broken one: stop
    let size = sizeOf(p);
    let q = p + size;
    if (header(q) & SIZE_MASK) return q; // the next block of the same span
    let span = spanEndingAt(r, q); // q is a span's tail
    s = span ? spanNext(span) : 0;
  }
  return s ? spanFirst(s) : 0;
}

/** Whether p is 16-aligned and inside heap r's blocks ([R_LO, R_HI)). O(1). */
function inHeap(r: usize, p: usize): bool {
  return (p & 15) == 0 && p >= <usize>field(r, R_LO) && p < <usize>field(r, R_HI);
}

/** Whether block p of heap r has a size that ends inside the heap: the walk of a corrupted heap
 *  ends at the first block that has not, rather than loop or read past the heap. O(1). */
function sizeInHeap(r: usize, p: usize): bool {
  let size = sizeOf(p);
  return size >= MIN_BLOCK && size <= <usize>field(r, R_HI) - p;
}

/** Whether p and the block its header describes lie in memory, so its header and trailer can be
 *  read (any heap's block: local heaps may lie outside the global one). A pointer or a size
 *  that a program wrote wrong gets 0 from the calls below instead of a trap. O(1). */
function blockInMemory(p: usize): bool {
  let end = <u64>memory.size() << 16;
  if ((p & 15) != 0 || p < 16 || <u64>p >= end) return false;
  let size = <u64>sizeOf(p);
  return size >= MIN_BLOCK && <u64>p + size <= end;
}

/** Release: the page whose object slot p is (p walked as an object, not the page itself), or 0. */
function objectPage(p: usize): usize {
  let r = globalHeapRoot();
  let pg = r ? pageOf(r, p) : 0;
  return pg != p ? pg : 0;
}

/** ralloc_block_info's kinds in the release build (page.ts), marked by bit 1, which a header's
 *  PREV_FREE bit would hold and info never shows: */
export const INFO_OBJECT: u32 = 2; // an object of a page, no header (| 1 FREE when free)
export const INFO_PAGE: u32 = 6; // a page of small objects, ralloc's own; its objects follow it
export const INFO_TABLE: u32 = 10; // the page table, ralloc's own

/** Block p's size (header included; an object's size) and state in its low 4 bits: 0 in use,
 *  1 FREE, 4 CACHED, 8 LEAD_DEAD (in use); release adds 2 / 3 an object in use / free, 6 a page,
 *  10 the page table. O(1). */
export function ralloc_block_info(p: usize): u32 {
  if (p < HEADER || <u64>p > <u64>memory.size() << 16) return 0; // its header is not in memory
  let h = header(p) & ~PREV_FREE;
  if (PAGES) {
    let pg = objectPage(p);
    if (pg) return <u32>objectSize(pg) | INFO_OBJECT | (objectLive(pg, p) ? 0 : FREE);
    if (h & META) return (h & SIZE_MASK) | (isTable(globalHeapRoot(), p) ? INFO_TABLE : INFO_PAGE);
  }
  return h;
}

/** Bytes the program asked for in block p (guarded builds), or its usable bytes (others); 0
 *  for a free or cached block and for ralloc's own. O(1). */
export function ralloc_block_request(p: usize): usize {
  if (PAGES) {
    let pg = objectPage(p);
    if (pg) return objectLive(pg, p) ? objectSize(pg) : 0;
  }
  if (!blockInMemory(p)) return 0;
  let h = header(p);
  if (h & (FREE | CACHED)) return 0;
  return GUARDED ? requestOf(p) : (<usize>(h & SIZE_MASK)) - HEADER - leadOf(p);
}

/** Allocation number of in-use block p (guarded builds; 0 otherwise and for free blocks). O(1). */
export function ralloc_block_serial(p: usize): u32 {
  if (!GUARDED || !blockInMemory(p) || (header(p) & (FREE | CACHED))) return 0;
  return serialOf(p);
}

/** The span after span s of the global heap (s = 0: the first), or 0. O(1). */
export function ralloc_span_next(s: usize): usize {
  if (s) return spanNext(s);
  let r = globalHeapRoot();
  return r ? <usize>field(r, R_SPANS) : 0;
}

/** End of span s. O(1). */
export function ralloc_span_end(s: usize): usize {
  return spanEnd(s);
}

/** Writes the layout struct (above) at out unless out is 0; returns its size. O(1). */
export function ralloc_layout(out: usize): usize {
  if (out) {
    let base = shimReady() ? shimBase() : 0;
    let memEnd = <u64>memory.size() << 16;
    store<u32>(out, 1, 0);
    store<u32>(out, <u32>base, 4);
    store<u32>(out, base ? <u32>(base + SHIM_SIZE) : 0, 8);
    store<u32>(out, <u32>globalHeapRoot(), 12);
    store<u32>(out, <u32>ROOT_SIZE, 16);
    store<u32>(out, base ? <u32>shimBreak() : 0, 20);
    store<u32>(out, memEnd > 0xFFFF_FFFF ? 0xFFFF_FFFF : <u32>memEnd, 24);
    store<u32>(out, GUARDED ? <u32>GUARD : 0, 28);
  }
  return 32;
}

/** Live (in-use) blocks of the global heap; the debug builds report them as a leak and stop
 *  when there are any. O(blocks). */
export function ralloc_assert_no_leak(): u32 {
  let count: u32 = 0;
  let bytes: usize = 0;
  for (let p = ralloc_walk(0); p; p = ralloc_walk(p)) {
    let info = ralloc_block_info(p) & 15;
    if ((info & (FREE | CACHED)) != 0 || info == INFO_TABLE) continue; // (a page has CACHED's bit)
    count++;
    bytes += ralloc_block_request(p);
  }
  if (DEBUG && count) report(M_LEAK, OP_LEAK, count, bytes, 0);
  return count;
}

/** Sets the level of events sent to the host (0 none, 1 errors, 2 every operation, 3 pool
 *  events too); returns the highest level this build has (0: it sends none). O(1). */
export function ralloc_set_log_level(level: u32): u32 {
  return setEventLevel(level);
}

/** Sets the 64-bit key of the guarded builds' check words; before the first allocation only
 *  (of any heap). Returns 0, or EINVAL once the heap exists. Harmless where nothing is guarded. */
export function ralloc_seed(lo: u32, hi: u32): i32 {
  if (globalHeapRoot() || guardsMade()) return EINVAL;
  guardSeed(lo, hi);
  return 0;
}
