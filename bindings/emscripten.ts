/**
 * Emscripten programs on ralloc-wasm. A program built by `emcc -sMALLOC=none
 * -sIMPORTED_MEMORY` imports its malloc family from `env`; the package's
 * `--pre-js` file (`bindings/emscripten/pre.js`, docs/EMSCRIPTEN.md) sets
 * Emscripten's `Module.instantiateWasm` hook to {@link instantiateEmscripten},
 * which gives the program ralloc-wasm's exports as those imports (wasm to wasm,
 * no JavaScript in between), or, for a module `ralloc-wasm link` already merged,
 * the allocator inside it. Emscripten's glue is not changed otherwise.
 *
 * @module
 */

import { loadBuild, toBytes, type AllocatorChoice, type WasmBytes } from "./builds.js";
import { RallocError } from "./errors.js";
import type { Heap } from "./heap.js";
import { LINKED_SECTION, MALLOC_FAMILY, linkStatic, type LinkOptions } from "./link.js";
import { instantiateProgram, type ImportObject, type ProgramOptions } from "./program.js";
import type { Tracker } from "./tracker.js";
import { readModuleInfo, renameImports } from "./wasm-binary.js";

/**
 * Other names under which Emscripten's libraries call the malloc family when it
 * is left to the program (`-sMALLOC=none`): C++ programs call
 * `emscripten_builtin_malloc` from a constructor, the locale code `__libc_malloc`.
 * ralloc-wasm serves each as the function it names.
 */
export const EMSCRIPTEN_MALLOC_ALIASES: Readonly<Record<string, string>> = {
  emscripten_builtin_malloc: "malloc", emscripten_builtin_free: "free", emscripten_builtin_memalign: "memalign",
  __libc_malloc: "malloc", __libc_free: "free", __libc_calloc: "calloc", __libc_realloc: "realloc",
};

/** The program with its `env` imports of {@link EMSCRIPTEN_MALLOC_ALIASES} renamed to the functions they name. O(module). */
function withoutAliases(bytes: Uint8Array, label: string): Uint8Array {
  return renameImports(bytes, (i) => i.module === "env" && i.kind === "function" && Object.hasOwn(EMSCRIPTEN_MALLOC_ALIASES, i.name)
    ? { module: "env", name: EMSCRIPTEN_MALLOC_ALIASES[i.name]! } : undefined, label);
}

/**
 * `linkStatic` for an Emscripten program (Node only): the program's
 * {@link EMSCRIPTEN_MALLOC_ALIASES} are first renamed to the functions they
 * name, so that the merged module imports none of its malloc family. Its glue
 * then loads it as it is, or through the pre-js (needed with
 * `-sALLOW_MEMORY_GROWTH`, and for `Module._malloc`). Unlike `linkStatic`, it
 * keeps the program's memory import by default (`importMemory: true`): the
 * glue makes the memory.
 *
 * @example
 * writeFileSync("prog.wasm", await linkEmscripten(readFileSync("prog.wasm"), { build: "release" }));
 */
export async function linkEmscripten(wasm: WasmBytes, options: LinkOptions = {}): Promise<Uint8Array> {
  // The glue makes the memory and passes it in (-sIMPORTED_MEMORY): the merged module keeps
  // importing env.memory unless the caller says otherwise.
  return linkStatic(withoutAliases(toBytes(wasm, "linkEmscripten: wasm"), "linkEmscripten: the program"), { importMemory: true, ...options });
}

/** Options of {@link instantiateEmscripten}: `Module.ralloc` in a page or script using the pre-js. */
export interface EmscriptenOptions extends AllocatorChoice, Pick<ProgramOptions, "onOom" | "seed" | "logLevel" | "onLog" | "track"> {
  /**
   * Remakes Emscripten's `HEAP8` … `HEAPF64` views over the memory's current
   * buffer (the pre-js passes the glue's own function). When the memory can
   * grow, it is called whenever ralloc-wasm has grown it, before the glue's
   * JavaScript reads memory again: before each of the glue's imports runs and
   * after each export returns.
   */
  updateViews?: () => void;
}

/** What {@link instantiateEmscripten} gives back. */
export interface EmscriptenInstance {
  /** For Emscripten's `receiveInstance`: the program's exports, plus `malloc` and `free` when it has none of its own. */
  instance: { exports: WebAssembly.Exports };
  /** For Emscripten's `receiveInstance` too: the program's compiled module, which `-pthread` programs post to their workers. */
  module: WebAssembly.Module;
  /** The heap serving the program (`Module.rallocHeap` with the pre-js): stats, walk, heap map, leaks. */
  heap: Heap;
  /** The allocation tracker, with option `track`. */
  tracker: Tracker | undefined;
  /** malloc for JavaScript (`Module._malloc` with the pre-js), returning an unsigned address. */
  malloc: (size: number) => number;
  /** free for JavaScript (`Module._free` with the pre-js). */
  free: (ptr: number) => void;
}

