/**
 * `linkStatic`: merges a C program and the allocator into one optimized module.
 *
 * How it works:
 * 1. The program's allocator imports -- from module `ralloc` (what
 *    `bindings/c/ralloc_import.c` gives) or from `env` (plain
 *    `-Wl,--allow-undefined`) -- are renamed to module `ralloc`.
 * 2. The program exports its memory, and the allocator's memory import is renamed
 *    to that export, so after merging both use one memory. By default the program's
 *    memory import becomes a memory it defines, with the program's limits (at least
 *    what the allocator needs to start), so the result runs in a plain WASI host;
 *    with `importMemory` it stays the program's import (`env.memory`).
 * 3. binaryen's `wasm-merge` (npm `binaryen`) fuses the modules: every import of
 *    `ralloc` becomes a direct call into the allocator.
 * 4. Heap base: when the program exports `__heap_base` (`-Wl,--export=__heap_base`)
 *    a start function calls `ralloc_init(__heap_base)` before the program's own
 *    start function, so the heap begins right after the program's data and stack.
 *    (Programs built with ralloc_import.c also do this from a constructor.)
 * 5. binaryen's optimizer (`wasm-opt -O3` by default) inlines the allocator's fast
 *    paths into the program.
 *
 * @module
 */

import { allocatorBytes, toBytes, type AllocatorChoice, type BuildName, type WasmBytes } from "./builds.js";
import { checkOptionNames, describe, optionNames } from "./checks.js";
import { ENOSYS, RallocError } from "./errors.js";
import { requireNode } from "./platform.js";
import {
  addExports, defineImportedMemory, findExport, formatFuncType, raiseMemoryImportMin, readModuleInfo, renameImports, sameFuncType,
  type FuncType, type ImportEntry, type Limits, type ModuleInfo, type ValueType,
} from "./wasm-binary.js";

/** Optimization levels: 0 skips the optimizer; `s` and `z` optimize for size like `wasm-opt -Os/-Oz`. */
export type OptimizeLevel = 0 | 1 | 2 | 3 | 4 | "s" | "z";

/** Options of {@link linkStatic}. */
export interface LinkOptions extends AllocatorChoice {
  /** Optimization after merging, as `wasm-opt -O<level>` (default 3). */
  optimize?: OptimizeLevel;
  /**
   * Keep the allocator's exports (malloc, free, ralloc_stats, ...) in the result,
   * so a host can call them (default true). Exports of the program always stay.
   */
  exportAllocator?: boolean;
  /** Keep the "name" section (function names) in the result (default false). */
  debugInfo?: boolean;
  /**
   * Keep importing the program's memory (`env.memory`), for a host that shares a memory it
   * made with the module (default false: the result defines its own memory, sized from the
   * program's, and exports it as `memory`, so any WASI host can run it alone).
   */
  importMemory?: boolean;
}

/** Every option of {@link linkStatic}, to refuse a misspelled one. */
const LINK_OPTIONS = optionNames<LinkOptions>({
  build: true, allocator: true, optimize: true, exportAllocator: true, debugInfo: true, importMemory: true,
});

/** The C malloc family: functions whose presence in a program means it has its own allocator. */
export const MALLOC_FAMILY: readonly string[] = [
  "malloc", "free", "calloc", "realloc", "aligned_alloc", "posix_memalign", "memalign", "malloc_usable_size",
];

/**
 * Name of the custom section linkStatic adds to its output, so that
 * instantiateProgram and `ralloc-wasm run` know the module carries its allocator.
 */
export const LINKED_SECTION = "ralloc-wasm.linked";

/** Internal module names used while merging. */
const PROGRAM = "__ralloc_program";
const ALLOCATOR = "ralloc";
const STUBS = "__ralloc_stubs";
/** Module of the WASI calls a program imports (the security build seeds its key from random_get). */
const WASI = "wasi_snapshot_preview1";
/** Extra export of the allocator's ralloc_init, so it can be found after merging. */
const INIT_EXPORT = "__ralloc_init_for_start";

