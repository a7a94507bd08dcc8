// span.ts — spans: the stretches of memory a heap is given. The heap never asks where they
// come from (the shim's growth, a donated buffer, a fixed test arena); it is handed them.
//
//   a span [base, end), base and end multiples of 16
//   ┌───────────┬──────────┬─────────────┬──────────────────────────┬─────────┐
//   │ next span │ end      │ (reserved)  │ blocks ...               │ tail    │
//   │ base + 0  │ base + 4 │ base + 8    │ first header at base+12  │ end - 4 │
//   └───────────┴──────────┴─────────────┴──────────────────────────┴─────────┘
//   The first block's payload is base + 16 and its PREV_FREE is never set, so nothing merges
//   across the span's start. The tail is a header of size 0 that is never FREE, so nothing
//   merges across its end; its PREV_FREE tells whether the last block is free.

import {
  ALIGN_MASK, HEADER, MIN_BLOCK, FREE, PREV_FREE, setHeader, header, sizeOf, setFooter, prevFreeOf,
} from "../base/block";
import { ROOT_SIZE, R_SPANS, R_LO, R_HI, R_BLOCK_BYTES, field, setField, addClaimed } from "../base/root";
import { insertFree, removeFree } from "./bins";

/** Most spans a walk follows: a loop in a corrupted span list ends there. */
export const MAX_SPANS: u32 = 0x10000;

/** Room to ask for beyond a block when opening a span: its 12-byte head and the first
 *  block's header (16 bytes), the 4-byte tail, and slack for aligning its ends (32 in all). */
export const SPAN_OVERHEAD: usize = 32;

/** The next (older) span after span s, or 0. O(1). */
@inline export function spanNext(s: usize): usize {
  return load<u32>(s);
}

/** End of span s. O(1). */
@inline export function spanEnd(s: usize): usize {
  return load<u32>(s, 4);
}

/** Whether s looks like a span of heap r: 16-aligned, its first block and its end inside the
 *  heap's [lo, hi], its end past its first block. Read before a span's end is trusted, since a
 *  write below a span's first block (an underflow) reaches its head. O(1). */
export function spanSound(r: usize, s: usize): bool {
  let lo = <usize>field(r, R_LO), hi = <usize>field(r, R_HI);
  if ((s & 15) != 0 || s < 16 || s + 16 < lo || s + 16 >= hi) return false; // (s + 16 < hi: no wrap)
  let end = spanEnd(s);
  return (end & 15) == 0 && end > s + 16 && end <= hi;
}

/** The first span of heap r, or 0 when there is none or its link was overwritten. O(1). */
export function spanHead(r: usize): usize {
  let s = <usize>field(r, R_SPANS);
  return s && spanSound(r, s) ? s : 0;
}

/** The span after span s of heap r, or 0 at the end of the list, or where the link does not
 *  name a sound span (spanSound): a walk ends there instead of reading outside memory. O(1). */
export function spanAfter(r: usize, s: usize): usize {
  let t = spanNext(s);
  return t && spanSound(r, t) ? t : 0;
}

/** First block of span s. O(1). */
@inline export function spanFirst(s: usize): usize {
  return s + 16;
}

/**
 * Gives heap r the memory [start, end): extends its newest span when start is that span's end,
 * otherwise opens a new span. Returns the block that now ends the span, holding all of the new
 * memory, still to be freed by the caller (core/heap.ts heapAddMemory merges it with a free
 * block before it), or 0 when the stretch is too small to use. O(1).
 */
