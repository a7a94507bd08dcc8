/**
 * ralloc-wasm's JavaScript bindings.
 *
 * - {@link createHeap}: a {@link Heap} over a `WebAssembly.Memory`, driven from JavaScript.
 * - {@link instantiateProgram}: a C program compiled to wasm, with ralloc-wasm as its malloc.
 * - {@link linkStatic}: a C program and ralloc-wasm merged into one optimized module.
 * - {@link compileC}: docs/C-PROGRAMS.md's @yowasp/clang recipes as a function.
 * - {@link instantiateEmscripten}: an `emcc -sMALLOC=none` program on ralloc-wasm (docs/EMSCRIPTEN.md).
 * - {@link runThreads}: N workers on one heap of the `threads` build (docs/THREADS.md).
 * - Debug tools: exact misuse messages (`E_MISUSE`), log lines and events
 *   ({@link Heap.onEvent}), leak checks ({@link Heap.assertNoLeak}), the heap
 *   walk ({@link walkHeap}) and heap map ({@link drawHeapMap}).
 *
 * This entry loads in a browser page as it does in Node: nothing here imports a
 * Node module when it loads. What needs Node (reading builds from disk, WASI,
 * `runProgram`, `compileC`, `linkStatic`) reaches it when called, and says so
 * elsewhere; in a page, `await loadBuild(name)` before `createHeap({ build: name })`.
 *
 * @module
 */

export { createHeap, DEFAULT_HEAP_BASE, DEFAULT_THREAD_MAX_PAGES } from "./wiring.js";
export type { HeapOptions, HeapWiring, HookUse, AllocatorExports } from "./wiring.js";
export { Heap } from "./heap.js";
export { LocalHeap } from "./local-heap.js";
export { MemoryViews } from "./views.js";
export { decodeStats, MIN_HEAP_BASE, STATS_SCRATCH } from "./stats.js";
export type { HeapStats } from "./stats.js";
export { MAX_PAGES } from "./checks.js";
export { ERRNO, CHECK, OP, INFO, STATS, LAYOUT } from "./abi.js";
export { reportMessage, leakMessage, leakLine, opName, checkName, hex8, REPORT, OP_NAMES, CHECK_NAMES } from "./messages.js";
export type { LeakedBlock } from "./messages.js";
export { decodeEvent, eventText, eventFocus, eventLine, errorLine, poolPicture, readPool, EVENT, POOL_SIDE } from "./log.js";
export type {
  RallocEvent, AllocEvent, FreeEvent, ReallocEvent, DeallocEvent, GrowEvent, FlushEvent, OomEvent, TrimEvent, UnknownEvent, LogLevel, PoolBlock,
} from "./log.js";
export { walkHeap, spans, decodeLayout, isLive, BLOCK_FREE, BLOCK_CACHED, BLOCK_LEAD_DEAD, BLOCK_OBJECT, BLOCK_PAGE, BLOCK_TABLE } from "./walk.js";
export type { BlockRecord, BlockState, BlockKind, SpanRecord, HeapLayout } from "./walk.js";
export { Tracker, callerStack } from "./tracker.js";
export type { TrackedBlock, TrackerOptions, TrackerEvent, TrackerSource } from "./tracker.js";
export { drawHeapMap, heapFigures, MAP_KINDS, KIND_LABELS, KIND_COLORS } from "./heapmap.js";
export type { HeapMapInput, HeapMapOptions, HeapFigures, MapKind, MapBlock } from "./heapmap.js";
export { instantiateProgram, runProgram, EmscriptenModule } from "./program.js";
export type { ProgramOptions, ProgramInstance, RunOptions, RunResult, ImportObject, ValueTypeName, CArgType, CReturnType } from "./program.js";
export { linkStatic, readLinkedNote, MALLOC_FAMILY, LINKED_SECTION } from "./link.js";
export type { LinkOptions, LinkedNote, OptimizeLevel } from "./link.js";
export { compileC, modeFlags, C_DIR, THREADS_MAX_MEMORY } from "./clang.js";
export type { CompileOptions, CompileResult, MallocMode } from "./clang.js";
export { BUILD_NAMES, C_ONLY_BUILD_NAMES, THREAD_BUILD_NAMES, ALL_BUILD_NAMES, GUARDED_BUILDS, buildPath, readBuild } from "./builds.js";
export type { BuildName, WasmBytes, AllocatorChoice } from "./builds.js";
export { loadBuild, buildUrl } from "./builds.js";
export type { LoadBuildOptions } from "./builds.js";
export { instantiateEmscripten, linkEmscripten, EMSCRIPTEN_MALLOC_ALIASES } from "./emscripten.js";
export type { EmscriptenOptions, EmscriptenInstance } from "./emscripten.js";
export { runThreads } from "./threads.js";
export type { ThreadsOptions, ThreadsResult, ThreadContext } from "./threads.js";
export { HeapLock } from "./heap-lock.js";
export type { SharedHeapOptions } from "./heap-lock.js";
export { RallocError } from "./errors.js";
export type { RallocErrorCode, MisuseReport, LeakedBlockInfo } from "./errors.js";
