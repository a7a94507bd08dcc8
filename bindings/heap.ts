/**
 * `Heap`: ralloc-wasm over a `WebAssembly.Memory`, driven from JavaScript.
 *
 * @module
 */

import { allocatorBytes, type AllocatorChoice, type BuildName } from "./builds.js";
import { RallocError } from "./errors.js";
import { decodeEvent, errorLine, eventLine, readPool, LEVEL_ERROR, type LogLevel, type RallocEvent } from "./log.js";
import { leakMessage, opName, reportMessage, REPORT, type LeakedBlock } from "./messages.js";
import { drawHeapMap, type HeapMapOptions } from "./heapmap.js";
import { Tracker, type TrackerOptions } from "./tracker.js";
import { decodeLayout, isLive, spans, walkHeap, type BlockRecord, type HeapLayout } from "./walk.js";
import { readModuleInfo } from "./wasm-binary.js";

/** Largest number of 64 KiB pages a wasm32 memory can have. */
export const MAX_PAGES = 65536;

/**
 * Bytes below the heap base that the bindings borrow, for the length of one
 * call, to receive `ralloc_stats`' output: [STATS_SCRATCH, STATS_SCRATCH + size).
 * The allocator never reads memory below its heap base, so the call cannot
 * disturb it, and the bytes are put back before the call returns. The heap base
 * must therefore be at least {@link MIN_HEAP_BASE}.
 */
export const STATS_SCRATCH = 16;

/** The lowest heap base a `Heap` accepts (see {@link STATS_SCRATCH}). */
export const MIN_HEAP_BASE = 128;

/** Where the heap starts in a memory that `createHeap` makes itself. */
export const DEFAULT_HEAP_BASE = 128;

/**
 * The raw exports of a ralloc-wasm build (C ABI; pointers and sizes are i32, so
 * read results with `>>> 0`). The `ralloc_*` calls are optional because a custom
 * allocator (`options.allocator`) may lack them; every ralloc-wasm build has them.
 */
export interface AllocatorExports {
  malloc(size: number): number;
  free(ptr: number): void;
  realloc(ptr: number, size: number): number;
  calloc(count: number, size: number): number;
  aligned_alloc(align: number, size: number): number;
  posix_memalign(outPtr: number, align: number, size: number): number;
  memalign(align: number, size: number): number;
  malloc_usable_size(ptr: number): number;
  sbrk(delta: number): number;
  ralloc_init?(heapBase: number): number;
  ralloc_check?(): number;
  ralloc_stats?(ptr: number): number;
  ralloc_alloc?(size: number, align: number): number;
  ralloc_try_alloc?(size: number, align: number): number;
  ralloc_inplace_realloc?(ptr: number, size: number): number;
  ralloc_dealloc?(ptr: number, size: number): number;
  ralloc_donate?(ptr: number, size: number): number;
  ralloc_trim?(): number;
  ralloc_heap_over?(mem: number, size: number): number;
  ralloc_heap_new?(bytes: number): number;
  ralloc_heap_alloc?(heap: number, size: number, align: number): number;
  ralloc_heap_free?(heap: number, ptr: number): number;
  ralloc_heap_realloc?(heap: number, ptr: number, size: number): number;
  ralloc_heap_usable_size?(heap: number, ptr: number): number;
  ralloc_heap_destroy?(heap: number): number;
  ralloc_heap_check?(heap: number): number;
  ralloc_heap_stats?(heap: number, ptr: number): number;
  ralloc_walk?(ptr: number): number;
  ralloc_block_info?(ptr: number): number;
  ralloc_block_request?(ptr: number): number;
  ralloc_block_serial?(ptr: number): number;
  ralloc_span_next?(span: number): number;
  ralloc_span_end?(span: number): number;
  ralloc_layout?(out: number): number;
  ralloc_assert_no_leak?(): number;
  ralloc_set_log_level?(level: number): number;
  ralloc_seed?(lo: number, hi: number): number;
  [name: string]: unknown;
}

