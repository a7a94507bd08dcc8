// heap.ts — the core heap: take, free, cut, align and resize the general blocks of a heap root.
// docs/ARCHITECTURE.md has the map of the whole allocator; this file is where its core starts.
//
// Contract. A heap is a root (base/root.ts) plus the spans it was handed. Every block in a span is
// in exactly one state: in use (handed out; LEAD_DEAD when a partial free left dead bytes at
// its start), CACHED (in a quick list; in use as far as the general heap is concerned) or FREE
// (in exactly one free list). Invariants, all checked by inspect/check.ts: no two FREE blocks are
// adjacent; a block's PREV_FREE bit equals its predecessor's FREE bit; a FREE block's footer
// holds its own address; list bitmaps match list contents; the root's byte counts match the
// blocks; dead pieces (features/range.ts) lie inside live blocks; spans do not overlap.
//
// Cost. The general path is O(1): a bitmap search plus a scan of at most 32 blocks
// of the request's own list, a split, at most two merges. Costs above O(1), each said where it
// is: flushing the quick lists (amortised: a cached block is flushed once), scanning the whole
// own list before growing or failing, partial frees (a walk of the span), donation (O(spans)).

import {
  HEADER, MIN_BLOCK, FREE, PREV_FREE, CACHED, LEAD_DEAD, SIZE_MASK,
  header, setHeader, sizeOf, setFooter, prevFreeOf,
} from "../base/block";
import { ROOT_SIZE, R_LO, R_HI, R_SPANS, R_DEAD, field, addClaimed } from "../base/root";
import { SECURITY, GUARDED, COMPACT } from "../base/config";
import { tombstone } from "../diag/report";
import { insertFree, removeFree, insertFreeHot, replaceFree, sameList, findFree, scanOwnList } from "./bins";
import { spanAdd, spanEnd } from "./span";
import { forgetDead } from "./dead";
import { noteHeld } from "./counters";

/** Lays out an empty heap root at r (16-aligned) and hands it [r + ROOT_SIZE, end). O(root). */
export function heapCreate(r: usize, end: usize): usize {
  memory.fill(r, 0, ROOT_SIZE);
  if (end > r + ROOT_SIZE) heapAddMemory(r, r + ROOT_SIZE, end);
  addClaimed(r, <i32>ROOT_SIZE); // the root is claimed memory too
  return r;
}

/** Frees in-use block p into the general lists, merging with free neighbours; returns the
 *  merged block. O(1). */
export function freeBlock(r: usize, p: usize): usize {
  let h = header(p);
  let s = <usize>(h & SIZE_MASK);
  let own = s, first = p;
  if (SECURITY) memory.fill(p, 0, s - HEADER); // whatever frees it: free, a cut, a partial free
  let next = p + s;
  let nh = header(next);
  let listed: usize = 0; // a free block already in a list that the merged block may take over
  let listedSize: usize = 0;
  // (Neighbours whose headers do not fit in the heap are not merged: a program that overwrote
  // them has corrupted the heap, but the allocator must not write outside memory because of it.)
  if ((nh & FREE) && <usize>(nh & SIZE_MASK) <= <usize>field(r, R_HI) - next) {
    listed = next;
    listedSize = <usize>(nh & SIZE_MASK);
    // No live-looking header is left inside a block: 0, or in the guarded builds a tombstone
    // that lets a second free of the absorbed block be named a double free (diag/report.ts).
    setHeader(next, GUARDED ? tombstone(listedSize) : 0);
    s += listedSize;
  }
  if ((h & PREV_FREE) && freeBefore(r, p)) {
    let prev = prevFreeOf(p);
    let ps = sizeOf(prev);
    if (listed) removeFree(r, listed, listedSize); // (both neighbours free: the rarer case calls out)
    listed = prev;
    listedSize = ps;
    setHeader(p, GUARDED ? tombstone(own) : 0);
    p = prev;
    s += ps;
  }
  // Guarded builds: a block that starts the merged free block keeps its own size at p + 8 (a
  // free block's bytes after its links), so a second free of it can still name what it asked
  // for (inspect/classify.ts). A block absorbed into its predecessor has its tombstone instead.
  if (GUARDED && p == first && own >= 32) store<u32>(p, <u32>own, 8);
  setHeader(p, <u32>s | FREE); // a free block's predecessor is never free
  setFooter(p, s);
  next = p + s;
  setHeader(next, header(next) | PREV_FREE);
  // The merged block takes the list place of the neighbour it absorbed when their lists agree
  // (the common case next to a large free block): no bitmap work.
  if (!COMPACT && listed && sameList(listedSize, s)) {
    replaceFree(r, listed, p, s, listedSize); // (listed == p: the same block, grown in place)
  } else {
    if (listed) removeFree(r, listed, listedSize);
    insertFreeHot(r, p, s);
  }
  return p;
}

