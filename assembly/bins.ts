// bins.ts — the free-list index: segregated lists of free blocks with two-level bitmaps (TLSF).
//
// A free block of size s lives in list (fl, sl):
//
//   s <  256:  fl = 0,                  sl = s / 16              exact lists, 16 bytes apart
//   s >= 256:  fl = msb(s) - 7 (1..24), sl = the 4 bits below the top bit
//
//   fl  │ sizes                  │ list width
//   ────┼────────────────────────┼────────────
//    0  │ 16 .. 240              │ 16
//    1  │ 256 .. 496             │ 16
//    2  │ 512 .. 992             │ 32
//    3  │ 1024 .. 1984           │ 64
//    …  │ 2^(fl+7) .. 2^(fl+8)-  │ 2^(fl+3)
//   24  │ 2^31 .. 2^32 - 16      │ 2^27
//
// flMap has bit fl set when some list of level fl is non-empty; slMap[fl] has bit sl set when
// list (fl, sl) is. A search rounds the request up to the next list boundary, so any block in
// the list it finds fits (good fit in O(1)); growth never relies on that search (see heap.ts).

import {
  ALIGN_BITS, nextLink, setNextLink, prevLink, setPrevLink, sizeOf,
} from "./block";
import {
  SL_BITS, SL_COUNT, SB_BITS, SB_SIZE, FL_COUNT, R_FLMAP, R_FREE_BYTES, R_LO, R_HI,
  field, setField, headSlot, slMapSlot,
} from "./root";
import { GUARDED, COMPACT } from "./config";
import { report, currentOp, M_BAD_LIST } from "./misuse";

/** First level of size s. O(1). */
@inline function flOf(s: usize): u32 {
  return s < SB_SIZE ? 0 : (31 - <u32>clz<u32>(<u32>s)) - SB_BITS + 1;
}

/** Second level of size s within first level fl. O(1). */
@inline function slOf(s: usize, fl: u32): u32 {
  return fl == 0
    ? <u32>(s >> ALIGN_BITS)
    : <u32>(s >> (fl + SB_BITS - 1 - SL_BITS)) ^ SL_COUNT;
}

/** Adds free block p of size s to its list. O(1). */
export function insertFree(r: usize, p: usize, s: usize): void {
  insertInline(r, p, s);
}

/** insertFree for the general path's hot callers (freeing, splitting): inlined there, which
 *  saves a tenth of a random workload's time once the allocator is linked into the program;
 *  small calls out instead, for code size. O(1). */
@inline export function insertFreeHot(r: usize, p: usize, s: usize): void {
  if (COMPACT) insertFree(r, p, s);
  else insertInline(r, p, s);
}

/** The body of insertFree. O(1). */
@inline function insertInline(r: usize, p: usize, s: usize): void {
  setField(r, R_FREE_BYTES, field(r, R_FREE_BYTES) + <u32>s);
  let fl = flOf(s), sl = slOf(s, fl);
  let slot = headSlot(r, fl, sl);
  let head = load<u32>(slot);
  setNextLink(p, head);
  setPrevLink(p, 0);
  if (head) setPrevLink(head, p);
  store<u32>(slot, p);
  setField(r, R_FLMAP, field(r, R_FLMAP) | (1 << fl));
  let m = slMapSlot(r, fl);
  store<u32>(m, load<u32>(m) | (1 << sl));
}

/** Safe unlinking (guarded builds): the neighbours of free block p (size s) in its list must
 *  point back at it (and the list head at it when it is first); otherwise the free list was
 *  overwritten, and that is reported. (Its header may already be rewritten by a merge.) O(1). */
function checkLinks(r: usize, p: usize, s: usize): void {
  let lo = <usize>field(r, R_LO), hi = <usize>field(r, R_HI);
  let next = nextLink(p), prev = prevLink(p);
  let ok = (next == 0 || ((next & 15) == 0 && next >= lo && next < hi && prevLink(next) == p))
    && (prev == 0 ? load<u32>(headSlot(r, flOf(s), slOf(s, flOf(s)))) == <u32>p
      : (prev & 15) == 0 && prev >= lo && prev < hi && nextLink(prev) == p);
  if (!ok) report(M_BAD_LIST, currentOp(), p, s, 0);
}

/** Takes free block p of size s out of its list. O(1). */
export function removeFree(r: usize, p: usize, s: usize): void {
  removeInline(r, p, s);
}

/** removeFree for the general path's hot callers, inlined there as insertFreeHot is. O(1). */
@inline export function removeFreeHot(r: usize, p: usize, s: usize): void {
  if (COMPACT) removeFree(r, p, s);
  else removeInline(r, p, s);
}

