// oom.ts — what happens when memory runs out: the AssemblyScript handler when one is set (a
// table index, per instance, so each thread may have its own), else the host's hook (when the
// HOOKS knob imports it; else no retry). Either answers whether to retry the request once. C programs keep their handler on the C side
// (bindings/c/ralloc_import.c), which retries in C.

import { HOOKS } from "../base/config";
import { hookOom } from "./hooks";

/** Table index of the AssemblyScript handler `(size: usize) => bool`; 0 when none is set. */
let handlerIndex: u32 = 0;

/** Sets the AssemblyScript OOM handler by its table index (0 removes it). O(1). */
export function setOomHandlerIndex(index: u32): void {
  handlerIndex = index;
}

/** Memory cannot meet a request of size bytes: asks the handler (or the host, when the hooks
 *  are imported) whether to retry once. O(handler). */
export function oomRetry(size: usize): bool {
  if (handlerIndex) return call_indirect<bool>(handlerIndex, size);
  return HOOKS && hookOom(size) != 0;
}
