/**
 * `runThreads`: N workers (Node's worker_threads) on one heap of the `threads`
 * build. Each worker makes its own Heap over the shared memory (its own
 * allocator instance: its own thread heap), runs a function or a C program's
 * export, hands its heap back (`threadExit`) and returns what it ran returned.
 * docs/THREADS.md.
 *
 * @module
 */

import { toBytes, type WasmBytes } from "./builds.js";
import { checkOptionNames, describe, isIntIn, optionNames } from "./checks.js";
import { RallocError } from "./errors.js";
import type { Heap } from "./heap.js";
import type { SharedHeapOptions } from "./heap-lock.js";
import type { ProgramInstance } from "./program.js";
import { requireNode } from "./platform.js";
import { programMemoryImport } from "./link.js";
import { exportedHeapBase } from "./program.js";
import { MIN_HEAP_BASE } from "./stats.js";
import { readModuleInfo } from "./wasm-binary.js";
import { createHeap, DEFAULT_THREAD_MAX_PAGES } from "./wiring.js";

/** Options of {@link runThreads}; `D` is the type of `data`. */
export interface ThreadsOptions<D = unknown> {
  /** Workers to start, 1 to 256. */
  threads: number;
  /** The heap to share (`heap.threadOptions()` of a `threads` Heap). Default: a new one. */
  heap?: SharedHeapOptions;
  /** Maximum pages of the new heap's shared memory (without option heap). */
  maximumPages?: number;
  /**
   * The function each worker runs, with its {@link ThreadContext}; it may be
   * async. Its source text is sent to the workers, so it must not use variables
   * from around it (pass them in `data`). Give either `run` or `program`.
   */
  run?: (ctx: ThreadContext<D>) => unknown;
  /**
   * A C program (wasm bytes) each worker instantiates on the shared heap
   * (`instantiateProgram` with the `threads` build), then calls its export
   * `export` with `args` (and the worker's index appended when `passIndex`).
   * Built with `-matomics -mbulk-memory`, a shared imported memory and
   * `__heap_base` exported (docs/THREADS.md has the flags); when it exports
   * `__stack_pointer` and `__wasm_init_tls`, each worker gets a stack and a TLS
   * block of its own from the heap.
   */
  program?: WasmBytes;
  /** The program's export each worker calls. */
  export?: string;
  /** Numbers the export is called with. */
  args?: number[];
  /** Append the worker's index (0 .. threads - 1) to args. */
  passIndex?: boolean;
  /** Bytes of each worker's C stack (default 65536). */
  stackSize?: number;
  /** Given to every worker as ctx.data (structured clone: SharedArrayBuffers are shared). */
  data?: D;
  /**
   * The global out-of-memory handler: its source is sent, and every worker's
   * Heap gets it as onOom (a worker may set its own with setThreadOomHandler).
   */
  onOom?: (size: number) => boolean | void;
  /** Leave each worker's heap as it is at the end, rather than calling threadExit (default false). */
  keepHeaps?: boolean;
}

/** What each worker's function gets; `D` is the type of `data`. */
export interface ThreadContext<D = unknown> {
  /** This worker's Heap over the shared memory (the `threads` build). */
  heap: Heap;
  /** This worker's index, 0 .. threads - 1. */
  index: number;
  /** How many workers run. */
  threads: number;
  /** options.data, cloned. */
  data: D;
  /** The program, when options.program was given. */
  program: ProgramInstance | undefined;
  /** ralloc-wasm's bindings, as the worker loaded them. */
  bindings: typeof import("./index.js");
}

/** What {@link runThreads} resolves to. */
export interface ThreadsResult {
  /** What each worker returned, by index (structured clones). */
  results: unknown[];
  /** A Heap of this thread over the shared memory (it has not allocated). */
  heap: Heap;
  /**
   * When each worker's function or export began and ended, by index, in milliseconds
   * comparable across workers (performance.timeOrigin + performance.now()): what a
   * benchmark divides by, without the workers' start-up.
   */
  timings: { start: number; end: number }[];
}

/** Every option of {@link runThreads}, to refuse a misspelled one. */
const THREADS_OPTIONS = optionNames<ThreadsOptions<unknown>>({
  threads: true, heap: true, maximumPages: true, run: true, program: true, export: true, args: true, passIndex: true,
  stackSize: true, data: true, onOom: true, keepHeaps: true,
});

/** What the worker script gets as workerData. */
export interface ThreadWork {
  index: number;
  threads: number;
  heap: SharedHeapOptions;
  run?: string;
  program?: Uint8Array;
  export?: string;
  args: number[];
  passIndex: boolean;
  stackSize: number;
  data: unknown;
  onOom?: string;
  keepHeaps: boolean;
}

/**
 * Starts `options.threads` workers on one heap of the `threads` build and runs
 * `options.run` (or a C program's export) in each. Resolves when all are done,
 * with what each returned; rejects with the first worker's error. Node only.
 *
 * @example
 * const { results } = await runThreads({ threads: 4, run: ({ heap, index }) => {
 *   const p = heap.malloc(100 * (index + 1));
 *   heap.free(p);
 *   return heap.check();
 * } });
 * // results: [0, 0, 0, 0]
 *
 * @throws RallocError `E_BAD_OPTION` for bad options, `E_UNSUPPORTED` outside Node.
 */
