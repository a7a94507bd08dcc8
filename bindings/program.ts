/**
 * `instantiateProgram`: runs a C program compiled to wasm with ralloc-wasm as its
 * malloc, wired at instantiation, plus an Emscripten-like `Module` surface.
 *
 * @module
 */

import type { WASI } from "node:wasi";
import { allocatorBytes, toBytes, type AllocatorChoice, type WasmBytes } from "./builds.js";
import { checkOptionNames, checkPages, optionNames } from "./checks.js";
import { applySeed, checkLogOptions, splitSeed } from "./debug.js";
import { ENOSYS, RallocError } from "./errors.js";
import { Heap } from "./heap.js";
import { LINKED_SECTION, planAllocatorImports, programMemoryImport, readLinkedNote } from "./link.js";
import type { LogLevel } from "./log.js";
import { requireNode } from "./platform.js";
import { MIN_HEAP_BASE, type HeapStats } from "./stats.js";
import type { Tracker, TrackerOptions } from "./tracker.js";
import { MemoryViews } from "./views.js";
import { addExports, findExport, readModuleInfo, type ModuleInfo } from "./wasm-binary.js";
import { compileAllocator, heapFromModule } from "./wiring.js";

/** Values a program's imports may be given. */
export type ImportObject = Record<string, Record<string, WebAssembly.ImportValue>>;

/** Options of {@link instantiateProgram}. */
export interface ProgramOptions extends AllocatorChoice {
  /** The memory to give the program (default: a new one sized from the program's memory import). */
  memory?: WebAssembly.Memory;
  /** Initial pages of a new memory (default: what the program declares). */
  initialPages?: number;
  /** Maximum pages of a new memory (default: what the program declares, else none). */
  maximumPages?: number;
  /** See {@link HeapOptions.onOom}. */
  onOom?: (size: number) => boolean | void;
  /** See {@link HeapOptions.seed}. */
  seed?: number | bigint;
  /** See {@link HeapOptions.logLevel}. */
  logLevel?: LogLevel;
  /**
   * See {@link HeapOptions.onLog}. A statically linked program (linkStatic)
   * sends no events, so only its misuse report reaches onLog.
   */
  onLog?: (line: string, level: number) => void;
  /**
   * Track the program's allocations from the start (`true`, or the Tracker's
   * options): the result's `tracker` then tells who allocated each block still
   * live. Needs a build with events (debug, validate) linked at instantiation.
   */
  track?: boolean | TrackerOptions;
  /**
   * More imports for the program, by module and name (for example `env.my_callback`).
   * They take precedence over what the bindings would supply.
   */
  imports?: ImportObject;
  /** WASI command-line arguments, program name first (default `["program"]`). */
  args?: string[];
  /** WASI environment variables (default: none). */
  env?: Record<string, string>;
  /** WASI preopened directories: guest path -> host path (default: none). */
  preopens?: Record<string, string>;
  /** File descriptors for the program's stdin, stdout and stderr (default 0, 1, 2). */
  stdin?: number;
  stdout?: number;
  stderr?: number;
}

/** Every option of {@link instantiateProgram}, to refuse a misspelled one. */
const PROGRAM_OPTIONS = optionNames<ProgramOptions>({
  build: true, allocator: true, memory: true, initialPages: true, maximumPages: true, onOom: true, seed: true, logLevel: true,
  onLog: true, track: true, imports: true, args: true, env: true, preopens: true, stdin: true, stdout: true, stderr: true,
});

/** An instantiated program. */
export interface ProgramInstance {
  /** The program's instance. */
  instance: WebAssembly.Instance;
  /** The program's compiled module (what another thread instantiates over the same shared memory). */
  module: WebAssembly.Module;
  /** The heap serving the program's malloc (its `exports` are what the program imports). */
  heap: Heap;
  /** An Emscripten-like surface over the program and its heap. */
  Module: EmscriptenModule;
  /** The WASI instance, when the program imports wasi_snapshot_preview1. */
  wasi: WASI | undefined;
  /** The allocation tracker, with option `track`. */
  tracker: Tracker | undefined;
  /**
   * Runs the program's `_start` (its `main`) and returns the exit code. Once per
   * instance.
   *
   * @throws RallocError `E_UNSUPPORTED` when the program has no `_start`;
   * `E_MISUSE` with the allocator's exact message when the program misuses the
   * heap on a guarded build (debug, validate, security), whether the allocator
   * is linked at instantiation or statically (linkStatic). The program stops
   * there: what it buffered for stdout is not flushed.
   */
  run(): number;
}

