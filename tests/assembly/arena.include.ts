// A fixed arena for the specs: a heap over memory that nothing else uses and that never grows,
// and the two calls a front end makes on it. Under the guarded configuration
// (tests/as-pect.guarded.config.js) a block is guarded as the debug build guards it (its request,
// an allocation number, the canary), so inspect/check.ts's walk finds every live block intact.
import { heapCreate } from "../../assembly/core/heap";
import { heapAlloc, heapFree } from "../../assembly/small/front";
import { blockSizeFor, sizeOf, header } from "../../assembly/base/block";
import { GUARDED, PAGES, PAGE_ASKS } from "../../assembly/base/config";
import { guardedBlockFor, guardSet, guardRetire, nextSerial } from "../../assembly/diag/guard";
import { noteAlloc, noteFree } from "../../assembly/core/counters";
import { R_CLASS_ASKS, CLASS_SLOTS } from "../../assembly/base/root";

/** Makes a heap root plus one span over a fresh, 16-aligned arena of `bytes` bytes. Its source
 *  is FIXED (heaps/source.ts): it never grows. */
export function arenaHeap(bytes: usize): usize {
  let raw = heap.alloc(bytes + 16);
  let r = (raw + 15) & ~15;
  return heapCreate(r, r + bytes);
}

/** arenaHeap, with every class past its PAGE_ASKS (base/config.ts; builds with pages): its first small request of a
 *  class is an object of a page, as in a program that has run a while. */
export function warmHeap(bytes: usize): usize {
  let r = arenaHeap(bytes);
  if (PAGES) memory.fill(r + R_CLASS_ASKS, <u8>PAGE_ASKS, CLASS_SLOTS);
  return r;
}

/** Allocates n bytes from heap r's general path as a front end does (counters included; guarded
 *  builds: the guard too); 0 when it is full. */
export function take(r: usize, n: usize): usize {
  let p = heapAlloc(r, GUARDED ? guardedBlockFor(n) : blockSizeFor(n));
  if (p) {
    noteAlloc(r, sizeOf(p));
    if (GUARDED) guardSet(p, n, nextSerial(), true);
  }
  return p;
}

/** Frees block p of heap r as a front end does (guarded builds: its guard retired first). */
export function give(r: usize, p: usize): void {
  let h = header(p);
  if (GUARDED) guardRetire(p, sizeOf(p));
  noteFree(r, sizeOf(p));
  heapFree(r, p, h);
}
