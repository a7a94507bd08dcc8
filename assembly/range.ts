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
// stays inside the kept neighbour and comes back with it: a block whose first bytes were freed
// that way carries LEAD_DEAD (block.ts). A later range covering the rest of the block frees all
// of it. The exact rules:
//   - bytes of the block left of the range are live, except fewer than 16 in a LEAD_DEAD block
//     (its dead lead);
//   - bytes right of the range are live only when there are 16 or more: fewer is the slack of
//     rounding (so a piece kept at the end of a block must be at least 16 bytes long).
// Cost: O(1) when a is a block's address; otherwise a walk of the span that holds a.

import { HEADER, MIN_BLOCK, FREE, CACHED, LEAD_DEAD, PREV_FREE, header, setHeader, sizeOf } from "./block";
import { R_SPANS, R_IN_USE, R_SPLITS, field, setField } from "./root";
import { spanNext, spanEnd, spanFirst } from "./span";
import { freeBlock, cutBlock, heapFree, heapOwns } from "./heap";
import { noteFree } from "./stats";

/** The live block of heap r whose payload holds all of [a, a + len), or 0. O(1) when a is a
 *  block's address, else O(blocks in a's span). */
export function blockHolding(r: usize, a: usize, len: usize): usize {
  if (len == 0) return 0;
  let stop = <u64>a + <u64>len;
  if (heapOwns(r, a)) return stop <= <u64>(a + sizeOf(a) - HEADER) ? a : 0;
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

/** Frees [a, a + len) of a live block of heap r. Returns false, changing nothing, when the range
 *  is not inside one live block. O(1) after blockHolding. */
export function heapDealloc(r: usize, a: usize, len: usize): bool {
  let b = blockHolding(r, a, len);
  if (!b) return false;
  let h = header(b);
  let s = sizeOf(b);
  let end = b + s - HEADER;
  let stop = a + len;
  let keepLeft = a > b && !((h & LEAD_DEAD) != 0 && a - b < MIN_BLOCK);
  let keepRight = end - stop >= MIN_BLOCK;
  if (!keepLeft && !keepRight) {
    noteFree(r, s);
    heapFree(r, b, h);
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
  if (q < m + MIN_BLOCK) return true; // too little to stand alone: it stays with b
  setHeader(q, <u32>(b + s - q) | (stop > q ? LEAD_DEAD : 0));
  setHeader(b, <u32>s1 | (h & (PREV_FREE | LEAD_DEAD)));
  setHeader(m, <u32>(q - m));
  freeBlock(r, m);
  setField(r, R_IN_USE, field(r, R_IN_USE) - <u32>(q - m + HEADER));
  setField(r, R_SPLITS, field(r, R_SPLITS) + 1); // one live block became two
  return true;
}
