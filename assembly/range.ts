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
//   - at the start of a kept block, the block carries LEAD_DEAD (block.ts): its first bytes,
//     fewer than 16, are dead;
//   - in the middle of a live block, the piece goes into the root's dead-piece table (at most
//     DEAD_SLOTS at once; when it is full the range is refused and nothing changes). A later
//     range next to a recorded piece takes it along; a range overlapping one is a double free
//     and is refused; freeing or shrinking the block forgets the pieces inside it.
// Bytes right of a range are live only when there are 16 or more: fewer is the slack of rounding
// (so a piece kept at the end of a block must be at least 16 bytes long).
// Cost: O(1) for a sized free of a whole block; otherwise a walk of the span that holds a.

import {
  HEADER, MIN_BLOCK, FREE, CACHED, LEAD_DEAD, PREV_FREE, SIZE_MASK, header, setHeader, sizeOf,
} from "./block";
import { R_SPANS, R_IN_USE, R_SPLITS, R_DEAD, DEAD_SLOTS, field, setField } from "./root";
import { spanNext, spanEnd, spanFirst } from "./span";
import { freeBlock, cutBlock, heapOwns } from "./heap";
import { noteFree } from "./stats";
import { DEBUG } from "./config";

/** The live block of heap r whose payload holds all of [a, a + len), or 0. A header cannot tell
 *  a block's address from stale bytes inside another block, so only a sized free of a whole
 *  block (as much trust as free gives) is taken in O(1), and never in the debug build; any other
 *  range is found exactly by walking its span: O(blocks in the span). */
export function blockHolding(r: usize, a: usize, len: usize): usize {
  if (len == 0) return 0;
  let stop = <u64>a + <u64>len;
  if (!DEBUG && heapOwns(r, a)) {
    let end = <u64>(a + sizeOf(a) - HEADER);
    if (stop <= end && end - stop < MIN_BLOCK) return a;
  }
  for (let s = <usize>field(r, R_SPANS); s; s = spanNext(s)) {
    let end = spanEnd(s);
    if (a < s || a >= end) continue;
    for (let p = spanFirst(s); p < end; p += sizeOf(p)) {
      let usableEnd = p + sizeOf(p) - HEADER;
      if (a >= usableEnd) continue;
      if (a < p || (header(p) & (FREE | CACHED)) != 0 || stop > <u64>usableEnd) return 0;
      return p;
    }
  }
  return 0;
}

/** Address of dead-piece slot i of root r: {u32 start, u32 end}. O(1). */
@inline export function deadSlot(r: usize, i: usize): usize {
  return r + R_DEAD + 8 + (i << 3);
}

/** Forgets the dead pieces recorded inside [from, to) (their block is being freed). O(slots). */
export function forgetDead(r: usize, from: usize, to: usize): void {
  let n = <usize>field(r, R_DEAD);
  for (let i: usize = 0; i < n; ) {
    let slot = deadSlot(r, i);
    let start = <usize>load<u32>(slot);
    if (start >= from && start < to) {
      store<u64>(slot, load<u64>(deadSlot(r, --n))); // move the last entry here
    } else {
      ++i;
    }
  }
  setField(r, R_DEAD, <u32>n);
}

/** Whether [a, stop) overlaps a recorded dead piece (those bytes were freed already). */
function overlapsDead(r: usize, a: usize, stop: usize): bool {
  let n = <usize>field(r, R_DEAD);
  for (let i: usize = 0; i < n; ++i) {
    let slot = deadSlot(r, i);
    if (<usize>load<u32>(slot) < stop && <usize>load<u32>(slot, 4) > a) return true;
  }
  return false;
}

/** Grows [a, stop) over the recorded dead pieces that touch it, removing them from the table;
 *  returns the new range as a u64 (start low, end high). O(DEAD_SLOTS^2) at worst. */