/** Options of {@link createHeap}. */
export interface HeapOptions extends AllocatorChoice {
  /**
   * The memory to manage. Default: a new memory of `initialPages` pages. When
   * given, the heap begins at `heapBase`, or at the memory's current end when
   * `heapBase` is left out, so nothing below it is ever touched.
   */
  memory?: WebAssembly.Memory;
  /** Pages of a new memory (default 1). Not allowed together with `memory`. */
  initialPages?: number;
  /**
   * Maximum pages of a new memory (default: none, so up to 4 GiB). Not allowed
   * together with `memory`: give the memory its maximum when you create it.
   */
  maximumPages?: number;
  /**
   * Address where the heap begins (at least {@link MIN_HEAP_BASE}). Default:
   * {@link DEFAULT_HEAP_BASE} in a new memory, the memory's end in a given one.
   */
  heapBase?: number;
  /**
   * Called when memory runs out, with the size asked for: return `true` after
   * freeing memory (or raising a limit) to have the request retried once. The
   * allocator calls it for every allocation that would fail, also those a wasm
   * program makes (through the build's `ralloc_hooks.oom` import); for an
   * allocator without that hook, only for calls made through this Heap's methods.
   */
  onOom?: (size: number) => boolean | void;
  /**
   * The 64-bit key of the block check words (security, debug and validate
   * builds): a number from 0 to 2^53 - 1 or a bigint from 0 to 2^64 - 1. Set
   * before anything is allocated. Default: 8 random bytes from
   * `globalThis.crypto` on the security build, the build's fixed key on the
   * others. Other builds ignore it.
   */
  seed?: number | bigint;
  /**
   * Which log lines reach `onLog`: 0 none, 1 misuse reports, 2 also every
   * operation, 3 also pool events (growth, flushes, OOM, trims). Default: 2
   * when `onLog` is given, else 0. Only the debug and validate builds send
   * operation and pool events; the guarded builds (debug, validate, security)
   * make misuse reports.
   */
  logLevel?: LogLevel;
  /**
   * Receives the log lines (`<pool> : <text>`, see the README) whose level is
   * at most `logLevel`, with that level. Each operation line walks the heap for
   * its pool picture: a cost proportional to the blocks, per line.
   */
  onLog?: (line: string, level: number) => void;
}

/** Statistics of a heap (the allocator's stats struct, version 1). */
export interface HeapStats {
  /** Size of the struct the allocator wrote, in bytes (64). */
  size: number;
  /** Struct layout version (1). */
  version: number;
  /** Sum of the usable sizes of live blocks. */
  bytesInUse: number;
  /** Most bytes held at once by live and cached blocks, headers included (at least `bytesInUse`). */
  peakBytesHeld: number;
  /** Bytes the heap has claimed from memory, its metadata included. */
  bytesFromMemory: number;
  /** `memory.grow` calls the allocator has made. */
  growCalls: number;
  /** Allocating calls: malloc, calloc, aligned_alloc, posix_memalign, memalign. */
  mallocCalls: number;
  /** free calls. */
  freeCalls: number;
  /** realloc calls. */
  reallocCalls: number;
  /** Blocks allocated and not yet freed. */
  liveBlocks: number;
  /** Bytes currently held by sbrk callers. */
  sbrkBytes: number;
  /** Where the heap starts. */
  heapBase: number;
}

interface Views {
  buffer: ArrayBuffer;
  i8: Int8Array;
  u8: Uint8Array;
  i16: Int16Array;
  u16: Uint16Array;
  i32: Int32Array;
  u32: Uint32Array;
  f32: Float32Array;
  f64: Float64Array;
}

/** Typed views over a memory that are remade whenever the memory has grown. */
export class MemoryViews {
  #views: Views | undefined;

  constructor(readonly memory: WebAssembly.Memory) {}

  /** The current views (the same objects until the memory grows). */
  protected views(): Views {
    const buffer = this.memory.buffer as ArrayBuffer;
    let v = this.#views;
    if (v === undefined || v.buffer !== buffer) {
      v = {
        buffer,
        i8: new Int8Array(buffer),
        u8: new Uint8Array(buffer),
        i16: new Int16Array(buffer),
        u16: new Uint16Array(buffer),
        i32: new Int32Array(buffer),
        u32: new Uint32Array(buffer),
        f32: new Float32Array(buffer),
        f64: new Float64Array(buffer),
      };
      this.#views = v;
    }
    return v;
  }

