// cabi.ts — the C ABI front end: the malloc family over the global heap, with C's semantics.
//
// Each call validates its arguments, asks the core heap (heap.ts) for a block, grows through
// the shim when the heap has nothing that fits, and keeps the counters (stats.ts). The choices
// C leaves open are documented in the README: malloc(0) returns a unique pointer, realloc(p, 0)
// frees p and returns 0, a failed realloc leaves p untouched, errors return 0 and never trap.

import {
  ALIGN, HEADER, MIN_BLOCK, MAX_REQUEST, SIZE_MASK, blockSizeFor, sizeOf, header, alignUp,
} from "./block";
import { ROOT_SIZE } from "./root";
import { SMALL_MAX } from "./config";
import { quickPop } from "./quick";
import { SPAN_OVERHEAD } from "./span";
import {
  heapCreate, heapAllocSlow, heapAllocFrom, heapFree, heapAlign, heapResize, heapOwns, heapEndsAt,
} from "./heap";
import { addMemory } from "./span";
import { shimReady, shimInit, shimDefaultBase, shimClaim, shimBreak, shimSbrk } from "./shim";
import { noteAlloc, noteFree, noteRealloc, noteResize, writeStats, STATS_SIZE } from "./stats";
import { heapCheck } from "./check";

/** errno values of wasi-libc. */
export const EINVAL: i32 = 28;
export const ENOMEM: i32 = 48;

/** The global heap's root; 0 until the first allocation. Per instance, like the shim's state. */
let globalRoot: usize = 0;

/** The global heap, made on first use with room for a first block of size s; 0 when memory
 *  cannot hold it (and then memory has not grown). */
@inline function globalHeap(s: usize): usize {
  let r = globalRoot;
  return r ? r : makeGlobalHeap(s);
}

/** Places the global heap's root at the break and hands it the rest of memory, at least
 *  enough for a block of size s. O(root). */
function makeGlobalHeap(s: usize): usize {
  let need = ROOT_SIZE + SPAN_OVERHEAD + ALIGN + max<usize>(s, MIN_BLOCK);
  if (!shimReady()) shimInit(shimDefaultBase(), need);
  if (!shimReady()) return 0;
  let start = shimClaim(need);
  if (!start) return 0;
  globalRoot = heapCreate(alignUp(start), shimBreak());
  return globalRoot;
}

/** Claims memory from the shim for a block of size s and takes the block from it. O(1) + grow. */
function growFor(r: usize, s: usize): usize {
  let start = shimClaim(s + SPAN_OVERHEAD + ALIGN);
  return start ? heapAllocFrom(r, start, shimBreak(), s) : 0;
}

/** A block of size s from heap r, growing memory if nothing fits, or 0. Out of line. */
function allocBlock(r: usize, s: usize): usize {
  let p = heapAllocSlow(r, s);
  return p ? p : growFor(r, s);
}

/** Allocates n bytes aligned to 16. Returns 0 when it cannot. O(1), plus growth; a hit in the
 *  quick lists is inlined here and is a handful of loads and stores. */
export function malloc(n: usize): usize {
  let s = blockSizeFor(n); // wraps for n near 4 GiB: only trusted once n is known to be small
  let r = globalRoot;
  if (SMALL_MAX > 0 && n <= SMALL_MAX && r != 0) {
    let p = quickPop(r, s);
    if (p) {
      noteAlloc(r, s);
      return p;
    }
  }
  return mallocSlow(n, s);
}

/** malloc past the quick lists: makes the heap on first use, then searches and grows. */
function mallocSlow(n: usize, s: usize): usize {
  if (n > MAX_REQUEST) return 0;
  let r = globalHeap(s);
  if (!r) return 0;
  let p = allocBlock(r, s);
  if (p) noteAlloc(r, sizeOf(p));
  return p;
}

/** Frees p; ignores 0 and pointers that are not live blocks of this heap (a repeated free
 *  included). O(1); a push onto a quick list is inlined here. */
export function free(p: usize): void {
  let r = globalRoot;
  if (!p || !r || !heapOwns(r, p)) return;
  let h = header(p);
  noteFree(r, <usize>(h & SIZE_MASK));
  heapFree(r, p, h);
}