/** Types `getValue` and `setValue` understand (Emscripten's names). */
export type ValueTypeName = "i1" | "i8" | "i16" | "i32" | "i64" | "float" | "double" | "*";

/** Argument types of `ccall` and `cwrap`. */
export type CArgType = "number" | "string" | "array" | "boolean" | "bigint";

/** Return types of `ccall` and `cwrap` (`null` or `"void"` for none). */
export type CReturnType = "number" | "string" | "boolean" | "bigint" | "void" | null;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Emscripten's `Module` surface over a program instance and its heap: `_malloc`,
 * `_free`, `_<export>` for the program's function exports, the `HEAP*` views
 * (never stale), and the string and value helpers.
 */
export class EmscriptenModule extends MemoryViews {
  /**
   * The program's exports (for a statically linked guarded build, each function
   * wrapped so that a misuse throws the E_MISUSE RallocError instead of trapping).
   */
  readonly wasmExports: WebAssembly.Exports;
  /** The same memory as {@link MemoryViews.memory} (Emscripten's name). */
  readonly wasmMemory: WebAssembly.Memory;
  /** malloc, returning an unsigned address. */
  readonly _malloc: (size: number) => number;
  /** free. */
  readonly _free: (ptr: number) => void;
  /** Program exports as `_name`, plus whatever else a host adds. */
  [name: `_${string}`]: unknown;

  constructor(readonly heap: Heap, instance: { exports: WebAssembly.Exports }) {
    super(heap.memory);
    this.wasmExports = instance.exports;
    this.wasmMemory = heap.memory;
    const malloc = heap.allocatorFunction("malloc")!;
    const free = heap.allocatorFunction("free")!;
    this._malloc = (size: number) => malloc(size) >>> 0;
    this._free = (ptr: number) => free(ptr);
    for (const [name, value] of Object.entries(instance.exports)) {
      if (typeof value === "function" && !(`_${name}` in this)) this[`_${name}`] = value;
    }
  }

  /** Reads a NUL-terminated UTF-8 string at ptr (at most maxBytesToRead bytes); "" for 0. */
  UTF8ToString(ptr: number, maxBytesToRead?: number): string {
    ptr >>>= 0;
    if (ptr === 0) return "";
    const u8 = this.HEAPU8;
    const limit = maxBytesToRead === undefined ? u8.length : Math.min(u8.length, ptr + maxBytesToRead);
    let end = ptr;
    while (end < limit && u8[end] !== 0) end++;
    return decoder.decode(u8.subarray(ptr, end));
  }

  /**
   * Writes str as NUL-terminated UTF-8 at outPtr, at most maxBytesToWrite bytes
   * with the NUL (whole characters only). Returns the bytes written, NUL excluded.
   */
  stringToUTF8(str: string, outPtr: number, maxBytesToWrite: number): number {
    outPtr >>>= 0;
    if (!(maxBytesToWrite > 0)) return 0;
    const bytes = encoder.encode(str);
    let n = Math.min(bytes.length, maxBytesToWrite - 1);
    // Do not cut a multi-byte character in half.
    while (n > 0 && n < bytes.length && (bytes[n]! & 0xc0) === 0x80) n--;
    const u8 = this.HEAPU8;
    u8.set(bytes.subarray(0, n), outPtr);
    u8[outPtr + n] = 0;
    return n;
  }

  /** Bytes of str in UTF-8, without a NUL terminator. */
  lengthBytesUTF8(str: string): number {
    return encoder.encode(str).length;
  }

