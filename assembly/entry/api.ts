// api.ts — ralloc's extended API as C exports: any alignment, failable and in-place allocation,
// partial and separate deallocation, donation, trimming, local heaps, the guard key and the
// event level. Each call works on the global heap unless it takes a local heap's handle. Errors
// return 0 or an errno, never trap, and change nothing. (The OOM handler is set per language:
// ralloc_import.c keeps C's, index.ts AssemblyScript's, the host's hook the JS one.)

import { ALIGN, MAX_REQUEST, FREE, CACHED, header } from "../base/block";
import { GUARDED, THREADS } from "../base/config";
import {
  EINVAL, STATS_SIZE, M_RANGE, M_USE_FREED, OP_INPLACE, OP_DEALLOC, OP_HEAP_ALLOC, OP_HEAP_FREE,
  OP_HEAP_REALLOC, OP_HEAP_USABLE, OP_HEAP_CHECK, EV_DEALLOC,
} from "../base/abi";
import { shimOwns, shimAdopt, memoryBytes, MAX_END } from "../platform/shim";
import { lockTake, lockGive } from "../platform/lock";
import { report } from "../diag/report";
import { guardSeed, guardsMade, requestOf } from "../diag/guard";
import { opEvent, eventsOn, setEventLevel } from "../diag/event";
import { spansOverlap, blockAround } from "../core/span";
import { heapAddMemory } from "../core/heap";
import { flushCaches } from "../small/front";
import { hubRoot, hubRootAttached } from "../heaps/hub";
import { collectRemote, foreign, isThreadRoot, returnEmptyChunks, reapAbandoned } from "../heaps/thread";
import { globalHeap, globalHeapRoot } from "../heaps/global";
import { isHeapRoot, trimTop } from "../heaps/source";
import { heapDealloc, DEALLOC_OK, DEALLOC_FREED, DEALLOC_OUTSIDE } from "../features/range";
import { localOver, localFromPool, localDestroy } from "../features/local";
import { writeStats } from "../inspect/stats";
import { classify } from "../inspect/classify";
import { opAlloc, opFree, opRealloc, opInplace, opUsable } from "../ops/ops";
import { allocAligned, checkOrStop } from "./cabi";

/** Allocates size bytes at a multiple of align (any value from 1 up; 0 is refused); calls the
 *  OOM handler when memory runs out. Free the result with free. O(1), plus growth. */
export function ralloc_alloc(size: usize, align: usize): usize {
  return allocAligned(size, align, true);
}

/** As ralloc_alloc, but fails with 0 at once when memory runs out: never calls the handler. */
export function ralloc_try_alloc(size: usize, align: usize): usize {
  return allocAligned(size, align, false);
}

/** Resizes ptr to size bytes without moving it; returns ptr, or 0 (ptr unchanged) when it
 *  cannot. Shrinking always succeeds. O(1), plus growth when ptr ends the heap. */
export function ralloc_inplace_realloc(ptr: usize, size: usize): usize {
  if (THREADS && ptr && foreign(ptr)) return 0; // another thread's block, or the global part's
  let r = globalHeapRoot();
  if (GUARDED && ptr && !r) classify(0, ptr, OP_INPLACE);
  return ptr && r ? opInplace(r, ptr, size, OP_INPLACE) : 0;
}

/** Frees [ptr, ptr + size): a prefix, a suffix, a middle or all of one live block (features/range.ts).
 *  Returns 0, or EINVAL (nothing changed) when the range is not inside one live block; the
 *  guarded builds report such a range, or one freed before, and stop. */
export function ralloc_dealloc(ptr: usize, size: usize): i32 {
  let r = globalHeapRoot();
  if (GUARDED && ptr && !r) classify(0, ptr, OP_DEALLOC, true);
  if (!r || !ptr || (THREADS && foreign(ptr))) return EINVAL; // (threads: this thread's blocks only)
  let b = eventsOn() ? blockAround(r, ptr) : 0; // named in the event, found before the range goes
  let why = heapDealloc(r, ptr, size);
  if (why == DEALLOC_OK) {
    opEvent(EV_DEALLOC, ptr, size, b, 0);
    return 0;
  }
  if (GUARDED) {
    if (why == DEALLOC_FREED) report(M_USE_FREED, OP_DEALLOC, ptr, size, 0);
    if (why == DEALLOC_OUTSIDE) {
      // An empty range is no range. Outside every block: say what ptr is. In a free block, or
      // past what a live block asks for now (where partial frees cut it): those bytes were
      // freed. Anywhere else in a live block: the range runs past what it asked for.
      if (size == 0) report(M_RANGE, OP_DEALLOC, ptr, size, 0);
      classify(r, ptr, OP_DEALLOC, true);
      let at = blockAround(r, ptr);
      if (at && ((header(at) & (FREE | CACHED)) != 0 || ptr >= at + requestOf(at))) {
        report(M_USE_FREED, OP_DEALLOC, ptr, size, 0);
      }
      report(M_RANGE, OP_DEALLOC, ptr, size, 0);
    }
  }
  return EINVAL;
}

/** Adds [ptr, ptr + size), memory malloc never handed out (a static buffer, an sbrk region), to
 *  the global heap. Returns 0, or EINVAL when it overlaps the heap or memory nobody was given,
 *  or is too small to hold a block. O(spans). */
