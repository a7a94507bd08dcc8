// walk.ts — the heap as a host sees it: a walk of the global heap's blocks and spans, what each
// block is, the layout of ralloc's memory (its struct: base/abi.ts), and leaks. The heap map
// (bindings/heapmap.ts), leak lists and log lines are drawn host-side from these exports.

import { HEADER, MIN_BLOCK, FREE, CACHED, META, PREV_FREE, SIZE_MASK, header, sizeOf } from "../base/block";
import { ROOT_SIZE, R_SPANS, R_LO, R_HI, field } from "../base/root";
import { GUARDED, DEBUG, PAGES } from "../base/config";
import {
  INFO_OBJECT, INFO_PAGE, INFO_TABLE, M_LEAK, OP_LEAK, LAYOUT_SIZE, LAYOUT_VERSION, LY_VERSION,
  LY_SHIM_BASE, LY_SHIM_END, LY_ROOT, LY_ROOT_SIZE, LY_BRK, LY_MEMORY_END, LY_GUARD_BYTES,
} from "../base/abi";
import { shimReady, shimBase, shimBreak, memoryBytes, SHIM_SIZE } from "../platform/shim";
import { report } from "../diag/report";
import { GUARD, requestOf, serialOf } from "../diag/guard";
import { MAX_SPANS, spanNext, spanEnd, spanFirst, spanSound, spanHead, spanAfter } from "../core/span";
import { pageOf, pageIntact, objectSize, objectLive, firstOf, capacityOf, isTable } from "../small/page";
import { globalHeapRoot } from "../heaps/global";
import { leadOf } from "../features/range";

/** The span of the global heap whose blocks end at `end` (its tail), or 0. O(spans). */
function spanEndingAt(r: usize, end: usize): usize {
  for (let s = spanHead(r), n: u32 = 0; s && n < MAX_SPANS; s = spanAfter(r, s), ++n) {
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
    s = spanHead(r);
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
    s = span ? spanAfter(r, span) : 0;
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
  let end = memoryBytes();
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

/** Block p's size (header included; an object's size) and state in its low 4 bits: 0 in use,
 *  1 FREE, 4 CACHED, 8 LEAD_DEAD (in use); release adds 2 / 3 an object in use / free, 6 a page,
 *  10 the page table. O(1). */
export function ralloc_block_info(p: usize): u32 {
  if (p < HEADER || <u64>p > memoryBytes()) return 0; // its header is not in memory
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

/** The link to the span after span s of the global heap (s = 0: the first), as it is in
 *  memory, so a host can see a broken one; 0 at the end, or when s is not a sound span of the
 *  heap (core/span.ts spanSound). O(1). */
export function ralloc_span_next(s: usize): usize {
  let r = globalHeapRoot();
  if (!r) return 0;
  if (!s) return <usize>field(r, R_SPANS);
  return spanSound(r, s) ? spanNext(s) : 0;
}

/** End of span s of the global heap, or 0 when s is not a sound span of it (a link the program
 *  overwrote): the host then knows the span list is broken. O(1). */
export function ralloc_span_end(s: usize): usize {
  let r = globalHeapRoot();
  return r && spanSound(r, s) ? spanEnd(s) : 0;
}

/** Writes the layout struct (base/abi.ts) at out unless out is 0; returns its size. O(1). */
export function ralloc_layout(out: usize): usize {
  if (out) {
    let base = shimReady() ? shimBase() : 0;
    let memEnd = memoryBytes();
    store<u32>(out + LY_VERSION, LAYOUT_VERSION);
    store<u32>(out + LY_SHIM_BASE, <u32>base);
    store<u32>(out + LY_SHIM_END, base ? <u32>(base + SHIM_SIZE) : 0);
    store<u32>(out + LY_ROOT, <u32>globalHeapRoot());
    store<u32>(out + LY_ROOT_SIZE, <u32>ROOT_SIZE);
    store<u32>(out + LY_BRK, base ? <u32>shimBreak() : 0);
    store<u32>(out + LY_MEMORY_END, memEnd > 0xFFFF_FFFF ? 0xFFFF_FFFF : <u32>memEnd);
    store<u32>(out + LY_GUARD_BYTES, GUARDED ? <u32>GUARD : 0);
  }
  return LAYOUT_SIZE;
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