  /** Reads a value of the given type at ptr (`i64` gives a bigint; `*` an unsigned pointer). */
  getValue(ptr: number, type: ValueTypeName = "i8"): number | bigint {
    ptr >>>= 0;
    const dv = new DataView(this.memory.buffer as ArrayBuffer);
    switch (type) {
      case "i1":
      case "i8": return dv.getInt8(ptr);
      case "i16": return dv.getInt16(ptr, true);
      case "i32": return dv.getInt32(ptr, true);
      case "i64": return dv.getBigInt64(ptr, true);
      case "float": return dv.getFloat32(ptr, true);
      case "double": return dv.getFloat64(ptr, true);
      case "*": return dv.getUint32(ptr, true);
      default: throw new RallocError("E_BAD_OPTION", `getValue: unknown type ${JSON.stringify(type)}; use i1, i8, i16, i32, i64, float, double or *`);
    }
  }

  /** Writes a value of the given type at ptr. */
  setValue(ptr: number, value: number | bigint, type: ValueTypeName = "i8"): void {
    ptr >>>= 0;
    const dv = new DataView(this.memory.buffer as ArrayBuffer);
    switch (type) {
      case "i1":
      case "i8": dv.setInt8(ptr, Number(value)); return;
      case "i16": dv.setInt16(ptr, Number(value), true); return;
      case "i32": dv.setInt32(ptr, Number(value), true); return;
      case "i64": dv.setBigInt64(ptr, BigInt(value), true); return;
      case "float": dv.setFloat32(ptr, Number(value), true); return;
      case "double": dv.setFloat64(ptr, Number(value), true); return;
      case "*": dv.setUint32(ptr, Number(value), true); return;
      default: throw new RallocError("E_BAD_OPTION", `setValue: unknown type ${JSON.stringify(type)}; use i1, i8, i16, i32, i64, float, double or *`);
    }
  }

  private exportedFunction(ident: string, who: string): (...args: unknown[]) => unknown {
    const f = this.wasmExports[ident];
    if (typeof f !== "function") {
      throw new RallocError("E_MISSING_IMPORT", `${who}: the program does not export a function named ${JSON.stringify(ident)} (link it with -Wl,--export=${ident})`);
    }
    return f as (...args: unknown[]) => unknown;
  }

  /**
   * Calls the exported C function `ident`. `string` and `array` arguments are
   * copied into blocks from the heap that are freed after the call.
   */
  ccall(ident: string, returnType: CReturnType, argTypes: readonly CArgType[], args: readonly unknown[]): unknown {
    const f = this.exportedFunction(ident, "ccall");
    return this.callWith(f, ident, returnType, argTypes, args);
  }

  /** Returns a JavaScript function that calls the exported C function `ident` (see {@link ccall}). */
  cwrap(ident: string, returnType: CReturnType, argTypes: readonly CArgType[] = []): (...args: unknown[]) => unknown {
    const f = this.exportedFunction(ident, "cwrap");
    if ((returnType === "number" || returnType === null || returnType === "void") && argTypes.every((t) => t === "number")) {
      return f;
    }
    return (...args: unknown[]) => this.callWith(f, ident, returnType, argTypes, args);
  }

  private callWith(f: (...args: unknown[]) => unknown, ident: string, returnType: CReturnType, argTypes: readonly CArgType[], args: readonly unknown[]): unknown {
    if (args.length !== argTypes.length) {
      throw new RallocError("E_BAD_OPTION", `ccall ${ident}: ${argTypes.length} argument types for ${args.length} arguments`);
    }
    const temps: number[] = [];
    try {
      const converted = args.map((a, i) => {
        switch (argTypes[i]) {
          case "string": {
            if (a === null || a === undefined) return 0;
            const bytes = encoder.encode(String(a));
            const p = this.tempAlloc(bytes.length + 1, ident);
            temps.push(p);
            this.HEAPU8.set(bytes, p);
            this.HEAPU8[p + bytes.length] = 0;
            return p;
          }
          case "array": {
            const bytes = a instanceof Uint8Array ? a : Uint8Array.from(a as ArrayLike<number>);
            const p = this.tempAlloc(bytes.length, ident);
            temps.push(p);
            this.HEAPU8.set(bytes, p);
            return p;
          }
          case "boolean": return a ? 1 : 0;
          case "bigint": return BigInt(a as bigint);
          case "number": return a;
          default: throw new RallocError("E_BAD_OPTION", `ccall ${ident}: unknown argument type ${JSON.stringify(argTypes[i])}`);
        }
      });
      const r = f(...converted);
      switch (returnType) {
        case "string": return this.UTF8ToString(Number(r));
        case "boolean": return Boolean(r);
        case "bigint": return BigInt(r as bigint);
        case "number": return r;
        case null:
        case "void": return undefined;
        default: throw new RallocError("E_BAD_OPTION", `ccall ${ident}: unknown return type ${JSON.stringify(returnType)}`);
      }
    } finally {
      for (const p of temps) this._free(p);
    }
  }

