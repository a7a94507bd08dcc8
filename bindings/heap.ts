/**
 * `Heap`: ralloc-wasm over a `WebAssembly.Memory`, driven from JavaScript. This
 * file holds the allocation API (the C malloc family and the extended API:
 * alloc, dealloc, donate, trim, ...), the entry to local heaps and stats; the
 * debug and event methods forward to debug.ts.
 *
 * @module
 */

import { checkFunction, checkI32, checkU32 } from "./checks.js";
import { checkNoLeaks, heapMapOf, HeapEvents, liveBlocks, misuseError, readLayout } from "./debug.js";
import { notExported, RallocError } from "./errors.js";
import type { HeapMapOptions } from "./heapmap.js";
import { LocalHeap } from "./local-heap.js";
import type { LogLevel, RallocEvent } from "./log.js";
import type { LeakedBlock } from "./messages.js";
import { lendScratch, readStatsStruct, type HeapStats } from "./stats.js";
import { Tracker, type TrackerOptions } from "./tracker.js";
import { MemoryViews } from "./views.js";
import { HeapLock, type SharedHeapOptions } from "./heap-lock.js";
import { walkHeap, type BlockRecord, type HeapLayout } from "./walk.js";
import { isSharedMemory, type AllocatorExports, type HeapWiring } from "./wiring.js";

/**
 * A heap managed by one instance of ralloc-wasm (or of a custom allocator) in a
 * `WebAssembly.Memory`. Several heaps may live in one process, each with its own
 * allocator instance.
 *
 * Pointers are plain numbers (unsigned addresses); 0 is the null pointer.
 * Methods check their arguments and throw a RallocError `E_BAD_OPTION` naming
 * the argument for a value that is not a 32-bit integer (or not a function).
 */
export class Heap extends MemoryViews {
  /** The raw allocator exports: hand them to other wasm modules as imports. */
  readonly exports: AllocatorExports;
  /** The allocator instance. */
  readonly instance: WebAssembly.Instance;
  /** Where the heap begins, when the bindings set it (see {@link HeapOptions.heapBase}). */
  heapBase: number | undefined;
  /** The out-of-memory handler (see {@link HeapOptions.onOom}); may be replaced at any time. */
  onOom: ((size: number) => boolean | void) | undefined;
  /**
   * This thread's own out-of-memory handler ({@link setThreadOomHandler}): asked
   * instead of {@link onOom} while set.
   */
  threadOnOom: ((size: number) => boolean | void) | undefined;
  /** Receives log lines up to {@link logLevel} (see {@link HeapOptions.onLog}); may be replaced at any time. */
  onLog: ((line: string, level: number) => void) | undefined;
  /** Names the allocator in messages (`ralloc-wasm's debug build`). */
  readonly label: string;

  /** Whether the allocator asks onOom itself (its ralloc_hooks.oom import); else the methods do. */
  readonly #allocatorCallsOnOom: boolean;
  /** What the methods call: the exports, or wrappers of them (see {@link HeapWiring.calls}). */
  readonly #calls: AllocatorExports;
  /** The log level and event listeners (debug.ts). */
  readonly #events: HeapEvents;

  /**
   * Use {@link createHeap}. (Wraps an allocator instance whose imports are already
   * wired; `hooks` says which of its `ralloc_hooks` imports call this heap: `true`
   * for the OOM hook alone, as in earlier versions.)
   */
  constructor(memory: WebAssembly.Memory, instance: WebAssembly.Instance, onOom?: (size: number) => boolean | void,
    hooks: boolean | HeapWiring = false) {
    super(memory);
    const use: HeapWiring = typeof hooks === "boolean" ? { oom: hooks } : hooks;
    this.instance = instance;
    this.exports = instance.exports as unknown as AllocatorExports;
    this.#calls = (use.calls ?? instance.exports) as unknown as AllocatorExports;
    this.onOom = onOom;
    this.threadOnOom = undefined;
    this.onLog = undefined;
    this.label = use.label ?? "the allocator";
    this.heapBase = undefined;
    this.#allocatorCallsOnOom = use.oom ?? false;
    this.#events = new HeapEvents(this, use.event ?? false);
  }

