// page.ts — small objects without headers: size-class pages (the release build's small path).
//
// A request of at most SMALL_MAX bytes (align ≤ 16) is served from a page of its class: class c
// holds objects of 16·c bytes, c = 1 .. SMALL_MAX/16. A page is one block of the general heap
// (base/block.ts) whose payload starts on a 4 KiB boundary: 4 KiB for a class's first page (the root
// counts each class's pages), else 4, 8 or 16 KiB by class (regionsOf). Its objects carry no
// header. The page a pointer lies in is found from the heap's page table: one byte per 4 KiB
// region, 0 for "no page here", k for "a page starts k - 1 regions below". So free(p) knows in
// O(1), exactly, whether p is an object; a pointer elsewhere goes to the general path.
//
//   a page at q (4 KiB aligned), of class c, R regions (4 KiB each)
//    q          +4     +6    +7        +8         +12        +16        +20  +21  +24    +28      +32          +first
//   ┌──────────┬──────┬─────┬─────────┬──────────┬──────────┬──────────┬────┬────┬──────┬────────┬────────────┬─────────┐
//   │ free u32 │ used │ cls │ regions │ next u32 │ prev u32 │ bump u32 │kept│ 0  │ lo   │ span   │ live bitmap│objects …│
//   │          │ u16  │ u8  │ u8      │          │          │          │ u8 │    │ u32  │ u32    │ R×32 bytes │16·c each│
//   └──────────┴──────┴─────┴─────────┴──────────┴──────────┴──────────┴────┴────┴──────┴────────┴────────────┴─────────┘
//    free      the first free object; each free object's first word links to the next
//    used      live objects;  cls  the class c;  regions  R (1, 2 or 4)
//    kept      1: the page may stay when empty (counted in the root's kept bytes; see keep);
//              a page loses the mark when it fills up or goes back
//    next/prev the page's place in its class's list of pages with a free object (root slot)
//    lo, span  the first object's address, and the offset of the last from it in 16-byte units:
//              a free-list link must lie in [lo, lo + 16·span] on the 16-byte grid (pagePop)
//    bump      the first object never handed out (0: none left); the free list is threaded
//              from here THREAD objects at a time, so making a page costs O(THREAD), not O(page)
//    bitmap    one bit per 16-byte granule of the page, set at the first granule of each live
//              object: free(p) of anything but a live object's start (a double free, an
//              interior pointer, a header) finds its bit clear and does nothing
//   first = 32 + R × 32 (64, 96, 160); objects end at least 16 bytes before q + R × 4096, where
//   the next block's header sits (the page block's size is exactly R × 4096, so pages tile).
//
// Invariants (inspect/check.ts): a page is in its class's list exactly when it has a free object; its
// free list and the objects from bump on hold capacity - used objects on its grid, bits clear; the table names
// exactly the regions of the heap's pages. The page block's header carries META (base/block.ts), so
// the general path never frees, merges or resizes it as a program's block.
//
// Cost. malloc and free of a small object are a handful of loads and stores, plus a list update
// when a page fills or gains its first free object. A page is made (O(THREAD): its free list is
// threaded lazily) when its class has none with room, and returned to the general heap when its
// last object is freed, unless it is the only page of its class with room and the heap's kept
// pages stay within max(64 KiB, memory / 16) (keep). Kept pages go back before memory grows, at
// a large general-path allocation (a sixteenth of the heap or more) and on trim (pageFlush), so
// freeing every object leaves the heap whole. The table grows by doubling (O(table) each time).

import { META, MIN_BLOCK, header, setHeader, sizeOf, blockSizeFor } from "../base/block";
import {
  R_PT, R_PT_BASE, R_PT_COVER, R_LO, R_HI, R_DEAD, R_KEPT_BYTES, R_CLAIMED, CLASS_SLOTS, classSlot, classPagesSlot, field, setField,
} from "../base/root";
import { SMALL_MAX, PAGES } from "../base/config";
import { findFree } from "../core/bins";
import { forgetDead } from "../core/dead";
import { freeBlock, takeBlock, heapAlign, heapTake } from "../core/heap";

