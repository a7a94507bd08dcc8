// global.ts — the global heap: the one heap behind the C ABI, made on first use at the break and
// grown through the shim. Its root's address lives in a module global, so each instance (each
// thread) knows it; the heap itself is in linear memory. Local heaps grow from it (heaps/source.ts).
// In the threads build the heap behind the C ABI is the calling thread's own (heaps/thread.ts),
// made or adopted on its first allocation; the global part is the hub's (heaps/hub.ts).

import { ALIGN, MIN_BLOCK, MAX_REQUEST, blockSizeFor, alignUp } from "../base/block";
import { ROOT_SIZE, R_SOURCE, ROOT_MAGIC, SOURCE_SHIM, setField } from "../base/root";
import { PAGES, THREADS } from "../base/config";
import { shimReady, shimInit, shimDefaultBase, shimClaim, shimBreak } from "../platform/shim";
import { oomRetry } from "../platform/oom";
import { SPAN_OVERHEAD } from "../core/span";
import { heapCreate } from "../core/heap";
import { mirrorTable } from "../small/page";
import { threadHeapMake, threadExit } from "./thread";

/** The global heap's root; 0 until the first allocation. Per instance, like the shim's state. */
let globalRoot: usize = 0;

/** The global heap's root, or 0 before anything was allocated. O(1). */
@inline export function globalHeapRoot(): usize {
  return globalRoot;
}

/** The global heap, made on first use with room for a first block of size s; 0 when memory
 *  cannot hold it (and then memory has not grown). O(1) once made. */
export function globalHeap(s: usize): usize {
  let r = globalRoot;
  return r ? r : makeGlobalHeap(s);
}

/** Places the global heap's root at the break and hands it the rest of memory, at least
 *  enough for a block of size s. O(root). */
function makeGlobalHeap(s: usize): usize {
  if (THREADS) return setGlobalRoot(threadHeapMake(s));
  let need = ROOT_SIZE + SPAN_OVERHEAD + ALIGN + max<usize>(s, MIN_BLOCK);
  // (Embedded in an AssemblyScript module, the shim places itself above the runtime's memory;
  // as AssemblyScript's memory manager, at __heap_base.)
  if (!shimReady()) shimInit(shimDefaultBase(), need);
  if (!shimReady()) return 0;
  let start = shimClaim(need);
  if (!start) return 0;
  let r = heapCreate(alignUp(start), shimBreak());
  setField(r, R_SOURCE, ROOT_MAGIC | SOURCE_SHIM);
  if (PAGES) mirrorTable(r); // free finds the global heap's pages from module globals
  globalRoot = r;
  return r;
}

/** Threads: makes r (a thread heap's root, or 0) the heap behind the C ABI, its page table
 *  mirrored in module globals. Returns r. O(1). */
function setGlobalRoot(r: usize): usize {
  if (r) mirrorTable(r);
  globalRoot = r;
  return r;
}

/** Threads: the calling thread is done with its heap (heaps/thread.ts threadExit); returns the
 *  live blocks it left behind. The next allocation makes or adopts a heap. O(spans + pages). */
export function globalHeapExit(): u32 {
  let r = globalRoot;
  if (!THREADS || !r) return 0;
  globalRoot = 0;
  return threadExit(r);
}

/** The global heap for a request of n bytes, asking the OOM policy once if it cannot be made.
 *  O(1) once made. */
export function globalHeapFor(n: usize): usize {
  let s = n > MAX_REQUEST ? MIN_BLOCK : blockSizeFor(n);
  let r = globalHeap(s);
  if (!r && n <= MAX_REQUEST && oomRetry(n)) r = globalHeap(s);
  return r;
}