  /** Memory as signed bytes; never stale after memory grows. */
  get HEAP8(): Int8Array { return this.views().i8; }
  /** Memory as unsigned bytes; never stale after memory grows. */
  get HEAPU8(): Uint8Array { return this.views().u8; }
  /** Memory as signed 16-bit words (index = address >> 1). */
  get HEAP16(): Int16Array { return this.views().i16; }
  /** Memory as unsigned 16-bit words (index = address >> 1). */
  get HEAPU16(): Uint16Array { return this.views().u16; }
  /** Memory as signed 32-bit words (index = address >> 2). */
  get HEAP32(): Int32Array { return this.views().i32; }
  /** Memory as unsigned 32-bit words (index = address >> 2). */
  get HEAPU32(): Uint32Array { return this.views().u32; }
  /** Memory as 32-bit floats (index = address >> 2). */
  get HEAPF32(): Float32Array { return this.views().f32; }
  /** Memory as 64-bit floats (index = address >> 3). */
  get HEAPF64(): Float64Array { return this.views().f64; }
}

function checkU32(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`${what} must be an integer from 0 to 4294967295, got ${describe(value)}`);
  }
  return value;
}

function checkI32(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw new RangeError(`${what} must be an integer from -2147483648 to 2147483647, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "object" && value !== null) return value.constructor?.name ?? "object";
  return String(value);
}

function checkPages(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_PAGES) {
    throw new RallocError("E_BAD_OPTION", `${what} must be an integer number of 64 KiB pages from 0 to ${MAX_PAGES}, got ${describe(value)}`);
  }
  return value;
}

/** Names of the exports every allocator module must have. */
const REQUIRED_EXPORTS = ["malloc", "free"] as const;

const compiled = new WeakMap<Uint8Array, WebAssembly.Module>();

/** Compiles an allocator module once per bytes object. */
export function compileAllocator(bytes: Uint8Array, label: string): WebAssembly.Module {
  let mod = compiled.get(bytes);
  if (mod) return mod;
  const info = readModuleInfo(bytes, label);
  if (info.definedMemories.length > 0 || !info.imports.some((i) => i.kind === "memory")) {
    throw new RallocError("E_MEMORY_NOT_IMPORTED",
      `${label} defines its own memory; an allocator must import it (AssemblyScript: --importMemory)`);
  }
  for (const name of REQUIRED_EXPORTS) {
    if (!info.exports.some((e) => e.name === name && e.kind === "function")) {
      throw new RallocError("E_MISSING_IMPORT", `${label} does not export ${name}; an allocator module must export the C malloc family`);
    }
  }
  mod = new WebAssembly.Module(bytes as BufferSource);
  compiled.set(bytes, mod);
  return mod;
}

/** What the allocator's `ralloc_hooks` imports call: filled in once the Heap exists. */
export interface HookContext {
  memory: WebAssembly.Memory;
  heap?: Heap;
}

/** The hook functions of module `ralloc_hooks` the bindings implement, calling into `ctx.heap`. */
export function hookFunctions(ctx: HookContext): Record<"oom" | "report" | "event", (...args: number[]) => number | void> {
  return {
    oom: (size: number) => (ctx.heap?.onOom?.(size >>> 0) === true ? 1 : 0),
    report: (code: number, op: number, addr: number, size: number, aux: number): never => {
      if (ctx.heap === undefined) throw new RallocError("E_MISUSE", reportMessage(code, op, addr, size, aux));
      throw ctx.heap.reportError(code, op, addr, size, aux);
    },
    event: (kind: number, a: number, b: number, c: number, d: number) => {
      ctx.heap?.dispatchEvent(kind, a, b, c, d);
    },
  };
}

/** Which `ralloc_hooks` an allocator imports, as {@link allocatorImports} found them. */
export interface HookUse {
  /** `ralloc_hooks.oom`: the allocator asks onOom itself. */
  oom: boolean;
  /** `ralloc_hooks.report`: misuse reports reach the heap. */
  report: boolean;
  /** `ralloc_hooks.event`: events reach the heap. */
  event: boolean;
}

/** How a {@link Heap} is wired to its allocator instance (the last argument of its constructor). */
export interface HeapWiring extends Partial<HookUse> {
  /** Names the allocator in messages (default `the allocator`). */
  label?: string;
  /**
   * Functions for the Heap's methods to call instead of the instance's exports
   * (wrappers that turn a statically linked build's misuse trap into E_MISUSE).
   */
  calls?: WebAssembly.Exports;
}

/**
 * Builds the allocator's import object from what it actually imports: the
 * memory, the known hooks (`ralloc_hooks.oom`, `report`, `event`), no-ops for
 * unknown `ralloc_hooks` functions, and AssemblyScript's `env.abort` for custom
 * AssemblyScript allocators. Returns which known hooks the allocator imports.
 */
function allocatorImports(mod: WebAssembly.Module, ctx: HookContext, label: string): { imports: WebAssembly.Imports; hooks: HookUse } {
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  const put = (m: string, n: string, v: WebAssembly.ImportValue) => ((imports[m] ??= {})[n] = v);
  const hooks: HookUse = { oom: false, report: false, event: false };
  const known = hookFunctions(ctx);
  for (const imp of WebAssembly.Module.imports(mod)) {
    if (imp.kind === "memory") {
      put(imp.module, imp.name, ctx.memory);
    } else if (imp.kind === "function" && imp.module === "ralloc_hooks") {
      if (imp.name === "oom" || imp.name === "report" || imp.name === "event") {
        hooks[imp.name] = true;
        put(imp.module, imp.name, known[imp.name]);
      } else {
        put(imp.module, imp.name, () => 0);
      }
    } else if (imp.kind === "function" && imp.module === "env" && imp.name === "abort") {
      put(imp.module, imp.name, (msg: number, file: number, line: number, col: number) => {
        throw new Error(`${label} aborted: ${readAsString(ctx.memory, msg)} at ${readAsString(ctx.memory, file)}:${line}:${col}`);
      });
    } else {
      throw new RallocError("E_MISSING_IMPORT",
        `${label} imports ${imp.module}.${imp.name} (${imp.kind}), which the ralloc-wasm bindings do not provide`);
    }
  }
  return { imports, hooks };
}

/** Reads an AssemblyScript string (UTF-16, length in bytes at ptr - 4). */
function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  ptr >>>= 0;
  if (ptr < 4 || ptr > memory.buffer.byteLength) return "<no message>";
  const len = new Uint32Array(memory.buffer, (ptr - 4) & ~3, 1)[0]! >>> 1;
  if (ptr + len * 2 > memory.buffer.byteLength) return "<bad message>";
  return String.fromCharCode(...new Uint16Array(memory.buffer.slice(ptr, ptr + len * 2)));
}

/**
 * A heap managed by one instance of ralloc-wasm (or of a custom allocator) in a
 * `WebAssembly.Memory`. Several heaps may live in one process, each with its own
 * allocator instance.
 *
 * Pointers are plain numbers (unsigned addresses); 0 is the null pointer.
 * Methods check their arguments and throw `RangeError` for values that are not
 * 32-bit integers.
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
  /** Receives log lines up to {@link logLevel} (see {@link HeapOptions.onLog}); may be replaced at any time. */
  onLog: ((line: string, level: number) => void) | undefined;
  /** Names the allocator in messages (`ralloc-wasm's debug build`). */
  readonly label: string;

  /** Whether the allocator asks onOom itself (its ralloc_hooks.oom import); else the methods do. */
  readonly #allocatorCallsOnOom: boolean;
  /** What the methods call: the exports, or wrappers of them (see {@link HeapWiring.calls}). */
  readonly #calls: AllocatorExports;
  /** Whether the allocator's ralloc_hooks.event import reaches this heap. */
  readonly #eventsWired: boolean;
  /** The level of lines onLog receives. */
  #logLevel: LogLevel = 0;
  /** The highest event level the build compiled in (ralloc_set_log_level's answer). */
  #buildLogLevel = 0;
  /** The highest event level that reaches this heap (0 when the event hook is not wired to it). */
  #maxLogLevel = 0;
  /** Listeners added with onEvent. */
  readonly #listeners = new Set<(event: RallocEvent) => void>();

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
    this.onLog = undefined;
    this.label = use.label ?? "the allocator";
    this.heapBase = undefined;
    this.#allocatorCallsOnOom = use.oom ?? false;
    this.#eventsWired = use.event ?? false;
    this.#applyLevel();
  }

  /** The level of the lines {@link onLog} receives (0 to 3; see {@link HeapOptions.logLevel}). */
  get logLevel(): LogLevel {
    return this.#logLevel;
  }

  /**
   * The highest event level this heap can send: 3 on the debug and validate
   * builds, 0 on the others (they send no events; misuse reports still reach
   * onLog at level 1 on the security build).
   */
  get maxLogLevel(): number {
    return this.#maxLogLevel;
  }

  /** Sets which lines reach {@link onLog}: 0 none, 1 misuse reports, 2 also operations, 3 also pool events. */
  setLogLevel(level: LogLevel): void {
    this.#logLevel = checkLogLevel(level, "setLogLevel: level");
    this.#applyLevel();
  }

  /** Tells the allocator the event level it must send: what onLog wants, and at least 2 while listeners exist. */
  #applyLevel(): void {
    const set = this.exports.ralloc_set_log_level;
    if (typeof set !== "function") return;
    const want = this.#eventsWired ? Math.max(this.#logLevel, this.#listeners.size > 0 ? 2 : 0) : 0;
    this.#buildLogLevel = set(want) >>> 0;
    this.#maxLogLevel = this.#eventsWired ? this.#buildLogLevel : 0;
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
    if (typeof listener !== "function") throw new TypeError(`onEvent: expected a function, got ${typeof listener}`);
    if (this.#maxLogLevel < 2) {
      throw new RallocError("E_UNSUPPORTED", this.#buildLogLevel < 2
        ? `onEvent: ${this.label} sends no events; use the debug or validate build`
        : `onEvent: ${this.label} cannot send events to the host (its ralloc_hooks.event is not wired to this heap); instantiate the program with instantiateProgram instead of linking it statically`);
    }
    const entry = (event: RallocEvent) => listener(event);
    this.#listeners.add(entry);
    this.#applyLevel();
    return () => {
      if (this.#listeners.delete(entry)) this.#applyLevel();
    };
  }

  /** @internal Handles `ralloc_hooks.event`: tells the listeners, then onLog (with the pool picture) when the level allows. */
  dispatchEvent(kind: number, a: number, b: number, c: number, d: number): void {
    const event = decodeEvent(kind, a, b, c, d);
    for (const listener of [...this.#listeners]) listener(event);
    const onLog = this.onLog;
    if (onLog !== undefined && event.level <= this.#logLevel) onLog(eventLine(event, readPool(this.exports)), event.level);
  }

  /**
   * @internal Turns a misuse report (`ralloc_hooks.report`'s arguments) into the
   * `E_MISUSE` RallocError with its exact message, after logging it at level 1.
   * A leak report lists the live blocks.
   */
  reportError(code: number, op: number, addr: number, size: number, aux: number, cause?: unknown): RallocError {
    let message = reportMessage(code, op, addr, size, aux);
    let leaks: LeakedBlock[] | undefined;
    if (code >>> 0 === REPORT.LEAK) {
      try {
        leaks = this.#canWalk() ? this.leaks() : undefined;
      } catch {
        leaks = undefined; // a heap too corrupted to walk: the first line alone
      }
      if (leaks !== undefined) message = leakMessage(leaks, addr >>> 0, size >>> 0);
    }
    const report = { code: code >>> 0, op: opName(op), address: addr >>> 0, size: size >>> 0, aux: aux >>> 0 };
    if (this.onLog !== undefined && this.#logLevel >= LEVEL_ERROR) this.onLog(errorLine(message), LEVEL_ERROR);
    return new RallocError("E_MISUSE", message, { report, ...(leaks === undefined ? {} : { leaks }), ...(cause === undefined ? {} : { cause }) });
  }

  /** Whether the allocator exports what {@link walk} needs. */
  #canWalk(): boolean {
    return ["ralloc_walk", "ralloc_block_info", "ralloc_block_request", "ralloc_block_serial", "ralloc_span_next", "ralloc_span_end"]
      .every((name) => typeof this.exports[name] === "function");
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
    return this.walk().filter(isLive).map((b) => ({ address: b.address, size: b.request, serial: b.serial }));
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
    return drawHeapMap({ layout: this.layout(), blocks: this.walk(), spans: spans(this.exports) }, options);
  }

  /**
   * Throws unless every block has been freed: the `E_LEAK` error's message is
   * the leak report (`ralloc: 2 blocks leaked (48 bytes)` and a line per block,
   * `#?` for unknown allocation numbers) and its `leaks` the blocks. Works on every build.
   */
  assertNoLeak(): void {
    const leaks = this.leaks();
    if (leaks.length > 0) throw new RallocError("E_LEAK", leakMessage(leaks), { leaks });
  }

  /** Where ralloc's state, root, spans and break lie (`ralloc_layout`), read through the scratch area (see {@link stats}). */
  layout(): HeapLayout {
    const f = this.fn("ralloc_layout");
    const size = f(0) >>> 0;
    if (size < 32) throw new RallocError("E_UNSUPPORTED", `ralloc_layout reports ${size} bytes; these bindings read version 1 (32 bytes)`);
    return this.borrowScratch(size, "layout()", (ptr) => {
      f(ptr);
      return decodeLayout(new Uint32Array(this.memory.buffer, ptr, 8), "layout()");
    });
  }

  /**
   * Sets (or, with undefined, removes) the out-of-memory handler: called with the size that
   * could not be met; returning true retries the request once. Same as assigning {@link onOom}.
   */
  setOomHandler(handler: ((size: number) => boolean | void) | undefined): void {
    if (handler !== undefined && typeof handler !== "function") {
      throw new TypeError(`setOomHandler: expected a function or undefined, got ${typeof handler}`);
    }
    this.onOom = handler;
  }

  /** Runs an allocation; when it fails and the allocator does not ask onOom itself, asks it and retries once. */
  private retry(size: number, attempt: () => number): number {
    let p = attempt() >>> 0;
    if (p === 0 && !this.#allocatorCallsOnOom && this.onOom?.(size) === true) p = attempt() >>> 0;
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
    if (typeof f !== "function") throw unsupported(name);
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

  /** @internal Reads a stats struct written by `write(ptr)` through the scratch area below the heap. */
  readStats(write: (ptr: number) => number, name: string): HeapStats {
    const size = write(0);
    if (size < 64) throw new RallocError("E_UNSUPPORTED", `${name} reports a ${size}-byte struct; these bindings read version 1 (64 bytes)`);
    const stats = this.borrowScratch(size, "stats()", (ptr) => {
      write(ptr);
      return decodeStats(new DataView(this.memory.buffer as ArrayBuffer, ptr, size));
    });
    // When the bindings did not place the heap, check afterwards that it lies above the scratch.
    if (stats.heapBase !== 0 && stats.heapBase < STATS_SCRATCH + size && name === "ralloc_stats") throw scratchTooLow("stats()", size, stats.heapBase);
    return stats;
  }

  /**
   * @internal Runs `use(STATS_SCRATCH)` with [STATS_SCRATCH, +size) of memory
   * below the heap lent to it, and puts the bytes back afterwards.
   */
  borrowScratch<T>(size: number, who: string, use: (ptr: number) => T): T {
    const end = STATS_SCRATCH + size;
    if (this.heapBase !== undefined && this.heapBase < end) throw scratchTooLow(who, size, this.heapBase);
    if (this.memory.buffer.byteLength < end) throw scratchTooLow(who, size, 0);
    const saved = this.HEAPU8.slice(STATS_SCRATCH, end);
    try {
      return use(STATS_SCRATCH);
    } finally {
      this.HEAPU8.set(saved, STATS_SCRATCH);
    }
  }

  /**
   * Sets where the heap begins (`ralloc_init`). Only before the first
   * allocation; returns 0, 28 (EINVAL) when the heap has started, or 48
   * (ENOMEM) when memory cannot reach `heapBase`.
   */
  init(heapBase: number): number {
    checkU32(heapBase, "init: heapBase");
    const init = this.#calls.ralloc_init;
    if (typeof init !== "function") throw unsupported("ralloc_init");
    const r = init(heapBase) >>> 0;
    if (r === 0) this.heapBase = heapBase;
    return r;
  }

  /**
   * Walks the whole heap (`ralloc_check`): 0 when every invariant holds, else the
   * code of the first broken one. Cost: proportional to the heap.
   */
  check(): number {
    const check = this.#calls.ralloc_check;
    if (typeof check !== "function") throw unsupported("ralloc_check");
    return check() >>> 0;
  }

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
}

/** The error for a call the allocator does not export. */
function unsupported(name: string): RallocError {
  return new RallocError("E_UNSUPPORTED", `this allocator does not export ${name}`);
}

/** The error for a heap that starts too low to lend the scratch area. */
function scratchTooLow(who: string, size: number, base: number): RallocError {
  return new RallocError("E_UNSUPPORTED", `${who} borrows [${STATS_SCRATCH}, ${STATS_SCRATCH + size}) below the heap, but the heap starts at ${base}`);
}

/** Checks a log level (an integer from 0 to 3). */
export function checkLogLevel(value: unknown, what: string): LogLevel {
  if (value !== 0 && value !== 1 && value !== 2 && value !== 3) {
    throw new RallocError("E_BAD_OPTION", `${what} must be 0, 1, 2 or 3, got ${describe(value)}`);
  }
  return value;
}

/** The largest seed: 2^64 - 1. */
const MAX_SEED = (1n << 64n) - 1n;

/**
 * Checks a seed (an integer number from 0 to 2^53 - 1 or a bigint from 0 to
 * 2^64 - 1) and splits it into the low and high 32 bits `ralloc_seed` takes.
 */
export function splitSeed(value: unknown, what: string): [number, number] {
  let big: bigint;
  if (typeof value === "bigint") {
    big = value;
  } else if (typeof value === "number" && Number.isSafeInteger(value)) {
    big = BigInt(value);
  } else {
    throw new RallocError("E_BAD_OPTION", `${what} must be an integer number from 0 to 9007199254740991 or a bigint from 0n to 18446744073709551615n, got ${describe(value)}`);
  }
  if (big < 0n || big > MAX_SEED) {
    throw new RallocError("E_BAD_OPTION", `${what} must be an integer number from 0 to 9007199254740991 or a bigint from 0n to 18446744073709551615n, got ${describe(value)}`);
  }
  return [Number(big & 0xffffffffn), Number(big >> 32n)];
}

/** 8 random bytes from `globalThis.crypto`, as the low and high halves of a seed. */
export function randomSeed(what: string): [number, number] {
  const crypto = (globalThis as { crypto?: { getRandomValues?: (a: Uint32Array) => Uint32Array } }).crypto;
  if (typeof crypto?.getRandomValues !== "function") {
    throw new RallocError("E_UNSUPPORTED", `${what}: the security build needs a random seed, but globalThis.crypto.getRandomValues is missing; pass options.seed`);
  }
  const w = crypto.getRandomValues(new Uint32Array(2));
  return [w[0]!, w[1]!];
}

/**
 * Seeds the allocator's check words (`ralloc_seed`) from `seed`, or from
 * crypto on the security build when no seed is given; does nothing otherwise.
 */
export function applySeed(exports: AllocatorExports, seed: unknown, build: BuildName | undefined, what: string): void {
  const f = exports.ralloc_seed;
  if (seed === undefined && (build !== "security" || typeof f !== "function")) return;
  const [lo, hi] = seed === undefined ? randomSeed(what) : splitSeed(seed, `${what}: option seed`);
  if (typeof f !== "function") {
    throw new RallocError("E_UNSUPPORTED", `${what}: option seed needs an allocator that exports ralloc_seed, which this one does not`);
  }
  const r = f(lo, hi) >>> 0;
  if (r !== 0) {
    throw new RallocError("E_BAD_OPTION", `${what}: option seed came too late: the heap already holds blocks (ralloc_seed returned ${r}); the seed must be set before the first allocation`);
  }
}

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

  private call(name: string, ...args: number[]): number {
    if (!this.#alive) throw new RallocError("E_BAD_OPTION", `LocalHeap ${this.handle}: ${name} after destroy()`);
    const f = this.heap.allocatorFunction(name);
    if (typeof f !== "function") throw new RallocError("E_UNSUPPORTED", `this allocator does not export ${name}`);
    return (f as (...a: number[]) => number)(this.handle, ...args) >>> 0;
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
    if (!this.#alive) throw new RallocError("E_BAD_OPTION", `LocalHeap ${this.handle}: stats after destroy()`);
    return this.heap.readStats((ptr) => this.call("ralloc_heap_stats", ptr), "ralloc_heap_stats");
  }

  /** Releases this local heap and every block in it; the object is dead afterwards. */
  destroy(): void {
    const r = this.call("ralloc_heap_destroy");
    this.#alive = false;
    if (r !== 0) throw new RallocError("E_BAD_OPTION", `LocalHeap ${this.handle}: ralloc_heap_destroy refused the handle (${r})`);
  }
}

/** Decodes the version-1 stats struct. */
export function decodeStats(view: DataView): HeapStats {
  const u32 = (o: number) => view.getUint32(o, true);
  const u64 = (o: number) => Number(view.getBigUint64(o, true));
  return {
    size: u32(0),
    version: u32(4),
    bytesInUse: u32(8),
    peakBytesHeld: u32(12),
    bytesFromMemory: u32(16),
    growCalls: u32(20),
    mallocCalls: u64(24),
    freeCalls: u64(32),
    reallocCalls: u64(40),
    liveBlocks: u32(48),
    sbrkBytes: u32(52),
    heapBase: u32(56),
  };
}

/**
 * Creates a heap: instantiates an allocator build (or `options.allocator`) over
 * a new or given memory and starts its heap at `heapBase`.
 *
 * @example
 * const heap = createHeap({ build: "debug", maximumPages: 256 });
 * const p = heap.malloc(100);
 * heap.HEAPU8.fill(7, p, p + 100);
 * heap.free(p);
 *
 * @throws RallocError `E_BAD_OPTION` for invalid options, `E_NO_BUILD` when the
 * build is missing, `E_NOT_WASM` / `E_MISSING_IMPORT` / `E_MEMORY_NOT_IMPORTED`
 * for an unusable custom allocator, `E_UNSUPPORTED` for a seed the allocator
 * cannot take. Later, the heap's methods throw `E_MISUSE` for a misuse on the
 * debug, validate and security builds.
 */
export function createHeap(options: HeapOptions = {}): Heap {
  if (typeof options !== "object" || options === null) {
    throw new RallocError("E_BAD_OPTION", `createHeap: options must be an object, got ${describe(options)}`);
  }
  const { bytes, label, build } = allocatorBytes(options, "createHeap");
  const mod = compileAllocator(bytes, label);
  return heapFromModule(mod, label, options, build, "createHeap");
}

/** Checks the logging options (logLevel, onLog) and returns the level, defaulting to 2 with onLog and 0 without. */
export function checkLogOptions(options: { logLevel?: unknown; onLog?: unknown }, what: string): LogLevel {
  if (options.onLog !== undefined && typeof options.onLog !== "function") {
    throw new RallocError("E_BAD_OPTION", `${what}option onLog must be a function, got ${describe(options.onLog)}`);
  }
  if (options.logLevel === undefined) return options.onLog === undefined ? 0 : 2;
  return checkLogLevel(options.logLevel, `${what}option logLevel`);
}

/** Instantiates a compiled allocator as a Heap (shared by createHeap and instantiateProgram). */
export function heapFromModule(mod: WebAssembly.Module, label: string, options: HeapOptions & { leaveHeapBase?: boolean },
  build?: BuildName, who = "createHeap"): Heap {
  let memory = options.memory;
  if (memory !== undefined) {
    if (!(memory instanceof WebAssembly.Memory)) {
      throw new RallocError("E_BAD_OPTION", `option memory must be a WebAssembly.Memory, got ${describe(memory)}`);
    }
    if (options.initialPages !== undefined || options.maximumPages !== undefined) {
      throw new RallocError("E_BAD_OPTION",
        "options initialPages and maximumPages apply only to a memory the bindings create; give your WebAssembly.Memory its sizes when you create it");
    }
  } else {
    const initial = checkPages(options.initialPages ?? 1, "option initialPages");
    const descriptor: WebAssembly.MemoryDescriptor = { initial };
    if (options.maximumPages !== undefined) {
      const maximum = checkPages(options.maximumPages, "option maximumPages");
      if (maximum < initial) {
        throw new RallocError("E_BAD_OPTION", `option maximumPages (${maximum}) is below initialPages (${initial})`);
      }
      descriptor.maximum = maximum;
    }
    memory = new WebAssembly.Memory(descriptor);
  }
  if (options.onOom !== undefined && typeof options.onOom !== "function") {
    throw new RallocError("E_BAD_OPTION", `option onOom must be a function, got ${describe(options.onOom)}`);
  }
  const logLevel = checkLogOptions(options, `${who}: `);
  if (options.seed !== undefined) splitSeed(options.seed, `${who}: option seed`);
  let heapBase = options.heapBase;
  if (heapBase !== undefined) {
    if (typeof heapBase !== "number" || !Number.isInteger(heapBase) || heapBase < MIN_HEAP_BASE || heapBase > 0xfffffff0) {
      throw new RallocError("E_BAD_OPTION", `option heapBase must be an integer from ${MIN_HEAP_BASE} to 4294967280, got ${describe(heapBase)}`);
    }
  } else {
    heapBase = options.memory === undefined ? DEFAULT_HEAP_BASE : Math.max(memory.buffer.byteLength, MIN_HEAP_BASE);
  }
  const ctx: HookContext = { memory };
  const { imports, hooks } = allocatorImports(mod, ctx, label);
  const instance = new WebAssembly.Instance(mod, imports);
  const heap = new Heap(memory, instance, options.onOom, { ...hooks, label });
  ctx.heap = heap;
  heap.onLog = options.onLog;
  heap.setLogLevel(logLevel);
  applySeed(heap.exports, options.seed, build, who);
  if (typeof heap.exports.ralloc_init === "function" && !options.leaveHeapBase) {
    const r = heap.init(heapBase);
    if (r !== 0) {
      throw new RallocError("E_BAD_OPTION",
        r === 48
          ? `heapBase ${heapBase} lies beyond what the memory can grow to`
          : `${label} refused heap base ${heapBase} (ralloc_init returned ${r})`);
    }
  }
  return heap;
}
