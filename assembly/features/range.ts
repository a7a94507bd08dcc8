// range.ts — partial deallocation: freeing a byte range [a, a + len) inside a live block.
//
// ralloc lets a caller free any part of a block: a prefix, a suffix, a middle, or all of it.
// What remains stays allocated and can be freed the same way later. Blocks here have a header
// and a 16-byte grain, so a cut falls on 16-byte boundaries:
//
//   the live block    │h│ b ........................................................ │
//   prefix freed      │h│ free block            │h│ q: kept, from the boundary ≤ a+len  │
//   suffix freed      │h│ b: kept up to a (rounded up) │h│ free block                   │
//   middle freed      │h│ b: kept │h│ free block │h│ q: kept .......................... │
//
// A piece of the range too small to stand alone (no room for a 16-byte block and its header)
// stays inside the kept neighbour and comes back with it:
//   - at the start of a kept block, the block carries LEAD_DEAD (base/block.ts): its first bytes,
//     fewer than 16, are dead, and the first of them holds how many;
//   - in the middle of a live block, the piece goes into the dead-piece table (core/dead.ts: at most
//     DEAD_SLOTS at once; when it is full such a range is refused and nothing changes). A later
//     range next to a recorded piece takes it along; a range overlapping one is a double free
//     and is refused; freeing or shrinking the block forgets the pieces inside it.
//   - an object of a page (release, small/page.ts) has no header to cut at: every piece freed inside
//     it goes into the table, and the object is freed when the pieces cover it. A piece at
//     the end that cannot be cut off is recorded too when there is room (so freeing it twice is
//     refused), and comes back with the block either way.
// Bytes right of a range are live when there are 16 or more, or when a partial free made that
// end of the block (the table records such ends, with the dead bytes before them, possibly
// none); fewer than 16 before an allocation's own end are the slack of rounding. So a piece kept
// at the very end of an allocation must be at least 16 bytes long.
// Cost: a walk of the span that holds a (a header cannot tell a block's address from user bytes
// inside another block, and any range is legal here); free() is the O(1) way to free a block.

import {
  HEADER, MIN_BLOCK, FREE, CACHED, LEAD_DEAD, PREV_FREE, SIZE_MASK, header, setHeader, sizeOf,
} from "../base/block";
import { R_SPLITS, R_DEAD, field, setField } from "../base/root";
import { GUARDED, PAGES } from "../base/config";
import { guardSet, guardRetire, guardKeepRequest, guardedBlockFor, requestOf, serialOf, nextSerial } from "../diag/guard";
import { blockAround } from "../core/span";
import { forgetDead, overlapsDead, grownOverDead, exactEnd, deadRoom, recordDead } from "../core/dead";
import { noteFree } from "../core/counters";
import { freeBlock, cutBlock } from "../core/heap";
import { pageOf, objectAround, objectLive, objectSize, pagePush, markDead } from "../small/page";

/** heapDealloc's answers. */
export const DEALLOC_OK: u32 = 0;
/** The range is not inside what one live block asked for. */
export const DEALLOC_OUTSIDE: u32 = 1;
/** Part of the range was freed already. */
export const DEALLOC_FREED: u32 = 2;
/** A small middle piece, and the dead-piece table is full. */
export const DEALLOC_FULL: u32 = 3;

/** The live block of heap r whose payload holds all of [a, a + len) (guarded builds: all of
 *  its request), or 0. Found by walking the span that holds a (blockAround): a header cannot
 *  tell a block's address from user bytes inside another block, and any range inside a block
 *  is legal here. O(blocks in the span). */
export function blockHolding(r: usize, a: usize, len: usize): usize {
  if (len == 0) return 0;
  let p = blockAround(r, a);
  if (!p || a < p || (header(p) & (FREE | CACHED)) != 0) return 0;
  let limit = GUARDED ? p + requestOf(p) : p + sizeOf(p) - HEADER;
  return <u64>a + <u64>len > <u64>limit ? 0 : p;
}

