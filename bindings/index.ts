/**
 * ralloc-wasm's JavaScript bindings.
 *
 * - {@link createHeap}: a {@link Heap} over a `WebAssembly.Memory`, driven from JavaScript.
 * - {@link instantiateProgram}: a C program compiled to wasm, with ralloc-wasm as its malloc.
 * - {@link linkStatic}: a C program and ralloc-wasm merged into one optimized module.
 * - {@link compileC}: the README's @yowasp/clang recipes as a function.
 *
 * @module
 */

export { createHeap, Heap, LocalHeap, MemoryViews, decodeStats, DEFAULT_HEAP_BASE, MIN_HEAP_BASE, STATS_SCRATCH, MAX_PAGES } from "./heap.js";
export type { HeapOptions, HeapStats, AllocatorExports } from "./heap.js";
export { instantiateProgram, runProgram, EmscriptenModule } from "./program.js";
export type { ProgramOptions, ProgramInstance, RunOptions, RunResult, ImportObject, ValueTypeName, CArgType, CReturnType } from "./program.js";
export { linkStatic, MALLOC_FAMILY, LINKED_SECTION } from "./link.js";
export type { LinkOptions, OptimizeLevel } from "./link.js";
export { compileC, modeFlags, C_DIR } from "./clang.js";
export type { CompileOptions, CompileResult, MallocMode } from "./clang.js";
export { BUILD_NAMES, buildPath, readBuild } from "./builds.js";
export type { BuildName, WasmBytes, AllocatorChoice } from "./builds.js";
export { RallocError } from "./errors.js";
export type { RallocErrorCode } from "./errors.js";