function absorbDead(r: usize, a: usize, stop: usize): u64 {
  let n = <usize>field(r, R_DEAD);
  for (let i: usize = 0; i < n; ) {
    let slot = deadSlot(r, i);
    let start = <usize>load<u32>(slot), end = <usize>load<u32>(slot, 4);
    if (end != a && start != stop) {
      ++i;
      continue;
    }
    if (end == a) a = start; else stop = end;
    store<u64>(slot, load<u64>(deadSlot(r, --n)));
    i = 0; // the grown range may touch an entry already passed
  }
  setField(r, R_DEAD, <u32>n);
  return (<u64>stop << 32) | <u64>a;
}

/** Records [a, stop) as a dead piece; false when the table is full. O(1). */
function recordDead(r: usize, a: usize, stop: usize): bool {
  let n = <usize>field(r, R_DEAD);
  if (n >= DEAD_SLOTS) return false;
  store<u32>(deadSlot(r, n), <u32>a);
  store<u32>(deadSlot(r, n), <u32>stop, 4);
  setField(r, R_DEAD, <u32>(n + 1));
  return true;
}

/** Frees [a, a + len) of a live block of heap r. Returns false, changing nothing, when the range
 *  is not inside one live block, overlaps a piece already freed, or is a small middle piece and
 *  the dead-piece table is full. O(1) after blockHolding, plus O(DEAD_SLOTS). */
export function heapDealloc(r: usize, a: usize, len: usize): bool {
  let b = blockHolding(r, a, len);
  if (!b) return false;
  if (field(r, R_DEAD)) {
    if (overlapsDead(r, a, a + len)) return false; // part of it was freed already
    // Take along the small pieces freed earlier next to this range (they lie in the same block).
    let grown = absorbDead(r, a, a + len);
    a = <usize>(grown & 0xFFFF_FFFF);
    len = <usize>(grown >> 32) - a;
  }
  let h = header(b);
  let s = sizeOf(b);
  let end = b + s - HEADER;
  let stop = a + len;
  let keepLeft = a > b && !((h & LEAD_DEAD) != 0 && a - b < MIN_BLOCK);
  let keepRight = end - stop >= MIN_BLOCK;
  if (!keepLeft && !keepRight) {
    // The last of the block: merge it now (not into a quick list), so the whole of the original
    // block is one free block again.
    noteFree(r, s);
    if (field(r, R_DEAD)) forgetDead(r, b, b + s);
    setHeader(b, h & (PREV_FREE | SIZE_MASK));
    freeBlock(r, b);
    return true;
  }
  if (!keepLeft) {
    // Prefix: the kept block q starts at the last 16-byte boundary at or below stop.
    let q = stop & ~15;
    if (q < b + MIN_BLOCK) {
      setHeader(b, h | LEAD_DEAD); // too little to stand alone: it stays, marked dead
      return true;
    }
    setHeader(q, <u32>(b + s - q) | (stop > q ? LEAD_DEAD : 0));
    setHeader(b, <u32>(q - b) | (h & PREV_FREE));
    freeBlock(r, b);
    setField(r, R_IN_USE, field(r, R_IN_USE) - <u32>(q - b));
    return true;
  }
  let s1 = (a - b + HEADER + 15) & ~15; // the kept left part, rounded up to whole units
  if (!keepRight) {
    // Suffix: cut the block down to its left part.
    if (s - s1 >= MIN_BLOCK) {
      cutBlock(r, b, s1);
      setField(r, R_IN_USE, field(r, R_IN_USE) - <u32>(s - s1));
    }
    return true;
  }
  // Middle: a free block between the kept left part and a kept block q on the right.
  let m = b + s1;
  let q = stop & ~15;
  if (q < m + MIN_BLOCK) return recordDead(r, a, stop); // too little to stand alone
  setHeader(q, <u32>(b + s - q) | (stop > q ? LEAD_DEAD : 0));
  setHeader(b, <u32>s1 | (h & (PREV_FREE | LEAD_DEAD)));
  setHeader(m, <u32>(q - m));
  freeBlock(r, m);
  setField(r, R_IN_USE, field(r, R_IN_USE) - <u32>(q - m + HEADER));
  setField(r, R_SPLITS, field(r, R_SPLITS) + 1); // one live block became two
  return true;
}
