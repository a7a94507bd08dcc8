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
// the list it finds fits (good fit in O(1)); growth never relies on that search (see core/heap.ts).

import {
  ALIGN_BITS, FREE, HEADER, LINK_NEXT, LINK_PREV, header, nextLink, setNextLink, prevLink, setPrevLink, sizeOf,
} from "../base/block";
import {
  SL_BITS, SL_COUNT, SB_BITS, SB_SIZE, FL_COUNT, R_FLMAP, R_FREE_BYTES, R_LO, R_HI,
  field, setField, headSlot, slMapSlot,
} from "../base/root";
import { GUARDED, COMPACT } from "../base/config";
import { M_BAD_LIST } from "../base/abi";
import { report, currentOp } from "../diag/report";

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

/** The smallest size list (fl, sl) holds: the inverse of flOf and slOf. O(1). */
@inline function listLow(fl: u32, sl: u32): usize {
  return fl == 0 ? <usize>sl << ALIGN_BITS : <usize>(sl | SL_COUNT) << (fl + SB_BITS - 1 - SL_BITS);
}

/** Whether free block p, found in a list, has the size its header says: inside heap r, with a
 *  footer that names p (a FREE block's, base/block.ts). A program that wrote past a block into
 *  its free neighbour's header breaks this, and a forged size must not be taken: the block
 *  would be handed out again, or overlap live ones. O(1): its header and footer. */