  private tempAlloc(size: number, ident: string): number {
    const p = this._malloc(size);
    if (p === 0) throw new RallocError("E_BAD_OPTION", `ccall ${ident}: out of memory copying a ${size}-byte argument`);
    return p;
  }
}

/** The memory a linked module defines and exports (its memory 0). O(exports). */
function exportedMemory(instance: WebAssembly.Instance, info: ModuleInfo, label: string): WebAssembly.Memory {
  const name = info.exports.find((e) => e.kind === "memory" && e.index === 0)?.name;
  const memory = name === undefined ? undefined : instance.exports[name];
  if (!(memory instanceof WebAssembly.Memory)) {
    throw new RallocError("E_MEMORY_NOT_IMPORTED", `${label} defines its memory but does not export it; link it again with linkStatic`);
  }
  return memory;
}

/** The constant value of the program's exported `__heap_base`, if it has one. */
export function exportedHeapBase(info: ModuleInfo): number | undefined {
  const e = findExport(info, "__heap_base", "global");
  if (e === undefined) return undefined;
  const v = info.globalInitI32[e.index];
  return v === undefined ? undefined : v >>> 0;
}

/**
 * Instantiates a C program with ralloc-wasm as its allocator.
 *
 * The program must import its memory (`-Wl,--import-memory`) and its malloc
 * family, from module `ralloc` (compile `bindings/c/ralloc_import.c` in) or from
 * `env` (`-nostdlib -Wl,--allow-undefined`). The allocator's exports are given to
 * the program directly as its imports (no JavaScript in between). The heap
 * begins at the program's exported `__heap_base` (`-Wl,--export=__heap_base`), or
 * else at the end of its initial memory. Programs importing
 * `wasi_snapshot_preview1` get `node:wasi` (in Node) for the calls
 * `options.imports` does not provide.
 *
 * @example
 * const { run, Module } = await instantiateProgram(wasm, { args: ["wc", "-l"] });
 * const exitCode = run();
 *
 * @throws RallocError `E_NOT_WASM`, `E_MEMORY_NOT_IMPORTED` (with what to recompile
 * with), `E_MISSING_IMPORT` (naming the import), `E_SIGNATURE`, `E_BAD_OPTION`.
 */