export { PAGES };
/** Largest object a page holds. */
export const PAGE_MAX: usize = PAGES ? (SMALL_MAX + 15) & ~15 : 0;
/** A region: the table's unit and a page's alignment. */
export const REGION_BITS: usize = 12;
export const REGION: usize = 1 << REGION_BITS;

const PG_FREE: usize = 0;
const PG_USED: usize = 4;
const PG_CLASS: usize = 6;
const PG_REGIONS: usize = 7;
const PG_NEXT: usize = 8;
const PG_PREV: usize = 12;
const PG_BUMP: usize = 16;
const PG_KEPT: usize = 20;
const PG_LO: usize = 24;
const PG_SPAN: usize = 28;
const PG_BITS: usize = 32;
/** Empty pages a heap may keep, in bytes: this much, or a sixteenth of its memory if more. */
const KEEP_FLOOR: u32 = 64 << 10;
/** Objects threaded onto a page's free list at a time. */
const THREAD: usize = 16;

/** Class of a request of n bytes (n <= PAGE_MAX): 16·c bytes hold it; malloc(0) is class 1. */
@inline export function classOf(n: usize): usize {
  return n ? (n + 15) >> 4 : 1;
}

/** Regions in a page of class c once the class has a page (its first is one region): at least
 *  15 objects fit. O(1). */
@inline export function regionsOf(c: usize): usize {
  return c <= 16 ? 1 : c <= 32 ? 2 : 4;
}

/** Class c of page pg (its objects are 16·c bytes). O(1). */
@inline export function pageClass(pg: usize): usize {
  return <usize>load<u8>(pg, PG_CLASS);
}

/** Regions (4 KiB each) page pg covers. O(1). */
@inline export function pageRegions(pg: usize): usize {
  return <usize>load<u8>(pg, PG_REGIONS);
}

/** Address of page pg's live bitmap (it runs up to the first object). O(1). */
@inline export function bitmapOf(pg: usize): usize {
  return pg + PG_BITS;
}

/** Address of the table entry of heap r for the region starting at pg (inside the table's
 *  cover). O(1). */
@inline export function tableEntry(r: usize, pg: usize): usize {
  return <usize>field(r, R_PT) + ((pg - <usize>field(r, R_PT_BASE)) >> REGION_BITS);
}

/** Offset of page pg's first object. O(1). */
@inline export function firstOf(pg: usize): usize {
  return PG_BITS + (pageRegions(pg) << 5);
}

/** Object size of page pg. O(1). */
@inline export function objectSize(pg: usize): usize {
  return pageClass(pg) << 4;
}

/** Page pg's bounds for a free-list link: its first object, and the offset of its last from it
 *  in 16-byte units. O(1). */
@inline export function linkLo(pg: usize): usize {
  return <usize>load<u32>(pg, PG_LO);
}
@inline export function linkSpan(pg: usize): usize {
  return <usize>load<u32>(pg, PG_SPAN);
}

/** The first object of page pg never handed out, or 0. O(1). */
@inline export function bumpOf(pg: usize): usize {
  return <usize>load<u32>(pg, PG_BUMP);
}

/** Objects page pg holds. O(1) (one division). */
export function capacityOf(pg: usize): usize {
  let first = firstOf(pg);
  return ((pageRegions(pg) << REGION_BITS) - 16 - first) / objectSize(pg);
}

/** Live objects in page pg. O(1). */
@inline export function usedOf(pg: usize): usize {
  return <usize>load<u16>(pg, PG_USED);
}

/** First free object of page pg (0: full). O(1). */
@inline export function freeHead(pg: usize): usize {
  return <usize>load<u32>(pg, PG_FREE);
}

/** Next page in pg's class list. O(1). */
@inline export function nextPage(pg: usize): usize {
  return <usize>load<u32>(pg, PG_NEXT);
}

/** Previous page in pg's class list. O(1). */
@inline export function prevPage(pg: usize): usize {
  return <usize>load<u32>(pg, PG_PREV);
}

/** The page of heap r that byte p lies in, or 0 when p is in none. O(1): three root fields and
 *  a table byte. */