export function spanAdd(r: usize, start: usize, end: usize): usize {
  let base = (start + ALIGN_MASK) & ~ALIGN_MASK;
  end &= ~ALIGN_MASK;
  let s = field(r, R_SPANS);
  let b: usize; // the block that holds the new memory
  let claimed = end - start;
  if (s != 0 && base == spanEnd(s) && end > base) {
    // Contiguous: the old tail becomes the header of a block covering the new memory.
    b = spanEnd(s);
    setHeader(b, <u32>(end - b) | (header(b) & PREV_FREE));
    store<u32>(s, end, 4);
    claimed = end - b;
  } else {
    if (end < base || end - base < SPAN_OVERHEAD + MIN_BLOCK) return 0;
    store<u32>(base, s);
    store<u32>(base, end, 4);
    store<u32>(base, 0, 8);
    b = spanFirst(base);
    setHeader(b, <u32>(end - b));
    setField(r, R_SPANS, <u32>base);
    let lo = field(r, R_LO);
    if (lo == 0 || b < lo) setField(r, R_LO, <u32>b);
  }
  setHeader(end, 0); // the tail
  setField(r, R_BLOCK_BYTES, field(r, R_BLOCK_BYTES) + <u32>(end - b));
  setField(r, R_HI, max<u32>(field(r, R_HI), <u32>end));
  addClaimed(r, <i32>claimed);
  return b;
}

/** Whether [start, end) overlaps heap r's root or any of its spans. O(spans). */
export function spansOverlap(r: usize, start: usize, end: usize): bool {
  if (start < r + ROOT_SIZE && end > r) return true;
  for (let s = spanHead(r), n: u32 = 0; s && n < MAX_SPANS; s = spanAfter(r, s), ++n) {
    if (start < spanEnd(s) && end > s) return true;
  }
  return false;
}

/**
 * Truncates heap r's newest span when it ends at `top` and its last block is free: that block
 * is given up (all but 16 bytes when it is the span's only block). Returns the span's new end,
 * or 0 when there is nothing to give. O(1).
 */
export function truncateTop(r: usize, top: usize): usize {
  let s = <usize>field(r, R_SPANS);
  if (!s) return 0;
  let end = spanEnd(s);
  if (end != top || !(header(end) & PREV_FREE)) return 0;
  let f = prevFreeOf(end);
  let fs = sizeOf(f);
  if (f == spanFirst(s) && fs <= MIN_BLOCK) return 0;
  removeFree(r, f, fs);
  let newEnd: usize;
  if (f == spanFirst(s)) {
    newEnd = f + MIN_BLOCK; // a span keeps one block
    setHeader(f, <u32>MIN_BLOCK | FREE);
    setFooter(f, MIN_BLOCK);
    insertFree(r, f, MIN_BLOCK);
    setHeader(newEnd, PREV_FREE);
  } else {
    newEnd = f;
    setHeader(f, 0); // f's header becomes the tail; the block before f is in use
  }
  store<u32>(s, newEnd, 4);
  setField(r, R_BLOCK_BYTES, field(r, R_BLOCK_BYTES) - <u32>(end - newEnd));
  if (<usize>field(r, R_HI) == end) setField(r, R_HI, <u32>newEnd);
  addClaimed(r, -<i32>(end - newEnd));
  return newEnd;
}

/** Where the last blockAround found a header it cannot step over, else 0. */
let broken: usize = 0;

/** The header blockAround could not step over (a corrupted heap), or 0. O(1). */
export function brokenBlock(): usize {
  return broken;
}

/** The block of heap r whose extent [b - 4, b + size - 4) holds byte p, or 0 when no span's
 *  blocks hold it (a span head or tail, memory outside the spans). A header whose size does not
 *  fit its span stops the walk: 0, and brokenBlock() names it. O(blocks in p's span). */
export function blockAround(r: usize, p: usize): usize {
  broken = 0;
  for (let s = spanHead(r), n: u32 = 0; s && n < MAX_SPANS; s = spanAfter(r, s), ++n) {
    let end = spanEnd(s);
    if (p < s || p >= end) continue;
    for (let b = spanFirst(s); b < end; ) {
      let size = sizeOf(b);
      if (size < MIN_BLOCK || size > end - b) {
        broken = b;
        return 0;
      }
      if (p < b + size - HEADER) return p + HEADER > b ? b : 0;
      b += size;
    }
    return 0;
  }
  return 0;
}
