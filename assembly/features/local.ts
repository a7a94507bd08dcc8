// local.ts — local heaps: allocators independent of the global heap, each over its own spans,
// released all at once. A local heap is a root like the global one (base/root.ts); its handle is the
// root's address. Two kinds:
//   over a buffer   the caller's memory and nothing more (SOURCE_FIXED); destroy just retires it
//   grown           chunks of the global heap, doubling as it grows (SOURCE_POOL); destroy gives
//                   every chunk back to the global heap

import { ALIGN, MIN_BLOCK, MAX_REQUEST, sizeOf, header } from "../base/block";
import { ROOT_SIZE, R_SOURCE, SOURCE_FIXED, SOURCE_POOL, ROOT_MAGIC, field, setField } from "../base/root";
import { GUARDED, THREADS } from "../base/config";
import { memoryBytes } from "../platform/shim";
import { guardRetire } from "../diag/guard";
import { SPAN_OVERHEAD, MAX_SPANS, spanHead, spanAfter } from "../core/span";
import { noteFree } from "../core/counters";
import { heapCreate } from "../core/heap";
import { heapFree } from "../small/front";
import { hubGive } from "../heaps/hub";
import { takeChunk, chunkEnd, sourceOf } from "../heaps/source";

/** Smallest buffer a local heap can live in: its root, a span and one block. */
export const LOCAL_MIN: usize = ROOT_SIZE + SPAN_OVERHEAD + MIN_BLOCK + ALIGN;

/** A local heap over the caller's buffer [mem, mem + size); 0 when it is too small or does not
 *  fit in memory. The buffer must be memory no other heap uses. O(root). */
export function localOver(mem: usize, size: usize): usize {
  let end = <u64>mem + <u64>size;
  if (size < LOCAL_MIN || end > memoryBytes() || mem == 0) return 0;
  let r = (mem + 15) & ~15;
  heapCreate(r, <usize>end);
  setField(r, R_SOURCE, ROOT_MAGIC | SOURCE_FIXED);
  return r;
}

/** A local heap grown from the global heap, starting with room for about `bytes`; 0 when the
 *  global heap cannot give it a first chunk. O(root), plus the chunk's allocation. */
export function localFromPool(bytes: usize): usize {
  let first = <u64>ROOT_SIZE + SPAN_OVERHEAD + ALIGN + <u64>max<usize>(bytes, MIN_BLOCK);
  if (first > <u64>MAX_REQUEST) return 0;
  let chunk = takeChunk(<usize>first);
  if (!chunk) return 0;
  heapCreate(chunk, chunkEnd(chunk));
  setField(chunk, R_SOURCE, ROOT_MAGIC | SOURCE_POOL);
  return chunk;
}

/** Releases local heap r all at once: a pool heap's chunks go back to `pool`; a heap over a
 *  buffer leaves the buffer to its owner. The handle is dead afterwards. O(spans). */
export function localDestroy(r: usize, pool: usize): void {
  let source = sourceOf(r);
  setField(r, R_SOURCE, 0); // no longer a heap root
  if (source != SOURCE_POOL) return;
  let first = r + ROOT_SIZE; // the span inside the root's own chunk, freed with it
  let s = spanHead(r);
  for (let n: u32 = 0; s && n < MAX_SPANS; ++n) {
    let next = spanAfter(r, s); // (a link the program overwrote ends the walk: chunks leak, nothing breaks)
    if (s != first) giveChunk(pool, s);
    s = next;
  }
  giveChunk(pool, r);
}

/** Returns chunk p to the global heap `pool` (the threads build: to the hub's global part, under
 *  its lock). O(1). */
function giveChunk(pool: usize, p: usize): void {
  if (THREADS) return hubGive(p);
  noteFree(pool, sizeOf(p));
  if (GUARDED) guardRetire(p, sizeOf(p));
  heapFree(pool, p, header(p));
}