@inline export function pageOf(r: usize, p: usize): usize {
  let i = (p - <usize>field(r, R_PT_BASE)) >> REGION_BITS; // below the base: wraps, past cover
  if (i >= <usize>field(r, R_PT_COVER)) return 0;
  let t = <usize>load<u8>(<usize>field(r, R_PT) + i);
  return t ? (p & ~(REGION - 1)) - ((t - 1) << REGION_BITS) : 0;
}

/** Address of the bitmap byte holding the live bit of the 16-byte granule p of page pg. O(1). */
@inline function liveByte(pg: usize, p: usize): usize {
  return pg + PG_BITS + ((p - pg) >> 7);
}

/** The live bit of granule p within its bitmap byte. O(1). */
@inline function liveBit(pg: usize, p: usize): u8 {
  return <u8>1 << <u8>(((p - pg) >> 4) & 7);
}

/** Whether p is the start of a live object of page pg. O(1). */
@inline export function objectLive(pg: usize, p: usize): bool {
  return (p & 15) == 0 && (load<u8>(liveByte(pg, p)) & liveBit(pg, p)) != 0;
}

/** Whether listed page pg is alone in its class's list (no neighbours). O(1). */
@inline function lonely(pg: usize): bool {
  return load<u32>(pg, PG_NEXT) == 0 && load<u32>(pg, PG_PREV) == 0;
}

/** The object of page pg whose bytes hold p (live or free), or 0 when p is in the header or
 *  past the last object. O(1) (one division). */
export function objectAround(pg: usize, p: usize): usize {
  let first = pg + firstOf(pg);
  if (p < first) return 0;
  let size = objectSize(pg);
  let k = (p - first) / size;
  return k < capacityOf(pg) ? first + k * size : 0;
}

/** Pops an object of class c from heap r's first page of that class with room, or returns 0
 *  (then pageAlloc makes a page). O(1): malloc's hit, inlined there. */
@inline export function pagePop(r: usize, c: usize): usize {
  let slot = classSlot(r, c);
  let pg = <usize>load<u32>(slot);
  if (!pg) return 0;
  let o = <usize>load<u32>(pg, PG_FREE); // a listed page always has a free object
  let next = <usize>load<u32>(o);
  let b = liveByte(pg, o);
  store<u8>(b, load<u8>(b) | liveBit(pg, o));
  // A link outside the page's objects or off the 16-byte grid was written by the program after
  // a free: it ends the list (the objects after it are lost until the page empties), so malloc
  // never hands out a page header or memory past the page. Not checked, for speed: the class's
  // grid, and whether the object the link names is live. (The guarded builds catch the write.)
  // (one test: rotating the offset right by 4 moves an off-grid remainder to the top bits)
  if (rotr<u32>(<u32>(next - linkLo(pg)), 4) > <u32>linkSpan(pg)) next = 0; // (0 fails it too)
  store<u32>(pg, <u32>next, PG_FREE);
  store<u16>(pg, load<u16>(pg, PG_USED) + 1, PG_USED);
  if (!next) refill(r, slot, pg); // more from bump, or full: out of the list
  return o;
}

/** Frees p, an address inside page pg of heap r: returns false (and does nothing) unless p is
 *  the start of a live object. O(1): free's hit, inlined there; a page that was full goes back
 *  on its list, a page left empty may go back to the general heap (pageChanged). */
@inline export function pagePush(r: usize, pg: usize, p: usize): bool {
  let b = liveByte(pg, p);
  let bit = liveBit(pg, p);
  let bits = load<u8>(b);
  if ((p & 15) != 0 || (bits & bit) == 0) return false;
  store<u8>(b, bits & ~bit);
  if (field(r, R_DEAD)) forgetDead(r, p, p + objectSize(pg)); // pieces freed by ralloc_dealloc
  let head = load<u32>(pg, PG_FREE);
  store<u32>(p, head);
  store<u32>(pg, <u32>p, PG_FREE);
  let used = load<u16>(pg, PG_USED) - 1;
  store<u16>(pg, used, PG_USED);
  if (!head || !used) {
    // The common case of a page emptied again and again (a malloc/free pair): it is kept
    // already, listed (it had a free object) and alone in its list. Nothing to do.
    if (head && pageKept(pg) && lonely(pg)) return true;
    pageChanged(r, pg, head == 0, used == 0);
  }
  return true;
}

