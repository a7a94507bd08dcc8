// counters.ts — the counts every heap keeps in its root (base/root.ts): calls made, blocks split
// by partial frees, the peak of held bytes. Bytes in use are derived from them and from the
// block counts (inspect/stats.ts), so nothing on the fast paths keeps a count of bytes.

import {
  R_FREE_BYTES, R_PEAK_HELD, R_BLOCK_BYTES, R_SPLITS, R_MALLOCS, R_FREES, R_REALLOCS, R_OBJ_REALLOC_IN,
  R_OBJ_REALLOC_OUT, field, setField,
} from "../base/root";

/** Counts an allocation (of a block of size s). O(1): one counter; bytes in use are derived. */
@inline export function noteAlloc(r: usize, s: usize): void {
  store<u64>(r + R_MALLOCS, load<u64>(r + R_MALLOCS) + 1);
}

/** Counts the freeing of a block (of size s). O(1): one counter. */
@inline export function noteFree(r: usize, s: usize): void {
  store<u64>(r + R_FREES, load<u64>(r + R_FREES) + 1);
}

/** Counts a realloc call. O(1). */
@inline export function noteRealloc(r: usize): void {
  store<u64>(r + R_REALLOCS, load<u64>(r + R_REALLOCS) + 1);
}

/** Live general blocks (release's objects are counted apart, inspect/stats.ts): every counted
 *  allocation, plus blocks split off by partial frees, minus every counted free; a realloc that
 *  moved an object into a general block adds one, one that moved a general block into an object
 *  takes one (objects freed by realloc - objects taken by it: moves between objects cancel). O(1). */
export function liveBlocks(r: usize): u32 {
  return <u32>(load<u64>(r + R_MALLOCS) - load<u64>(r + R_FREES)) + field(r, R_SPLITS)
    + field(r, R_OBJ_REALLOC_OUT) - field(r, R_OBJ_REALLOC_IN);
}

/** Bytes of the blocks not in the free lists: live blocks and cached ones, headers included.
 *  Changes only on the general path. O(1). */
@inline export function heldBytes(r: usize): u32 {
  return field(r, R_BLOCK_BYTES) - field(r, R_FREE_BYTES);
}

/** Raises the peak of held bytes; called where they can grow (the general path hands out a
 *  block, a block grows in place). O(1). */
@inline export function noteHeld(r: usize): void {
  let held = heldBytes(r);
  if (held > field(r, R_PEAK_HELD)) setField(r, R_PEAK_HELD, held);
}