/** Dead lead bytes of live block b: set by a partial free, kept in b's first byte. O(1). */
@inline export function leadOf(b: usize): usize {
  return header(b) & LEAD_DEAD ? <usize>load<u8>(b) : 0;
}

/** Marks the first n bytes (1..15) of live block b dead; n = 0 clears the mark. O(1). */
function setLead(b: usize, n: usize): void {
  let h = header(b) & ~LEAD_DEAD;
  if (n) {
    store<u8>(b, <u8>n); // those bytes are dead: the allocator may keep the count there
    h |= LEAD_DEAD;
  }
  setHeader(b, h);
}

/** Frees [a, a + len) of a live block of heap r. Returns DEALLOC_OK, or (changing nothing)
 *  DEALLOC_OUTSIDE when the range is not inside one live block, DEALLOC_FREED when it overlaps a
 *  piece already freed, DEALLOC_FULL when it is a small middle piece and the dead-piece table
 *  is full. In the guarded builds a block's end is exactly what it asked for, and each kept part
 *  gets its own guard. O(1) after blockHolding, plus O(DEAD_SLOTS). */
export function heapDealloc(r: usize, a: usize, len: usize): u32 {
  if (PAGES) {
    let pg = pageOf(r, a);
    if (pg) return objectDealloc(r, pg, a, len);
  }
  let b = blockHolding(r, a, len);
  if (!b) return DEALLOC_OUTSIDE;
  let h = header(b);
  let s = sizeOf(b);
  let end = GUARDED ? b + requestOf(b) : b + s - HEADER;
  let serial = GUARDED ? serialOf(b) : 0;
  let stop = a + len;
  let lead = leadOf(b);
  if (a < b + lead) return DEALLOC_FREED; // part of the dead lead: freed already
  if (field(r, R_DEAD)) {
    if (overlapsDead(r, a, stop)) return DEALLOC_FREED; // part of it was freed already
    // Take along the small pieces freed earlier next to this range (they lie in the same block).
    let grown = grownOverDead(r, a, stop);
    let ga = <usize>(grown & 0xFFFF_FFFF), gs = <usize>(grown >> 32);
    if (ga < b + lead || gs > end) return DEALLOC_OUTSIDE; // not in a sound heap; unchanged
    forgetDead(r, ga, gs);
    a = ga;
    stop = gs;
  }
  let keepLeft = a > b + lead;
  // Fewer than 16 bytes right of the range are the rounding slack of the allocation, unless a
  // partial free made this end: then every byte there is live. (Guarded: the end is exact.)
  let keepRight = GUARDED ? stop < end : end - stop >= MIN_BLOCK || (end != stop && exactEnd(r, end));
  if (!keepLeft && !keepRight) {
    // The last of the block: merge it now (not into a quick list), so the whole of the original
    // block is one free block again.
    noteFree(r, s);
    if (field(r, R_DEAD)) forgetDead(r, b, b + s);
    if (GUARDED) guardRetire(b, s);
    setHeader(b, h & (PREV_FREE | SIZE_MASK));
    freeBlock(r, b);
    if (GUARDED) guardKeepRequest(b, s, end - b);
    return DEALLOC_OK;
  }
  if (!keepLeft) {
    // Prefix: the kept block q starts at the last 16-byte boundary at or below stop.
    let q = stop & ~15;
    if (q < b + MIN_BLOCK) {
      setLead(b, stop - b); // too little to stand alone: it stays, marked dead
      return DEALLOC_OK;
    }
    setHeader(q, <u32>(b + s - q));
    setLead(q, stop - q);
    setHeader(b, <u32>(q - b) | (h & PREV_FREE));
    freeBlock(r, b);
    if (GUARDED) guardSet(q, end - q, serial, false); // q keeps b's end, and b's number
    return DEALLOC_OK;
  }
  // the kept left part, rounded up to whole units (guarded: with room for its guard)
  let s1 = GUARDED ? guardedBlockFor(a - b) : (a - b + HEADER + 15) & ~15;
  // Cutting b down to s1 makes a new end; it is recorded with the dead bytes before it
  // (possibly none), so that end is exact from now on. Refused, unchanged, with no room.
  if (!keepRight) {
    if (GUARDED) {
      // Suffix, guarded: the request shrinks to a - b; the block is cut when the rest can stand.
      if (s - s1 >= MIN_BLOCK) cutBlock(r, b, s1);
      guardSet(b, a - b, serial, false);
      return DEALLOC_OK;
    }
    // Suffix: cut the block down to its left part; what cannot be cut is recorded as dead.
    if (!deadRoom(r)) return DEALLOC_FULL;
    if (s - s1 < MIN_BLOCK) return recordDead(r, a, stop) ? DEALLOC_OK : DEALLOC_FULL;
    cutBlock(r, b, s1);
    recordDead(r, a, b + s1 - HEADER);
    return DEALLOC_OK;
  }
  // Middle: a free block between the kept left part and a kept block q on the right.
  let m = b + s1;
  let q = stop & ~15;
  if (!deadRoom(r)) return DEALLOC_FULL;
  if (q < m + MIN_BLOCK) return recordDead(r, a, stop) ? DEALLOC_OK : DEALLOC_FULL; // too little to stand alone
  setHeader(q, <u32>(b + s - q));
  setLead(q, stop - q);
  setHeader(b, <u32>s1 | (h & (PREV_FREE | LEAD_DEAD)));
  setHeader(m, <u32>(q - m));
  freeBlock(r, m);
  if (GUARDED) {
    guardSet(b, a - b, serial, false);
    guardSet(q, end - q, nextSerial(), false); // a new live block: a number of its own
  } else {
    recordDead(r, a, m - HEADER); // b's new end, exact
  }
  setField(r, R_SPLITS, field(r, R_SPLITS) + 1); // one live block became two
  return DEALLOC_OK;
}

