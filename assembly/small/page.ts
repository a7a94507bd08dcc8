// page.ts — small objects without headers: size-class pages (the release build's small path).
//
// A request of at most SMALL_MAX bytes (align ≤ 16) is served from a page of its class: class c
// holds objects of 16·c bytes, c = 1 .. SMALL_MAX/16. A page is one block of the general heap
// (base/block.ts) whose payload starts on a 4 KiB boundary: 4 KiB for a class's first page (the
// root counts each class's pages), else 4, 8 or 16 KiB by class (regionsOf). Its objects carry
// no header. The page a pointer lies in is found from the heap's page table: one byte per 4 KiB
// region, 0 for "no page here", k for "a page starts k - 1 regions below". So free(p) knows in
// O(1), exactly, whether p is an object; a pointer elsewhere goes to the general path.
//
//   a page at q (4 KiB aligned), of class c, R regions, holding cap objects
//    q         +4        +8       +12      +16    +18   +20 +21 +22  +24      +28      +32     +36  +40            first
//   ┌─────────┬─────────┬────────┬────────┬──────┬─────┬───┬───┬────┬────────┬────────┬───────┬────┬──────────────┬─────────┐
//   │ free    │ local   │ next   │ prev   │ bump │ cap │ c │ R │ -  │ lo u32 │ span   │ recip │ -  │ flags: a byte│objects …│
//   │ u32     │ u32     │ u32    │ u32    │ u16  │ u16 │u8 │u8 │    │        │ u32    │ u32   │    │ per object   │16·c each│
//   └─────────┴─────────┴────────┴────────┴──────┴─────┴───┴───┴────┴────────┴────────┴───────┴────┴──────────────┴─────────┘
//    free   objects malloc pops; each free object's first word links to the next
//    local  objects free pushed since the list above was last refilled (mimalloc's local_free);
//           FULL (1) when the page is full and in no list
//    next/prev  the page's place in its class's list of pages with a free object (root slot);
//           the list's head is the page malloc pops from
//    bump   index of the first object never handed out: objects are threaded onto the free list
//           from there THREAD at a time, so making a page costs O(THREAD), not O(page)
//    lo, span  the first object's address, and the offset of the last from it in 16-byte units:
//           a free-list link must lie in [lo, lo + 16·span] on the 16-byte grid (pagePop)
//    recip  ⌈65536 / c⌉: the index of the object at granule g (16-byte units from lo) is
//           (g · recip) >> 16, exact for every granule of a page (g < 1024)
//    flags  a byte per object: 0 free, 1 live (2: live, with pieces freed by ralloc_dealloc
//           recorded in the dead-piece table), 3 never threaded from bump. free(p) of anything
//           but a live object's start (a double free, an interior pointer, a header) changes
//           nothing; malloc pops only an object flagged 0. Zero up to `first`.
//   first = 40 + cap rounded up to 16; objects end at least 16 bytes before q + R × 4096, where
//   the next block's header sits (the page block's size is exactly R × 4096, so pages tile).
//   As AssemblyScript's memory manager (RUNTIME), 8 more bytes before rounding: the word just
//   below each object holds its mmInfo (runtime/manager.ts), the first object's included.
//
// Invariants (inspect/check.ts): a page is in its class's list exactly when it has a free
// object, and then its free list is not empty; its free and local lists and the objects from
// bump on are the objects whose flag is 0; the table names exactly the regions of the heap's
// pages. The page block's header carries META (base/block.ts), so the general path never frees,
// merges or resizes it as a program's block.
//
// Cost. malloc of a small object is a pop from the head page of its class (a handful of loads
// and stores, one multiply for the flag's index); free is a flag test and a push onto the
// page's local list, and a full page that gains a free object goes back on its list. Nothing
// on either path counts: refilling a free list (from the local list, or THREAD objects from the
// bump) is where objects are counted, and emptied pages are not looked for until the heap needs
// memory: pageFlush returns every page without a live object to the general heap, before memory
// grows, before a general allocation fails, and on trim, so freeing every object leaves the heap
// whole. The table grows by doubling (O(table) each time).