export async function instantiateProgram(wasm: WasmBytes, options: ProgramOptions = {}): Promise<ProgramInstance> {
  if (typeof options !== "object" || options === null) {
    throw new RallocError("E_BAD_OPTION", `instantiateProgram: options must be an object, got ${String(options)}`);
  }
  checkOptionNames(options, PROGRAM_OPTIONS, "instantiateProgram");
  const label = "instantiateProgram: the program";
  const bytes = toBytes(wasm, "instantiateProgram: wasm");
  const logLevel = checkLogOptions(options, "instantiateProgram: ");
  if (options.track !== undefined && typeof options.track !== "boolean" && (typeof options.track !== "object" || options.track === null)) {
    throw new RallocError("E_BAD_OPTION", `instantiateProgram: option track must be true, false or the Tracker's options, got ${typeof options.track === "string" ? JSON.stringify(options.track) : String(options.track)}`);
  }
  if (options.seed !== undefined) splitSeed(options.seed, "instantiateProgram: option seed");
  const info = readModuleInfo(bytes, label);
  // A module made by linkStatic carries ralloc-wasm inside: its own exports serve as the heap.
  const linked = info.customSections.includes(LINKED_SECTION);
  if (linked && (options.allocator !== undefined || options.build !== undefined)) {
    throw new RallocError("E_BAD_OPTION", `${label} was made by linkStatic and already contains its allocator; options build and allocator do not apply`);
  }
  // By default linkStatic gives the module a memory of its own: it is made at instantiation.
  const ownMemory = linked && info.definedMemories.length === 1 && !info.imports.some((i) => i.kind === "memory");
  const memLimits = ownMemory ? info.definedMemories[0]! : programMemoryImport(info, label).limits;
  // A program with threads shares its memory: only an allocator importing a shared memory (the
  // threads build) can serve it, and only such a program can be served by one.
  const chosenAllocator = linked ? undefined : allocatorBytes(options, "instantiateProgram");
  const allocatorShared = chosenAllocator !== undefined && readModuleInfo(chosenAllocator.bytes, chosenAllocator.label)
    .imports.some((i) => i.kind === "memory" && i.limits?.shared === true);
  if (memLimits?.shared && !allocatorShared) {
    throw new RallocError("E_UNSUPPORTED", linked
      ? `${label} was linked with a shared memory; instantiate the program itself with { build: "threads" } in each thread (runThreads does)`
      : `${label} imports a shared memory (threads); ${chosenAllocator!.label} serves one thread: use { build: "threads" }, or compile without -pthread/--shared-memory`);
  }
  if (allocatorShared && !memLimits?.shared) {
    throw new RallocError("E_BAD_OPTION",
      `${chosenAllocator!.label} serves threads over a shared memory, but ${label.replace(/^instantiateProgram: /, "")} imports a memory that is not shared; ` +
      "compile it with -matomics -mbulk-memory -Wl,--shared-memory,--max-memory=N (docs/THREADS.md), or use another build");
  }
  if (memLimits?.memory64) {
    throw new RallocError("E_UNSUPPORTED", `${label} imports a 64-bit memory; ralloc-wasm is a wasm32 allocator (compile with --target=wasm32-wasip1)`);
  }
  if (ownMemory && (options.memory !== undefined || options.initialPages !== undefined || options.maximumPages !== undefined)) {
    throw new RallocError("E_BAD_OPTION",
      `${label} was made by linkStatic with a memory of its own; options memory, initialPages and maximumPages do not apply (link it with importMemory: true to give it a memory)`);
  }

  let hostMemory = ownMemory ? undefined : options.memory;
  if (ownMemory) {
    // made with the instance, below
  } else if (hostMemory !== undefined) {
    if (!(hostMemory instanceof WebAssembly.Memory)) throw new RallocError("E_BAD_OPTION", "instantiateProgram: option memory must be a WebAssembly.Memory");
    if (options.initialPages !== undefined || options.maximumPages !== undefined) {
      throw new RallocError("E_BAD_OPTION", "instantiateProgram: options initialPages and maximumPages apply only to a memory the bindings create");
    }
  } else {
    const declaredMin = memLimits?.min ?? 0;
    const initial = Math.max(declaredMin, checkPages(options.initialPages ?? 0, "instantiateProgram: option initialPages"));
    const descriptor: WebAssembly.MemoryDescriptor & { shared?: boolean } = { initial };
    if (memLimits?.shared) descriptor.shared = true; // (wasm-ld gives a shared memory its maximum)
    const maximum = options.maximumPages !== undefined ? checkPages(options.maximumPages, "instantiateProgram: option maximumPages") : memLimits?.max;
    if (maximum !== undefined) {
      if (maximum < initial) {
        throw new RallocError("E_BAD_OPTION", `instantiateProgram: the maximum of ${maximum} pages is below the program's initial memory of ${initial} pages`);
      }
      if (memLimits?.max !== undefined && maximum > memLimits.max) {
        throw new RallocError("E_BAD_OPTION", `instantiateProgram: option maximumPages (${maximum}) exceeds the program's declared maximum of ${memLimits.max} pages`);
      }
      descriptor.maximum = maximum;
    }
    hostMemory = new WebAssembly.Memory(descriptor);
  }

  // The heap begins at the program's __heap_base when it exports it. Otherwise the bindings
  // leave the choice to the program (ralloc_import.c calls ralloc_init(&__heap_base) from a
  // constructor) or to the allocator (the end of memory at the first allocation).
  const declaredBase = exportedHeapBase(info);
  const heapBase = declaredBase === undefined ? undefined : Math.max(declaredBase, MIN_HEAP_BASE);
  if (allocatorShared && heapBase === undefined) {
    throw new RallocError("E_BAD_OPTION", `${label} does not export __heap_base, which every thread's allocator needs to find the one heap; link it with -Wl,--export=__heap_base`);
  }
  let heap: Heap | undefined;
  let allocLabel = "the allocator linked into the program";
  if (chosenAllocator !== undefined) {
    const chosen = chosenAllocator;
    allocLabel = chosen.label;
    const allocModule = compileAllocator(chosen.bytes, allocLabel);
    // Same checks as linkStatic: ralloc.* imports the allocator lacks, signature
    // mismatches, and a program that brings its own malloc (ralloc-wasm would be unused).
    planAllocatorImports(info, readModuleInfo(chosen.bytes, allocLabel), label, allocLabel);
    const heapOptions = { memory: hostMemory, heapBase, leaveHeapBase: heapBase === undefined, onOom: options.onOom, onLog: options.onLog, logLevel, seed: options.seed };
    heap = heapFromModule(allocModule, allocLabel, heapOptions, chosen.build, "instantiateProgram");
  }

  let programModule = await WebAssembly.compile(bytes as BufferSource);
  // A linked guarded build records a misuse report in globals before it traps: export them to read it.
  const note = linked ? readLinkedNote(programModule) : undefined;
  const reportGlobals = note?.report?.length === REPORT_EXPORTS.length ? note.report : undefined;
  if (reportGlobals !== undefined) {
    const patched = addExports(bytes, REPORT_EXPORTS.map((name, i) => ({ name, kind: "global" as const, index: reportGlobals[i]! })), label);
    programModule = await WebAssembly.compile(patched as BufferSource);
  }
  // WASI calls options.imports does not provide come from node:wasi (an Emscripten program's
  // glue, or a page, provides its own).
  const needsWasi = info.imports.some((i) => i.module === "wasi_snapshot_preview1" && options.imports?.[i.module]?.[i.name] === undefined);
  let wasi: WASI | undefined;
  if (needsWasi) {
    const { WASI: WasiClass } = requireNode<typeof import("node:wasi")>("node:wasi",
      `instantiateProgram: ${label} imports WASI (wasi_snapshot_preview1), which`, "elsewhere pass its functions in options.imports");
    const wasiOptions: ConstructorParameters<typeof WasiClass>[0] = {
      version: "preview1",
      args: options.args ?? ["program"],
      env: options.env ?? {},
      preopens: options.preopens ?? {},
      returnOnExit: true,
    };
    if (options.stdin !== undefined) wasiOptions.stdin = options.stdin;
    if (options.stdout !== undefined) wasiOptions.stdout = options.stdout;
    if (options.stderr !== undefined) wasiOptions.stderr = options.stderr;
    wasi = new WasiClass(wasiOptions);
  }

  const allocExports = (heap?.exports ?? {}) as Record<string, unknown>;
  const imports = programImports(programModule, hostMemory, allocExports, wasi, options.imports ?? {}, label, allocLabel);
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(programModule, imports);
  } catch (e) {
    if (e instanceof WebAssembly.LinkError) {
      throw new RallocError("E_SIGNATURE", `instantiateProgram: the program does not link against ${allocLabel}: ${e.message}`);
    }
    throw e;
  }

  const exp = instance.exports;
  const memory = hostMemory ?? exportedMemory(instance, info, label);
  // A misuse found by a dynamically linked allocator is thrown by its report hook; one found by a
  // statically linked allocator is a trap that `translate` turns into the same E_MISUSE error.
  let translate = (e: unknown): unknown => e;
  let wrapped: WebAssembly.Exports = exp;
  if (heap === undefined) {
    if (typeof exp["malloc"] !== "function" || typeof exp["free"] !== "function") {
      throw new RallocError("E_UNSUPPORTED", `${label} was linked with exportAllocator: false, so its heap cannot be reached; link it again with the allocator's exports`);
    }
    if (reportGlobals !== undefined) {
      const globals = REPORT_EXPORTS.map((n) => exp[n] as WebAssembly.Global);
      translate = (e) => {
        if (globals[0]!.value === 0 || e instanceof RallocError) return e;
        const [code, op, addr, size, aux] = globals.map((g) => (g.value as number) >>> 0);
        globals[0]!.value = 0;
        return linkedHeap.reportError(code!, op!, addr!, size!, aux!, e);
      };
      // A report left by a trap outside the bindings (a raw export) must not be blamed on the next call.
      const forget = () => void (globals[0]!.value = 0);
      wrapped = translatingExports(exp, forget, translate);
    }
    const linkedHeap: Heap = new Heap(memory, instance, options.onOom, { label: note?.allocator ?? allocLabel, calls: wrapped });
    linkedHeap.heapBase = heapBase;
    linkedHeap.onLog = options.onLog;
    linkedHeap.setLogLevel(logLevel);
    applySeed(linkedHeap.exports, options.seed, note?.build, "instantiateProgram");
    heap = linkedHeap;
  }
  const tracker = options.track ? heap.track(options.track === true ? {} : options.track) : undefined;
  if (typeof exp["_initialize"] === "function") {
    try {
      if (wasi) wasi.initialize({ exports: { _initialize: exp["_initialize"], memory } });
      else (exp["_initialize"] as () => void)();
    } catch (e) {
      throw translate(e);
    }
  }

  let ran = false;
  const run = (): number => {
    const start = exp["_start"];
    if (typeof start !== "function") {
      throw new RallocError("E_UNSUPPORTED", "instantiateProgram: the program has no _start (no main); call its exports through instance.exports or Module.ccall");
    }
    if (ran) throw new RallocError("E_UNSUPPORTED", "instantiateProgram: run() may be called once per instance; instantiate the program again to rerun it");
    ran = true;
    try {
      if (reportGlobals !== undefined) (exp[REPORT_EXPORTS[0]!] as WebAssembly.Global).value = 0;
      if (wasi) return wasi.start({ exports: { _start: start, memory } }) ?? 0;
      (start as () => void)();
      return 0;
    } catch (e) {
      throw translate(e);
    }
  };

  return { instance, module: programModule, heap, Module: new EmscriptenModule(heap, { exports: wrapped }), wasi, tracker, run };
}