/** Features the merged module may use besides those its inputs declare (all in Node 20). */
const BASE_FEATURE_FLAGS = [
  "--enable-sign-ext", "--enable-mutable-globals", "--enable-nontrapping-float-to-int",
  "--enable-bulk-memory", "--enable-bulk-memory-opt", "--enable-multivalue", "--enable-reference-types",
];

/** A message of linkStatic's: s, prefixed with its name. O(1). */
function what(s: string): string {
  return `linkStatic: ${s}`;
}

/** Finds the one memory the program imports, or explains what to recompile with. */
export function programMemoryImport(info: ModuleInfo, label: string): ImportEntry {
  const memImports = info.imports.filter((i) => i.kind === "memory");
  if (info.definedMemories.length > 0) {
    throw new RallocError("E_MEMORY_NOT_IMPORTED",
      `${label} defines its own memory; recompile it with -Wl,--import-memory so that it imports env.memory and shares it with ralloc-wasm`);
  }
  if (memImports.length === 0) {
    throw new RallocError("E_MEMORY_NOT_IMPORTED",
      `${label} has no memory; recompile it with -Wl,--import-memory so that it imports env.memory and shares it with ralloc-wasm`);
  }
  if (memImports.length > 1) {
    throw new RallocError("E_MEMORY_NOT_IMPORTED",
      `${label} imports ${memImports.length} memories; ralloc-wasm shares exactly one (env.memory) with a program`);
  }
  return memImports[0]!;
}

/**
 * Name of the malloc a program defines itself (from its exports or its name
 * section), or undefined. A program that imports its allocator also defines
 * wrappers named malloc (ralloc_import.c), so only call this when it imports none.
 */
export function ownMalloc(info: ModuleInfo): string | undefined {
  const names = new Set(info.functionNames.values());
  if (names.has("dlmalloc")) return "dlmalloc";
  const exported = info.exports.find((e) => e.kind === "function" && MALLOC_FAMILY.includes(e.name));
  if (exported) return exported.name;
  return ["malloc", "__libc_malloc"].find((n) => names.has(n));
}

/** Function signature of the allocator export `name`, if it exists. */
function exportType(info: ModuleInfo, name: string): FuncType | undefined {
  const e = findExport(info, name, "function");
  return e ? info.functionTypes[e.index] : undefined;
}

/** The imports of a program that an allocator serves, and what is missing. */
export interface AllocatorImportPlan {
  /** Imports served by the allocator (module `ralloc`, or `env` names the allocator exports). */
  served: ImportEntry[];
  /** `ralloc.ralloc_init` imported but not exported by a custom allocator: gets a stub. */
  initStub: boolean;
}

/**
 * Decides which program imports the allocator serves. Throws for `ralloc`
 * imports the allocator lacks and for signature mismatches, and for a program
 * that has its own malloc.
 */
export function planAllocatorImports(program: ModuleInfo, allocator: ModuleInfo, programLabel: string, allocatorLabel: string): AllocatorImportPlan {
  const provided = new Set(allocator.exports.filter((e) => e.kind === "function").map((e) => e.name));
  const served: ImportEntry[] = [];
  let initStub = false;
  for (const imp of program.imports) {
    if (imp.kind !== "function") continue;
    if (imp.module === "ralloc") {
      if (!provided.has(imp.name)) {
        if (imp.name === "ralloc_init") {
          initStub = true;
          continue;
        }
        throw new RallocError("E_MISSING_IMPORT",
          `${programLabel} imports ralloc.${imp.name}, which ${allocatorLabel} does not export`);
      }
      served.push(imp);
    } else if (imp.module === "env" && provided.has(imp.name)) {
      served.push(imp);
    }
  }
  for (const imp of served) {
    const want = exportType(allocator, imp.name);
    if (!sameFuncType(imp.type, want)) {
      throw new RallocError("E_SIGNATURE",
        `${programLabel} imports ${imp.module}.${imp.name} as ${formatFuncType(imp.type)}, but ${allocatorLabel} exports it as ${formatFuncType(want)}`);
    }
  }
  if (served.length === 0 && !initStub) {
    const own = ownMalloc(program);
    if (own !== undefined) {
      throw new RallocError("E_HAS_MALLOC",
        `${programLabel} already contains a malloc (it defines ${own}${own === "dlmalloc" ? ", wasi-libc's allocator" : ""}), so ralloc-wasm would not be used; ` +
        `compile bindings/c/ralloc_import.c into it, or link it with -nostdlib -Wl,--allow-undefined so that it imports malloc`);
    }
  }
  return { served, initStub };
}