/** heapDealloc for a range in page pg (release): an object cannot be cut, so each piece goes into
 *  the dead-piece table, merged with the pieces it touches, and the object is freed when its
 *  pieces cover it (up to its last 15 bytes of rounding slack, as for blocks). O(DEAD_SLOTS²). */
function objectDealloc(r: usize, pg: usize, a: usize, len: usize): u32 {
  let o = objectAround(pg, a);
  if (len == 0 || !o || !objectLive(pg, o)) return DEALLOC_OUTSIDE;
  let end = o + objectSize(pg);
  let stop = a + len;
  if (<u64>a + <u64>len > <u64>end) return DEALLOC_OUTSIDE;
  if (field(r, R_DEAD) && overlapsDead(r, a, stop)) return DEALLOC_FREED;
  // (objects touch: only this object's own pieces are merged)
  let grown = field(r, R_DEAD) ? grownOverDead(r, a, stop, o, end) : (<u64>stop << 32) | <u64>a;
  let ga = <usize>(grown & 0xFFFF_FFFF), gs = <usize>(grown >> 32);
  if (ga < o || gs > end) return DEALLOC_OUTSIDE; // not in a sound heap; unchanged
  let keepRight = end - gs >= MIN_BLOCK || (end != gs && exactEnd(r, end));
  if (ga == o && !keepRight) {
    forgetDead(r, o, end);
    pagePush(r, pg, o); // (a free: inspect/stats.ts counts it from the live flags)
    return DEALLOC_OK;
  }
  if (ga == a && gs == stop && !deadRoom(r)) return DEALLOC_FULL; // nothing to merge into
  forgetDead(r, ga, gs); // the pieces it grew over (at least one when the table was full)
  recordDead(r, ga, gs);
  markDead(pg, o); // its free forgets its pieces
  return DEALLOC_OK;
}