  // The C malloc family.

  /**
   * Sets (or, with undefined, removes) the out-of-memory handler: called with the size that
   * could not be met; returning true retries the request once. Same as assigning {@link onOom}.
   */
  setOomHandler(handler: ((size: number) => boolean | void) | undefined): void {
    checkFunction(handler, "setOomHandler: handler", true);
    this.onOom = handler;
  }

  /**
   * Sets (or, with undefined, removes) this thread's own out-of-memory handler,
   * asked instead of {@link onOom} on this heap, that is, in this thread (worker):
   * with the `threads` build every worker has a Heap of its own over the shared
   * memory, and {@link runThreads} gives each the same `onOom`, so this one
   * overrides the global handler for one thread.
   */
  setThreadOomHandler(handler: ((size: number) => boolean | void) | undefined): void {
    checkFunction(handler, "setThreadOomHandler: handler", true);
    this.threadOnOom = handler;
  }

  /** @internal The handler an out-of-memory case asks: this thread's own, else {@link onOom}. */
  get oomHandler(): ((size: number) => boolean | void) | undefined {
    return this.threadOnOom ?? this.onOom;
  }

  /** Runs an allocation; when it fails and the allocator does not ask onOom itself, asks it and retries once. */
  private retry(size: number, attempt: () => number): number {
    let p = attempt() >>> 0;
    if (p === 0 && !this.#allocatorCallsOnOom && this.oomHandler?.(size) === true) p = attempt() >>> 0;
    return p;
  }

  /** @internal The allocator function `name` as this heap's methods call it; undefined when not exported. */
  allocatorFunction(name: string): ((...args: number[]) => number) | undefined {
    const f = this.#calls[name];
    return typeof f === "function" ? f as (...args: number[]) => number : undefined;
  }

  /** The allocator function `name`, or E_UNSUPPORTED. */
  private fn(name: string): (...args: number[]) => number {
    const f = this.#calls[name];
    if (typeof f !== "function") throw notExported(name);
    return f as (...args: number[]) => number;
  }

  /** Allocates `size` bytes aligned to 16; returns the address, or 0 when memory runs out. */
  malloc(size: number): number {
    checkU32(size, "malloc: size");
    return this.retry(size, () => this.#calls.malloc(size));
  }

  /** Frees a block from this heap; `free(0)` does nothing. */
  free(ptr: number): void {
    checkU32(ptr, "free: ptr");
    this.#calls.free(ptr);
  }

  /**
   * Resizes a block, moving it if needed. `realloc(0, n)` is `malloc(n)`;
   * `realloc(p, 0)` frees p and returns 0; on failure returns 0 and p stays valid.
   */
  realloc(ptr: number, size: number): number {
    checkU32(ptr, "realloc: ptr");
    checkU32(size, "realloc: size");
    if (ptr !== 0 && size === 0) return this.#calls.realloc(ptr, 0) >>> 0;
    return this.retry(size, () => this.#calls.realloc(ptr, size));
  }

  /** Allocates `count * size` zeroed bytes; 0 on overflow or when memory runs out. */
  calloc(count: number, size: number): number {
    checkU32(count, "calloc: count");
    checkU32(size, "calloc: size");
    const total = count * size;
    if (total > 0xffffffff) return 0;
    return this.retry(total, () => this.#calls.calloc(count, size));
  }

  /** Allocates `size` bytes aligned to `align` (a power of two); 0 for a bad alignment or no memory. */
  alignedAlloc(align: number, size: number): number {
    checkU32(align, "alignedAlloc: align");
    checkU32(size, "alignedAlloc: size");
    if (align === 0 || (align & (align - 1)) !== 0) return 0;
    return this.retry(size, () => this.#calls.aligned_alloc(align, size));
  }

  /** Usable bytes of a live block (at least what was asked for); 0 for the null pointer. */
  usableSize(ptr: number): number {
    checkU32(ptr, "usableSize: ptr");
    return this.#calls.malloc_usable_size(ptr) >>> 0;
  }

  /**
   * Moves the break by `delta` bytes and returns the old break, or -1 when it
   * cannot. Memory from sbrk is never handed to malloc callers.
   */
  sbrk(delta: number): number {
    checkI32(delta, "sbrk: delta");
    const r = this.#calls.sbrk(delta) >>> 0;
    return r === 0xffffffff ? -1 : r;
  }

  // The extended API.

  /**
   * Allocates `size` bytes at a multiple of `align` (`ralloc_alloc`): any
   * alignment from 1 up, power of two or not. Returns 0 on failure (align 0, or
   * no memory after onOom). Free the block with {@link free}.
   */
  alloc(size: number, align: number): number {
    checkU32(size, "alloc: size");
    checkU32(align, "alloc: align");
    const f = this.fn("ralloc_alloc");
    return align === 0 ? 0 : this.retry(size, () => f(size, align));
  }

  /** As {@link alloc} but fails with 0 at once when memory runs out, never calling onOom (`ralloc_try_alloc`). */
  tryAlloc(size: number, align: number): number {
    checkU32(size, "tryAlloc: size");
    checkU32(align, "tryAlloc: align");
    return this.fn("ralloc_try_alloc")(size, align) >>> 0;
  }

  /**
   * Grows or shrinks a block without moving it (`ralloc_inplace_realloc`);
   * returns ptr, or 0 (the block unchanged) when it cannot. Shrinking always succeeds.
   */
  inplaceRealloc(ptr: number, size: number): number {
    checkU32(ptr, "inplaceRealloc: ptr");
    checkU32(size, "inplaceRealloc: size");
    return this.fn("ralloc_inplace_realloc")(ptr, size) >>> 0;
  }

  /**
   * Frees [ptr, ptr + size) (`ralloc_dealloc`): a whole live block, or a prefix,
   * a suffix or a middle of one. Returns false (nothing changed) when the range is
   * not inside one live block.
   */
  dealloc(ptr: number, size: number): boolean {
    checkU32(ptr, "dealloc: ptr");
    checkU32(size, "dealloc: size");
    return this.fn("ralloc_dealloc")(ptr, size) === 0;
  }

  /**
   * Adds [ptr, ptr + size), memory malloc never handed out (a static buffer, an
   * sbrk region), to the heap (`ralloc_donate`). Returns false when it overlaps
   * the heap, lies outside memory or is too small.
   */
  donate(ptr: number, size: number): boolean {
    checkU32(ptr, "donate: ptr");
    checkU32(size, "donate: size");
    return this.fn("ralloc_donate")(ptr, size) === 0;
  }

  /** Gives free memory at the top of the heap back to the break (`ralloc_trim`); returns the bytes given back. */
  trim(): number {
    return this.fn("ralloc_trim")() >>> 0;
  }

  /**
   * Sets where the heap begins (`ralloc_init`). Only before the first
   * allocation; returns 0, 28 (EINVAL) when the heap has started, or 48
   * (ENOMEM) when memory cannot reach `heapBase`.
   */
  init(heapBase: number): number {
    checkU32(heapBase, "init: heapBase");
    const r = this.fn("ralloc_init")(heapBase) >>> 0;
    if (r === 0) this.heapBase = heapBase;
    return r;
  }

  /**
   * Walks the whole heap (`ralloc_check`): 0 when every invariant holds, else the
   * code of the first broken one. Cost: proportional to the heap.
   */
  check(): number {
    return this.fn("ralloc_check")() >>> 0;
  }

  // Threads (the threads build: threads.ts, docs/THREADS.md).

  /**
   * Takes the global lock of the `threads` build (`ralloc_lock`), waiting while
   * another thread holds it, and returns a handle whose `alloc` and `free` work
   * under it without taking it again, until `release()`. Blocks from
   * `lock.alloc` belong to no thread: any thread frees them.
   *
   * @throws RallocError `E_UNSUPPORTED` on builds without threads.
   */
  lock(): HeapLock {
    for (const name of ["ralloc_lock", "ralloc_unlock", "ralloc_locked_alloc", "ralloc_locked_free"]) this.fn(name);
    this.fn("ralloc_lock")();
    return new HeapLock(this);
  }

  /**
   * This thread is done with its heap (`ralloc_thread_exit`): its empty memory
   * goes back to the global part, and blocks still live stay valid (other threads
   * may free them). Returns the live blocks left behind (0: none). The heap may
   * be used again afterwards: it then takes a heap anew.
   *
   * @throws RallocError `E_UNSUPPORTED` on builds without threads.
   */
  threadExit(): number {
    return this.fn("ralloc_thread_exit")() >>> 0;
  }

  /**
   * What another thread passes to `createHeap` to reach this heap: the build,
   * the (shared) memory and the heap base. Structured-cloneable: post it to a
   * worker (`workerData`).
   *
   * @throws RallocError `E_UNSUPPORTED` when the memory is not shared or the heap base is unknown.
   */
  threadOptions(): SharedHeapOptions {
    if (!isSharedMemory(this.memory) || this.heapBase === undefined) {
      throw new RallocError("E_UNSUPPORTED", "threadOptions(): this heap is not one of the threads build over a shared memory with a known heapBase");
    }
    return { build: "threads", memory: this.memory, heapBase: this.heapBase };
  }

  // Local heaps (local-heap.ts).

  /**
   * A local heap that grows in chunks taken from this heap, starting with room
   * for about `bytes` (`ralloc_heap_new`); null when memory runs out.
   */
  newLocalHeap(bytes: number): LocalHeap | null {
    checkU32(bytes, "newLocalHeap: bytes");
    const h = this.fn("ralloc_heap_new")(bytes) >>> 0;
    return h === 0 ? null : new LocalHeap(this, h);
  }

  /**
   * A local heap over [ptr, ptr + size), memory the caller owns and no heap uses
   * (for example a block from this heap, or memory below the heap base), which it
   * never grows (`ralloc_heap_over`); null when the buffer is too small.
   */
  localHeapOver(ptr: number, size: number): LocalHeap | null {
    checkU32(ptr, "localHeapOver: ptr");
    checkU32(size, "localHeapOver: size");
    const h = this.fn("ralloc_heap_over")(ptr, size) >>> 0;
    return h === 0 ? null : new LocalHeap(this, h);
  }

  // Statistics (stats.ts).

  /**
   * Reads the allocator's statistics (`ralloc_stats`). The struct is written to
   * [{@link STATS_SCRATCH}, +size), below the heap, whose bytes are saved and
   * restored around the call, so reading stats changes nothing in the heap or in
   * the counters. Not for shared memories used by several threads at once.
   *
   * @throws RallocError `E_UNSUPPORTED` when the heap starts below
   * {@link STATS_SCRATCH} + 64 (no room for the scratch area).
   */
  stats(): HeapStats {
    const f = this.fn("ralloc_stats");
    return this.readStats((ptr) => f(ptr) >>> 0, "ralloc_stats");
  }

  /** @internal Reads a stats struct written by `write(ptr)` through the scratch area below the heap. */
  readStats(write: (ptr: number) => number, name: string): HeapStats {
    return readStatsStruct(this, write, name);
  }

  /**
   * @internal Runs `use(STATS_SCRATCH)` with [STATS_SCRATCH, +size) of memory
   * below the heap lent to it, and puts the bytes back afterwards.
   */
  borrowScratch<T>(size: number, who: string, use: (ptr: number) => T): T {
    // Threads share the memory below the heap: each takes a block of the global part instead.
    if (isSharedMemory(this.memory) && typeof this.exports.ralloc_locked_alloc === "function") {
      if (this.#scratch === 0) this.#scratch = this.exports.ralloc_locked_alloc(256, 16) >>> 0;
      if (this.#scratch !== 0 && size <= 256) return use(this.#scratch);
    }
    return lendScratch(this, size, who, use);
  }

  /** A 256-byte block of the global part, for stats and layout on a shared memory (0: none yet). */
  #scratch = 0;

  // Debugging and events (debug.ts).

  /** The level of the lines {@link onLog} receives (0 to 3; see {@link HeapOptions.logLevel}). */
  get logLevel(): LogLevel {
    return this.#events.logLevel;
  }

  /**
   * The highest event level this heap can send: 3 on the debug and validate
   * builds, 0 on the others (they send no events; misuse reports still reach
   * onLog at level 1 on the security build).
   */
  get maxLogLevel(): number {
    return this.#events.maxLogLevel;
  }

  /** Sets which lines reach {@link onLog}: 0 none, 1 misuse reports, 2 also operations, 3 also pool events. */
  setLogLevel(level: LogLevel): void {
    this.#events.setLogLevel(level);
  }

  /**
   * Calls `listener` with every operation event (alloc, free, realloc, dealloc;
   * also the pool events when {@link logLevel} is 3), once the operation is
   * complete. Returns a function that removes the listener. An exception thrown
   * by a listener leaves the call that sent the event (the operation is done).
   *
   * @throws RallocError `E_UNSUPPORTED` on builds that send no events (all but debug and validate).
   */
  onEvent(listener: (event: RallocEvent) => void): () => void {
    return this.#events.add(listener);
  }

  /** @internal Handles `ralloc_hooks.event`: tells the listeners, then onLog (with the pool picture) when the level allows. */
  dispatchEvent(kind: number, a: number, b: number, c: number, d: number): void {
    this.#events.dispatch(kind, a, b, c, d);
  }

  /**
   * @internal Turns a misuse report (`ralloc_hooks.report`'s arguments) into the
   * `E_MISUSE` RallocError with its exact message, after logging it at level 1.
   * A leak report lists the live blocks.
   */
  reportError(code: number, op: number, addr: number, size: number, aux: number, cause?: unknown): RallocError {
    return misuseError(this, code, op, addr, size, aux, cause);
  }

  /**
   * Every block of the global heap in address order: address, size (header
   * included; an object's size), state (`used`, `free`, `cached`), kind
   * (`block`; in release also `page`, `table` and each page's `object`s,
   * listed after their page), request, serial and leadDead (walk.ts's checked
   * walk). Cost: proportional to the blocks (and object slots).
   *
   * @throws RallocError `E_UNSUPPORTED` when the allocator lacks the walk
   * exports, `E_MISUSE` when the heap is too corrupted to walk.
   */
  walk(): BlockRecord[] {
    return walkHeap(this.exports);
  }

  /**
   * The live blocks of the heap (in use by the program: general blocks and, in
   * release, objects of pages; cached blocks and free objects are free, pages
   * and the page table are ralloc's own), in address order: address, bytes
   * asked for (the usable size on the release and small builds: an object's
   * size) and allocation number (0 when the build has none). Walks the heap:
   * cost proportional to its blocks.
   */
  leaks(): LeakedBlock[] {
    return liveBlocks(this.walk());
  }

  /**
   * Starts a {@link Tracker}: it records the call stack of every allocation
   * from now on, so its `leaks()` and `report()` say who allocated what is
   * still live; `stop()` ends it.
   *
   * @throws RallocError `E_UNSUPPORTED` on builds that send no events (all but debug and validate).
   */
  track(options: TrackerOptions = {}): Tracker {
    return new Tracker(this, options);
  }

  /**
   * An SVG picture of the heap's address space now (heapmap.ts's drawHeapMap
   * over {@link layout}, {@link walk} and the spans); see HeapMapOptions.
   */
  heapMap(options: HeapMapOptions = {}): string {
    return heapMapOf(this, options);
  }

  /**
   * Throws unless every block has been freed: the `E_LEAK` error's message is
   * the leak report (`ralloc: 2 blocks leaked (48 bytes)` and a line per block,
   * `#?` for unknown allocation numbers) and its `leaks` the blocks. Works on every build.
   */
  assertNoLeak(): void {
    checkNoLeaks(this.leaks());
  }

  /** Where ralloc's state, root, spans and break lie (`ralloc_layout`), read through the scratch area (see {@link stats}). */
  layout(): HeapLayout {
    return readLayout(this, this.fn("ralloc_layout"));
  }
}