export async function runThreads<D = unknown>(options: ThreadsOptions<D>): Promise<ThreadsResult> {
  if (typeof options !== "object" || options === null) {
    throw new RallocError("E_BAD_OPTION", `runThreads: options must be an object, got ${describe(options)}`);
  }
  checkOptionNames(options, THREADS_OPTIONS, "runThreads");
  const { threads } = options;
  if (!isIntIn(threads, 1, 256)) throw new RallocError("E_BAD_OPTION", `runThreads: option threads must be an integer from 1 to 256, got ${describe(threads)}`);
  if ((options.run === undefined) === (options.program === undefined)) {
    throw new RallocError("E_BAD_OPTION", "runThreads: give option run (a function) or option program (with export), not both");
  }
  if (options.run !== undefined && typeof options.run !== "function") {
    throw new RallocError("E_BAD_OPTION", `runThreads: option run must be a function, got ${describe(options.run)}`);
  }
  if (options.program !== undefined && typeof options.export !== "string") {
    throw new RallocError("E_BAD_OPTION", "runThreads: option program needs option export, the name of the function each worker calls");
  }
  if (options.onOom !== undefined && typeof options.onOom !== "function") {
    throw new RallocError("E_BAD_OPTION", `runThreads: option onOom must be a function, got ${describe(options.onOom)}`);
  }
  const args = options.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === "number")) {
    throw new RallocError("E_BAD_OPTION", "runThreads: option args must be an array of numbers");
  }
  const stackSize = options.stackSize ?? 65536;
  if (!isIntIn(stackSize, 16, 0x10000000)) throw new RallocError("E_BAD_OPTION", `runThreads: option stackSize must be an integer from 16 to 268435456, got ${describe(stackSize)}`);
  const { Worker } = requireNode<typeof import("node:worker_threads")>("node:worker_threads", "runThreads");
  const program = options.program === undefined ? undefined : toBytes(options.program, "runThreads: option program");
  const shared = options.heap ?? (program ? programHeap(program, options.maximumPages) : createHeap({ build: "threads",
    ...(options.maximumPages === undefined ? {} : { maximumPages: options.maximumPages }) }).threadOptions());
  if (program) checkProgramHeap(program, shared);
  const heap = createHeap(shared);
  const script = new URL("./thread-worker.js", import.meta.url);
  const runs: Promise<unknown>[] = [];
  const timings: { start: number; end: number }[] = [];
  for (let index = 0; index < threads; index++) {
    const work: ThreadWork = {
      index, threads, heap: shared, args, passIndex: options.passIndex === true, stackSize, data: options.data,
      keepHeaps: options.keepHeaps === true,
      ...(options.run ? { run: options.run.toString() } : {}),
      ...(program ? { program, export: options.export! } : {}),
      ...(options.onOom ? { onOom: options.onOom.toString() } : {}),
    };
    runs.push(new Promise((resolve, reject) => {
      const worker = new Worker(script, { workerData: work });
      let settled = false;
      worker.once("message", (m: { ok: boolean; value?: unknown; start?: number; end?: number; error?: { message: string; code?: string; stack?: string } }) => {
        settled = true;
        timings[index] = { start: m.start ?? 0, end: m.end ?? 0 };
        if (m.ok) resolve(m.value);
        else reject(workerError(index, m.error!));
      });
      worker.once("error", (e) => {
        settled = true;
        reject(e);
      });
      worker.once("exit", (code) => {
        if (!settled) reject(new RallocError("E_BAD_OPTION", `runThreads: worker ${index} exited (code ${code}) without a result`));
      });
    }));
  }
  const results = await Promise.all(runs);
  return { results, heap, timings };
}

/** The label runThreads gives a program in messages. */
const PROGRAM = "runThreads: option program";

/** A shared memory for a C program, sized as it declares, whose heap begins at its __heap_base. O(module). */
function programHeap(program: Uint8Array, maximumPages: number | undefined): SharedHeapOptions {
  const info = readModuleInfo(program, PROGRAM);
  const limits = programMemoryImport(info, PROGRAM).limits;
  const heapBase = exportedHeapBase(info);
  if (!limits?.shared || heapBase === undefined) {
    throw new RallocError("E_BAD_OPTION", `${PROGRAM} must import a shared memory and export __heap_base (compileC's mode "threads"; docs/THREADS.md)`);
  }
  const maximum = maximumPages ?? limits.max ?? DEFAULT_THREAD_MAX_PAGES;
  const descriptor = { initial: limits.min, maximum, shared: true };
  return { build: "threads", memory: new WebAssembly.Memory(descriptor), heapBase };
}

/** Throws unless the heap to share begins where the program's allocator will look: its __heap_base. */
function checkProgramHeap(program: Uint8Array, shared: SharedHeapOptions): void {
  const heapBase = exportedHeapBase(readModuleInfo(program, PROGRAM));
  if (heapBase !== undefined && Math.max(heapBase, MIN_HEAP_BASE) !== shared.heapBase) {
    throw new RallocError("E_BAD_OPTION", `runThreads: option heap begins at ${shared.heapBase}, but the program's heap begins at its __heap_base, ${heapBase}`);
  }
}

/** A worker's error, rebuilt on this side: a RallocError when it was one. */
function workerError(index: number, e: { message: string; code?: string; stack?: string }): Error {
  const message = `runThreads: worker ${index}: ${e.message}`;
  const err = e.code ? new RallocError(e.code as ConstructorParameters<typeof RallocError>[0], message) : new Error(message);
  if (e.stack) err.stack = `${err.name}: ${message}\n${e.stack.split("\n").slice(1).join("\n")}`;
  return err;
}
