// tiny.ts — the tiny build: the C malloc family over one flat heap, for the least code.
//
// The other builds share the layered core (docs/ARCHITECTURE.md) that serves local heaps,
// partial frees, pages, guards, stats and the OOM hook; that structure has a code cost of its
// own. The tiny build gives those up to be smaller than AssemblyScript's TLSF and talc: one
// heap, its lists written flat in this file, no counters, no hooks. It keeps C's semantics as
// docs/C-SEMANTICS.md lists them, and it gets memory from the same shim (platform/shim.ts: the
// break shared with sbrk, geometric growth, skipping memory grown by others), so sbrk stays
// safe to mix with malloc.
//
// Blocks are base/block.ts's: a u32 header below a 16-aligned payload, FREE and PREV_FREE bits, a
// free block's links at p and p + 4 and its footer (its own address) at p + S - 8; only the back
// link differs: it holds the address of the word that points to the block (a list head, or the
// previous block's next link), so unlinking needs no list lookup. The lists
// are a two-level segregated fit (TLSF) index: exact lists of 16-byte steps below 256 bytes,
// then 16 lists per power of two; a free block is found in O(1) by two bitmaps.
//
//   the root: TINY_ROOT bytes at the heap's start (the break when the heap is made)
//   ┌──────────────────────────┬────────────────────────┬────────────────┐
//   │ heads: LISTS × u32       │ sl maps: FLS × u32     │ fl map: u32    │
//   │ first free block of each │ bit i of map fl: list  │ bit fl: sl map │
//   │ list, or 0               │ fl·16 + i is not empty │ fl is not 0    │
//   │ +0                       │ +T_SL                  │ +T_FL          │
//   └──────────────────────────┴────────────────────────┴────────────────┘
//   The rest of the state is per instance, like the other builds' global root: root, top (the
//   newest span's end) and last (its first block); the oldest span starts right after the root.
//
//   a span: memory the shim handed over in one piece, [start, end)
//   ┌──────────────┬───────────────┬──────── blocks ────────┬───────────┐
//   │ (unused)     │ previous span │ header │ first block … │ tail: 0   │
//   │ start        │ p - 12        │ p - 4  │ p             │ end - 4   │
//   └──────────────┴───────────────┴────────┴───────────────┴───────────┘
//   p = start rounded up to 16, plus 16. A new claim that starts where the newest span ends
//   extends it: the old tail becomes the header of a new free block. The spans form a list
//   from the newest (last) down, for the walker.
//
// Cost: malloc, free and realloc are O(1) plus a copy when realloc moves, and plus growth; a
// request that the lists cannot meet in O(1) first scans its own list (bounded by its length),
// then grows memory. ralloc_check, ralloc_stats and ralloc_walk walk the whole heap: O(blocks).
// Bad pointers given to free, realloc and malloc_usable_size are ignored when they are null,
// misaligned, outside [first block, top) or not a live block's header; like the release build,
// a pointer into a live block whose bytes look like a live header is not caught.

import { HEADER, MIN_BLOCK, MAX_REQUEST, FREE, PREV_FREE, SIZE_MASK, header, setHeader, sizeOf, alignUp } from "../base/block";
import {
  EINVAL, ENOMEM, STATS_SIZE, CHECK_SIZE, CHECK_BOUNDS, CHECK_PREV_BIT, CHECK_UNMERGED, CHECK_FOOTER,
  CHECK_STATE, CHECK_LINK, CHECK_CLASS, CHECK_BITMAP, CHECK_LIST_COUNT, CHECK_TAIL,
} from "../base/abi";
import {
  shimMemoryEnd, memoryBytes, tinyShimReady, tinyShimInit, tinyShimClaim, tinyShimBreak, tinyShimSbrk,
  tinyShimGrows, tinyShimSbrkHeld, tinyShimBase,
} from "../platform/shim";
import { writeStatsStruct } from "../inspect/stats";

/** Largest request, as in the other builds (base/block.ts). */
const TINY_MAX: usize = MAX_REQUEST;
/** First-level lists: fl 0 holds the exact lists below 256 bytes, fl 24 sizes from 2^31 up. */
const FLS: usize = 25;
const LISTS: usize = FLS << 4;
const T_SL: usize = LISTS << 2;
const T_FL: usize = T_SL + (FLS << 2);
/** Bytes of the root (a multiple of 16). */
const TINY_ROOT: usize = (T_FL + 4 + 15) & ~15;

