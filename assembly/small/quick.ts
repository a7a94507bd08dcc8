// quick.ts — the guarded builds' small-object path: one LIFO list of cached blocks per 16-byte
// size class.
//
// A freed block of size s <= QUICK_MAX is pushed, unmerged, onto list s/16 and marked CACHED;
// the next request of that size pops it. Both are a few loads and stores. Cached blocks are in
// use as far as the general heap knows, so they could hoard memory: the lists hold at most an
// eighth of the heap (and QUICK_LIMIT bytes), the general path flushes them back (merging) when
// they are more than half full, and the heap flushes them before it would ever grow.

import { ALIGN_BITS, CACHED, FREE, SIZE_MASK, header, setHeader, nextLink, setNextLink } from "../base/block";
import { QUICK_MAX, QUICK_COUNT, R_QUICK_BYTES, R_QUICK_CAP, R_LO, R_HI, field, setField, quickSlot } from "../base/root";
import { GUARDED } from "../base/config";
import { M_BAD_LIST, EV_FLUSH } from "../base/abi";
import { report, currentOp } from "../diag/report";
import { requestOf, guardKeepRequest } from "../diag/guard";
import { poolEvent } from "../diag/event";
import { freeBlock } from "../core/heap";
import { noteAlloc } from "../core/counters";

export { QUICK_MAX };

/** Pops a cached block of size s (s <= QUICK_MAX), or returns 0; with `count`, also counts it
 *  as an allocation (malloc's hit path, in one branch). O(1). */
@inline export function quickPop(r: usize, s: usize, count: bool = false): usize {
  let slot = quickSlot(r, s);
  let p = <usize>load<u32>(slot);
  if (GUARDED && p) checkCached(r, p, s);
  if (p) {
    store<u32>(slot, nextLink(p));
    setHeader(p, header(p) & ~CACHED);
    setField(r, R_QUICK_BYTES, field(r, R_QUICK_BYTES) - <u32>s);
    if (count) noteAlloc(r, s);
  }
  return p;
}

/** Guarded builds: cached block p (class s) and the block its link names must be cached blocks
 *  of class s inside the heap; otherwise the program wrote into a freed block, and the pop
 *  would hand out whatever the link names (a live block, say): reported. O(1). */
function checkCached(r: usize, p: usize, s: usize): void {
  let next = nextLink(p);
  let lo = <usize>field(r, R_LO), hi = <usize>field(r, R_HI);
  let ok = cachedOf(p, s)
    && (next == 0 || ((next & 15) == 0 && next >= lo && next < hi && cachedOf(next, s)));
  if (!ok) report(M_BAD_LIST, currentOp(), p, s, 0);
}

/** Whether block p's header says: cached, of class s. O(1). */
@inline function cachedOf(p: usize, s: usize): bool {
  return (header(p) & (SIZE_MASK | FREE | CACHED)) == (<u32>s | CACHED);
}

/** Pushes in-use block p (size s, header h) onto its list unless the lists are full. O(1). */
@inline export function quickPush(r: usize, p: usize, s: usize, h: u32): bool {
  let cached = <usize>field(r, R_QUICK_BYTES) + s;
  if (cached > <usize>field(r, R_QUICK_CAP)) return false;
  setField(r, R_QUICK_BYTES, <u32>cached);
  let slot = quickSlot(r, s);
  setNextLink(p, load<u32>(slot));
  store<u32>(slot, p);
  setHeader(p, h | CACHED);
  return true;
}

/** Returns every cached block to the general lists, merging neighbours. Returns whether there
 *  was anything to flush. O(cached blocks). */
export function quickFlush(r: usize): bool {
  if (QUICK_MAX == 0) return false; // no quick lists
  let bytes = field(r, R_QUICK_BYTES);
  if (!bytes) return false;
  for (let k: usize = 1; k < QUICK_COUNT; ++k) {
    let slot = quickSlot(r, k << ALIGN_BITS);
    let p = <usize>load<u32>(slot);
    store<u32>(slot, 0);
    while (p) {
      if (GUARDED) checkCached(r, p, k << ALIGN_BITS); // a write after free ends in a report, not a wild merge
      let next = nextLink(p);
      let n = GUARDED ? requestOf(p) : 0; // what it asked for, for a second free's message
      setHeader(p, header(p) & ~CACHED);
      freeBlock(r, p);
      if (GUARDED) guardKeepRequest(p, k << ALIGN_BITS, n); // (the security build zeroed it)
      p = next;
    }
  }
  setField(r, R_QUICK_BYTES, 0);
  poolEvent(EV_FLUSH, bytes, 0, 0);
  return true;
}