import { META, MIN_BLOCK, header, setHeader, sizeOf, blockSizeFor } from "../base/block";
import {
  R_PT, R_PT_BASE, R_PT_COVER, R_LO, R_HI, R_DEAD, R_OBJ_HANDED, R_CLASS_PAGES, R_CLASS_ASKS, CLASS_SLOTS,
  classSlot, classPagesSlot,
  field, setField,
} from "../base/root";
import { SMALL_MAX, PAGES, PAGE_ASKS, RUNTIME, THREADS } from "../base/config";
import { lockTake, lockGive } from "../platform/lock";
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
const PG_LOCAL: usize = 4;
const PG_NEXT: usize = 8;
const PG_PREV: usize = 12;
const PG_BUMP: usize = 16;
const PG_CAP: usize = 18;
const PG_CLASS: usize = 20;
const PG_REGIONS: usize = 21;
const PG_LO: usize = 24;
const PG_SPAN: usize = 28;
const PG_RECIP: usize = 32;
const PG_FLAGS: usize = 40;
/** The local list of a page that is full and in no list. */
const FULL: u32 = 1;
/** Objects threaded onto a page's free list at a time. */
const THREAD: usize = 16;
/** A free object's flag, a live object's, a live object's with dead pieces recorded, and an
 *  object's never threaded from bump. */
const FREE_OBJECT: u8 = 0;
const LIVE: u8 = 1;
const LIVE_DEAD: u8 = 2;
const NOT_START: u8 = 3;

/** Class of a request of n bytes (n <= PAGE_MAX): 16·c bytes hold it; malloc(0) is class 1. */
@inline export function classOf(n: usize): usize {
  return n ? (n + 15) >> 4 : 1;
}

/** Regions in a page of class c once the class has a page (its first is one region): at least
 *  15 objects fit. O(1). */
@inline export function regionsOf(c: usize): usize {
  return c <= 16 ? 1 : c <= 32 ? 2 : 4;
}

/** Objects a page of class c over `regions` regions holds: the most whose flags (a byte each,
 *  after the 40-byte header, rounded up to 16) and selves end 16 bytes before the page's end.
 *  O(1). */
export function capacityFor(c: usize, regions: usize): usize {
  let size = c << 4, end = (regions << REGION_BITS) - 16;
  let cap = (end - PG_FLAGS) / (size + 1);
  return firstFor(cap) + cap * size > end ? cap - 1 : cap; // (rounding the flags up costs at most one)
}

/** Bytes kept clear between a page's flags (and their zero padding) and its first object: as
 *  AssemblyScript's memory manager, the last 4 hold the first object's mmInfo word. */
const RUNTIME_WORD: usize = RUNTIME ? 8 : 0;

/** Offset of the first object of a page holding cap objects. O(1). */
@inline function firstFor(cap: usize): usize {
  return (PG_FLAGS + cap + RUNTIME_WORD + 15) & ~15;
}

/** Offset of the end of page pg's flags and their zero padding (a multiple of 8 past them). O(1). */
@inline export function flagsEnd(pg: usize): usize {
  return firstOf(pg) - RUNTIME_WORD;
}

/** ⌈65536 / c⌉, the multiplier that turns a granule offset into an object index. O(1). */
@inline function recipFor(c: usize): usize {
  return (65535 + c) / c;
}

/** Class c of page pg (its objects are 16·c bytes). O(1). */
@inline export function pageClass(pg: usize): usize {
  return <usize>load<u8>(pg, PG_CLASS);
}

/** Regions (4 KiB each) page pg covers. O(1). */
@inline export function pageRegions(pg: usize): usize {
  return <usize>load<u8>(pg, PG_REGIONS);
}

/** Objects page pg holds. O(1). */
@inline export function capacityOf(pg: usize): usize {
  return <usize>load<u16>(pg, PG_CAP);
}

/** Address of the table entry of heap r for the region starting at pg (inside the table's
 *  cover). O(1). */
@inline export function tableEntry(r: usize, pg: usize): usize {
  return <usize>field(r, R_PT) + ((pg - <usize>field(r, R_PT_BASE)) >> REGION_BITS);
}