/** Resizes p to n bytes, in place when it can, else by moving; keeps p on failure. O(1) + copy. */
export function realloc(p: usize, n: usize): usize {
  if (!p) return malloc(n);
  let r = globalRoot;
  if (!r || !heapOwns(r, p)) return 0;
  if (n == 0) {
    free(p);
    return 0;
  }
  if (n > MAX_REQUEST) return 0;
  noteRealloc(r);
  let s = blockSizeFor(n);
  let old = sizeOf(p);
  if (heapResize(r, p, s)) {
    noteResize(r, old, sizeOf(p));
    return p;
  }
  let q = heapAllocSlow(r, s);
  if (!q && heapEndsAt(r, p, shimBreak())) {
    // p ends the heap: grow memory under it and stay in place.
    let start = shimClaim(s - old + MIN_BLOCK);
    if (start && addMemory(r, start, shimBreak()) && heapResize(r, p, s)) {
      noteResize(r, old, sizeOf(p));
      return p;
    }
  }
  if (!q) q = growFor(r, s);
  if (!q) return 0;
  memory.copy(q, p, old - HEADER);
  noteResize(r, old, sizeOf(q));
  heapFree(r, p, header(p));
  return q;
}

/** Allocates count * size zeroed bytes; 0 when the product overflows. O(n). */
export function calloc(count: usize, size: usize): usize {
  let total = <u64>count * <u64>size;
  if (total > <u64>MAX_REQUEST) return 0;
  let p = malloc(<usize>total);
  if (p) memory.fill(p, 0, <usize>total);
  return p;
}

/** Allocates n bytes at a multiple of align (a power of two). O(1), plus growth. */
function allocAligned(align: usize, n: usize): usize {
  if (align <= ALIGN) return malloc(n);
  if (n > MAX_REQUEST) return 0;
  let s = blockSizeFor(n);
  let big = <u64>s + <u64>align + MIN_BLOCK;
  if (big > <u64>MAX_REQUEST) return 0;
  let r = globalHeap(<usize>big);
  if (!r) return 0;
  let p = allocBlock(r, <usize>big);
  if (!p) return 0;
  p = heapAlign(r, p, s, align);
  noteAlloc(r, sizeOf(p));
  return p;
}

/** Whether x is a power of two (0 is not). O(1). */
@inline function isPowerOfTwo(x: usize): bool {
  return x != 0 && (x & (x - 1)) == 0;
}

/** C11 aligned_alloc: align must be a power of two, else 0. Any size. O(1), plus growth. */
export function aligned_alloc(align: usize, n: usize): usize {
  return isPowerOfTwo(align) ? allocAligned(align, n) : 0;
}

/** memalign: as aligned_alloc. */
export function memalign(align: usize, n: usize): usize {
  return isPowerOfTwo(align) ? allocAligned(align, n) : 0;
}

/** POSIX posix_memalign: 0 and *out set, or EINVAL (bad align or null out) / ENOMEM with *out
 *  untouched. O(1), plus growth. */
export function posix_memalign(out: usize, align: usize, n: usize): i32 {
  if (!isPowerOfTwo(align) || align < 4 || out == 0) return EINVAL;
  let p = allocAligned(align, n);
  if (!p) return ENOMEM;
  store<u32>(out, <u32>p);
  return 0;
}

/** Bytes usable at p (at least what was asked), or 0 for null or a pointer not in use. O(1). */
export function malloc_usable_size(p: usize): usize {
  let r = globalRoot;
  if (!p || !r || !heapOwns(r, p)) return 0;
  return sizeOf(p) - HEADER;
}

/** sbrk: moves the break by delta; returns the old break or -1. Never overlaps the heap. O(1). */
export function sbrk(delta: i32): usize {
  if (!shimReady()) shimInit(shimDefaultBase(), <usize>max<i32>(delta, 0));
  if (!shimReady()) return <usize>-1;
  return shimSbrk(delta);
}

/** Says where the heap may begin (a program's __heap_base). Once, before any allocation or
 *  sbrk: returns 0, or EINVAL when too late, or ENOMEM when memory cannot reach heapBase. O(1). */
export function ralloc_init(heapBase: usize): i32 {
  if (shimReady()) return EINVAL;
  shimInit(heapBase, 0);
  return shimReady() ? 0 : ENOMEM;
}

/** Walks the whole heap; returns 0 or the code of the first broken invariant (check.ts). */
export function ralloc_check(): u32 {
  return heapCheck(globalRoot);
}

/** Writes the stats struct (stats.ts) at out unless out is 0; returns its size. O(1). */
export function ralloc_stats(out: usize): usize {
  if (out) writeStats(globalRoot, out);
  return STATS_SIZE;
}
