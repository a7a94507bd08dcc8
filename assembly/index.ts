// index.ts — ralloc-wasm as an AssemblyScript library:
//   import { malloc, free, alloc, dealloc, LocalHeap, setOomHandler } from "ralloc-wasm/assembly";
// The C names (malloc, free, ...) are entry/cabi.ts's, as they are; ralloc's own calls
// (ralloc_alloc, ralloc_check, ...) take the same words in camelCase (alloc, check, ...).
// Everything here works on the global heap unless it says otherwise. Built without knobs, a
// module using it imports nothing for it (no host hooks: base/config.ts's MODULE and HOOKS), and
// it shares memory with any AssemblyScript runtime (incremental, minimal or stub). When
// ralloc-wasm is itself the runtime's memory manager (runtime/), the global heap is the
// runtime's: the calls that allocate, resize or free there refuse to compile
// (refusedUnderRuntime), and heap.alloc, heap.realloc and heap.free are ralloc-wasm's.

import {
  ralloc_alloc, ralloc_try_alloc, ralloc_inplace_realloc, ralloc_dealloc, ralloc_donate, ralloc_trim,
  ralloc_heap_over, ralloc_heap_new, ralloc_heap_alloc, ralloc_heap_free, ralloc_heap_realloc,
  ralloc_heap_usable_size, ralloc_heap_destroy, ralloc_heap_check, ralloc_heap_stats, ralloc_seed,
} from "./entry/api";
import { MAX_REQUEST } from "./base/block";
import { THREADS } from "./base/config";
import { OP_ALLOC } from "./base/abi";
import { lockTake, lockGive, lockHeld } from "./platform/lock";
import { setOomHandlerIndex, setThreadOomHandlerIndex } from "./platform/oom";
import { hubRootAttached } from "./heaps/hub";
import { globalHeapExit } from "./heaps/global";
import { ralloc_assert_no_leak } from "./inspect/walk";
import { globalAlloc } from "./ops/foreign";
import { ralloc_check, ralloc_stats, refusedUnderRuntime, free as freeBlock } from "./entry/cabi";
import * as cabi from "./entry/cabi";

export { sbrk, ralloc_init, ralloc_check, ralloc_stats } from "./entry/cabi";
export { EINVAL, ENOMEM, STATS_SIZE, STATS_VERSION } from "./base/abi";
// typed cell allocators (alloc-no-stdlib's model): docs/CELLS.md
export { Cell, CellView, Allocator, OnFree } from "./features/cell";
export { StackAllocator } from "./features/stack";
export { CellPool, GlobalPool } from "./features/pool";
export { HeapAlloc, HeapAllocUninitialized, HeapPrealloc, CallocPool } from "./entry/cells";

// The C malloc family (entry/cabi.ts: C's semantics), refused under ralloc-wasm's own runtime.

/** n bytes at a multiple of 16, or 0. O(1), plus growth. */
export function malloc(n: usize): usize {
  refusedUnderRuntime();
  return cabi.malloc(n);
}

/** Frees p (0 and bad pointers are ignored; the guarded builds name a bad one). O(1). */
export function free(p: usize): void {
  refusedUnderRuntime();
  cabi.free(p);
}

/** Resizes p to n bytes, in place when it can; keeps p on failure (0). O(1) + copy. */
export function realloc(p: usize, n: usize): usize {
  refusedUnderRuntime();
  return cabi.realloc(p, n);
}

/** count * size zeroed bytes; 0 when the product overflows. O(n). */
export function calloc(count: usize, size: usize): usize {
  refusedUnderRuntime();
  return cabi.calloc(count, size);
}

/** n bytes at a multiple of align (a power of two), or 0. O(1), plus growth. */
export function aligned_alloc(align: usize, n: usize): usize {
  refusedUnderRuntime();
  return cabi.aligned_alloc(align, n);
}

/** POSIX posix_memalign: 0 and *out set, or EINVAL / ENOMEM. O(1), plus growth. */
export function posix_memalign(out: usize, align: usize, n: usize): i32 {
  refusedUnderRuntime();
  return cabi.posix_memalign(out, align, n);
}