/** Names under which instantiateProgram exports a linked guarded build's report globals (code, op, addr, size, aux). */
const REPORT_EXPORTS = ["__ralloc_report_code", "__ralloc_report_op", "__ralloc_report_addr", "__ralloc_report_size", "__ralloc_report_aux"];

/** The exports with each function wrapped: `before()` first, and what it throws passes through `translate`. */
function translatingExports(exports: WebAssembly.Exports, before: () => void, translate: (e: unknown) => unknown): WebAssembly.Exports {
  const out: Record<string, WebAssembly.ExportValue> = {};
  for (const [name, value] of Object.entries(exports)) {
    if (typeof value !== "function") {
      out[name] = value;
      continue;
    }
    const f = value as (...args: unknown[]) => unknown;
    out[name] = ((...args: unknown[]) => {
      before();
      try {
        return f(...args);
      } catch (e) {
        throw translate(e);
      }
    }) as unknown as WebAssembly.ExportValue;
  }
  return out;
}

/**
 * Resolves every import of the program: its memory, the allocator's exports
 * (module `ralloc`, or `env` names the allocator exports), WASI, and
 * `options.imports`. Anything else is an error naming the import.
 */
function programImports(mod: WebAssembly.Module, memory: WebAssembly.Memory | undefined, alloc: Record<string, unknown>, wasi: WASI | undefined,
  extra: ImportObject, label: string, allocLabel: string): ImportObject {
  const imports: ImportObject = {};
  const put = (m: string, n: string, v: WebAssembly.ImportValue) => ((imports[m] ??= {})[n] = v);
  const missing: string[] = [];
  const wasiImport = (wasi?.wasiImport ?? {}) as Record<string, unknown>;
  for (const imp of WebAssembly.Module.imports(mod)) {
    const given = extra[imp.module]?.[imp.name];
    if (given !== undefined) {
      put(imp.module, imp.name, given);
    } else if (imp.kind === "memory" && memory !== undefined) {
      put(imp.module, imp.name, memory);
    } else if (imp.kind === "function" && imp.module === "ralloc") {
      const f = alloc[imp.name];
      if (typeof f === "function") put(imp.module, imp.name, f as WebAssembly.ImportValue);
      else if (imp.name === "ralloc_init") put(imp.module, imp.name, () => ENOSYS);
      else missing.push(`ralloc.${imp.name} (${allocLabel} does not export it)`);
    } else if (imp.kind === "function" && imp.module === "env" && typeof alloc[imp.name] === "function") {
      put(imp.module, imp.name, alloc[imp.name] as WebAssembly.ImportValue);
    } else if (imp.kind === "function" && imp.module === "wasi_snapshot_preview1" && typeof wasiImport[imp.name] === "function") {
      put(imp.module, imp.name, wasiImport[imp.name] as WebAssembly.ImportValue);
    } else {
      missing.push(`${imp.module}.${imp.name} (${imp.kind})`);
    }
  }
  if (missing.length > 0) {
    throw new RallocError("E_MISSING_IMPORT",
      `${label} imports ${missing.join(", ")}, which ralloc-wasm does not provide; pass ${missing.length === 1 ? "it" : "them"} in options.imports`);
  }
  return imports;
}