/** Page pg of heap r (the head of list `slot`) gave out its last threaded object: threads the
 *  next THREAD objects from its bump, or, when none is left, takes it out of its list (full, it
 *  loses any kept mark: only pages with room count as kept). O(THREAD). */
function refill(r: usize, slot: usize, pg: usize): void {
  let o = <usize>load<u32>(pg, PG_BUMP);
  if (!o) {
    unlist(slot, pg);
    unmark(r, pg);
    return;
  }
  store<u32>(pg, <u32>o, PG_FREE);
  store<u32>(pg, <u32>thread(pg, o), PG_BUMP);
}

/** Links up to THREAD objects of page pg from o on into a list ending in 0; returns the object
 *  after the last one linked, or 0 when that was the page's last. O(THREAD). */
function thread(pg: usize, o: usize): usize {
  let size = objectSize(pg);
  let end = pg + firstOf(pg) + capacityOf(pg) * size; // past the last object
  let stop = min<usize>(end, o + THREAD * size);
  for (let next = o + size; next < stop; o = next, next += size) store<u32>(o, <u32>next);
  store<u32>(o, 0);
  let after = o + size;
  return after < end ? after : 0;
}

/** Takes page pg (in list `slot`) out of its list. O(1). */
function unlist(slot: usize, pg: usize): void {
  let next = <usize>load<u32>(pg, PG_NEXT);
  let prev = <usize>load<u32>(pg, PG_PREV);
  if (prev) store<u32>(prev, <u32>next, PG_NEXT);
  else store<u32>(slot, <u32>next);
  if (next) store<u32>(next, <u32>prev, PG_PREV);
  store<u32>(pg, 0, PG_NEXT);
  store<u32>(pg, 0, PG_PREV);
}

/** Puts page pg at the head of list `slot`. O(1). */
function enlist(slot: usize, pg: usize): void {
  let head = <usize>load<u32>(slot);
  store<u32>(pg, <u32>head, PG_NEXT);
  store<u32>(pg, 0, PG_PREV);
  if (head) store<u32>(head, <u32>pg, PG_PREV);
  store<u32>(slot, <u32>pg);
}

/** After a free in page pg: it was full (back on its list) and/or is now empty (back to the
 *  general heap, unless it may stay: see keep). O(1). */
function pageChanged(r: usize, pg: usize, wasFull: bool, empty: bool): void {
  let slot = classSlot(r, pageClass(pg));
  if (empty) {
    if (!wasFull && lonely(pg) && keep(r, pg)) return; // (a page that was not full is listed)
    if (!wasFull) unlist(slot, pg);
    pageRelease(r, pg);
    return;
  }
  enlist(slot, pg); // it was full
}

/** Whether empty page pg, the only page of its class with room, may stay for the class's next
 *  malloc: yes when it is marked kept already, or when the heap's kept pages (R_KEPT_BYTES) stay
 *  within max(64 KiB, memory / 16) with it, and then it is marked. A class used on and off
 *  (a program's sparse sizes) then does not make and free a page each time; kept pages go back
 *  before memory grows, at a large request, and on trim (pageFlush). O(1). */
function keep(r: usize, pg: usize): bool {
  if (pageKept(pg)) return true;
  let kept = field(r, R_KEPT_BYTES) + <u32>(pageRegions(pg) << REGION_BITS);
  if (kept > max<u32>(KEEP_FLOOR, field(r, R_CLAIMED) >> 4)) return false;
  setField(r, R_KEPT_BYTES, kept);
  store<u8>(pg, 1, PG_KEPT);
  return true;
}

/** Whether page pg is marked to stay when empty. O(1). */
@inline export function pageKept(pg: usize): bool {
  return load<u8>(pg, PG_KEPT) != 0;
}

/** Takes page pg's kept mark off, if it has one. O(1). */
function unmark(r: usize, pg: usize): void {
  if (!pageKept(pg)) return;
  store<u8>(pg, 0, PG_KEPT);
  setField(r, R_KEPT_BYTES, field(r, R_KEPT_BYTES) - <u32>(pageRegions(pg) << REGION_BITS));
}

