/**
 * `LocalHeap`: a local heap (`ralloc_heap_*`), an allocator of its own inside a
 * `Heap`'s memory, released all at once.
 *
 * @module
 */

import { checkU32 } from "./checks.js";
import { notExported, RallocError } from "./errors.js";
import type { Heap } from "./heap.js";
import type { HeapStats } from "./stats.js";

/**
 * A local heap (`ralloc_heap_*`): an allocator of its own inside a {@link Heap}'s
 * memory, over a fixed buffer or growing in chunks from the global heap, released
 * all at once with {@link LocalHeap.destroy}. Blocks must be freed through the
 * local heap that made them.
 */
export class LocalHeap {
  #alive = true;

  /** Use {@link Heap.newLocalHeap} or {@link Heap.localHeapOver}. */
  constructor(readonly heap: Heap, readonly handle: number) {}

  /** Throws unless this local heap is still alive (not destroyed); `what` names the call. */
  #checkAlive(what: string): void {
    if (!this.#alive) throw new RallocError("E_BAD_OPTION", `LocalHeap ${this.handle}: ${what} after destroy()`);
  }

  private call(name: string, ...args: number[]): number {
    this.#checkAlive(name);
    const f = this.heap.allocatorFunction(name);
    if (typeof f !== "function") throw notExported(name);
    return f(this.handle, ...args) >>> 0;
  }

  /** Allocates `size` bytes at a multiple of `align` (default 16); 0 on failure. */
  alloc(size: number, align = 16): number {
    checkU32(size, "LocalHeap.alloc: size");
    checkU32(align, "LocalHeap.alloc: align");
    return this.call("ralloc_heap_alloc", size, align);
  }

  /** Frees a block of this local heap; false when ptr is not one of its live blocks. */
  free(ptr: number): boolean {
    checkU32(ptr, "LocalHeap.free: ptr");
    return this.call("ralloc_heap_free", ptr) === 0;
  }

  /** realloc within this local heap (realloc's rules). */
  realloc(ptr: number, size: number): number {
    checkU32(ptr, "LocalHeap.realloc: ptr");
    checkU32(size, "LocalHeap.realloc: size");
    return this.call("ralloc_heap_realloc", ptr, size);
  }

  /** Usable bytes of one of this local heap's live blocks, or 0. */
  usableSize(ptr: number): number {
    checkU32(ptr, "LocalHeap.usableSize: ptr");
    return this.call("ralloc_heap_usable_size", ptr);
  }

  /** Walks this local heap: 0 when every invariant holds, else a check code. */
  check(): number {
    return this.call("ralloc_heap_check");
  }

  /** This local heap's statistics (see {@link Heap.stats}). */
  stats(): HeapStats {
    this.#checkAlive("stats");
    return this.heap.readStats((ptr) => this.call("ralloc_heap_stats", ptr), "ralloc_heap_stats");
  }

  /** Releases this local heap and every block in it; the object is dead afterwards. */
  destroy(): void {
    const r = this.call("ralloc_heap_destroy");
    this.#alive = false;
    if (r !== 0) throw new RallocError("E_BAD_OPTION", `LocalHeap ${this.handle}: ralloc_heap_destroy refused the handle (${r})`);
  }
}
