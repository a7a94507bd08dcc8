/**
 * Wiring an allocator module to a `Heap`: the allocator's exports, the options
 * of `createHeap`, compiling the module, the `ralloc_hooks` functions the host
 * gives it (`oom`, `report`, `event`), its import object, and `createHeap`.
 *
 * @module
 */

import { allocatorBytes, type AllocatorChoice, type BuildName } from "./builds.js";
import { ERRNO } from "./abi.js";
import { checkOptionNames, checkPages, describe, isIntIn, optionNames } from "./checks.js";
import { applySeed, checkLogOptions, splitSeed } from "./debug.js";
import { RallocError } from "./errors.js";
import { Heap } from "./heap.js";
import type { LogLevel } from "./log.js";
import { reportMessage } from "./messages.js";
import { MIN_HEAP_BASE } from "./stats.js";
import { readModuleInfo } from "./wasm-binary.js";

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
  ralloc_thread_exit?(): number;
  ralloc_lock?(): void;
  ralloc_unlock?(): number;
  ralloc_lock_held?(): number;
  ralloc_locked_alloc?(size: number, align: number): number;
  ralloc_locked_free?(ptr: number): void;
  [name: string]: unknown;
}

/** Options of {@link createHeap}. */
export interface HeapOptions extends AllocatorChoice {
  /**
   * The memory to manage. Default: a new memory of `initialPages` pages (shared,
   * for the `threads` build). When given, the heap begins at `heapBase`, or at
   * the memory's current end when `heapBase` is left out, so nothing below it is
   * ever touched. The `threads` build needs a shared memory, and `heapBase` with
   * it: every thread names the same one ({@link Heap.threadOptions}).
   */
  memory?: WebAssembly.Memory;
  /** Pages of a new memory (default 1). Not allowed together with `memory`. */
  initialPages?: number;
  /**
   * Maximum pages of a new memory (default: none, so up to 4 GiB; for the
   * `threads` build, whose memory is shared and must have one,
   * {@link DEFAULT_THREAD_MAX_PAGES}). Not allowed together with `memory`: give
   * the memory its maximum when you create it.
   */
  maximumPages?: number;
  /**
   * Address where the heap begins (at least {@link MIN_HEAP_BASE}). Default:
   * {@link DEFAULT_HEAP_BASE} in a new memory, the memory's end in a given one
   * (required with a given memory on the `threads` build).
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
   * Receives the log lines (`<pool> : <text>`, docs/DEBUGGING.md) whose level is
   * at most `logLevel`, with that level. Each operation line walks the heap for
   * its pool picture: a cost proportional to the blocks, per line.
   */
  onLog?: (line: string, level: number) => void;
}

/** Every option of {@link createHeap}, to refuse a misspelled one. */
const HEAP_OPTIONS = optionNames<HeapOptions>({
  build: true, allocator: true, memory: true, initialPages: true, maximumPages: true, heapBase: true, onOom: true,
  seed: true, logLevel: true, onLog: true,
});

/** Names of the exports every allocator module must have. */
const REQUIRED_EXPORTS = ["malloc", "free"] as const;

/** Compiled allocator modules, by the bytes object they were compiled from. */
const compiled = new WeakMap<Uint8Array, WebAssembly.Module>();
/** Compiled allocator modules that import a shared memory (the threads build). */
const sharedModules = new WeakSet<WebAssembly.Module>();

/** Maximum pages of the shared memory createHeap makes for the `threads` build (1 GiB). */
export const DEFAULT_THREAD_MAX_PAGES = 16384;

/** Whether a compiled allocator imports a shared memory (read from its bytes when it was compiled). O(1). */
export function importsSharedMemory(mod: WebAssembly.Module): boolean {
  return sharedModules.has(mod);
}

/** Whether a memory is shared (its buffer a SharedArrayBuffer). O(1). */
export function isSharedMemory(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
}

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
  if (info.imports.some((i) => i.kind === "memory" && i.limits?.shared)) sharedModules.add(mod);
  return mod;
}

/** What the allocator's `ralloc_hooks` imports call: filled in once the Heap exists. */
interface HookContext {
  memory: WebAssembly.Memory;
  heap?: Heap;
}

