// check.ts — the heap walker: verifies every invariant of a heap and names the first broken one.
//
// ralloc_check() returns 0 for a sound heap, or one of these codes (base/abi.ts numbers them):
//    1 SPAN        a span header is broken (misaligned, or its end is not above its start)
//    2 SIZE        a block is smaller than the 16-byte minimum
//    3 BOUNDS      a block runs past the end of its span
//    4 PREV_BIT    a block's PREV_FREE bit disagrees with its predecessor's state
//    5 UNMERGED    two free blocks are adjacent (a missed merge)
//    6 FOOTER      a free block's footer does not hold its address
//    7 STATE       a block is both FREE and CACHED
//    8 LINK        a free-list link leaves the heap, names a non-free block, or loops
//    9 CLASS       a free block sits in the wrong free list
//   10 BITMAP      a list bitmap disagrees with the lists
//   11 LIST_COUNT  the lists hold a different number of free blocks than the spans do
//   12 QUICK       a quick-list entry is not a cached block of its class, or the byte count is off
//   13 COUNTERS    the block, free or cached byte counts, or the live blocks, disagree with the
//                  walk, or the peak of held bytes is below what is held now
//   14 TAIL        a span's tail header is broken
//   15 DEAD        a dead-piece entry (core/dead.ts) is not inside a live block, or the count is off,
//                  or a LEAD_DEAD block's lead count is not 1..15 within its payload
//   16 OVERLAP     two spans overlap, or a span lies outside the heap's [lo, hi]
//   17 GUARD       (guarded builds) a live block's check word or canary is broken (diag/guard.ts)
//   18 PAGE        (release) a page of small objects is broken (small/page.ts): its table entries,
//                  header, live flags, free or local list, or its class list
// checkFailedAt() names the address where the first broken check was found.
// Cost: O(blocks + free-list entries). It reads only inside the heap's spans, so it does not
// trap on a corrupted heap.

import { MIN_BLOCK, FREE, PREV_FREE, CACHED, META, LEAD_DEAD, SIZE_MASK, HEADER, ALIGN_BITS, header, sizeOf } from "../base/block";
import {
  SL_COUNT, FL_COUNT, QUICK_COUNT, R_SPANS, R_LO, R_HI, R_FLMAP, R_QUICK_BYTES, R_FREE_BYTES,
  R_BLOCK_BYTES, R_PEAK_HELD,
  R_DEAD, DEAD_SLOTS, R_PT, R_PT_COVER, R_OBJ_HANDED, CLASS_SLOTS,
  field, slMapSlot, quickSlot, classSlot, classPagesSlot,
} from "../base/root";
import { GUARDED, PAGES } from "../base/config";
import {
  CHECK_SPAN, CHECK_SIZE, CHECK_BOUNDS, CHECK_PREV_BIT, CHECK_UNMERGED, CHECK_FOOTER, CHECK_STATE,
  CHECK_LINK, CHECK_CLASS, CHECK_BITMAP, CHECK_LIST_COUNT, CHECK_QUICK, CHECK_COUNTERS, CHECK_TAIL,
  CHECK_DEAD, CHECK_OVERLAP, CHECK_GUARD, CHECK_PAGE,
} from "../base/abi";
import { memoryBytes } from "../platform/shim";
import { guardVerify, requestOf, GUARD_OK } from "../diag/guard";
import { listHead, listOf } from "../core/bins";
import { spanNext, spanEnd, spanFirst } from "../core/span";
import { deadSlot } from "../core/dead";
import { liveBlocks, heldBytes } from "../core/counters";
import {
  REGION_BITS, pageOf, pageLive, isTable, flagsEnd, objectSize, capacityOf, freeHead, localHead,
  nextPage, prevPage, objectLive, bumpOf, objectAround, pageClass, pageRegions, tableEntry,
  pageIntact, pageFull, linkLo, flagOfIndex, pageTotals,
} from "../small/page";
import { blockHolding } from "../features/range";
import { bytesInUse } from "./stats";