/** Offset of page pg's first object. O(1). */
@inline export function firstOf(pg: usize): usize {
  return <usize>load<u32>(pg, PG_LO) - pg;
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

/** Index of the first object of page pg never handed out (its capacity when none is left). O(1). */
@inline export function bumpOf(pg: usize): usize {
  return <usize>load<u16>(pg, PG_BUMP);
}

/** First object of page pg's free list (0: empty). O(1). */
@inline export function freeHead(pg: usize): usize {
  return <usize>load<u32>(pg, PG_FREE);
}

/** First object of page pg's local list (0: empty; 1, FULL: the page is full). O(1). */
@inline export function localHead(pg: usize): usize {
  return <usize>load<u32>(pg, PG_LOCAL);
}

/** Whether page pg is full (and so in no list). O(1). */
@inline export function pageFull(pg: usize): bool {
  return load<u32>(pg, PG_LOCAL) == FULL;
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

// The global heap's table, mirrored in module globals (per instance), so that free finds a page
// without reading its root. A pointer past the mirror's cover re-reads the root: another
// instance sharing the heap may have grown the table.
let mRoot: usize = 0;
let mBase: usize = 0;
let mCover: usize = 0;
let mTable: usize = 0;

/** Makes the module globals mirror heap r's page table (r: the global heap). O(1). */
export function mirrorTable(r: usize): void {
  mRoot = r;
  refreshMirror();
}

/** Reads the mirrored heap's table fields again. O(1). */
function refreshMirror(): void {
  mBase = <usize>field(mRoot, R_PT_BASE);
  mCover = <usize>field(mRoot, R_PT_COVER);
  mTable = <usize>field(mRoot, R_PT);
}

/** pageOf for the mirrored heap (the global heap, which the caller knows exists: it mirrors
 *  from the start): the page byte p lies in, or 0. O(1): module globals and a table byte; past
 *  the mirror's cover, the root's table as it is now. */
@inline export function pageOfMirrored(p: usize): usize {
  let i = (p - mBase) >> REGION_BITS; // below the base: wraps, past cover
  if (i >= mCover) {
    refreshMirror();
    i = (p - mBase) >> REGION_BITS;
    if (i >= mCover) return 0;
  }
  let t = <usize>load<u8>(mTable + i);
  return t ? (p & ~(REGION - 1)) - ((t - 1) << REGION_BITS) : 0;
}

/** Address of the flag of object i of page pg. O(1). */
@inline function flagAt(pg: usize, i: usize): usize {
  return pg + PG_FLAGS + i;
}

/** Index of the object at granule g (16-byte units from the first object) of page pg, when g
 *  is the first granule of one: exact for every granule of a page. O(1): a multiply. */
@inline function indexAt(pg: usize, g: usize): usize {
  return (g * <usize>load<u32>(pg, PG_RECIP)) >> 16;
}

/** Address of the flag of p when p is the start of an object of page pg, else 0: on the grid
 *  of the class within the page's objects. O(1): two multiplies. */
@inline function flagOf(pg: usize, p: usize): usize {
  let g = rotr<u32>(<u32>(p - <usize>load<u32>(pg, PG_LO)), 4); // off the 16-byte grid: huge
  if (g > load<u32>(pg, PG_SPAN)) return 0;
  let i = indexAt(pg, <usize>g);
  return i * <usize>load<u8>(pg, PG_CLASS) == <usize>g ? flagAt(pg, i) : 0;
}

/** The flag of p when p is the start of a live object of page pg, else 0. O(1). */
@inline export function liveFlag(pg: usize, p: usize): usize {
  let f = flagOf(pg, p);
  return f != 0 && <u32>load<u8>(f) - 1 <= 1 ? f : 0; // (1 or 2)
}

/** Whether p is the start of a live object of page pg. O(1). */
@inline export function objectLive(pg: usize, p: usize): bool {
  return liveFlag(pg, p) != 0;
}

/** Marks live object p of page pg as holding dead pieces (features/range.ts recorded one), so
 *  its free forgets them. O(1). */
export function markDead(pg: usize, p: usize): void {
  if (objectLive(pg, p)) store<u8>(flagOf(pg, p), LIVE_DEAD);
}

/** The object of page pg whose bytes hold p (live or free), or 0 when p is in the header or
 *  past the last object. O(1). */
export function objectAround(pg: usize, p: usize): usize {
  let lo = <usize>load<u32>(pg, PG_LO);
  if (p < lo) return 0;
  let i = indexAt(pg, (p - lo) >> 4);
  return i < capacityOf(pg) ? lo + i * objectSize(pg) : 0;
}

/** Pops an object of class c from heap r's head page of that class, or returns 0 (then
 *  pageAlloc makes a page, or pops again after a cut list). O(1): malloc's hit, inlined there. */
@inline export function pagePop(r: usize, c: usize): usize {
  let slot = classSlot(r, c);
  let pg = <usize>load<u32>(slot);
  if (!pg) return 0;
  let o = <usize>load<u32>(pg, PG_FREE); // a listed page's free list is never empty
  // The object must be a free object of the page: a link the program overwrote after a free can
  // name anything. Outside the page's objects, off the 16-byte grid, or (by its flag) a live
  // object: the list ends there (the objects after it are lost until the page empties), and
  // malloc never hands out a page header, memory past the page, or a live object a second
  // time. Not checked, for speed: the class's grid (a link into the middle of a free object
  // passes). The guarded builds name the write. One test for the range and the 16-byte grid:
  // rotating the offset right by 4 moves an off-grid remainder to the top bits.
  let g = rotr<u32>(<u32>(o - <usize>load<u32>(pg, PG_LO)), 4);
  let f = flagAt(pg, indexAt(pg, <usize>g));
  if (g > load<u32>(pg, PG_SPAN) || load<u8>(f) != FREE_OBJECT) return popAfterCut(r, slot, pg);
  let next = <u32>load<u32>(o);
  store<u32>(pg, next, PG_FREE);
  store<u8>(f, LIVE);
  if (!next) refill(r, slot, pg); // the local list, more from bump, or full: out of the list
  return o;
}

/** Page pg (the head of list `slot` of heap r) had a free-list link that names no free object:
 *  the list is cut there (the objects after it come back when the page empties), refilled, and
 *  an object of its class is allocated again. O(cap / 8), plus pageAlloc. */
function popAfterCut(r: usize, slot: usize, pg: usize): usize {
  store<u32>(pg, 0, PG_FREE);
  refill(r, slot, pg); // this page's local list or bump, or, full, out of the list
  return 0; // (the caller pops again: malloc through its slow path, pageAlloc at once)
}

/** Frees p, an address inside page pg of heap r: returns false (and does nothing) unless p is
 *  the start of a live object. O(1): free's hit, inlined there; a page that was full goes back
 *  on its class's list. */
@inline export function pagePush(r: usize, pg: usize, p: usize): bool {
  let f = liveFlag(pg, p);
  if (!f) return false;
  objectFree(r, pg, p, f);
  return true;
}

/** Frees live object p of page pg of heap r, whose flag is at f (liveFlag): onto the page's
 *  local list; a page that was full goes back on its class's list. O(1). */
@inline export function objectFree(r: usize, pg: usize, p: usize, f: usize): void {
  let flag = load<u8>(f);
  store<u8>(f, FREE_OBJECT);
  if (flag == LIVE_DEAD) forgetDead(r, p, p + objectSize(pg)); // pieces freed by ralloc_dealloc
  let head = load<u32>(pg, PG_LOCAL);
  store<u32>(p, head);
  store<u32>(pg, <u32>p, PG_LOCAL);
  if (head == FULL) unfull(r, pg, p);
}

/** Page pg of heap r (the head of list `slot`) gave out the last object of its free list:
 *  refills it from the local list (counting what it takes: every object not live and not
 *  threaded yet is there), else threads the next THREAD objects from bump, else, full, takes
 *  it out of its list. O(cap / 8) or O(THREAD). */
function refill(r: usize, slot: usize, pg: usize): void {
  let local = load<u32>(pg, PG_LOCAL);
  if (local) {
    store<u32>(pg, local, PG_FREE);
    store<u32>(pg, 0, PG_LOCAL);
    addHanded(r, <i64>(bumpOf(pg) - liveIn(pg)));
    return;
  }
  if (bumpOf(pg) < capacityOf(pg)) {
    store<u32>(pg, <u32>thread(r, pg), PG_FREE);
    return;
  }
  unlist(slot, pg);
  store<u32>(pg, FULL, PG_LOCAL);
}

/** Counts n objects put on a free list of heap r's pages (taken back off with n < 0). O(1). */
function addHanded(r: usize, n: i64): void {
  store<i64>(r + R_OBJ_HANDED, load<i64>(r + R_OBJ_HANDED) + n);
}

/** Links up to THREAD objects of page pg from its bump on into a list ending in 0, moves the
 *  bump past them and counts them; returns the first. O(THREAD). */
function thread(r: usize, pg: usize): usize {
  let size = objectSize(pg), cap = capacityOf(pg), b = bumpOf(pg);
  let n = min<usize>(cap - b, THREAD);
  let first = linkLo(pg) + b * size;
  let o = first;
  for (let k: usize = 1; k < n; ++k, o += size) store<u32>(o, <u32>(o + size));
  store<u32>(o, 0);
  memory.fill(flagAt(pg, b), FREE_OBJECT, n);
  store<u16>(pg, <u16>(b + n), PG_BUMP);
  addHanded(r, <i64>n);
  return first;
}

/** Live objects in page pg: the flags that are 1 or 2. O(cap / 8). */
function liveIn(pg: usize): usize {
  let n: usize = 0;
  let f = pg + PG_FLAGS, end = pg + flagsEnd(pg); // the flags and their zero padding
  for (; f < end; f += 8) {
    let w = load<u64>(f);
    n += <usize>popcnt<u64>((w ^ (w >> 1)) & 0x0101_0101_0101_0101); // (1 and 2: one low bit set)
  }
  return n;
}

/** Page pg, full and in no list, got its first free object p: p becomes its free list and the
 *  page goes to the head of its class's list (the page that was there keeps its free list). O(1). */
function unfull(r: usize, pg: usize, p: usize): void {
  store<u32>(p, 0);
  store<u32>(pg, <u32>p, PG_FREE);
  store<u32>(pg, 0, PG_LOCAL);
  addHanded(r, 1);
  enlist(classSlot(r, pageClass(pg)), pg);
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

/** Objects on page pg's free list, following links only while they stay on the page's grid (a
 *  link the program overwrote ends the count). O(list). */
export function freeListLength(pg: usize): usize {
  let n: usize = 0, cap = capacityOf(pg), lo = linkLo(pg), span = <u32>linkSpan(pg);
  for (let o = freeHead(pg); o && n < cap; o = <usize>load<u32>(o)) {
    if (rotr<u32>(<u32>(o - lo), 4) > span) break;
    n++;
  }
  return n;
}

/** Returns empty page pg (out of every list) to the general heap; the objects on its free list
 *  were counted as handed out and never were, so they are taken back off the count. O(cap). */
function pageRelease(r: usize, pg: usize): void {
  addHanded(r, -<i64>freeListLength(pg));
  let c = pageClass(pg);
  let count = classPagesSlot(r, c);
  let pages = load<u16>(count);
  if (pages < 0xFFFF) store<u16>(count, pages - 1);
  memory.fill(tableEntry(r, pg), 0, pageRegions(pg));
  freeMeta(r, pg);
}

/** Returns block p of heap r (a page or a page table) to the general heap: its META bit goes,
 *  then it is freed like any block. O(1). */
function freeMeta(r: usize, p: usize): void {
  setHeader(p, header(p) & ~META);
  freeBlock(r, p);
}


/** Memory for a request of heap r could not be had (ops/ops.ts): classes without pages ask
 *  afresh. O(classes). */
export function pageAsksAgain(r: usize): void {
  if (PAGES) memory.fill(r + R_CLASS_ASKS, 0, CLASS_SLOTS);
}

/** Whether class c of heap r should be served from pages: it has pages, or it has asked for
 *  PAGE_ASKS objects (this ask counted) since memory last ran out. O(1); the slow path's. */
export function pageWanted(r: usize, c: usize): bool {
  if (load<u16>(r + (c << 1), R_CLASS_PAGES)) return true; // (classPagesSlot)
  let asks = <u32>load<u8>(r + c, R_CLASS_ASKS); // (an offset: a few bytes less code)
  if (asks >= PAGE_ASKS) return true;
  store<u8>(r + c, <u8>(asks + 1), R_CLASS_ASKS);
  return false;
}

/** Allocates an object of class c in heap r, making a page for it from the heap's free memory
 *  when no page of the class has room; 0 when the free memory cannot hold a page (the caller,
 *  ops/ops.ts, then flushes, grows memory by pageRoom and tries again, or takes a general
 *  block). Never grows memory, never flushes. O(1), plus making a page: O(THREAD). */
export function pageAlloc(r: usize, c: usize): usize {
  for (let tries = 0; tries < 3; ++tries) { // (a pop finds a cut list at most twice: free, local)
    if (!load<u32>(classSlot(r, c)) && !pageMake(r, c)) return 0;
    let o = pagePop(r, c);
    if (o) return o;
  }
  return 0;
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
  let pg = pageBlock(r, regions << REGION_BITS);
  if (!pg) return 0;
  if (!tableCovers(r, pg, regions)) {
    freeMeta(r, pg); // (no META yet)
    return 0;
  }
  setHeader(pg, header(pg) | META);
  let cap = capacityFor(c, regions);
  let first = firstFor(cap);
  memory.fill(pg, 0, first); // lists, bump, and the flags' padding
  memory.fill(pg + PG_FLAGS, NOT_START, cap); // no object is threaded yet
  store<u16>(pg, <u16>cap, PG_CAP);
  store<u8>(pg, <u8>c, PG_CLASS);
  store<u8>(pg, <u8>regions, PG_REGIONS);
  store<u32>(pg, <u32>(pg + first), PG_LO); // where a free-list link may point (pagePop)
  store<u32>(pg, <u32>((cap - 1) * c), PG_SPAN); // in 16-byte units
  store<u32>(pg, <u32>recipFor(c), PG_RECIP);
  store<u32>(pg, <u32>thread(r, pg), PG_FREE);
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
  let p: usize = 0;
  if (f) {
    let q = (f + REGION - 1) & ~(REGION - 1);
    let gap = q - f; // none, or room for a free block: heapAlign frees it
    if ((gap == 0 || gap >= MIN_BLOCK) && f + sizeOf(f) >= q + bytes) p = takeBlock(r, f, gap + bytes);
  }
  if (!p) p = heapTake(r, bytes + REGION + MIN_BLOCK);
  return p ? heapAlign(r, p, bytes, REGION) : 0;
}

/** Makes heap r's page table cover the regions of a page at pg, making or doubling it from the
 *  heap's free memory as needed; false when it cannot (pg below the table's base, or no free
 *  block large enough). Threads: a thread heap is handed chunks below its first one too, so the
 *  table's base moves down to the heap's lowest block (`lead` regions more in front). O(table)
 *  when it grows, else O(1). */
function tableCovers(r: usize, pg: usize, regions: usize): bool {
  let cover = <usize>field(r, R_PT_COVER);
  let base = <usize>field(r, R_PT_BASE);
  if (!cover) base = <usize>field(r, R_LO) & ~(REGION - 1);
  let lead: usize = 0;
  if (pg < base) {
    if (!THREADS) return false;
    lead = (base - (<usize>field(r, R_LO) & ~(REGION - 1))) >> REGION_BITS;
    base -= lead << REGION_BITS;
    if (pg < base) return false;
  }
  let need = ((pg - base) >> REGION_BITS) + regions;
  if (need <= cover && (!THREADS || !lead)) return true;
  let span = (<usize>field(r, R_HI) - base + REGION - 1) >> REGION_BITS; // the heap as it is
  let bigger = max<usize>(max<usize>(need, cover << 1), max<usize>(span, 256));
  if (THREADS) bigger = max<usize>(bigger, cover + lead);
  bigger = (bigger + 15) & ~15;
  let t = heapTake(r, blockSizeFor(bigger));
  if (!t) return false;
  let old = <usize>field(r, R_PT);
  setHeader(t, header(t) | META);
  if (THREADS) {
    memory.fill(t, 0, bigger);
    if (cover) memory.copy(t + lead, old, cover);
  } else {
    if (cover) memory.copy(t, old, cover);
    memory.fill(t + cover, 0, bigger - cover);
  }
  if (THREADS) lockTake(); // threads: another thread reads this table under the lock (ops/foreign.ts)
  setField(r, R_PT, <u32>t);
  setField(r, R_PT_BASE, <u32>base);
  setField(r, R_PT_COVER, <u32>bigger);
  if (r == mRoot) refreshMirror();
  if (old) freeMeta(r, old);
  if (THREADS) lockGive();
  return true;
}

/** Returns every page of heap r without a live object to the general heap, and the table when
 *  no page is left; run before growing memory or failing, and before trimming. Returns whether
 *  it returned any. O(classes + listed pages × cap / 8), plus O(table) when it did. */
export function pageFlush(r: usize): bool {
  if (!PAGES || !field(r, R_PT_COVER)) return false;
  let any = false;
  for (let c: usize = 1; c < CLASS_SLOTS; ++c) {
    let slot = classSlot(r, c);
    let pg = <usize>load<u32>(slot);
    while (pg) {
      let next = <usize>load<u32>(pg, PG_NEXT);
      if (!liveIn(pg)) { // (a full page has live objects, and is in no list)
        unlist(slot, pg);
        pageRelease(r, pg);
        any = true;
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
  if (THREADS) lockTake(); // (as in tableCovers)
  setField(r, R_PT, 0);
  setField(r, R_PT_BASE, 0);
  setField(r, R_PT_COVER, 0);
  if (r == mRoot) refreshMirror();
  freeMeta(r, t);
  if (THREADS) lockGive();
}

/** Whether block p of heap r is its page table. O(1). */
@inline export function isTable(r: usize, p: usize): bool {
  return p == <usize>field(r, R_PT);
}

/** Whether page pg's header is one pageMake could have written (class, regions, capacity, first
 *  object, span, multiplier): what the heap walker, the stats and inspect/check.ts test before
 *  trusting it, since a write past the block below a page can reach its header. O(1). */
export function pageIntact(pg: usize): bool {
  let c = pageClass(pg), regions = pageRegions(pg);
  if (c < 1 || c > PAGE_MAX >> 4 || (regions != 1 && regions != regionsOf(c))) return false;
  let cap = capacityFor(c, regions);
  return capacityOf(pg) == cap && linkLo(pg) == pg + firstFor(cap) && linkSpan(pg) == (cap - 1) * c
    && <usize>load<u32>(pg, PG_RECIP) == recipFor(c) && bumpOf(pg) <= cap;
}

/** Usable bytes of live objects in page pg, and how many, as a u64 (bytes high). O(cap / 8). */
export function pageLive(pg: usize): u64 {
  let n = <u64>liveIn(pg);
  return (n * <u64>objectSize(pg) << 32) | n;
}

/** The flag of object i of page pg: 0 free, 1 live, 2 live with dead pieces, 3 never threaded;
 *  past the last object, the padding's 0. O(1). */
export function flagOfIndex(pg: usize, i: usize): u32 {
  return <u32>load<u8>(flagAt(pg, i));
}

/** The live objects of heap r's pages, and the objects on their free lists, as a u64 (free-list
 *  objects high): what the stats derive malloc and free calls from. O(pages × cap). */
export function pageTotals(r: usize): u64 {
  let live: u64 = 0, listed: u64 = 0;
  let t = <usize>field(r, R_PT), cover = <usize>field(r, R_PT_COVER), base = <usize>field(r, R_PT_BASE);
  for (let i: usize = 0; i < cover; ) {
    let e = <usize>load<u8>(t + i);
    if (e != 1) { ++i; continue; } // not a page's first region
    let pg = base + (i << REGION_BITS);
    if (!pageIntact(pg)) { ++i; continue; }
    live += <u64>liveIn(pg);
    listed += <u64>freeListLength(pg);
    i += pageRegions(pg);
  }
  return (listed << 32) | live;
}