/** The heap's root; 0 until the first allocation. */
let root: usize = 0;
/** End of the newest span: its tail header sits at top - 4 (0 before the first). */
let top: usize = 0;
/** First block of the newest span; each span keeps the one below it at its first block - 12. */
let last: usize = 0;

/** Block size for a request of n bytes (n <= TINY_MAX): the header added, rounded up to 16. */
@inline function blockFor(n: usize): usize {
  return (n + HEADER + 15) & ~15;
}

/** The list of a free block of size s: fl · 16 + sl. O(1). */
function listOf(s: usize): usize {
  if (s < 256) return s >> 4;
  let fl = <usize>(24 - clz<u32>(<u32>s));
  return (fl << 4) + (s >> (fl + 3)) - 16;
}

/** Lists block p of size s as free: its header, footer, the next block's PREV_FREE bit, the
 *  head of its list and both bitmaps. O(1). */
function insert(p: usize, s: usize): void {
  setHeader(p, <u32>s | FREE);
  store<u32>(p + s - 8, p);
  let next = p + s;
  setHeader(next, header(next) | PREV_FREE);
  let i = listOf(s);
  let slot = root + (i << 2);
  let head = load<u32>(slot);
  store<u32>(p, head);
  store<u32>(p, slot, 4);
  if (head) store<u32>(head, p, 4);
  store<u32>(slot, p);
  let sl = root + ((i >> 4) << 2); // (load and store offsets are immediates: shorter code)
  store<u32>(sl, load<u32>(sl, T_SL) | (1 << <u32>(i & 15)), T_SL);
  store<u32>(root, load<u32>(root, T_FL) | (1 << <u32>(i >> 4)), T_FL);
}

/** Takes free block p out of its list (its header still says FREE). Its back link is the word
 *  that points to it, a list head or the previous block's next link, so no list is looked up
 *  unless the list becomes empty. O(1). */
function unlink(p: usize): void {
  let next = load<u32>(p), at = <usize>load<u32>(p, 4);
  store<u32>(at, next);
  if (next) {
    store<u32>(next, at, 4);
  } else if (at - root < T_SL) { // p was alone in list i: clear its bits
    let i = (at - root) >> 2;
    let sl = root + ((i >> 4) << 2);
    let bits = load<u32>(sl, T_SL) & ~(1 << <u32>(i & 15));
    store<u32>(sl, bits, T_SL);
    if (!bits) store<u32>(root, load<u32>(root, T_FL) & ~(1 << <u32>(i >> 4)), T_FL);
  }
}

/** Frees block p (its size from its header), merging it with free neighbours; returns the
 *  merged free block. O(1). */
function release(p: usize): usize {
  let h = header(p);
  let s = <usize>(h & SIZE_MASK);
  let nh = header(p + s);
  if (nh & FREE) {
    unlink(p + s);
    s += nh & SIZE_MASK;
  }
  if (h & PREV_FREE) {
    let prev = <usize>load<u32>(p - 8);
    let ps = sizeOf(prev);
    unlink(prev);
    setHeader(p, 0); // no live-looking header inside a free block: a second free is ignored
    p = prev;
    s += ps;
  }
  insert(p, s);
  return p;
}

/** Shrinks in-use block p to size s, freeing the tail when it can be a block. O(1). */
function cut(p: usize, s: usize): void {
  let h = header(p);
  let rest = <usize>(h & SIZE_MASK) - s;
  if (rest >= MIN_BLOCK) {
    setHeader(p, <u32>s | (h & PREV_FREE));
    setHeader(p + s, <u32>rest);
    release(p + s);
  }
}

/** Makes block p (header h) reach the end of free block q, which is p itself or the block
 *  after p: q leaves its list and p is in use, its PREV_FREE bit kept. Returns p's new size. O(1). */
function join(p: usize, h: u32, q: usize): usize {
  unlink(q);
  let end = q + sizeOf(q);
  setHeader(p, <u32>(end - p) | (h & PREV_FREE));
  setHeader(end, header(end) & ~PREV_FREE);
  return end - p;
}

/** Takes free block p for a block of size s (it holds at least s). O(1). */
function take(p: usize, s: usize): usize {
  join(p, 0, p); // a free block never follows a free one: its PREV_FREE bit is clear
  cut(p, s);
  return p;
}

/** A free block of at least s bytes, or 0: the first block of the first non-empty list whose
 *  every block fits (O(1)), else the first fitting block of s's own list (O(its length)). */