/** Whether the footer below p names a block inside the heap that ends exactly at p: the check
 *  that keeps a corrupted footer from sending a merge outside memory. O(1). */
@inline function freeBefore(r: usize, p: usize): bool {
  let prev = prevFreeOf(p);
  return prev < p && prev >= <usize>field(r, R_LO) && sizeOf(prev) == p - prev;
}

/** Free block f (size fs) gives up its first `taken` bytes; the rest, at f + taken, stays free
 *  and keeps f's list place when its list does not change (carving a large block, a buffer
 *  growing into one). Writes the rest's header and footer; the caller owns the front. O(1). */
function giveUpFront(r: usize, f: usize, fs: usize, taken: usize): void {
  let rest = fs - taken;
  let q = f + taken;
  if (!COMPACT && sameList(rest, fs)) {
    replaceFree(r, f, q, rest, fs);
  } else {
    removeFree(r, f, fs); // (out of line: the rest usually keeps f's list, above)
    insertFree(r, q, rest);
  }
  setHeader(q, <u32>rest | FREE);
  setFooter(q, rest);
}

/** Turns free block p (in a list, size >= s) into an in-use block of size s, returning the
 *  rest to the lists when it can stand alone. O(1). */
export function takeBlock(r: usize, p: usize, s: usize): usize {
  let bs = sizeOf(p);
  if (bs - s >= MIN_BLOCK) {
    giveUpFront(r, p, bs, s);
    setHeader(p, <u32>s);
  } else {
    removeFree(r, p, bs);
    setHeader(p, <u32>bs);
    let next = p + bs;
    setHeader(next, header(next) & ~PREV_FREE);
  }
  noteHeld(r);
  return p;
}

/** Shrinks in-use block p to size s (s <= its size), freeing the tail if it can stand alone. O(1). */
export function cutBlock(r: usize, p: usize, s: usize): void {
  let h = header(p);
  let rest = <usize>(h & SIZE_MASK) - s;
  if (rest < MIN_BLOCK) return;
  setHeader(p, <u32>s | (h & (PREV_FREE | LEAD_DEAD)));
  let q = p + s;
  if (field(r, R_DEAD)) forgetDead(r, q - HEADER, q + rest); // q's header ends p's payload
  setHeader(q, <u32>rest);
  freeBlock(r, q);
}

/** A block of size at least s taken from heap r's free lists (a good fit, else the first that
 *  fits in all of s's own list), or 0: nothing is flushed, memory never grows. O(1), plus
 *  O(own list) when the good-fit search misses. */
export function heapTake(r: usize, s: usize): usize {
  let p = findFree(r, s);
  if (!p) p = scanOwnList(r, s);
  return p ? takeBlock(r, p, s) : 0;
}

/** Gives heap r the memory [start, end) (core/span.ts spanAdd) as a free block, merged with a
 *  free block ending where it starts; returns that block, or 0 when the stretch is too small
 *  to use. O(1). */
