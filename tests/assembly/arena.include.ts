// A fixed arena for the specs: a heap over memory that nothing else uses and that never grows.
import { heapCreate } from "../../assembly/heap";

/** Makes a heap root plus one span over a fresh, 16-aligned arena of `bytes` bytes. */
export function arenaHeap(bytes: usize): usize {
  let raw = heap.alloc(bytes + 16);
  let r = (raw + 15) & ~15;
  return heapCreate(r, r + bytes);
}