function find(s: usize): usize {
  let up = s >= 256 ? s + (<usize>1 << (27 - clz<u32>(<u32>s))) - 1 : s; // the next list's start
  if (up >= s) { // (it wraps only for sizes in the top list, which are searched below)
    let i = listOf(up);
    let fl = i >> 4;
    let slm = load<u32>(root + (fl << 2), T_SL) & (<u32>-1 << <u32>(i & 15));
    if (!slm) {
      let flm = load<u32>(root, T_FL) & (<u32>-2 << <u32>fl);
      fl = ctz<u32>(flm);
      slm = flm ? load<u32>(root + (fl << 2), T_SL) : 0;
    }
    if (slm) return load<u32>(root + (((fl << 4) + ctz<u32>(slm)) << 2));
  }
  for (let p = <usize>load<u32>(root + (listOf(s) << 2)); p; p = load<u32>(p)) if (sizeOf(p) >= s) return p;
  return 0;
}

/** Adds the memory from start to the break to the heap, extending the newest span when start
 *  is its end; returns the free block that now ends the heap. O(1). */
function addMemory(start: usize): usize {
  let end = tinyShimBreak() & ~15;
  let p = top;
  if (start == p) {
    setHeader(p, <u32>(end - p) | (header(p) & PREV_FREE)); // the old tail becomes a block
  } else {
    p = alignUp(start) + 16;
    store<u32>(p - 12, last);
    last = p;
    setHeader(p, <u32>(end - p));
  }
  top = end;
  setHeader(end, 0);
  return release(p);
}

/** Grows the heap so that a free block of at least s bytes ends it; returns that block, or 0
 *  when memory cannot grow so far (and then it has not grown). The first call makes the heap:
 *  its root comes first. The claim does not count a free block already ending the heap (that
 *  would cost code): such a block merges with the new memory, so the heap grows by up to its
 *  size more than it must, and only for requests larger than a growth step. O(1), plus
 *  memory.grow (and O(root) the first time). */
function grow(s: usize): usize {
  if (!tinyShimReady()) tinyShimInit(shimMemoryEnd());
  // s <= MAX_REQUEST + 16, so this sum does not wrap
  let start = tinyShimClaim(s + (root ? 32 : TINY_ROOT + 48));
  if (!start) return 0;
  if (!root) {
    root = alignUp(start);
    memory.fill(root, 0, TINY_ROOT);
    start = root + TINY_ROOT;
  }
  // The block ending the heap now holds s: the claim extends the newest span, or it is a new
  // span's first block, which the 32 (or root + 48) bytes of slack leave at least s long after
  // rounding its start up to 16 and the span's 16-byte lead.
  return addMemory(start);
}

/** The first block of the oldest span, just above the root: no block lies below it. O(1). */
@inline function lo(): usize {
  return root + TINY_ROOT + 16;
}

/** The span after the one whose first block is f in the span list (spans are listed from the
 *  newest, highest in memory, down), as its first block; 0 after the oldest, and 0 for a link
 *  that does not point lower into the heap, so a walk over a corrupted heap ends. O(1). */
function spanBelow(f: usize): usize {
  let g = <usize>load<u32>(f - 12);
  return g < f && g >= lo() ? g : 0;
}

/** Whether a block at p of size s fits between p and the heap's top: the bound that keeps a walk
 *  over a corrupted heap inside memory. O(1). */
@inline function fits(p: usize, s: usize): bool {
  return s >= MIN_BLOCK && s <= top - p;
}

/** The header of p when p is a live block, else 0. O(1). */
function live(p: usize): u32 {
  if ((p & 15) || p < lo() || p >= top) return 0; // (top is 0 before the heap exists)
  let h = header(p);
  let s = <usize>(h & SIZE_MASK);
  // not free, and MIN_BLOCK <= s <= top - p (top - p >= 16: both are multiples of 16)
  return !(h & FREE) && s - MIN_BLOCK <= top - p - MIN_BLOCK ? h : 0;
}

/** Allocates n bytes aligned to 16; 0 when it cannot. O(1), plus growth. */
export function malloc(n: usize): usize {
  if (n > TINY_MAX) return 0;
  let s = blockFor(n);
  let p = root ? find(s) : 0;
  if (!p) p = grow(s);
  return p ? take(p, s) : 0;
}

/** Frees p; ignores 0 and anything that is not a live block (see the top). O(1). */
export function free(p: usize): void {
  if (live(p)) release(p);
}