/** The hook functions of module `ralloc_hooks` the bindings implement, calling into `ctx.heap`. */
function hookFunctions(ctx: HookContext): Record<"oom" | "report" | "event" | "entropy", (...args: number[]) => number | void> {
  return {
    // the security build's key, when nothing seeded it first: random bytes, as a WASI host gives
    entropy: (ptr: number, len: number) => {
      crypto.getRandomValues(new Uint8Array(ctx.memory.buffer, ptr >>> 0, len >>> 0));
      return 1;
    },
    oom: (size: number) => (ctx.heap?.oomHandler?.(size >>> 0) === true ? 1 : 0),
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
 * memory, the known hooks (`ralloc_hooks.oom`, `report`, `event`, `entropy`), no-ops for
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
      } else if (imp.name === "entropy") {
        put(imp.module, imp.name, known.entropy);
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
  checkOptionNames(options, HEAP_OPTIONS, "createHeap");
  const { bytes, label, build } = allocatorBytes(options, "createHeap");
  const mod = compileAllocator(bytes, label);
  return heapFromModule(mod, label, options, build, "createHeap");
}

/** The memory a heap manages: `options.memory`, checked, or a new memory of the options' sizes
 *  (shared, and with a maximum, when the allocator imports a shared memory). O(1). */
function heapMemory(options: HeapOptions, shared: boolean, label: string): WebAssembly.Memory {
  const memory = options.memory;
  if (memory !== undefined) {
    if (!(memory instanceof WebAssembly.Memory)) {
      throw new RallocError("E_BAD_OPTION", `option memory must be a WebAssembly.Memory, got ${describe(memory)}`);
    }
    if (options.initialPages !== undefined || options.maximumPages !== undefined) {
      throw new RallocError("E_BAD_OPTION",
        "options initialPages and maximumPages apply only to a memory the bindings create; give your WebAssembly.Memory its sizes when you create it");
    }
    if (shared !== isSharedMemory(memory)) {
      throw new RallocError("E_BAD_OPTION", shared
        ? `${label} imports a shared memory: give it one (new WebAssembly.Memory({ initial, maximum, shared: true })), or leave option memory out`
        : `${label} imports a memory that is not shared, but option memory is shared: use the threads build for a shared memory`);
    }
    if (shared && options.heapBase === undefined) {
      throw new RallocError("E_BAD_OPTION",
        `${label} on a given shared memory needs option heapBase, the same in every thread (the first thread's heap.threadOptions() has it)`);
    }
    return memory;
  }
  const initial = checkPages(options.initialPages ?? 1, "option initialPages");
  const descriptor: WebAssembly.MemoryDescriptor & { shared?: boolean } = { initial };
  if (options.maximumPages !== undefined || shared) {
    const maximum = checkPages(options.maximumPages ?? Math.max(DEFAULT_THREAD_MAX_PAGES, initial), "option maximumPages");
    if (maximum < initial) {
      throw new RallocError("E_BAD_OPTION", `option maximumPages (${maximum}) is below initialPages (${initial})`);
    }
    descriptor.maximum = maximum;
  }
  if (shared) descriptor.shared = true;
  return new WebAssembly.Memory(descriptor);
}

/** Where the heap begins: `options.heapBase`, checked, or else the default for `memory`. O(1). */
function heapBaseFor(options: HeapOptions, memory: WebAssembly.Memory): number {
  const heapBase = options.heapBase;
  if (heapBase !== undefined) {
    if (!isIntIn(heapBase, MIN_HEAP_BASE, 0xfffffff0)) {
      throw new RallocError("E_BAD_OPTION", `option heapBase must be an integer from ${MIN_HEAP_BASE} to 4294967280, got ${describe(heapBase)}`);
    }
    return heapBase;
  }
  return options.memory === undefined ? DEFAULT_HEAP_BASE : Math.max(memory.buffer.byteLength, MIN_HEAP_BASE);
}

/** Instantiates a compiled allocator as a Heap (shared by createHeap and instantiateProgram). */
export function heapFromModule(mod: WebAssembly.Module, label: string, options: HeapOptions & { leaveHeapBase?: boolean },
  build?: BuildName, who = "createHeap"): Heap {
  const memory = heapMemory(options, importsSharedMemory(mod), label);
  if (options.onOom !== undefined && typeof options.onOom !== "function") {
    throw new RallocError("E_BAD_OPTION", `option onOom must be a function, got ${describe(options.onOom)}`);
  }
  const logLevel = checkLogOptions(options, `${who}: `);
  if (options.seed !== undefined) splitSeed(options.seed, `${who}: option seed`);
  const heapBase = heapBaseFor(options, memory);
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
        r === ERRNO.ENOMEM
          ? `heapBase ${heapBase} lies beyond what the memory can grow to`
          : `${label} refused heap base ${heapBase} (ralloc_init returned ${r})`);
    }
  }
  return heap;
}