/** Options of {@link runProgram}. */
export interface RunOptions extends Omit<ProgramOptions, "stdin" | "stdout" | "stderr"> {
  /** What the program reads on stdin (default: nothing). */
  input?: string | Uint8Array;
}

/** Every option of {@link runProgram}, to refuse a misspelled one. */
const RUN_OPTIONS = optionNames<RunOptions>({
  build: true, allocator: true, memory: true, initialPages: true, maximumPages: true, onOom: true, seed: true, logLevel: true,
  onLog: true, track: true, imports: true, args: true, env: true, preopens: true, input: true,
});

/** What {@link runProgram} returns. */
export interface RunResult {
  /** The program's exit code. */
  exitCode: number;
  /** Everything the program wrote to stdout. */
  stdout: Uint8Array;
  /** Everything the program wrote to stderr. */
  stderr: Uint8Array;
  /** The heap after the program exited. */
  heap: Heap;
  /** The allocator's statistics after the program exited, when the allocator has ralloc_stats. */
  stats: HeapStats | undefined;
  /** The allocation tracker, with option `track`: its `leaks()` are what the program never freed. */
  tracker: Tracker | undefined;
}

/**
 * Runs a WASI program on ralloc-wasm to completion with the given stdin and
 * returns its exit code, stdout and stderr (captured through temporary files).
 *
 * @example
 * const { exitCode, stdout } = await runProgram(wasm, { args: ["wordfreq", "5"], input: text });
 */