/**
 * Instantiates an Emscripten program with ralloc-wasm as its malloc, from the
 * arguments of Emscripten's `Module.instantiateWasm(imports, receiveInstance)`:
 * the program's bytes and the glue's import object. The program must import its
 * memory (`-sIMPORTED_MEMORY`); the glue made it, and the heap begins at the
 * program's `__heap_base`. A module merged by `linkStatic` keeps the allocator it
 * carries. In a browser the build is fetched first ({@link loadBuild}).
 *
 * @example
 * // what bindings/emscripten/pre.js does
 * Module.instantiateWasm = (imports, receiveInstance) => {
 *   instantiateEmscripten(wasmBytes, imports, { build: "debug" }).then((r) => receiveInstance(r.instance));
 *   return {};
 * };
 *
 * @throws RallocError `E_MEMORY_NOT_IMPORTED` for a program built without
 * `-sIMPORTED_MEMORY`, `E_BAD_OPTION` for one that does not export
 * `__heap_base` or imports without its memory, and what {@link instantiateProgram} throws.
 */
export async function instantiateEmscripten(wasm: WasmBytes, imports: ImportObject, options: EmscriptenOptions = {}): Promise<EmscriptenInstance> {
  const label = "instantiateEmscripten: the program";
  const bytes = withoutAliases(toBytes(wasm, "instantiateEmscripten: wasm"), label);
  const info = readModuleInfo(bytes, label);
  const memImport = info.imports.find((i) => i.kind === "memory");
  if (info.definedMemories.length > 0 || memImport === undefined) {
    throw new RallocError("E_MEMORY_NOT_IMPORTED",
      `${label} defines its own memory; build it with emcc -sIMPORTED_MEMORY so that the glue makes the memory and ralloc-wasm shares it`);
  }
  const memory = imports[memImport.module]?.[memImport.name];
  if (!(memory instanceof WebAssembly.Memory)) {
    throw new RallocError("E_BAD_OPTION", `instantiateEmscripten: imports.${memImport.module}.${memImport.name} must be the glue's WebAssembly.Memory`);
  }
  if (!info.exports.some((e) => e.name === "__heap_base" && e.kind === "global")) {
    throw new RallocError("E_BAD_OPTION",
      `${label} does not export __heap_base, so ralloc-wasm cannot tell where its data and stack end; build it with emcc -Wl,--export=__heap_base`);
  }
  const linked = info.customSections.includes(LINKED_SECTION);
  if (!linked && options.allocator === undefined) await loadBuild(options.build ?? "release");

  const limits = memImport.limits;
  const growable = limits?.max === undefined || limits.max > limits.min;
  const fresh = options.updateViews !== undefined && growable ? viewKeeper(memory, options.updateViews) : undefined;
  const program = await instantiateProgram(bytes, {
    ...(linked ? {} : { build: options.build, allocator: options.allocator }),
    memory, imports: glueImports(imports, info.imports, fresh),
    onOom: options.onOom, seed: options.seed, logLevel: options.logLevel, onLog: options.onLog, track: options.track,
  });
  const { Module } = program;
  const exports: Record<string, WebAssembly.ExportValue> = { ...Module.wasmExports };
  exports["malloc"] ??= Module._malloc as unknown as WebAssembly.ExportValue;
  exports["free"] ??= Module._free as unknown as WebAssembly.ExportValue;
  return {
    instance: { exports: fresh ? keepingViews(exports, fresh, "after") : exports },
    module: program.module,
    heap: program.heap,
    tracker: program.tracker,
    malloc: fresh ? keepingViews({ f: Module._malloc }, fresh, "after")["f"] as (size: number) => number : Module._malloc,
    free: Module._free,
  };
}

/**
 * The glue's imports for the program, without its stubs for the malloc family
 * (with `-sMALLOC=none` they abort: ralloc-wasm serves those names), its
 * functions wrapped to remake the views first when `fresh` is given. O(imports).
 */
function glueImports(imports: ImportObject, wanted: readonly { module: string; name: string; kind: string }[], fresh: (() => void) | undefined): ImportObject {
  const out: ImportObject = {};
  for (const imp of wanted) {
    const value = imports[imp.module]?.[imp.name];
    if (value === undefined || (imp.kind === "function" && imp.module === "env" && MALLOC_FAMILY.includes(imp.name))) continue;
    (out[imp.module] ??= {})[imp.name] = typeof value === "function" && fresh
      ? keepingViews({ f: value }, fresh, "before")["f"]! as WebAssembly.ImportValue : value;
  }
  return out;
}

/** A check that calls updateViews once after memory's buffer changed (it grew). O(1) per call. */
function viewKeeper(memory: WebAssembly.Memory, updateViews: () => void): () => void {
  let seen = memory.buffer;
  return () => {
    if (memory.buffer !== seen) {
      seen = memory.buffer;
      updateViews();
    }
  };
}

/** The functions among `values` wrapped to run `fresh` before the call or after it returns (or throws); other values as they are. O(values). */
function keepingViews(values: Record<string, unknown>, fresh: () => void, when: "before" | "after"): Record<string, WebAssembly.ExportValue> {
  const out: Record<string, WebAssembly.ExportValue> = {};
  for (const [name, value] of Object.entries(values)) {
    if (typeof value !== "function") {
      out[name] = value as WebAssembly.ExportValue;
      continue;
    }
    const f = value as (...args: unknown[]) => unknown;
    out[name] = (when === "before"
      ? (...args: unknown[]) => { fresh(); return f(...args); }
      : (...args: unknown[]) => { try { return f(...args); } finally { fresh(); } }) as unknown as WebAssembly.ExportValue;
  }
  return out;
}