/** Resizes p to n bytes: in place when it shrinks, when the next block is free and large
 *  enough, or when p ends the heap (memory grows under it); else by moving. Keeps p on failure;
 *  realloc(p, 0) frees p and returns 0. O(1), plus the copy when it moves. */
export function realloc(p: usize, n: usize): usize {
  if (!p) return malloc(n);
  let h = live(p);
  if (!h || n > TINY_MAX) return 0;
  if (!n) {
    release(p);
    return 0;
  }
  let s = blockFor(n);
  let bs = <usize>(h & SIZE_MASK);
  let next = p + bs;
  if (s > bs) {
    let nh = header(next);
    // p, with the free block after it, ends the heap at the break and no listed block fits:
    // grow memory under p (a listed block that fits is used instead: memory grows only when
    // nothing fits, as for malloc)
    if ((nh & FREE ? next + (nh & SIZE_MASK) : next) == top && top == tinyShimBreak() && !find(s)) grow(s - bs);
    nh = header(next);
    if ((nh & FREE) && bs + (nh & SIZE_MASK) >= s) bs = join(p, h, next);
  }
  if (s <= bs) {
    cut(p, s);
    return p;
  }
  let q = malloc(n);
  if (q) {
    memory.copy(q, p, bs - HEADER);
    release(p);
  }
  return q;
}

/** Allocates count * size zeroed bytes; 0 when the product overflows. O(n). */
export function calloc(count: usize, size: usize): usize {
  let total = <u64>count * <u64>size;
  if (total > <u64>TINY_MAX) return 0;
  let p = malloc(<usize>total);
  if (p) memory.fill(p, 0, <usize>total);
  return p;
}

/** C11 aligned_alloc: n bytes at a multiple of align, a power of two; 0 otherwise or when memory
 *  runs out. O(1), plus growth. */
export function aligned_alloc(align: usize, n: usize): usize {
  if (!align || (align & (align - 1)) || n > TINY_MAX || align > TINY_MAX - n) return 0;
  if (align <= 16) return malloc(n);
  let p = malloc(n + align);
  if (!p) return 0;
  let q = (p + align - 1) & ~(align - 1);
  if (q != p) { // the gap before q, a multiple of 16, goes back as a block of its own
    let h = header(p);
    setHeader(q, (h & SIZE_MASK) - <u32>(q - p));
    setHeader(p, <u32>(q - p) | (h & PREV_FREE));
    release(p);
  }
  cut(q, blockFor(n));
  return q;
}

/** memalign: as aligned_alloc. */
export function memalign(align: usize, n: usize): usize {
  return aligned_alloc(align, n);
}

/** POSIX posix_memalign: 0 and *out set, or EINVAL (align not a power of two, below 4, or out
 *  null) or ENOMEM, with *out untouched. O(1), plus growth. */
export function posix_memalign(out: usize, align: usize, n: usize): i32 {
  if (align < 4 || (align & (align - 1)) || !out) return EINVAL;
  let p = aligned_alloc(align, n);
  if (!p) return ENOMEM;
  store<u32>(out, <u32>p);
  return 0;
}

/** Bytes usable at p (at least what was asked), or 0 for null or a pointer not in use. O(1). */
export function malloc_usable_size(p: usize): usize {
  let h = live(p);
  return h ? <usize>(h & SIZE_MASK) - HEADER : 0;
}

/** sbrk: moves the break by delta; returns the old break or -1. Never overlaps the heap. O(1). */
export function sbrk(delta: i32): usize {
  return tinyShimSbrk(delta);
}

/** Says where the heap may begin (a program's __heap_base). Once, before any allocation or
 *  sbrk: returns 0, or EINVAL when too late. O(1). */
export function ralloc_init(heapBase: usize): i32 {
  if (tinyShimReady()) return EINVAL;
  tinyShimInit(heapBase);
  return 0;
}

// ---- inspection: the heap walked block by block (none of it is in the malloc family) --------

/** The block after p in the walk (spans from the newest down, blocks by address), the first
 *  block for p = 0, or 0 after the last. O(spans) at a span's end, else O(1). */
export function ralloc_walk(p: usize): usize {
  if (!root) return 0;
  if (!p) return last;
  if ((p & 15) || p < lo() || p >= top || !fits(p, sizeOf(p))) return 0; // not a block: stop
  let s = sizeOf(p);
  if (sizeOf(p + s)) return p + s;
  // p ends its span: the span below it in the list starts after this span's first block
  for (let f = <usize>last; f; f = spanBelow(f)) if (f <= p && spanHas(f, p)) return spanBelow(f);
  return 0;
}

