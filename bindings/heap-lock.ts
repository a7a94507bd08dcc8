/**
 * `HeapLock`: lock reuse on the `threads` build. `heap.lock()` takes the global
 * lock once; the handle's `alloc` and `free` then work under it without taking
 * it again (ralloc's lock reuse), and `release()` gives it back. Another thread
 * that needs the lock meanwhile waits (memory.atomic.wait32), as its calls that
 * need the global part do.
 *
 * @module
 */

import { checkU32 } from "./checks.js";
import { RallocError } from "./errors.js";
import type { Heap } from "./heap.js";

/** What a thread passes to `createHeap` to reach a heap another thread made (`heap.threadOptions()`). */
export interface SharedHeapOptions {
  /** The build: `threads`. */
  build: "threads";
  /** The shared memory. */
  memory: WebAssembly.Memory;
  /** Where the heap (the hub of its global part) begins: the same in every thread. */
  heapBase: number;
}

/** The global lock of a `threads` heap, held by this thread until {@link release}. */
export class HeapLock {
  #heap: Heap | undefined;

  /** Use `heap.lock()`, which takes the lock first. */
  constructor(heap: Heap) {
    this.#heap = heap;
  }

  /** The heap, or E_BAD_OPTION once the lock was released. */
  #held(who: string): Heap {
    if (this.#heap === undefined) throw new RallocError("E_BAD_OPTION", `HeapLock.${who}: the lock was released`);
    return this.#heap;
  }

  /** Whether this handle still holds the lock. */
  get held(): boolean {
    return this.#heap !== undefined;
  }

  /**
   * `size` bytes at a multiple of `align` (default 16; any value from 1 up) from
   * the global part, under the held lock (`ralloc_locked_alloc`): a block no
   * thread owns. 0 when memory runs out (after the OOM handler) or align is 0.
   */
  alloc(size: number, align = 16): number {
    checkU32(size, "HeapLock.alloc: size");
    checkU32(align, "HeapLock.alloc: align");
    const heap = this.#held("alloc");
    if (align === 0) return 0;
    return (heap.allocatorFunction("ralloc_locked_alloc")!(size, align) >>> 0);
  }

  /** Frees a block (`ralloc_locked_free`): one of the global part's without waiting for the lock, or any other. */
  free(ptr: number): void {
    checkU32(ptr, "HeapLock.free: ptr");
    this.#held("free").allocatorFunction("ralloc_locked_free")!(ptr);
  }

  /** Gives the lock back (`ralloc_unlock`); the handle is dead afterwards. */
  release(): void {
    const heap = this.#held("release");
    this.#heap = undefined;
    heap.allocatorFunction("ralloc_unlock")!();
  }
}