/** The body of removeFree. O(1). */
@inline function removeInline(r: usize, p: usize, s: usize): void {
  if (GUARDED) checkLinks(r, p, s);
  setField(r, R_FREE_BYTES, field(r, R_FREE_BYTES) - <u32>s);
  let next = nextLink(p), prev = prevLink(p);
  if (next) setPrevLink(next, prev);
  if (prev) {
    setNextLink(prev, next);
    return;
  }
  let fl = flOf(s), sl = slOf(s, fl);
  store<u32>(headSlot(r, fl, sl), next);
  if (!next) {
    let m = slMapSlot(r, fl);
    let bits = load<u32>(m) & ~(1 << sl);
    store<u32>(m, bits);
    if (!bits) setField(r, R_FLMAP, field(r, R_FLMAP) & ~(1 << fl));
  }
}

/** Free blocks of s's own list that findFree looks at when no larger list has one. */
const SCAN_LIMIT: u32 = 32;

/** Puts free block q (size s) in the place free block p (size old) held in its list; both
 *  sizes belong to that list. Cheaper than removeFree + insertFree: no bitmap changes. O(1). */
export function replaceFree(r: usize, p: usize, q: usize, s: usize, old: usize): void {
  if (GUARDED) checkLinks(r, p, old);
  setField(r, R_FREE_BYTES, field(r, R_FREE_BYTES) + <u32>s - <u32>old);
  let next = nextLink(p), prev = prevLink(p);
  setNextLink(q, next);
  setPrevLink(q, prev);
  if (next) setPrevLink(next, q);
  if (prev) {
    setNextLink(prev, q);
  } else {
    let fl = flOf(s);
    store<u32>(headSlot(r, fl, slOf(s, fl)), q);
  }
}

/** Whether free blocks of sizes a and b belong to the same list. O(1). */
@inline export function sameList(a: usize, b: usize): bool {
  let fa = flOf(a), fb = flOf(b);
  return fa == fb && slOf(a, fa) == slOf(b, fb);
}

/** A free block of size at least s, or 0 when none is found. O(1): a bitmap search, then at
 *  most SCAN_LIMIT blocks of s's own list. */
export function findFree(r: usize, s: usize): usize {
  let fl = flOf(s), sl = slOf(s, fl);
  let ownFl = fl, ownSl = sl;
  // Round up to the next list unless s is its smallest size: every block there then fits.
  if (fl != 0 && (s & ((<usize>1 << (fl + SB_BITS - 1 - SL_BITS)) - 1)) != 0) {
    if (++sl == SL_COUNT) { sl = 0; ++fl; }
  }
  if (fl < FL_COUNT) {
    let slm = load<u32>(slMapSlot(r, fl)) & (<u32>-1 << sl); // sl < 16: no oversized shift
    if (slm) return load<u32>(headSlot(r, fl, ctz<u32>(slm)));
    let flm = field(r, R_FLMAP) & (<u32>-1 << (fl + 1)); // fl + 1 <= 25
    if (flm) {
      fl = ctz<u32>(flm);
      return load<u32>(headSlot(r, fl, ctz<u32>(load<u32>(slMapSlot(r, fl)))));
    }
  }
  // Nothing larger: a block of s's own list may still fit (the rounding skipped it). Without
  // this, a request just below a list boundary would grow memory while a fitting block waits.
  if (COMPACT) return 0; // (nothing is flushed in small, so heapAllocSlow's scanOwnList follows at once)
  let p = <usize>load<u32>(headSlot(r, ownFl, ownSl));
  for (let n: u32 = 0; p != 0 && n < SCAN_LIMIT; ++n) {
    if (sizeOf(p) >= s) return p;
    p = nextLink(p);
  }
  return 0;
}

/** A block of at least s from all of s's own list, or 0: what findFree's bounded scan may
 *  miss in a long list. O(list length); only before growing memory or failing. */
export function scanOwnList(r: usize, s: usize): usize {
  let fl = flOf(s);
  for (let p = <usize>load<u32>(headSlot(r, fl, slOf(s, fl))); p; p = nextLink(p)) {
    if (sizeOf(p) >= s) return p;
  }
  return 0;
}

/** Head of list (fl, sl), for the heap walker. O(1). */
export function listHead(r: usize, fl: u32, sl: u32): usize {
  return load<u32>(headSlot(r, fl, sl));
}

/** The list (fl << SL_BITS | sl) that a free block of size s belongs to, for the walker. O(1). */
export function listOf(s: usize): u32 {
  let fl = flOf(s);
  return (fl << SL_BITS) | slOf(s, fl);
}

export { FL_COUNT, SL_COUNT };
