// front.ts — a heap's free memory as its callers see it: the core's free lists (core/bins.ts)
// plus what the small-object paths hold back from them, the guarded builds' quick lists
// (small/quick.ts) and release's empty pages (small/page.ts). A block is taken from the quick lists first,
// then from the lists; before a caller grows memory or fails, what is held back is flushed into
// the lists and searched again, so freeing everything leaves the heap whole.

import { HEADER, LEAD_DEAD, SIZE_MASK } from "../base/block";
import { R_DEAD, R_QUICK_BYTES, R_QUICK_CAP, field } from "../base/root";
import { SECURITY } from "../base/config";
import { findFree, scanOwnList } from "../core/bins";
import { forgetDead } from "../core/dead";
import { freeBlock, takeBlock } from "../core/heap";
import { QUICK_MAX, quickPop, quickPush, quickFlush } from "./quick";
import { pageFlush } from "./page";

/** An in-use block of size at least s from heap r's own memory, or 0. The quick-list hit is
 *  inlined into the caller; the rest is heapAllocSlow. O(1). */
@inline export function heapAlloc(r: usize, s: usize): usize {
  if (QUICK_MAX > 0 && s <= QUICK_MAX) {
    let p = quickPop(r, s);
    if (p) return p;
  }
  return heapAllocSlow(r, s);
}

/** heapAlloc past the quick lists: the free lists, then a flush of the quick lists (or of the
 *  empty pages) and the free lists again. O(1) unless it flushes, which it does only when
 *  nothing else fits. */
export function heapAllocSlow(r: usize, s: usize): usize {
  // A cache more than half full is merged back first (dlmalloc's consolidation): otherwise the
  // blocks it holds end up as holes between the blocks this path is about to hand out.
  if (QUICK_MAX > 0 && field(r, R_QUICK_BYTES) > field(r, R_QUICK_CAP) >> 1) quickFlush(r);
  let p = findFree(r, s);
  if (p) return takeBlock(r, p, s);
  if (quickFlush(r) || pageFlush(r)) {
    p = findFree(r, s);
    if (p) return takeBlock(r, p, s);
  }
  // Last, before the caller grows memory or fails: all of s's own list, however long.
  p = scanOwnList(r, s);
  return p ? takeBlock(r, p, s) : 0;
}

/** Returns in-use block p (header h) to heap r: to its quick list when small (inlined into the
 *  caller), else to the general lists. O(1). */
@inline export function heapFree(r: usize, p: usize, h: u32): void {
  let s = <usize>(h & SIZE_MASK);
  h &= ~LEAD_DEAD; // the whole block comes back, its dead lead included
  if (field(r, R_DEAD)) forgetDead(r, p, p + s); // and any dead pieces recorded inside it
  if (QUICK_MAX > 0 && s <= QUICK_MAX) {
    if (SECURITY) memory.fill(p, 0, s - HEADER);
    if (quickPush(r, p, s, h)) return;
  }
  freeBlock(r, p);
}


/** Returns every block the small-object paths hold back (quick lists, empty pages) to the
 *  general lists; whether there was any. O(cached blocks + classes). */
export function flushCaches(r: usize): bool {
  let q = quickFlush(r);
  return pageFlush(r) || q;
}