/** memalign: as aligned_alloc. */
export function memalign(align: usize, n: usize): usize {
  refusedUnderRuntime();
  return cabi.memalign(align, n);
}

/** Bytes usable at p, or 0. O(1). */
export function malloc_usable_size(p: usize): usize {
  refusedUnderRuntime();
  return cabi.malloc_usable_size(p);
}

/** Walks the whole global heap (ralloc_check): 0 when every invariant holds, else the code of
 *  the first broken one. O(blocks). */
export function check(): u32 {
  return ralloc_check();
}

/** Writes the global heap's stats struct (its layout: base/abi.ts) at out, when out is not 0
 *  (ralloc_stats); returns its size. */
export function stats(out: usize): usize {
  return ralloc_stats(out);
}

/** size bytes at a multiple of align (any value from 1 up); 0 when memory runs out, after the
 *  OOM handler had its one chance. O(1), plus growth. */
export function alloc(size: usize, align: usize = 16): usize {
  refusedUnderRuntime();
  return ralloc_alloc(size, align);
}

/** As alloc, but returns 0 at once when memory runs out: never calls the OOM handler. */
export function tryAlloc(size: usize, align: usize = 16): usize {
  refusedUnderRuntime();
  return ralloc_try_alloc(size, align);
}

/** Resizes ptr to size bytes without moving it: ptr, or 0 (ptr unchanged). Shrinking always works. */
export function inplaceRealloc(ptr: usize, size: usize): usize {
  refusedUnderRuntime();
  return ralloc_inplace_realloc(ptr, size);
}

/** Frees [ptr, ptr + size), any part of one live block; false (nothing changed) otherwise. */
export function dealloc(ptr: usize, size: usize): bool {
  refusedUnderRuntime();
  return ralloc_dealloc(ptr, size) == 0;
}

/** Gives the heap [ptr, ptr + size), memory it never handed out; false when refused. O(spans). */
export function donate(ptr: usize, size: usize): bool {
  return ralloc_donate(ptr, size) == 0;
}

/** Gives free memory at the top of the heap back to the break (for sbrk); returns the bytes. */
export function trim(): usize {
  return ralloc_trim();
}

/** Sets this instance's OOM handler: called with the size that could not be met; returning
 *  true retries the request once. null restores the default (fail with 0). O(1). */
export function setOomHandler(handler: ((size: usize) => bool) | null): void {
  setOomHandlerIndex(handler ? load<u32>(changetype<usize>(handler)) : 0); // a Function's table index
}

// Threads (a module built with --use RALLOC_THREADS=1 and a shared memory, one instance per
// thread; docs/THREADS.md). Elsewhere they fall back to the single-threaded meaning.

/** Sets the calling thread's own OOM handler, asked instead of setOomHandler's in this thread
 *  only; null removes it. Without threads, the one handler (as setOomHandler). O(1). */
export function setThreadOomHandler(handler: ((size: usize) => bool) | null): void {
  setThreadOomHandlerIndex(handler ? load<u32>(changetype<usize>(handler)) : 0);
}

/** The calling thread is done allocating (ralloc_thread_exit): its empty memory goes back to the
 *  global part, a heap with live blocks waits for adoption. Returns the live blocks left behind
 *  (0: none); 0 without threads. O(spans + pages). */
export function threadExit(): u32 {
  return globalHeapExit();
}

/** The global lock as lock() hands it out, as JS's heap.lock() does: its alloc and free are
 *  lockedAlloc and lockedFree, its release unlock. It has no state of its own (one static
 *  address stands for it), so taking the lock allocates nothing; after release its calls take
 *  the lock themselves, as lockedAlloc and lockedFree do. */
@final @unmanaged export class HeapLock {
  /** lockedAlloc(size, align) under this lock. O(1), plus growth. */
  alloc(size: usize, align: usize = 16): usize {
    return lockedAlloc(size, align);
  }

  /** lockedFree(ptr) under this lock. O(1). */
  free(ptr: usize): void {
    lockedFree(ptr);
  }