/** Where the last walk was looking when it stopped (the failure's address). */
let at: usize = 0;

/** The address at which the last heapCheck found its broken check (0 after a sound walk). */
export function checkFailedAt(): usize {
  return at;
}

/** Whether p could be a block payload of heap r: aligned and inside its address range. O(1). */
@inline function plausible(r: usize, p: usize): bool {
  return (p & 15) == 0 && p >= field(r, R_LO) && p < field(r, R_HI);
}

/** Walks heap r (0 = no heap yet, which is sound) and returns 0 or the first broken check. */
export function heapCheck(r: usize): u32 {
  at = r;
  let code = walk(r);
  if (!code) at = 0;
  return code;
}

/** heapCheck's walk; keeps `at` on what it is looking at. */
function walk(r: usize): u32 {
  if (!r) return 0;
  let freeBlocks: u32 = 0, cachedBytes: u32 = 0, inUse: u32 = 0, live: u32 = 0, objects: u32 = 0;
  let blockBytes: u32 = 0, freeBytes: u32 = 0;
  let regions: u32 = 0, roomy: u32 = 0, pages: u32 = 0; // release: the pages' regions, pages with room, pages
  let memEnd = memoryBytes();
  let spans: u32 = 0;
  let lo = <usize>field(r, R_LO), hi = <usize>field(r, R_HI);
  for (let s = <usize>field(r, R_SPANS); s; s = spanNext(s)) {
    at = s;
    if ((s & 15) != 0 || <u64>s + 16 > memEnd) return CHECK_SPAN; // before reading it
    let end = spanEnd(s);
    if ((end & 15) != 0 || end <= s + 16 || <u64>end > memEnd) return CHECK_SPAN;
    if (++spans > 0x10000) return CHECK_SPAN; // a looping span list
    if (s + 16 < lo || end > hi) return CHECK_OVERLAP;
    for (let t = spanNext(s), n = 0; t && n < 0x10000; t = spanNext(t), ++n) {
      if ((t & 15) != 0 || <u64>t + 16 > memEnd) return CHECK_SPAN;
      if (t < end && spanEnd(t) > s) return CHECK_OVERLAP;
    }
    let p = spanFirst(s);
    let prevFree = false;
    while (p < end) {
      at = p;
      let h = header(p);
      let size = <usize>(h & SIZE_MASK);
      if (size < MIN_BLOCK) return CHECK_SIZE;
      if (size > end - p) return CHECK_BOUNDS;
      if (((h & PREV_FREE) != 0) != prevFree) return CHECK_PREV_BIT;
      blockBytes += <u32>size;
      if (h & FREE) {
        freeBytes += <u32>size;
        if (h & CACHED) return CHECK_STATE;
        if (prevFree) return CHECK_UNMERGED;
        if (<usize>load<u32>(p + size - HEADER - 4) != p) return CHECK_FOOTER;
        freeBlocks++;
      } else if (PAGES && (h & META)) {
        if (!isTable(r, p)) {
          let code = checkPage(r, p, size);
          if (code) return code;
          objects += <u32>pageLive(p); // (their calls are derived from the flags: not compared)
          inUse += <u32>(pageLive(p) >> 32);
          regions += <u32>pageRegions(p);
          pages++;
          if (!pageFull(p)) roomy++;
        }
      } else if (h & CACHED) {
        cachedBytes += <u32>size;
      } else {
        live++;
        if (GUARDED && guardVerify(p) != GUARD_OK) return CHECK_GUARD;
        inUse += GUARDED ? <u32>requestOf(p) : <u32>(size - HEADER);
        if (h & LEAD_DEAD) {
          let lead = <usize>load<u8>(p);
          if (lead == 0 || lead >= MIN_BLOCK || lead >= size - HEADER) return CHECK_DEAD;
        }
      }
      prevFree = (h & FREE) != 0;
      p += size;
    }
    at = end;
    let t = header(end);
    if ((t & SIZE_MASK) != 0 || (t & FREE) != 0 || ((t & PREV_FREE) != 0) != prevFree) return CHECK_TAIL;
  }

  let listed: u32 = 0;
  let flMap = field(r, R_FLMAP);
  for (let fl: u32 = 0; fl < FL_COUNT; ++fl) {
    let slMap = load<u32>(slMapSlot(r, fl));
    if (((flMap >> fl) & 1) != <u32>(slMap != 0)) return CHECK_BITMAP;
    for (let sl: u32 = 0; sl < SL_COUNT; ++sl) {
      let q = listHead(r, fl, sl);
      if (((slMap >> sl) & 1) != <u32>(q != 0)) return CHECK_BITMAP;
      let prev: usize = 0;
      while (q) {
        at = q;
        if (!plausible(r, q) || ++listed > freeBlocks) return CHECK_LINK;
        let h = header(q);
        if (!(h & FREE) || load<u32>(q, 4) != <u32>prev) return CHECK_LINK;
        if (listOf(<usize>(h & SIZE_MASK)) != ((fl << 4) | sl)) return CHECK_CLASS;
        prev = q;
        q = load<u32>(q);
      }
    }
  }
  if (listed != freeBlocks) return CHECK_LIST_COUNT;

  let quickBytes: u32 = 0;
  for (let k: usize = 1; k < QUICK_COUNT; ++k) {
    let q = <usize>load<u32>(quickSlot(r, k << ALIGN_BITS));
    while (q) {
      at = q;
      if (!plausible(r, q)) return CHECK_QUICK;
      let h = header(q);
      if (!(h & CACHED) || (h & FREE) || <usize>(h & SIZE_MASK) != k << ALIGN_BITS) return CHECK_QUICK;
      quickBytes += h & SIZE_MASK;
      if (quickBytes > cachedBytes) return CHECK_QUICK; // also stops a loop
      q = load<u32>(q);
    }
  }
  if (quickBytes != cachedBytes || (!PAGES && quickBytes != field(r, R_QUICK_BYTES))) return CHECK_QUICK;
  if (PAGES) {
    let code = checkPageLists(r, regions, roomy, pages);
    if (code) return code;
  }
  if (blockBytes != field(r, R_BLOCK_BYTES) || freeBytes != field(r, R_FREE_BYTES)) return CHECK_COUNTERS;
  if (live != liveBlocks(r) || inUse != bytesInUse(r) || heldBytes(r) > field(r, R_PEAK_HELD)) return CHECK_COUNTERS;
  if (PAGES && <u64>objects > load<u64>(r + R_OBJ_HANDED) - (pageTotals(r) >> 32)) {
    return CHECK_COUNTERS; // more live objects than were ever popped
  }
  at = r;
  let dead = <usize>field(r, R_DEAD);
  if (dead > DEAD_SLOTS) return CHECK_DEAD;
  for (let i: usize = 0; i < dead; ++i) {
    let start = <usize>load<u32>(deadSlot(r, i)), end = <usize>load<u32>(deadSlot(r, i), 4);
    at = start;
    if (end < start) return CHECK_DEAD;
    let pg = PAGES ? pageOf(r, start) : 0;
    if (pg) {
      // a piece of a live object (features/range.ts): never empty, never past the object
      // (and the object is marked as holding pieces, so its free forgets them)
      let o = objectAround(pg, start);
      if (end == start || !o || !objectLive(pg, o) || end > o + objectSize(pg)) return CHECK_DEAD;
      if (flagOfIndex(pg, (o - linkLo(pg)) / objectSize(pg)) != 2) return CHECK_DEAD;
    } else if (end == start) {
      // an exact-end mark: it sits at the usable end of a live block
      let b = start > 0 ? blockHolding(r, start - 1, 1) : 0;
      if (!b || b + sizeOf(b) - HEADER != start) return CHECK_DEAD;
    } else if (!blockHolding(r, start, end - start)) {
      return CHECK_DEAD;
    }
  }
  return 0;
}