/** Returns empty page pg (out of every list) to the general heap. O(1). */
function pageRelease(r: usize, pg: usize): void {
  unmark(r, pg);
  let count = classPagesSlot(r, pageClass(pg));
  let pages = load<u16>(count);
  if (pages < 0xFFFF) store<u16>(count, pages - 1);
  memory.fill(tableEntry(r, pg), 0, pageRegions(pg));
  setHeader(pg, header(pg) & ~META); // a block of the general heap again
  freeBlock(r, pg);
}

/** Allocates an object of class c in heap r, making a page for it from the heap's free memory
 *  when no page of the class has room; 0 when the free memory cannot hold a page (the caller,
 *  ops/ops.ts, then flushes, grows memory by pageRoom and tries again, or takes a general
 *  block). Never grows memory, never flushes. O(1), plus making a page: O(THREAD). */
export function pageAlloc(r: usize, c: usize): usize {
  if (!load<u32>(classSlot(r, c)) && !pageMake(r, c)) return 0;
  return pagePop(r, c);
}

/** Makes and lists an empty page of class c in heap r from its free memory; 0 when the page or
 *  the table cannot be had there. O(THREAD), plus the table's growth. */
function pageMake(r: usize, c: usize): usize {
  let count = classPagesSlot(r, c);
  let pages = <usize>load<u16>(count);
  // A class's first page is one region: most programs use many classes sparsely, and a 16 KiB
  // page held for one or two objects is what size classes cost in memory. Busier classes get
  // pages of regionsOf(c), which waste less at their end.
  let regions = pages ? regionsOf(c) : 1;
  let bytes = regions << REGION_BITS;
  let pg = pageBlock(r, bytes);
  if (!pg) return 0;
  if (!tableCovers(r, pg, regions)) {
    freeBlock(r, pg);
    return 0;
  }
  setHeader(pg, header(pg) | META);
  let first = PG_BITS + (regions << 5);
  memory.fill(pg, 0, first); // links, counts and the bitmap
  store<u8>(pg, <u8>c, PG_CLASS);
  store<u8>(pg, <u8>regions, PG_REGIONS);
  store<u32>(pg, <u32>(pg + first), PG_FREE);
  store<u32>(pg, <u32>thread(pg, pg + first), PG_BUMP);
  store<u32>(pg, <u32>(pg + first), PG_LO); // where a free-list link may point (pagePop)
  store<u32>(pg, <u32>((capacityOf(pg) - 1) * c), PG_SPAN); // in 16-byte units
  let t = tableEntry(r, pg);
  for (let k: usize = 0; k < regions; ++k) store<u8>(t + k, <u8>(k + 1));
  enlist(classSlot(r, c), pg);
  if (pages < 0xFFFF) store<u16>(count, <u16>(pages + 1)); // (saturated: stays "has pages")
  return pg;
}

/** The free memory heap r needs for a page of class c, its alignment slack and a larger page
 *  table included: what ops/ops.ts grows memory by when pageAlloc finds none. O(1). */
export function pageRoom(r: usize, c: usize): usize {
  // the largest page and its alignment slack (5 regions), and a page table twice today's size
  // (a first one: 256 bytes, within the sixth region)
  return (6 << REGION_BITS) + (<usize>field(r, R_PT_COVER) << 1);
}

/** A general block of exactly `bytes` (a page's size) whose payload is 4 KiB aligned, from heap
 *  r's free memory, or 0. First from a free block that already holds such a window (the top
 *  after the last page, most often: pages tile), so a page does not take 4 KiB more than it
 *  needs; else from a block with room to align. O(1). */
function pageBlock(r: usize, bytes: usize): usize {
  let f = findFree(r, bytes);
  if (f) {
    let q = (f + REGION - 1) & ~(REGION - 1);
    let gap = q - f;
    if ((gap == 0 || gap >= MIN_BLOCK) && f + sizeOf(f) >= q + bytes) {
      takeBlock(r, f, gap + bytes);
      return gap ? heapAlign(r, f, bytes, REGION) : f;
    }
  }
  let p = heapTake(r, bytes + REGION + MIN_BLOCK);
  return p ? heapAlign(r, p, bytes, REGION) : 0;
}

