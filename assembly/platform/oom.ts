// oom.ts — what happens when memory runs out: the AssemblyScript handler when one is set (a
// table index), else the host's hook (when the HOOKS knob imports it; else no retry). Either
// answers whether to retry the request once. C programs keep their handler on the C side
// (bindings/c/ralloc_import.c), which retries in C.
//
// The threads build has two AssemblyScript handlers: the global one, whose table index lives in
// shared memory (the hub's oom word: every instance of one module has the same table, so the
// index names the same function in each), and each thread's own, in a module global, which
// overrides it for that thread. The single-threaded builds have one, per instance.

import { HOOKS, THREADS } from "../base/config";
import { hookOom } from "./hooks";

/** Table index of the AssemblyScript handler `(size: usize) => bool`; 0 when none is set. The
 *  threads build keeps it here only until the hub is attached (setOomSlot). */
let handlerIndex: u32 = 0;
/** Threads: this thread's own handler (0: none), tried before the global one. */
let threadIndex: u32 = 0;
/** Threads: the address of the global handler's index in shared memory; 0 until attached. */
let slot: usize = 0;

/** Sets the AssemblyScript OOM handler by its table index (0 removes it): in the threads build
 *  the global one, for every thread. O(1). */
export function setOomHandlerIndex(index: u32): void {
  if (THREADS && slot) atomic.store<u32>(slot, index);
  else handlerIndex = index;
}

/** Threads: sets this thread's own handler (0 removes it: the global one applies again); in a
 *  single-threaded build, the handler. O(1). */
export function setThreadOomHandlerIndex(index: u32): void {
  if (THREADS) threadIndex = index;
  else handlerIndex = index;
}

/** Threads: the hub's oom word is at `at`; a global handler set before goes there. O(1). */
export function setOomSlot(at: usize): void {
  slot = at;
  if (handlerIndex && !atomic.load<u32>(at)) atomic.store<u32>(at, handlerIndex);
  handlerIndex = 0;
}

/** Memory cannot meet a request of size bytes: asks the handler (this thread's, else the global
 *  one, in the threads build), or the host when the hooks are imported, whether to retry once.
 *  O(handler). */
export function oomRetry(size: usize): bool {
  if (THREADS) {
    let index = threadIndex ? threadIndex : slot ? atomic.load<u32>(slot) : handlerIndex;
    if (index) return call_indirect<bool>(index, size);
    return HOOKS && hookOom(size) != 0;
  }
  if (handlerIndex) return call_indirect<bool>(handlerIndex, size);
  return HOOKS && hookOom(size) != 0;
}