/** Checks page pg (a META block of size `size` that is not the table): its table entries, its
 *  header (pageIntact), its flags (0, 1 or 2 for threaded objects, 3 for the rest, zero padding),
 *  its free and local lists (on the
 *  class's grid, flags 0, below bump) which with the objects from bump on are exactly the
 *  objects not live, and a full page's state. O(capacity). */
function checkPage(r: usize, pg: usize, size: usize): u32 {
  if (pageOf(r, pg) != pg) return CHECK_PAGE;
  let regions = pageRegions(pg);
  if (!pageIntact(pg) || size != regions << REGION_BITS) return CHECK_PAGE;
  let t = tableEntry(r, pg);
  for (let k: usize = 0; k < regions; ++k) if (<usize>load<u8>(t + k) != k + 1) return CHECK_PAGE;
  let cap = capacityOf(pg), bump = bumpOf(pg), live: usize = 0;
  for (let i: usize = 0; i < cap; ++i) {
    let f = flagOfIndex(pg, i);
    // an object never threaded from bump: 3; a threaded one: 0, 1 or 2
    if (i >= bump ? f != 3 : f > 2) return CHECK_PAGE;
    if (i < bump && f) live++;
  }
  for (let i = cap; <usize>40 + i < flagsEnd(pg); ++i) if (flagOfIndex(pg, i)) return CHECK_PAGE; // padding
  let free = countList(pg, freeHead(pg), cap - live);
  if (free < 0) return CHECK_PAGE;
  let full = pageFull(pg);
  let local = full ? 0 : countList(pg, localHead(pg), cap - live);
  if (local < 0) return CHECK_PAGE;
  at = pg;
  if (<usize>(free + local) + (cap - bump) != cap - live) return CHECK_PAGE;
  if (full && (free != 0 || live != cap)) return CHECK_PAGE; // a full page has nothing free
  if (!full && free == 0) return CHECK_PAGE; // a page in a list has objects to pop
  return 0;
}

