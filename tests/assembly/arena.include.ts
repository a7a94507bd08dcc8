// A fixed arena for the specs: a heap over memory that nothing else uses and that never grows,
// and the two calls a front end makes on it.
import { heapCreate } from "../../assembly/core/heap";
import { heapAlloc, heapFree } from "../../assembly/small/front";
import { blockSizeFor, sizeOf, header } from "../../assembly/base/block";
import { noteAlloc, noteFree } from "../../assembly/core/counters";

/** Makes a heap root plus one span over a fresh, 16-aligned arena of `bytes` bytes. */
export function arenaHeap(bytes: usize): usize {
  let raw = heap.alloc(bytes + 16);
  let r = (raw + 15) & ~15;
  return heapCreate(r, r + bytes);
}

/** Allocates n bytes from heap r as a front end does (counters included); 0 when it is full. */
export function take(r: usize, n: usize): usize {
  let p = heapAlloc(r, blockSizeFor(n));
  if (p) noteAlloc(r, sizeOf(p));
  return p;
}

/** Frees block p of heap r as a front end does. */
export function give(r: usize, p: usize): void {
  let h = header(p);
  noteFree(r, sizeOf(p));
  heapFree(r, p, h);
}