/** The error for a missing binaryen, which ralloc-wasm lists as an optional peer. O(1). */
function needBinaryen(): RallocError {
  return new RallocError("E_TOOL",
    "linkStatic needs the npm package binaryen (an optional peer of ralloc-wasm, for wasm-merge and wasm-opt); install it with `npm install binaryen`");
}

/** Path of binaryen's wasm-merge command-line tool (npm `binaryen`). */
function wasmMergePath(): string {
  const { createRequire } = requireNode<typeof import("node:module")>("node:module", "linkStatic");
  try {
    return createRequire(import.meta.url).resolve("binaryen/bin/wasm-merge");
  } catch {
    throw needBinaryen();
  }
}

/** Runs wasm-merge with args; rejects with E_TOOL and its first error lines when it fails. */
function runWasmMerge(args: string[]): Promise<void> {
  const { execFile } = requireNode<typeof import("node:child_process")>("node:child_process", "linkStatic");
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [wasmMergePath(), ...args], { maxBuffer: 64 << 20 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const lines = String(stderr).split("\n").filter((l) => l.trim() !== "");
      const head = lines.filter((l) => /error|Fatal|invalid|unexpected/i.test(l)).slice(0, 8);
      reject(new RallocError("E_TOOL", `linkStatic: wasm-merge failed: ${(head.length ? head : lines.slice(0, 8)).join(" | ")}`));
    });
  });
}

type Binaryen = typeof import("binaryen").default;
let binaryenPromise: Promise<Binaryen> | undefined;

/** Loads binaryen.js once, or rejects with E_TOOL naming the package. */
async function loadBinaryen(): Promise<Binaryen> {
  binaryenPromise ??= import("binaryen").then((m) => m.default, () => {
    throw needBinaryen();
  });
  return binaryenPromise;
}

/** binaryen's type for a value type of ours; E_SIGNATURE for one a stub cannot take. O(1). */
function binaryenType(b: Binaryen, t: ValueType): number {
  switch (t) {
    case "i32": return b.i32;
    case "i64": return b.i64;
    case "f32": return b.f32;
    case "f64": return b.f64;
    case "v128": return b.v128;
    default: throw new RallocError("E_SIGNATURE", `linkStatic: cannot make a stub for a function with ${t} values`);
  }
}

/**
 * A stub function: returns `result`, or, with `record`, stores its arguments
 * in globals exported as `<name>:arg<i>` and traps (the report hook of a
 * statically linked guarded build: the bindings read the globals after the trap).
 */
interface Stub {
  name: string;
  type: FuncType;
  result: number;
  record?: boolean;
  /** Calls this import instead, answering 1 when it returns 0 (a WASI call's success). */
  forward?: { module: string; name: string };
}

/** Names of the exported globals where a recording stub keeps its arguments. */
function recordGlobals(stub: Stub): string[] {
  return stub.type.params.map((_, i) => `${stub.name}:arg${i}`);
}