export async function runProgram(wasm: WasmBytes, options: RunOptions = {}): Promise<RunResult> {
  if (typeof options !== "object" || options === null) {
    throw new RallocError("E_BAD_OPTION", `runProgram: options must be an object, got ${String(options)}`);
  }
  checkOptionNames(options, RUN_OPTIONS, "runProgram");
  const { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } = requireNode<typeof import("node:fs")>("node:fs", "runProgram");
  const { tmpdir } = requireNode<typeof import("node:os")>("node:os", "runProgram");
  const { join } = requireNode<typeof import("node:path")>("node:path", "runProgram");
  const dir = mkdtempSync(join(tmpdir(), "ralloc-run-"));
  const fds: number[] = [];
  try {
    const inPath = join(dir, "stdin");
    writeFileSync(inPath, options.input ?? "");
    const stdin = openSync(inPath, "r");
    fds.push(stdin);
    const stdout = openSync(join(dir, "stdout"), "w");
    fds.push(stdout);
    const stderr = openSync(join(dir, "stderr"), "w");
    fds.push(stderr);
    const { input: _input, ...rest } = options;
    const program = await instantiateProgram(wasm, { ...rest, stdin, stdout, stderr });
    const exitCode = program.run();
    for (const fd of fds.splice(0)) closeSync(fd);
    const stats = typeof program.heap.exports.ralloc_stats === "function" ? program.heap.stats() : undefined;
    return {
      exitCode,
      stdout: new Uint8Array(readFileSync(join(dir, "stdout"))),
      stderr: new Uint8Array(readFileSync(join(dir, "stderr"))),
      heap: program.heap,
      stats,
      tracker: program.tracker,
    };
  } finally {
    for (const fd of fds) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}
