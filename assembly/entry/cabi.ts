// cabi.ts — the C ABI front end: the malloc family over the global heap, with C's semantics.
//
// malloc and free do the small-object hit in line (release: a page's pop or push,
// small/page.ts); everything else goes through ops/ops.ts on the global heap, which the shim grows. The choices C leaves open are in
// docs/C-SEMANTICS.md: malloc(0) returns a unique pointer, realloc(p, 0) frees p and returns 0, a failed
// realloc leaves p untouched, errors return 0 (or an errno) and never trap.

import { ALIGN, MAX_REQUEST, SIZE_MASK, blockSizeFor, sizeOf } from "../base/block";
import { GUARDED, PAGES, RUNTIME, THREADS, THREAD_LARGE } from "../base/config";
import {
  EINVAL, ENOMEM, CHECK_GUARD, M_CHECK, M_OVERFLOW, M_BAD_HEADER, OP_FREE, OP_REALLOC, OP_USABLE,
  OP_CHECK, OP_MALLOC, OP_CALLOC, OP_ALIGNED, OP_ALLOC, STATS_SIZE,
} from "../base/abi";
import { shimReady, shimInit, shimDefaultBase, shimSbrk } from "../platform/shim";
import { report } from "../diag/report";
import { guardVerify, requestOf, GUARD_BAD_CANARY } from "../diag/guard";
import { noteFree } from "../core/counters";
import { liveHeader } from "../core/heap";
import { heapFree } from "../small/front";
import { PAGE_MAX, pagePop, pageOfMirrored, pagePush } from "../small/page";
import { hubAttach, hubSbrk } from "../heaps/hub";
import { freeElsewhere, collectRemote, foreign } from "../heaps/thread";
import { globalHeap, globalHeapFor, globalHeapRoot } from "../heaps/global";
import { autoTrim } from "../heaps/source";
import { writeStats } from "../inspect/stats";
import { classify } from "../inspect/classify";
import { heapCheck, checkFailedAt } from "../inspect/check";
import { heapsCheck } from "../inspect/heaps";
import { opAlloc, opFree, opRealloc, opUsable, generalHit } from "../ops/ops";
import { globalAlloc, foreignRealloc, foreignUsable } from "../ops/foreign";

/** Allocates n bytes aligned to 16. Returns 0 when it cannot. O(1), plus growth; a hit in a
 *  page (release) is inlined here and is a handful of loads and stores. */
export function malloc(n: usize): usize {
  let r = globalHeapRoot();
  if (PAGES && n <= PAGE_MAX && r != 0) { // guarded builds and small: through ops/ops.ts
    let p = pagePop(r, (n + 15) >> 4); // n = 0: class 0's slot stays empty, so the slow path
    if (p) return p; // (objects are counted by inspect/stats.ts, not here)
  }
  return mallocSlow(n);
}

/** malloc past a page's pop: a listed free block when one fits (release: generalHit), else
 *  makes the heap on first use, then searches, grows, asks. Out of line, so that malloc stays
 *  small enough to inline into a program. O(1), plus growth. */
function mallocSlow(n: usize): usize {
  let g = globalHeapRoot();
  if (THREADS) { // large requests go to the global part; what other threads freed comes back here
    if (n >= THREAD_LARGE) return n > MAX_REQUEST ? 0 : globalAlloc(n, ALIGN, true, OP_MALLOC);
    if (g) collectRemote(g);
  }
  if (PAGES && n > PAGE_MAX && g != 0) {
    let p = generalHit(g, n);
    if (p) return p;
  }
  if (n > MAX_REQUEST) return 0;
  let r = globalHeapFor(n);
  return r ? opAlloc(r, n, ALIGN, true, OP_MALLOC) : 0;
}

/** Frees p. Ignores 0, pointers that are misaligned or outside the heap, and blocks already
 *  free or cached (a repeated free): the cheap header check. A pointer into the middle of a
 *  live block whose bytes happen to look like a live header is not caught here; the guarded
 *  builds catch every one of these exactly and stop (inspect/classify.ts). O(1); a page push is
 *  inlined here. */
export function free(p: usize): void {
  let r = globalHeapRoot();
  if (GUARDED) {
    if (!p) return;
    if (!r) classify(0, p, OP_FREE); // nothing was ever allocated
    opFree(r, p, OP_FREE);
    autoTrim(r);
    return;
  }
  if (!r) {
    if (THREADS) freeElsewhere(p); // a thread without a heap (yet, or any more) frees another's
    return;
  }
  if (PAGES) {
    let pg = pageOfMirrored(p); // 0 for p = 0 too
    if (pg) {
      pagePush(r, pg, p);
      return;
    }
  }
  if (THREADS && freeElsewhere(p)) return; // another thread's block goes to its owner
  let h = liveHeader(r, p); // 0 for p = 0 too: the heap never starts at 0
  if (!h) return;
  noteFree(r, <usize>(h & SIZE_MASK));
  heapFree(r, p, h);
  autoTrim(r); // nothing unless the MEMTRIM_LIMIT knob is set
}

/** Resizes p to n bytes, in place when it can, else by moving; keeps p on failure. O(1) + copy. */
export function realloc(p: usize, n: usize): usize {
  if (!p) return malloc(n);
  if (THREADS && foreign(p)) return foreignRealloc(p, n);
  let r = globalHeapRoot();
  if (GUARDED && !r) classify(0, p, OP_REALLOC);
  return r ? opRealloc(r, p, n, OP_REALLOC) : 0;
}

