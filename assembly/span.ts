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

import { ALIGN_MASK, MIN_BLOCK, PREV_FREE, setHeader, header } from "./block";
import { R_SPANS, R_LO, R_HI, R_CLAIMED, field, setField } from "./root";
import { freeBlock } from "./heap";

/** Bytes a span spends on itself: its 16-byte head and its 4-byte tail (rounded). */
export const SPAN_OVERHEAD: usize = 32;

/** The next (older) span after span s, or 0. O(1). */
@inline export function spanNext(s: usize): usize {
  return load<u32>(s);
}

/** End of span s. O(1). */
@inline export function spanEnd(s: usize): usize {
  return load<u32>(s, 4);
}

/** First block of span s. O(1). */
@inline export function spanFirst(s: usize): usize {
  return s + 16;
}

/**
 * Gives heap r the memory [start, end): extends its newest span when start is that span's end,
 * otherwise opens a new span. Returns the free block that now ends the span (it holds all of
 * the new memory), or 0 when the stretch is too small to use. O(1).
 */
export function addMemory(r: usize, start: usize, end: usize): usize {
  let base = (start + ALIGN_MASK) & ~ALIGN_MASK;
  end &= ~ALIGN_MASK;
  let s = field(r, R_SPANS);
  if (s != 0 && base == spanEnd(s) && end > base) {
    // Contiguous: the old tail becomes the header of a block covering the new memory.
    let tail = spanEnd(s);
    setHeader(tail, <u32>(end - tail) | (header(tail) & PREV_FREE));
    setHeader(end, 0);
    store<u32>(s, end, 4);
    setField(r, R_HI, max<u32>(field(r, R_HI), <u32>end));
    setField(r, R_CLAIMED, field(r, R_CLAIMED) + <u32>(end - tail));
    return freeBlock(r, tail);
  }
  if (end < base || end - base < SPAN_OVERHEAD + MIN_BLOCK) return 0;
  store<u32>(base, s);
  store<u32>(base, end, 4);
  store<u32>(base, 0, 8);
  let first = spanFirst(base);
  setHeader(first, <u32>(end - first));
  setHeader(end, 0);
  setField(r, R_SPANS, <u32>base);
  let lo = field(r, R_LO);
  if (lo == 0 || first < lo) setField(r, R_LO, <u32>first);
  setField(r, R_HI, max<u32>(field(r, R_HI), <u32>end));
  setField(r, R_CLAIMED, field(r, R_CLAIMED) + <u32>(end - start));
  return freeBlock(r, first);
}