/** Objects on the list of page pg starting at o, each on the class's grid, not live and below
 *  bump, at most `most` of them; -1 (with `at` on the culprit) when one is not. O(list). */
function countList(pg: usize, o: usize, most: usize): i32 {
  let n: usize = 0;
  for (; o; o = <usize>load<u32>(o)) {
    at = o;
    let i = objectAround(pg, o);
    if (!i || i != o || objectLive(pg, o) || ++n > most) return -1;
    if ((o - linkLo(pg)) / objectSize(pg) >= bumpOf(pg)) return -1;
  }
  return <i32>n;
}

/** Checks the class lists (each lists exactly the pages of its class that are not full, with
 *  sound back links), the classes' page counts (no fewer than listed, as many as the walk's
 *  pages in all), and that the table names no region but those of the walk's pages. */
function checkPageLists(r: usize, regions: u32, roomy: u32, pages: u32): u32 {
  let listed: u32 = 0, counted: u32 = 0;
  for (let c: usize = 0; c < CLASS_SLOTS; ++c) {
    let prev: usize = 0, inList: u32 = 0;
    let count = <u32>load<u16>(classPagesSlot(r, c));
    for (let pg = <usize>load<u32>(classSlot(r, c)); pg; pg = nextPage(pg)) {
      at = pg;
      if (++listed > roomy || pageOf(r, pg) != pg || (header(pg) & META) == 0) return CHECK_PAGE;
      if (pageClass(pg) != c || pageFull(pg) || prevPage(pg) != prev || ++inList > count) return CHECK_PAGE;
      prev = pg;
    }
    counted = count == 0xFFFF || counted == <u32>-1 ? <u32>-1 : counted + count; // saturated: not exact
  }
  at = r;
  if (listed != roomy || (counted != <u32>-1 && counted != pages)) return CHECK_PAGE;
  let cover = <usize>field(r, R_PT_COVER), t = <usize>field(r, R_PT), marked: u32 = 0;
  for (let i: usize = 0; i < cover; ++i) if (load<u8>(t + i)) marked++;
  return marked == regions ? 0 : CHECK_PAGE;
}