/** Allocates count * size zeroed bytes; 0 when the product overflows. O(n). */
export function calloc(count: usize, size: usize): usize {
  let total = <u64>count * <u64>size;
  if (total > <u64>MAX_REQUEST) return 0;
  let p = GUARDED ? allocAligned(<usize>total, ALIGN, true, OP_CALLOC) : malloc(<usize>total);
  if (p) memory.fill(p, 0, <usize>total);
  return p;
}

/** Allocates n bytes at a multiple of align on the global heap; 0 on failure. */
export function allocAligned(n: usize, align: usize, handle: bool, op: u32 = OP_ALLOC): usize {
  if (n > MAX_REQUEST || align == 0) return 0;
  if (THREADS && n >= THREAD_LARGE) return globalAlloc(n, align, handle, op);
  let r = handle ? globalHeapFor(n) : globalHeap(blockSizeFor(n));
  if (THREADS && r) collectRemote(r);
  return r ? opAlloc(r, n, align, handle, op) : 0;
}

/** Whether x is a power of two (0 is not). O(1). */
@inline function isPowerOfTwo(x: usize): bool {
  return x != 0 && (x & (x - 1)) == 0;
}

/** C11 aligned_alloc: align must be a power of two, else 0. Any size. O(1), plus growth. */
export function aligned_alloc(align: usize, n: usize): usize {
  return isPowerOfTwo(align) ? allocAligned(n, align, true, OP_ALIGNED) : 0;
}

/** memalign: as aligned_alloc. */
export function memalign(align: usize, n: usize): usize {
  return isPowerOfTwo(align) ? allocAligned(n, align, true, OP_ALIGNED) : 0;
}

/** POSIX posix_memalign: 0 and *out set, or EINVAL (bad align or null out) / ENOMEM with *out
 *  untouched. O(1), plus growth. */
export function posix_memalign(out: usize, align: usize, n: usize): i32 {
  if (!isPowerOfTwo(align) || align < 4 || out == 0) return EINVAL;
  let p = allocAligned(n, align, true, OP_ALIGNED);
  if (!p) return ENOMEM;
  store<u32>(out, <u32>p);
  return 0;
}

/** Bytes usable at p (at least what was asked), or 0 for null or a pointer not in use. O(1). */
export function malloc_usable_size(p: usize): usize {
  if (THREADS && p && foreign(p)) return foreignUsable(p);
  let r = globalHeapRoot();
  if (GUARDED && p && !r) classify(0, p, OP_USABLE);
  return p && r ? opUsable(r, p, OP_USABLE) : 0;
}

/** sbrk: moves the break by delta; returns the old break or -1. Never overlaps the heap. O(1). */
export function sbrk(delta: i32): usize {
  if (THREADS) return hubSbrk(delta); // under the lock
  if (!shimReady()) shimInit(shimDefaultBase(), <usize>max<i32>(delta, 0));
  if (!shimReady()) return <usize>-1;
  return shimSbrk(delta);
}

/** Says where the heap may begin (a program's __heap_base). Once, before any allocation or
 *  sbrk: returns 0, or EINVAL when too late, or ENOMEM when memory cannot reach heapBase. O(1). */
export function ralloc_init(heapBase: usize): i32 {
  if (THREADS) return hubAttach(heapBase); // every thread names the same base: the hub is there
  if (shimReady()) return EINVAL;
  shimInit(heapBase, 0);
  return shimReady() ? 0 : ENOMEM;
}

/** Walks the whole heap; returns 0 or the code of the first broken invariant (inspect/check.ts). The
 *  guarded builds (debug, validate, security) stop with the failure's message instead (a broken canary is a write past the
 *  end). O(blocks). */
export function ralloc_check(): u32 {
  if (THREADS) return heapsCheck(globalHeapRoot()); // the global part, this thread's, the abandoned
  return checkOrStop(globalHeapRoot(), OP_CHECK);
}

/** heapCheck(r), except that the guarded builds report a failure and stop. O(blocks). */
export function checkOrStop(r: usize, op: u32): u32 {
  let code = heapCheck(r);
  if (GUARDED && code) {
    let at = checkFailedAt();
    if (code == CHECK_GUARD) {
      if (guardVerify(at) == GUARD_BAD_CANARY) report(M_OVERFLOW, op, at, requestOf(at), 0);
      else report(M_BAD_HEADER, op, at, sizeOf(at), 0);
    }
    report(M_CHECK, op, at, code, 0);
  }
  return code;
}

/** Writes the stats struct (base/abi.ts) at out unless out is 0; returns its size. O(1), or
 *  O(blocks) where bytes in use are walked (inspect/stats.ts). */
export function ralloc_stats(out: usize): usize {
  if (out) writeStats(globalHeapRoot(), out);
  return STATS_SIZE;
}

/** Stops the compile where a program would allocate from the global heap itself while
 *  ralloc-wasm is AssemblyScript's memory manager (the RUNTIME knob): its pages then hold the
 *  runtime's objects, each with its mmInfo word in the last word of the object before it
 *  (runtime/manager.ts), which an object of the program's could overwrite. The library's entry
 *  points call it (index.ts, cells.ts); the manager does not. */
@inline export function refusedUnderRuntime(): void {
  if (RUNTIME) ERROR("ralloc-wasm is this module's runtime (--runtime …/ralloc-wasm/assembly/runtime/…): allocate with heap.alloc, heap.realloc and heap.free, or a LocalHeap, not with the global heap's malloc family or a cell allocator over it");
}