function sound(r: usize, p: usize): bool {
  let s = sizeOf(p);
  return s <= <usize>field(r, R_HI) - p && load<u32>(p + s - HEADER - 4) == <u32>p; // (setFooter)
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

/** Whether q, read from a link of free block p, names a free block of heap r that links back
 *  to p (`back`: the offset of its link to read, LINK_PREV or LINK_NEXT): inside the heap and
 *  on the 16-byte grid before it is read, its header marked FREE. O(1): two loads. */
@inline function linksBack(r: usize, q: usize, p: usize, back: usize): bool {
  let lo = <usize>field(r, R_LO);
  return (q & 15) == 0 && q - lo < <usize>field(r, R_HI) - lo
    && (header(q) & FREE) != 0 && load<u32>(q + back) == <u32>p;
}

/** Safe unlinking, before free block p (size s) leaves its list: each of its neighbours must
 *  be a free block of the heap that points back at it (linksBack). A program that wrote into a
 *  freed block breaks this; then the guarded builds report it (and stop; they also require p
 *  to be its list's head when it has no predecessor), and the others clear p's links, so the
 *  heap writes through neither: the list ends at p (or at its head, when p was not the head:
 *  removeFree leaves such a list alone), and the blocks cut off stay free but unlisted until a
 *  neighbour is freed next to them. dlmalloc checks the same before it unlinks. (p's header may
 *  already be rewritten by a merge.) O(1): a few loads. */
function checkLinks(r: usize, p: usize, s: usize): void {
  let next = nextLink(p), prev = prevLink(p);
  let ok = (next == 0 || linksBack(r, next, p, LINK_PREV)) && (prev == 0 || linksBack(r, prev, p, LINK_NEXT));
  if (GUARDED) {
    if (!(ok && (prev != 0 || load<u32>(headSlot(r, flOf(s), slOf(s, flOf(s)))) == <u32>p))) {
      report(M_BAD_LIST, currentOp(), p, s, 0);
    }
  } else if (!ok) {
    setNextLink(p, 0);
    setPrevLink(p, 0);
  }
}

/** Takes free block p of size s out of its list, and clears its links, so that no stale link
 *  is left in memory that a later check could take for a real one. A block with no
 *  predecessor that is not its list's head was cut off its list before (checkLinks): the list
 *  is left alone. O(1); called, not inlined: the links' check costs more than the call. */
export function removeFree(r: usize, p: usize, s: usize): void {
  checkLinks(r, p, s);
  setField(r, R_FREE_BYTES, field(r, R_FREE_BYTES) - <u32>s);
  let next = nextLink(p), prev = prevLink(p);
  setNextLink(p, 0);
  setPrevLink(p, 0);
  if (next) setPrevLink(next, prev);
  if (prev) {
    setNextLink(prev, next);
    return;
  }
  let fl = flOf(s), sl = slOf(s, fl);
  let slot = headSlot(r, fl, sl);
  if (load<u32>(slot) != <u32>p) return;
  store<u32>(slot, next);
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
 *  sizes belong to that list. Cheaper than removeFree + insertFree: no bitmap changes. p's
 *  links are cleared when q is another block (see removeFree); a p cut off its list before
 *  does not pass its place on, and q goes into the list afresh. O(1). */
export function replaceFree(r: usize, p: usize, q: usize, s: usize, old: usize): void {
  checkLinks(r, p, old);
  let next = nextLink(p), prev = prevLink(p);
  let fl = flOf(s);
  let slot = headSlot(r, fl, slOf(s, fl));
  if (q != p) {
    setNextLink(p, 0);
    setPrevLink(p, 0);
  }
  if (!prev && load<u32>(slot) != <u32>p) {
    setField(r, R_FREE_BYTES, field(r, R_FREE_BYTES) - <u32>old);
    insertFree(r, q, s);
    return;
  }
  setField(r, R_FREE_BYTES, field(r, R_FREE_BYTES) + <u32>s - <u32>old);
  setNextLink(q, next);
  setPrevLink(q, prev);
  if (next) setPrevLink(next, q);
  if (prev) setNextLink(prev, q);
  else store<u32>(slot, q);
}

/** Whether free blocks of sizes a and b belong to the same list. O(1). */
@inline export function sameList(a: usize, b: usize): bool {
  let fa = flOf(a), fb = flOf(b);
  return fa == fb && slOf(a, fa) == slOf(b, fb);
}

/** A free block of size at least s, or 0 when none is found. The last block of a span (the
 *  top, which growth extends) is taken only when no block of s's own list fits, as if memory had
 *  grown for s: a heap emptied and used again places its blocks as it did the first time.
 *  O(1): a bitmap search, then at most SCAN_LIMIT blocks of s's own list. */
export function findFree(r: usize, s: usize): usize {
  let fl = flOf(s), sl = slOf(s, fl);
  let own = <usize>load<u32>(headSlot(r, fl, sl));
  let p: usize = 0;
  // Round up to the next list unless s is its smallest size: every block there then fits.
  if (fl != 0 && (s & ((<usize>1 << (fl + SB_BITS - 1 - SL_BITS)) - 1)) != 0) {
    if (++sl == SL_COUNT) { sl = 0; ++fl; }
  }
  if (fl < FL_COUNT) {
    let slm = load<u32>(slMapSlot(r, fl)) & (<u32>-1 << sl); // sl < 16: no oversized shift
    if (!slm) {
      let flm = field(r, R_FLMAP) & (<u32>-1 << (fl + 1)); // fl + 1 <= 25
      if (flm) {
        fl = ctz<u32>(flm);
        slm = load<u32>(slMapSlot(r, fl));
      }
    }
    if (slm) {
      sl = ctz<u32>(slm);
      p = load<u32>(headSlot(r, fl, sl));
      if (!sound(r, p)) { // a forged header: p leaves its list (its links still lead on)
        if (GUARDED) report(M_BAD_LIST, currentOp(), p, sizeOf(p), 0);
        removeFree(r, p, listLow(fl, sl));
        p = 0;
      }
    }
  }
  if (p && sizeOf(p + sizeOf(p)) != 0) return p; // (a span's tail has size 0)
  // Nothing larger, or only a top: a block of s's own list may still fit (the rounding skipped
  // it). Without this, a request just below a list boundary would grow memory while a fitting
  // block waits. (Small scans the whole list in heapAllocSlow instead, when p is 0.)
  if (COMPACT && !p) return 0;
  let q = scanList(r, own, s, SCAN_LIMIT);
  return q ? q : p;
}

/** A block of at least s from all of s's own list, or 0: what findFree's bounded scan may
 *  miss in a long list. O(list length); only before growing memory or failing. */
export function scanOwnList(r: usize, s: usize): usize {
  let fl = flOf(s);
  return scanList(r, <usize>load<u32>(headSlot(r, fl, slOf(s, fl))), s, <u32>-1);
}

/** The first block of at least s among the first `limit` blocks of the list starting at p, or
 *  0. It follows a next link only to a block that links back (a write after free ends the
 *  scan), so it never leaves the list. O(limit). */
function scanList(r: usize, p: usize, s: usize, limit: u32): usize {
  for (let n: u32 = 0; p != 0 && n < limit; ++n) {
    if (sizeOf(p) >= s) return sound(r, p) ? p : 0; // (a forged size ends the scan)
    let q = nextLink(p);
    if (q != 0 && !linksBack(r, q, p, LINK_PREV)) {
      if (GUARDED) report(M_BAD_LIST, currentOp(), p, sizeOf(p), 0);
      q = 0;
    }
    p = q;
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