/** A module exporting stub functions: no-op hooks, the report recorder and the ralloc_init stand-in. */
function makeStubs(b: Binaryen, stubs: Stub[]): Uint8Array {
  const m = new b.Module();
  try {
    for (const s of stubs) {
      const params = b.createType(s.type.params.map((t) => binaryenType(b, t)));
      if (s.type.results.length > 1) throw new RallocError("E_SIGNATURE", `linkStatic: cannot make a stub for ${s.name} with several results`);
      const rt = s.type.results[0];
      const results = rt === undefined ? b.none : binaryenType(b, rt);
      let body: number;
      if (s.forward) {
        const callee = `import:${s.forward.module}.${s.forward.name}`;
        m.addFunctionImport(callee, s.forward.module, s.forward.name, params, results);
        body = m.i32.eqz(m.call(callee, s.type.params.map((t, i) => m.local.get(i, binaryenType(b, t))), b.i32));
      } else if (s.record) {
        if (s.type.params.some((t) => t !== "i32")) throw new RallocError("E_SIGNATURE", `linkStatic: ${s.name} must take only i32 arguments`);
        const sets = recordGlobals(s).map((g, i) => {
          m.addGlobal(g, b.i32, true, m.i32.const(0));
          m.addGlobalExport(g, g);
          return m.global.set(g, m.local.get(i, b.i32));
        });
        body = m.block(null, [...sets, m.unreachable()], b.unreachable);
      } else if (rt === undefined) body = m.nop();
      else if (rt === "i32") body = m.i32.const(s.result);
      else if (rt === "i64") body = m.i64.const(s.result, 0);
      else if (rt === "f32") body = m.f32.const(s.result);
      else if (rt === "f64") body = m.f64.const(s.result);
      else body = m.unreachable();
      m.addFunction(s.name, params, results, [], body);
      m.addFunctionExport(s.name, s.name);
    }
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

/**
 * Merges a C program with ralloc-wasm (or with `options.allocator`) into one
 * optimized module in which the program's malloc family calls the allocator
 * directly. The result has exactly one memory, exported as `memory`: its own,
 * with the program's limits, or with `importMemory` the program's `env.memory`
 * import; no allocator imports are left.
 *
 * The program must import its memory (`-Wl,--import-memory`) and import its
 * allocator: compile `bindings/c/ralloc_import.c` into it (imports from module
 * `ralloc`), or link with `-nostdlib -Wl,--allow-undefined` (imports from `env`).
 * Export `__heap_base` (`-Wl,--export=__heap_base`) so that the heap starts right
 * after the program's data; otherwise it starts at the end of the initial memory
 * (ralloc_import.c programs set it themselves).
 *
 * @example
 * import { linkStatic } from "ralloc-wasm/link";
 * const merged = await linkStatic(readFileSync("prog.wasm"), { build: "release" });
 *
 * @throws RallocError `E_NOT_WASM`, `E_MEMORY_NOT_IMPORTED`, `E_HAS_MALLOC`,
 * `E_MISSING_IMPORT`, `E_SIGNATURE`, `E_BAD_OPTION`, `E_NO_BUILD`, `E_TOOL`.
 */
export async function linkStatic(program: WasmBytes, options: LinkOptions = {}): Promise<Uint8Array> {
  if (typeof options !== "object" || options === null) {
    throw new RallocError("E_BAD_OPTION", what(`options must be an object, got ${String(options)}`));
  }
  checkOptionNames(options, LINK_OPTIONS, "linkStatic");
  const optimize = options.optimize ?? 3;
  if (![0, 1, 2, 3, 4, "s", "z"].includes(optimize)) {
    throw new RallocError("E_BAD_OPTION", what(`option optimize must be 0, 1, 2, 3, 4, "s" or "z", got ${JSON.stringify(optimize)}`));
  }
  for (const flag of ["exportAllocator", "debugInfo", "importMemory"] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== "boolean") {
      throw new RallocError("E_BAD_OPTION", what(`option ${flag} must be true or false, got ${describe(options[flag])}`));
    }
  }
  const programBytes = toBytes(program, what("program"));
  const programLabel = "linkStatic: the program";
  const pinfo = readModuleInfo(programBytes, programLabel);
  const programMemory = programMemoryImport(pinfo, programLabel).limits!;

  const { bytes: allocBytes, label: allocLabel, build } = allocatorBytes(options, "linkStatic");
  const ainfo = readModuleInfo(allocBytes, `linkStatic: ${allocLabel}`);
  if (ainfo.definedMemories.length > 0 || ainfo.imports.filter((i) => i.kind === "memory").length !== 1) {
    throw new RallocError("E_MEMORY_NOT_IMPORTED", what(`${allocLabel} must import exactly one memory and define none (AssemblyScript: --importMemory)`));
  }
  checkDataOverlap(pinfo, ainfo, allocLabel);
  const memoryMin = agreedMemoryMin(programMemory, ainfo.imports.find((i) => i.kind === "memory")!.limits!, allocLabel);

  const plan = planAllocatorImports(pinfo, ainfo, programLabel, allocLabel);
  const servedKeys = new Set(plan.served.map((i) => `${i.module}\u0000${i.name}`));

  // 1-2: the program imports its allocator from `ralloc` and exports its memory.
  let memExport = pinfo.exports.find((e) => e.kind === "memory" && e.index === 0)?.name;
  let prog = renameImports(programBytes, (imp) => {
    if (imp.kind === "function" && servedKeys.has(`${imp.module}\u0000${imp.name}`)) return { module: ALLOCATOR, name: imp.name };
    if (plan.initStub && imp.kind === "function" && imp.module === "ralloc" && imp.name === "ralloc_init") return { module: STUBS, name: "ralloc_init" };
    return undefined;
  }, programLabel);
  if (memExport === undefined) {
    memExport = pinfo.exports.some((e) => e.name === "memory") ? "__ralloc_memory" : "memory";
    prog = addExports(prog, [{ name: memExport, kind: "memory", index: 0 }], programLabel);
  }
  // The merged module's memory is the program's: it must have what the allocator needs, and is
  // the module's own unless the host is to give it (importMemory).
  if (!options.importMemory) prog = defineImportedMemory(prog, memoryMin, programLabel);
  else if (memoryMin > programMemory.min) prog = raiseMemoryImportMin(prog, memoryMin, programLabel);

  // The allocator imports the program's memory; hooks come from the stub module. The report
  // hook of a guarded build records its arguments and traps: instantiateProgram turns the
  // trap into the exact E_MISUSE message. Events have no one to go to: they are dropped.
  const stubs: Stub[] = [];
  const isWasi = pinfo.imports.some((i) => i.module === WASI);
  let alloc = renameImports(allocBytes, (imp) => {
    if (imp.kind === "memory") return { module: PROGRAM, name: memExport! };
    if (imp.kind === "function" && imp.module === "ralloc_hooks") return { module: STUBS, name: `hook:${imp.name}` };
    return undefined;
  }, allocLabel);
  ainfo.imports.forEach((imp) => {
    if (imp.kind === "function" && imp.module === "ralloc_hooks") {
      const type = imp.type;
      if (!type) throw new RallocError("E_SIGNATURE", what(`cannot read the signature of ${allocLabel}'s import ralloc_hooks.${imp.name}`));
      // The security build seeds its key from the host's entropy hook: a WASI program's host
      // gives it random_get; anything else answers 0, and the program must call ralloc_seed.
      const forward = imp.name === "entropy" && isWasi ? { module: WASI, name: "random_get" } : undefined;
      stubs.push({ name: `hook:${imp.name}`, type, result: 0, record: imp.name === "report", forward });
    }
  });
  if (plan.initStub) stubs.push({ name: "ralloc_init", type: { params: ["i32"], results: ["i32"] }, result: ENOSYS });
  const initExport = findExport(ainfo, "ralloc_init", "function");
  const heapBaseExport = findExport(pinfo, "__heap_base", "global");
  const wantStart = initExport !== undefined && heapBaseExport !== undefined;
  if (wantStart) alloc = addExports(alloc, [{ name: INIT_EXPORT, kind: "function", index: initExport.index }], allocLabel);

  const { mkdtemp, readFile, rm, writeFile } = requireNode<typeof import("node:fs/promises")>("node:fs/promises", "linkStatic");
  const { tmpdir } = requireNode<typeof import("node:os")>("node:os", "linkStatic");
  const { join } = requireNode<typeof import("node:path")>("node:path", "linkStatic");
  const b = await loadBinaryen();
  const dir = await mkdtemp(join(tmpdir(), "ralloc-link-"));
  try {
    const files = { prog: join(dir, "program.wasm"), alloc: join(dir, "allocator.wasm"), stubs: join(dir, "stubs.wasm"), out: join(dir, "merged.wasm") };
    await writeFile(files.prog, prog);
    await writeFile(files.alloc, alloc);
    const args = [files.prog, PROGRAM, files.alloc, ALLOCATOR];
    if (stubs.length > 0) {
      await writeFile(files.stubs, makeStubs(b, stubs));
      args.push(files.stubs, STUBS);
    }
    args.push("-o", files.out, "--skip-export-conflicts", "--enable-multimemory", ...BASE_FEATURE_FLAGS);
    if (options.debugInfo) args.push("-g");
    await runWasmMerge(args);
    const merged = new Uint8Array(await readFile(files.out));
    const reportStub = stubs.find((x) => x.record);
    return finish(b, merged, pinfo, ainfo, {
      stubExports: stubs.map((x) => x.name), reportGlobals: reportStub ? recordGlobals(reportStub) : [], wantStart, optimize,
      exportAllocator: options.exportAllocator ?? true, debugInfo: options.debugInfo ?? false, programLabel, allocLabel, build,
      importMemory: options.importMemory ?? false,
    });
  } finally {
    if (!process.env["RALLOC_KEEP_LINK_DIR"]) await rm(dir, { recursive: true, force: true });
    else process.stderr.write(`linkStatic: kept ${dir}\n`);
  }
}

/**
 * The initial pages the merged module's memory must have: the larger of the two imports'
 * minimums. Throws E_BAD_OPTION when one memory is shared and the other not, or when the
 * maximums cannot agree: the allocator caps the memory below what the program may grow to,
 * or the program caps it below what the allocator needs to start. O(1).
 */
function agreedMemoryMin(program: Limits, allocator: Limits, allocLabel: string): number {
  if (program.shared !== allocator.shared) {
    throw new RallocError("E_BAD_OPTION", what(`${allocLabel} imports a ${allocator.shared ? "shared" : "non-shared"} memory, ` +
      `but the program's is ${program.shared ? "shared" : "not shared"}; build both with the same memory (shared for threads, or not)`));
  }
  if (allocator.max !== undefined && (program.max === undefined || program.max > allocator.max)) {
    throw new RallocError("E_BAD_OPTION", what(`${allocLabel} accepts a memory of at most ${allocator.max} pages, ` +
      `but the program's memory may grow to ${program.max === undefined ? "4 GiB (it declares no maximum)" : `${program.max} pages`}; ` +
      "build the allocator without a maximum memory (AssemblyScript: no --maximumMemory)"));
  }
  if (program.max !== undefined && program.max < allocator.min) {
    throw new RallocError("E_BAD_OPTION", what(`${allocLabel} needs at least ${allocator.min} pages of memory, ` +
      `but the program caps its memory at ${program.max} pages; link the program with a larger -Wl,--max-memory`));
  }
  return Math.max(program.min, allocator.min);
}

/** Active data of the allocator must not land on the program's data. */
function checkDataOverlap(pinfo: ModuleInfo, ainfo: ModuleInfo, allocLabel: string): void {
  for (const a of ainfo.activeData) {
    if (a.length === 0) continue;
    for (const p of pinfo.activeData) {
      if (a.offset === undefined || p.offset === undefined) continue;
      if (a.offset < p.offset + p.length && p.offset < a.offset + a.length) {
        throw new RallocError("E_BAD_OPTION",
          what(`${allocLabel} writes data at [${a.offset}, ${a.offset + a.length}), over the program's data at [${p.offset}, ${p.offset + p.length}); ` +
            `an allocator merged into a program must have no active data segments`));
      }
    }
  }
}

interface FinishOptions {
  /** Exports of the stub module, which must not show in the result. */
  stubExports: string[];
  /** Exported globals of the report recorder: kept through optimization, then unexported and listed in the custom section. */
  reportGlobals: string[];
  /** The build merged in (undefined for a custom allocator). */
  build: BuildName | undefined;
  wantStart: boolean;
  optimize: OptimizeLevel;
  exportAllocator: boolean;
  debugInfo: boolean;
  /** Whether the memory stays an import (else the result defines it). */
  importMemory: boolean;
  programLabel: string;
  allocLabel: string;
}

/** Adds the heap-base start function, trims exports, optimizes and checks the result. */
function finish(b: Binaryen, merged: Uint8Array, pinfo: ModuleInfo, ainfo: ModuleInfo, o: FinishOptions): Uint8Array {
  const startIndex = readModuleInfo(merged, "linkStatic: merged module").start;
  const m = b.readBinary(merged);
  const savedLevels = [b.getOptimizeLevel(), b.getShrinkLevel(), b.getDebugInfo()] as const;
  try {
    // BulkMemoryOpt (memory.copy/fill) is missing from binaryen.js's typings.
    const BULK_MEMORY_OPT = (b.Features as unknown as Record<string, number>)["BulkMemoryOpt"] ?? 0;
    m.setFeatures((m.getFeatures() | b.Features.MutableGlobals | b.Features.SignExt | b.Features.BulkMemory |
      BULK_MEMORY_OPT | b.Features.NontrappingFPToInt | b.Features.Multivalue | b.Features.ReferenceTypes) & ~b.Features.MultiMemory);
    if (o.wantStart) {
      const init = b.getExportInfo(m.getExport(INIT_EXPORT)).value;
      const heapBase = b.getExportInfo(m.getExport("__heap_base")).value;
      const body = [m.drop(m.call(init, [m.global.get(heapBase, b.i32)], b.i32))];
      if (startIndex !== undefined) {
        const old = b.getFunctionInfo(m.getFunctionByIndex(startIndex)).name;
        body.push(m.call(old, [], b.none));
      }
      const start = m.addFunction("__ralloc_start", b.none, b.none, [], m.block(null, body, b.none));
      m.setStart(start);
      m.removeExport(INIT_EXPORT);
    }
    const programExports = new Set(pinfo.exports.map((e) => e.name));
    for (const name of o.stubExports) if (!programExports.has(name)) m.removeExport(name);
    if (!o.exportAllocator) {
      for (const e of ainfo.exports) if (!programExports.has(e.name)) m.removeExport(e.name);
    }
    if (!m.validate()) throw new RallocError("E_TOOL", "linkStatic: the merged module does not validate (see the messages above)");
    b.setDebugInfo(o.debugInfo);
    if (o.optimize !== 0) {
      const [level, shrink] = o.optimize === "s" ? [2, 1] : o.optimize === "z" ? [2, 2] : [o.optimize, 0];
      b.setOptimizeLevel(level);
      b.setShrinkLevel(shrink);
      m.optimize();
    }
    const report = reportGlobalIndices(b, m, o.reportGlobals);
    const note: LinkedNote = { allocator: o.allocLabel };
    if (o.build !== undefined) note.build = o.build;
    if (report !== undefined) note.report = report;
    m.addCustomSection(LINKED_SECTION, new TextEncoder().encode(JSON.stringify(note)));
    const out = m.emitBinary();
    checkLinked(out, o.programLabel, o.importMemory);
    if (report !== undefined) checkReportGlobals(out, report, o.programLabel);
    return out;
  } finally {
    b.setOptimizeLevel(savedLevels[0]);
    b.setShrinkLevel(savedLevels[1]);
    b.setDebugInfo(savedLevels[2]);
    m.dispose();
  }
}

/** What linkStatic's custom section ({@link LINKED_SECTION}) says about a linked module (JSON). */
export interface LinkedNote {
  /** Label of the allocator merged in. */
  allocator: string;
  /** The build merged in, when it was one of ralloc-wasm's. */
  build?: BuildName;
  /**
   * Indices of the (unexported) mutable i32 globals where the report hook keeps
   * its arguments (code, op, addr, size, aux) before trapping: code is 0 until
   * a misuse is found.
   */
  report?: number[];
}

/** Reads a linked module's {@link LinkedNote}; undefined when the module was not made by linkStatic. */
export function readLinkedNote(mod: WebAssembly.Module): LinkedNote | undefined {
  const sections = WebAssembly.Module.customSections(mod, LINKED_SECTION);
  if (sections.length === 0) return undefined;
  try {
    const note = JSON.parse(new TextDecoder().decode(sections[0]!)) as LinkedNote;
    return typeof note === "object" && note !== null ? note : { allocator: "the allocator linked into the program" };
  } catch {
    return { allocator: "the allocator linked into the program" };
  }
}

/**
 * Unexports the report recorder's globals and returns their indices in the
 * binary (imported globals first, then defined ones, in module order, as
 * binaryen writes them); undefined when there is no recorder.
 */
function reportGlobalIndices(b: Binaryen, m: InstanceType<Binaryen["Module"]>, names: string[]): number[] | undefined {
  if (names.length === 0) return undefined;
  const internal = names.map((n) => b.getExportInfo(m.getExport(n)).value);
  for (const n of names) m.removeExport(n);
  const imported: string[] = [];
  const defined: string[] = [];
  for (let i = 0; i < m.getNumGlobals(); i++) {
    const info = b.getGlobalInfo(m.getGlobalByIndex(i));
    (info.module ? imported : defined).push(info.name);
  }
  const order = [...imported, ...defined];
  return internal.map((n) => {
    const i = order.indexOf(n);
    if (i < 0) throw new RallocError("E_TOOL", `linkStatic: the report hook's global ${n} vanished while optimizing`);
    return i;
  });
}

/** The recorded globals must be defined i32 globals starting at 0 (a wrong index would misreport every misuse). */
function checkReportGlobals(out: Uint8Array, report: number[], programLabel: string): void {
  const info = readModuleInfo(out, "linkStatic: result");
  const imported = info.imports.filter((i) => i.kind === "global").length;
  for (const i of report) {
    if (i < imported || info.globalInitI32[i] !== 0) {
      throw new RallocError("E_TOOL", `linkStatic: could not locate the report hook's globals after merging ${programLabel} (global ${i})`);
    }
  }
}

/** The result must have one memory, imported or its own as asked, and import nothing from the allocator. */
function checkLinked(out: Uint8Array, programLabel: string, importMemory: boolean): void {
  const info = readModuleInfo(out, "linkStatic: result");
  const left = info.imports.filter((i) => i.module === ALLOCATOR || i.module === PROGRAM || i.module === STUBS || i.module === "ralloc_hooks");
  if (left.length > 0) {
    throw new RallocError("E_TOOL", `linkStatic: imports left unresolved after merging ${programLabel}: ${left.map((i) => `${i.module}.${i.name}`).join(", ")}`);
  }
  const imported = info.imports.filter((i) => i.kind === "memory").length;
  const mems = imported + info.definedMemories.length;
  if (mems !== 1) throw new RallocError("E_TOOL", `linkStatic: the result has ${mems} memories instead of one`);
  if ((imported === 1) !== importMemory) {
    throw new RallocError("E_TOOL", `linkStatic: the result's memory is ${imported ? "imported" : "its own"}, though ${importMemory ? "importMemory asked to keep the import" : "it was to define it"}`);
  }
}
