/**
 * The worker script of {@link runThreads} (never imported by the package's
 * entry): makes this worker's Heap over the shared memory, runs the function
 * or the C program's export it was sent, hands the heap back and posts the
 * result.
 *
 * @module
 */

import * as bindings from "./index.js";
import type { Heap } from "./heap.js";
import type { ProgramInstance } from "./program.js";
import { requireNode } from "./platform.js";
import type { ThreadContext, ThreadWork } from "./threads.js";

const { parentPort, workerData } = requireNode<typeof import("node:worker_threads")>("node:worker_threads", "the runThreads worker");
const work = workerData as ThreadWork;

/** Turns a function's source text back into the function (it was written without outer variables). */
function revive<T>(source: string): T {
  return (0, eval)(`(${source})`) as T;
}

/** Gives a C program's thread a stack and a TLS block of its own, from its heap; returns what to free. */
function threadBlocks(program: ProgramInstance, stackSize: number): number[] {
  const exp = program.instance.exports;
  const blocks: number[] = [];
  const sp = exp["__stack_pointer"];
  if (sp instanceof WebAssembly.Global) {
    const stack = program.heap.malloc(stackSize);
    if (!stack) throw new bindings.RallocError("E_BAD_OPTION", `no memory for a ${stackSize}-byte stack`);
    blocks.push(stack);
    sp.value = (stack + stackSize) & ~15;
  }
  const initTls = exp["__wasm_init_tls"];
  const tlsSize = exp["__tls_size"];
  if (typeof initTls === "function" && tlsSize instanceof WebAssembly.Global) {
    const align = exp["__tls_align"] instanceof WebAssembly.Global ? Math.max(16, (exp["__tls_align"] as WebAssembly.Global).value as number) : 16;
    const tls = program.heap.alloc(Math.max(tlsSize.value as number, 1), align);
    if (!tls) throw new bindings.RallocError("E_BAD_OPTION", "no memory for the thread's TLS block");
    blocks.push(tls);
    (initTls as (p: number) => void)(tls);
  }
  return blocks;
}

/** A time comparable across workers: milliseconds since the epoch, to a fraction. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

/** When the function or export began and ended (now()). */
let start = 0;
let end = 0;

async function main(): Promise<unknown> {
  let heap: Heap;
  let program: ProgramInstance | undefined;
  let value: unknown;
  if (work.program) {
    program = await bindings.instantiateProgram(work.program, { build: "threads", memory: work.heap.memory });
    heap = program.heap;
    if (work.onOom) heap.onOom = revive(work.onOom);
    const blocks = threadBlocks(program, work.stackSize);
    const f = program.instance.exports[work.export!];
    if (typeof f !== "function") throw new bindings.RallocError("E_MISSING_IMPORT", `the program exports no function ${work.export}`);
    const args = work.passIndex ? [...work.args, work.index] : work.args;
    start = now();
    value = (f as (...a: number[]) => unknown)(...args);
    end = now();
    for (const b of blocks) heap.free(b);
  } else {
    heap = bindings.createHeap(work.heap);
    if (work.onOom) heap.onOom = revive(work.onOom);
    const ctx: ThreadContext = { heap, index: work.index, threads: work.threads, data: work.data, program, bindings };
    const run = revive<(c: ThreadContext) => unknown>(work.run!);
    start = now();
    value = await run(ctx);
    end = now();
  }
  if (!work.keepHeaps) heap.threadExit();
  return value;
}

main().then(
  (value) => parentPort!.postMessage({ ok: true, value, start, end }),
  (e: unknown) => {
    const err = e as { message?: string; code?: string; stack?: string };
    parentPort!.postMessage({ ok: false, error: { message: String(err?.message ?? e), code: err?.code, stack: err?.stack } });
  },
);