export function heapAddMemory(r: usize, start: usize, end: usize): usize {
  let b = spanAdd(r, start, end);
  return b ? freeBlock(r, b) : 0;
}

/** Gives heap r the memory [start, end) and takes a block of size s from it, or returns 0. Used
 *  after growth: it takes the new block directly, never through a rounded-up search. O(1). */
export function heapAllocFrom(r: usize, start: usize, end: usize, s: usize): usize {
  let p = heapAddMemory(r, start, end);
  if (p == 0 || sizeOf(p) < s) return 0;
  return takeBlock(r, p, s);
}

/** Moves in-use block p (of size at least s + align + 16) up to the first address that is a
 *  multiple of align (any multiple of 16), frees the gap before it and the tail after it;
 *  returns the new address. O(1) (one division). */
export function heapAlign(r: usize, p: usize, s: usize, align: usize): usize {
  let q = (p + align - 1) / align * align;
  if (q != p) {
    if (q - p < MIN_BLOCK) q += align; // the gap must stand alone as a free block
    let h = header(p);
    let bs = <usize>(h & SIZE_MASK);
    setHeader(q, <u32>(bs - (q - p)));
    setHeader(p, <u32>(q - p) | (h & PREV_FREE));
    freeBlock(r, p);
  }
  cutBlock(r, q, s);
  return q;
}

/** Resizes in-use block p to size s without moving it: shrinks always, grows into a free
 *  successor when it is large enough. Returns false when it cannot. O(1). */
export function heapResize(r: usize, p: usize, s: usize): bool {
  let h = header(p);
  let bs = <usize>(h & SIZE_MASK);
  if (s <= bs) {
    cutBlock(r, p, s);
    return true;
  }
  let next = p + bs;
  let nh = header(next);
  let ns = <usize>(nh & SIZE_MASK);
  if (!(nh & FREE) || bs + ns < s || ns > <usize>field(r, R_HI) - next) return false;
  if (field(r, R_DEAD)) forgetDead(r, next - HEADER - 1, next); // p's old end is no longer one
  if (bs + ns - s >= MIN_BLOCK) {
    giveUpFront(r, next, ns, s - bs); // p takes the front of its free successor
    setHeader(next, 0); // inside p now: no stale header
    setHeader(p, <u32>s | (h & (PREV_FREE | LEAD_DEAD)));
  } else {
    removeFree(r, next, ns);
    setHeader(next, 0);
    setHeader(p, <u32>(bs + ns) | (h & (PREV_FREE | LEAD_DEAD)));
    let after = p + bs + ns;
    setHeader(after, header(after) & ~PREV_FREE);
  }
  noteHeld(r);
  return true;
}

/** Whether p looks like a block heap r handed out and has not freed: aligned, inside the heap,
 *  neither FREE nor CACHED, and not running past the heap's end. The cheap check that keeps a
 *  stray or repeated free from corrupting the heap. O(1). */
@inline export function heapOwns(r: usize, p: usize): bool {
  return liveHeader(r, p) != 0;
}

/** The header of p when heapOwns(r, p), else 0 (a live header is never 0: its size is at least
 *  16). Lets free read the header once. O(1). */
@inline export function liveHeader(r: usize, p: usize): u32 {
  let hi = <usize>field(r, R_HI);
  if ((p & 15) != 0 || p < <usize>field(r, R_LO) || p >= hi) return 0;
  let h = header(p);
  let s = <usize>(h & SIZE_MASK);
  return (h & (FREE | CACHED)) == 0 && s >= MIN_BLOCK && s <= hi - p ? h : 0;
}

/** Whether block p, or p and the free block after it, end the newest span, and that span ends
 *  at `top` (so growing memory extends what follows p). O(1). */
export function heapEndsAt(r: usize, p: usize, top: usize): bool {
  let end = p + sizeOf(p);
  if (header(end) & FREE) end += sizeOf(end);
  let s = <usize>field(r, R_SPANS);
  return s != 0 && end == spanEnd(s) && end == top;
}