/** Makes heap r's page table cover the regions of a page at pg, making or doubling it from the
 *  heap's free memory as needed; false when it cannot (pg below the table's base, or no free
 *  block large enough). O(table) when it grows, else O(1). */
function tableCovers(r: usize, pg: usize, regions: usize): bool {
  let cover = <usize>field(r, R_PT_COVER);
  let base = <usize>field(r, R_PT_BASE);
  if (!cover) base = <usize>field(r, R_LO) & ~(REGION - 1);
  if (pg < base) return false;
  let need = ((pg - base) >> REGION_BITS) + regions;
  if (need <= cover) return true;
  let span = (<usize>field(r, R_HI) - base + REGION - 1) >> REGION_BITS; // the heap as it is
  let bigger = max<usize>(max<usize>(need, cover << 1), max<usize>(span, 256));
  bigger = (bigger + 15) & ~15;
  let t = heapTake(r, blockSizeFor(bigger));
  if (!t) return false;
  let old = <usize>field(r, R_PT);
  setHeader(t, header(t) | META);
  if (cover) memory.copy(t, old, cover);
  memory.fill(t + cover, 0, bigger - cover);
  setField(r, R_PT, <u32>t);
  setField(r, R_PT_BASE, <u32>base);
  setField(r, R_PT_COVER, <u32>bigger);
  if (old) {
    setHeader(old, header(old) & ~META);
    freeBlock(r, old);
  }
  return true;
}

/** Returns every empty page of heap r to the general heap, kept ones too, and the table when
 *  no page is left; run before growing memory or failing, at a large request, and before
 *  trimming. Returns whether it returned any. O(classes + listed pages), plus O(table) when it
 *  did. */
export function pageFlush(r: usize): bool {
  if (!PAGES || !field(r, R_PT_COVER)) return false;
  let any = false;
  for (let c: usize = 1; c < CLASS_SLOTS; ++c) {
    let slot = classSlot(r, c);
    let pg = <usize>load<u32>(slot);
    while (pg) {
      let next = <usize>load<u32>(pg, PG_NEXT);
      if (!load<u16>(pg, PG_USED)) {
        unlist(slot, pg);
        pageRelease(r, pg);
        any = true;
      } else {
        unmark(r, pg); // (a full page has no mark: refill took it off)
      }
      pg = next;
    }
  }
  if (any) tableDropWhenEmpty(r);
  return any;
}

/** Returns heap r's page table to the general heap when no page is left, so a heap whose
 *  objects were all freed is one free block again. O(table). */
function tableDropWhenEmpty(r: usize): void {
  let t = <usize>field(r, R_PT), cover = <usize>field(r, R_PT_COVER); // a multiple of 16
  for (let i: usize = 0; i < cover; i += 8) if (load<u64>(t + i)) return;
  setField(r, R_PT, 0);
  setField(r, R_PT_BASE, 0);
  setField(r, R_PT_COVER, 0);
  setHeader(t, header(t) & ~META);
  freeBlock(r, t);
}

/** Whether block p of heap r is its page table. O(1). */
@inline export function isTable(r: usize, p: usize): bool {
  return p == <usize>field(r, R_PT);
}

/** Whether page pg's class and region count are ones a page of that class can have (pageMake):
 *  what the heap walker, the stats and inspect/check.ts test before dividing by the object size or
 *  walking the bitmap, since a write past the block below a page can reach its header. O(1). */
export function pageIntact(pg: usize): bool {
  let c = pageClass(pg), regions = pageRegions(pg);
  return c >= 1 && c <= PAGE_MAX >> 4 && (regions == 1 || regions == regionsOf(c));
}

/** Usable bytes of live objects in page pg, and how many, as a u64 (bytes high). O(capacity). */
export function pageLive(pg: usize): u64 {
  let size = objectSize(pg);
  let o = pg + firstOf(pg);
  let n: u64 = 0;
  for (let k = capacityOf(pg); k; --k, o += size) if (objectLive(pg, o)) n++;
  return (n * <u64>size << 32) | n;
}
