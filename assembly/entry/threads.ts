// threads.ts — the threads build's entry (asconfig.json's `threads` target): every export of the
// other builds (entry/module.ts), and the calls only threads need: a thread's exit, and lock
// reuse (take the global lock once, make many allocations of the global part under it). The
// AssemblyScript library has the same calls in camelCase (index.ts).

import { MAX_REQUEST } from "../base/block";
import { THREADS } from "../base/config";
import { EINVAL, OP_ALLOC } from "../base/abi";
import { lockTake, lockGive, lockHeld } from "../platform/lock";
import { hubRootAttached } from "../heaps/hub";
import { globalHeapExit } from "../heaps/global";
import { globalAlloc } from "../ops/foreign";
import { free } from "./cabi";

if (!THREADS) ERROR("assembly/entry/threads.ts is the threads build's entry: compile it with --use RALLOC_THREADS=1 (asconfig.json's threads target does)");

export * from "./module";

/** The calling thread is done allocating: what other threads freed into its heap is collected,
 *  its empty chunks go back to the global part, and its heap goes back whole when nothing in it
 *  lives, else is left for a later thread to adopt (its blocks stay valid and freeable by
 *  anyone). Returns the number of live blocks left behind (0: none; at least 1 when any
 *  object of a page lives). The thread may allocate again: it then makes or adopts a heap.
 *  O(spans + pages). */
export function ralloc_thread_exit(): u32 {
  return globalHeapExit();
}

/** Takes the global lock (waiting for it, memory.atomic.wait32), so that the ralloc_locked_*
 *  calls that follow take it without waiting; nested takes are counted. O(1) uncontended. */
export function ralloc_lock(): void {
  if (hubRootAttached()) lockTake();
}

/** Gives the global lock back (the outermost ralloc_unlock releases it); EINVAL when this
 *  thread does not hold it. O(1), plus waking a waiter. */
export function ralloc_unlock(): i32 {
  if (!lockHeld()) return EINVAL;
  lockGive();
  return 0;
}

/** Whether the calling thread holds the global lock (1) or not (0). O(1). */
export function ralloc_lock_held(): u32 {
  return lockHeld() ? 1 : 0;
}

/** size bytes at a multiple of align (any value from 1 up; 0 is refused) from the global part,
 *  under the global lock (taken here if the thread does not hold it): a block no thread owns,
 *  which outlives its thread and which any thread frees with free or ralloc_locked_free. May
 *  call the OOM handler (with the lock released if this call took it). O(1), plus growth. */
export function ralloc_locked_alloc(size: usize, align: usize): usize {
  if (size > MAX_REQUEST || align == 0) return 0;
  return globalAlloc(size, align, true, OP_ALLOC);
}

/** Frees ptr, wherever it came from (free does the same; this name reads as the pair of
 *  ralloc_locked_alloc). O(1), plus the lock for a block of the global part. */
export function ralloc_locked_free(ptr: usize): void {
  free(ptr);
}