export function ralloc_donate(ptr: usize, size: usize): i32 {
  let end = <u64>ptr + <u64>size;
  if (ptr == 0 || end > MAX_END || end > memoryBytes()) return EINVAL;
  if (THREADS) return donateToHub(ptr, <usize>end);
  let r = globalHeap(16);
  if (!r || spansOverlap(r, ptr, <usize>end) || shimOwns(ptr, <usize>end)) return EINVAL;
  if (!heapAddMemory(r, ptr, <usize>end)) return EINVAL;
  shimAdopt(ptr, <usize>end); // if it came from sbrk, sbrk can no longer give it back
  return 0;
}

/** Gives the free memory at the top of the global heap back to the break, where sbrk and later
 *  growth find it. Returns the bytes given back. O(cached blocks). */
export function ralloc_trim(): usize {
  if (THREADS) return trimThreads();
  let r = globalHeapRoot();
  return r ? trimTop(r) : 0;
}

/** Threads: ralloc_donate's memory goes to the global part, under the lock (the calling thread's
 *  heap takes memory in whole units only). O(spans). */
function donateToHub(ptr: usize, end: usize): i32 {
  let r = hubRootAttached();
  if (!r) return EINVAL;
  lockTake();
  let ok = !spansOverlap(r, ptr, end) && !shimOwns(ptr, end) && heapAddMemory(r, ptr, end) != 0;
  if (ok) shimAdopt(ptr, end);
  lockGive();
  return ok ? 0 : EINVAL;
}

/** Threads: ralloc_trim: this thread's heap collects what others freed and gives its empty
 *  chunks back, abandoned heaps left empty go back, and the global part gives the free memory
 *  at its top back to the break (under the lock). Returns the bytes given back to the break or
 *  the global part. O(spans + pages + cached blocks). */
function trimThreads(): usize {
  let r = globalHeapRoot();
  let n: usize = 0;
  if (r) {
    collectRemote(r);
    flushCaches(r);
    n = returnEmptyChunks(r);
  }
  reapAbandoned(true);
  let hub = hubRoot();
  if (hub) {
    lockTake();
    n += trimTop(hub);
    lockGive();
  }
  return n;
}

/** A local heap over the caller's buffer [mem, mem + size); its handle, or 0. O(root). */
export function ralloc_heap_over(mem: usize, size: usize): usize {
  return localOver(mem, size);
}

/** A local heap that grows from the global heap, starting with about `bytes`; its handle or 0. */
export function ralloc_heap_new(bytes: usize): usize {
  let pool = globalHeap(16);
  return pool && bytes <= MAX_REQUEST ? localFromPool(bytes) : 0; // the global heap is the pool
}

/** Allocates size bytes at a multiple of align in local heap h; 0 on failure or a bad handle. */
export function ralloc_heap_alloc(h: usize, size: usize, align: usize): usize {
  return isHeapRoot(h) ? opAlloc(h, size, align, true, OP_HEAP_ALLOC) : 0;
}

/** Frees ptr in local heap h. Returns 0, or EINVAL when ptr is not a live block of h. */
export function ralloc_heap_free(h: usize, ptr: usize): i32 {
  return isHeapRoot(h) && ptr && opFree(h, ptr, OP_HEAP_FREE) ? 0 : EINVAL;
}

/** realloc within local heap h (same rules as realloc). */
export function ralloc_heap_realloc(h: usize, ptr: usize, size: usize): usize {
  if (!isHeapRoot(h)) return 0;
  return ptr ? opRealloc(h, ptr, size, OP_HEAP_REALLOC) : opAlloc(h, size, ALIGN, true, OP_HEAP_REALLOC);
}

/** Bytes usable at ptr in local heap h, or 0. */
export function ralloc_heap_usable_size(h: usize, ptr: usize): usize {
  return isHeapRoot(h) && ptr ? opUsable(h, ptr, OP_HEAP_USABLE) : 0;
}

/** Releases local heap h and everything in it at once. Returns 0, or EINVAL for a bad handle. */
export function ralloc_heap_destroy(h: usize): i32 {
  if (!isHeapRoot(h) || h == globalHeapRoot() || (THREADS && isThreadRoot(h))) return EINVAL;
  localDestroy(h, globalHeapRoot());
  return 0;
}

/** Walks local heap h (ralloc_check's codes); EINVAL's value (28) is not a check code. */
export function ralloc_heap_check(h: usize): u32 {
  return isHeapRoot(h) ? checkOrStop(h, OP_HEAP_CHECK) : <u32>EINVAL;
}

/** Writes local heap h's stats struct at out; returns its size, or 0 for a bad handle. */
export function ralloc_heap_stats(h: usize, out: usize): usize {
  if (!isHeapRoot(h)) return 0;
  if (out) writeStats(h, out);
  return STATS_SIZE;
}

/** Sets the level of events sent to the host (0 none, 1 errors, 2 every operation, 3 pool
 *  events too); returns the highest level this build has (0: it sends none). O(1). */
export function ralloc_set_log_level(level: u32): u32 {
  return setEventLevel(level);
}

/** Sets the 64-bit key of the guarded builds' check words; before the first allocation only
 *  (of any heap). Returns 0, or EINVAL once the heap exists. Harmless where nothing is guarded. */
export function ralloc_seed(lo: u32, hi: u32): i32 {
  if (globalHeapRoot() || guardsMade()) return EINVAL;
  guardSeed(lo, hi);
  return 0;
}