  /** unlock(): gives this lock back; false when this thread does not hold it. O(1). */
  release(): bool {
    return unlock();
  }
}

/** The address that stands for the held lock (HeapLock has no fields). */
const HELD_LOCK: usize = memory.data(16);

/** Takes the global lock (ralloc_lock), waiting in memory.atomic.wait32 while another thread
 *  holds it, so that the lockedAlloc and lockedFree calls that follow take it without waiting;
 *  nested calls are counted. Returns the lock (HeapLock) to call them on. Nothing is taken
 *  without threads. O(1) uncontended. */
export function lock(): HeapLock {
  if (THREADS) {
    if (hubRootAttached()) lockTake();
  }
  return changetype<HeapLock>(HELD_LOCK);
}

/** Gives the global lock back (ralloc_unlock; the outermost call releases it); false when this
 *  thread does not hold it (always, without threads). O(1), plus waking a waiter. */
export function unlock(): bool {
  if (!lockHeld()) return false;
  lockGive();
  return true;
}

/** size bytes at a multiple of align from the global part, under the global lock (taken here
 *  when not held): a block no thread owns, freed by any (ralloc_locked_alloc). Without
 *  threads, alloc. 0 on failure. O(1), plus growth. */
export function lockedAlloc(size: usize, align: usize = 16): usize {
  refusedUnderRuntime();
  if (!THREADS) return ralloc_alloc(size, align);
  return size > MAX_REQUEST || align == 0 ? 0 : globalAlloc(size, align, true, OP_ALLOC);
}

/** Frees ptr, a block of lockedAlloc or any other (ralloc_locked_free, free). O(1), plus the
 *  lock for a block of the global part. */
export function lockedFree(ptr: usize): void {
  refusedUnderRuntime();
  freeBlock(ptr);
}

/** Live blocks of the global heap; the debug builds (RALLOC_DEBUG=1) report them as a leak
 *  through ralloc_hooks.report and stop when there are any. O(blocks). */
export function assertNoLeak(): u32 {
  return ralloc_assert_no_leak();
}

/** Sets the 64-bit key of the guarded builds' check words (RALLOC_DEBUG or RALLOC_SECURITY);
 *  before the first allocation only: false afterwards. O(1). */
export function seed(lo: u32, hi: u32): bool {
  return ralloc_seed(lo, hi) == 0;
}

/** A local heap: an allocator independent of the global one, released all at once by destroy. */
export class LocalHeap {
  private constructor(readonly handle: usize) {}

  /** A heap over [ptr, ptr + size), memory no other heap uses; null when it is too small. */
  static over(ptr: usize, size: usize): LocalHeap | null {
    let h = ralloc_heap_over(ptr, size);
    return h ? new LocalHeap(h) : null;
  }

  /** A heap that grows from the global heap, starting with about `bytes`; null when memory is out. */
  static grow(bytes: usize): LocalHeap | null {
    let h = ralloc_heap_new(bytes);
    return h ? new LocalHeap(h) : null;
  }

  /** size bytes at a multiple of align from this heap; 0 on failure. */
  alloc(size: usize, align: usize = 16): usize {
    return ralloc_heap_alloc(this.handle, size, align);
  }

  /** Frees ptr, a live block of this heap; false when it is not one. */
  free(ptr: usize): bool {
    return ralloc_heap_free(this.handle, ptr) == 0;
  }

  /** realloc within this heap. */
  realloc(ptr: usize, size: usize): usize {
    return ralloc_heap_realloc(this.handle, ptr, size);
  }

  /** Bytes usable at ptr, or 0. */
  usableSize(ptr: usize): usize {
    return ralloc_heap_usable_size(this.handle, ptr);
  }

  /** 0, or the heap walker's code for the first broken invariant. */
  check(): u32 {
    return ralloc_heap_check(this.handle);
  }

  /** Writes this heap's stats struct (its layout: base/abi.ts) at out. */
  stats(out: usize): void {
    ralloc_heap_stats(this.handle, out);
  }

  /** Releases everything in this heap at once; the heap is dead afterwards. */
  destroy(): void {
    ralloc_heap_destroy(this.handle);
  }
}