/** Whether block p lies in the span whose first block is f (walks that span up to p). O(its
 *  blocks). */
function spanHas(f: usize, p: usize): bool {
  for (let q = f; q <= p; q += sizeOf(q)) {
    if (q == p) return true;
    if (!fits(q, sizeOf(q))) return false;
  }
  return false;
}

/** Block p's header without PREV_FREE: its size, and 1 when it is free. O(1). */
export function ralloc_block_info(p: usize): u32 {
  if (p < HEADER || <u64>p > memoryBytes()) return 0; // its header is not in memory
  return header(p) & ~PREV_FREE;
}

/** Walks every span and list; returns 0, or the code (base/abi.ts) of the first broken invariant:
 *  sizes, bounds, PREV_FREE bits, unmerged neighbours, footers, list membership and links,
 *  bitmaps, and that the lists hold exactly the free blocks. O(blocks). */
export function ralloc_check(): u32 {
  if (!root) return 0;
  let frees: usize = 0;
  let t = top;
  for (let f = <usize>last, below = t; f; below = f, f = load<u32>(f - 12)) {
    if (f < lo() || f >= below) return CHECK_BOUNDS; // (each span lies below the one before)
    let prevFree = false;
    let p = f;
    while (true) {
      let h = header(p);
      let s = <usize>(h & SIZE_MASK);
      if (!s) break; // the span's tail
      if (s < MIN_BLOCK || s > t - p) return CHECK_SIZE;
      if (((h & PREV_FREE) != 0) != prevFree) return CHECK_PREV_BIT;
      prevFree = (h & FREE) != 0;
      if (prevFree) {
        if (header(p + s) & FREE) return CHECK_UNMERGED;
        if (<usize>load<u32>(p + s - 8) != p) return CHECK_FOOTER;
        frees++;
      }
      p += s;
    }
    if (header(p) & ~PREV_FREE) return CHECK_TAIL;
  }
  let listed: usize = 0;
  let flm = load<u32>(root + T_FL);
  for (let i: usize = 0; i < LISTS; i++) {
    let head = <usize>load<u32>(root + (i << 2));
    let bit = (load<u32>(root + T_SL + ((i >> 4) << 2)) >> <u32>(i & 15)) & 1;
    if ((head != 0) != (bit != 0)) return CHECK_BITMAP;
    if (head && !((flm >> <u32>(i >> 4)) & 1)) return CHECK_BITMAP;
    let prev = root + (i << 2); // the word that points to p
    for (let p = head; p; p = load<u32>(p)) {
      if ((p & 15) || p < lo() || p >= t || !(header(p) & FREE)) return CHECK_STATE;
      if (listOf(sizeOf(p)) != i) return CHECK_CLASS;
      if (<usize>load<u32>(p, 4) != prev) return CHECK_LINK;
      if (++listed > frees) return CHECK_LIST_COUNT;
      prev = p;
    }
  }
  for (let fl: usize = 0; fl < FLS; fl++) {
    if (((flm >> <u32>fl) & 1) != 0 && !load<u32>(root + T_SL + (fl << 2))) return CHECK_BITMAP;
  }
  return listed == frees ? 0 : CHECK_LIST_COUNT;
}

/** Writes the stats struct (inspect/stats.ts, version 1) at out unless out is 0; returns its size. The
 *  tiny build keeps no counters, so the figures come from a walk of the heap: bytes in use, live
 *  blocks, bytes claimed, and peak_bytes_held as the bytes held now (a lower bound of the peak); the
 *  three call counters read 0. O(blocks). */
export function ralloc_stats(out: usize): usize {
  if (!out) return STATS_SIZE;
  let used: usize = 0, held: usize = 0, blocks: usize = 0, claimed: usize = 0;
  if (root) {
    claimed = TINY_ROOT;
    for (let f = <usize>last; f; f = spanBelow(f)) {
      let p = f;
      for (let s = sizeOf(p); s; s = sizeOf(p)) {
        if (!fits(p, s)) break; // a corrupted size: count no further in this span
        if (!(header(p) & FREE)) {
          used += s - HEADER;
          held += s;
          blocks++;
        }
        p += s;
      }
      claimed += p - f + 16;
    }
  }
  writeStatsStruct(out, <u32>used, <u32>held, <u32>claimed, 0, 0, 0, <u32>blocks, tinyShimGrows(), tinyShimSbrkHeld(), <u32>tinyShimBase());
  return STATS_SIZE;
}
