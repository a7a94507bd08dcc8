// pool.ts — cell pools: memory set aside once, from which cells come and go without ever
// asking for more (alloc-no-stdlib's preallocated pools, its "jail"). CellPool is the engine;
// GlobalPool is a pool over a static buffer; entry/cells.ts makes HeapPrealloc (memory from
// malloc) and CallocPool (from calloc) of it.
//
//   a pool's memory [mem, mem + bytes), as the constructor lays it out (each part 16-aligned)
//   ┌─────────┬───────────────────────┬─────────────────────────────────────────────────────┐
//   │ state   │ records: cells × 16 B │ a local heap over the rest (features/local.ts): its │
//   │ 320 B   │ (features/records.ts) │ root, then one block per cell, free ones merged     │
//   └─────────┴───────────────────────┴─────────────────────────────────────────────────────┘
//
//   the state: features/allocator.ts's common part, then
//    8 heap      the local heap's handle
//   12 cached    bytes of the blocks waiting in the cache
//   16 the record table's header (40 B)
//   56 cache     a u32 per block size 16·k, k = 0 .. 64: the newest freed block of that size
//                waiting for a cell of the same size (each links to the one freed before it
//                through its first word), or 0; then padding to a multiple of 16. None where
//                the heap has quick lists, which cache instead: the state is 64 B there
//
// A local heap over a buffer never grows, merges free neighbours and finds a block in O(1)
// (core/bins.ts): a pool never makes memory grow. In front of it, a freed block of at most
// CACHE_LIMIT bytes waits in the cache, and the next cell of its size takes it: a push and a
// pop, where the heap's own path (a list search, a split, a merge) costs about twice as much
// (docs/CELLS.md). When the heap has no block for a cell, the cache goes back to it, merged,
// and the heap is asked again: once every cell is freed, all of the pool is free again. The
// builds that have the heap's quick lists (the guarded ones, RALLOC_PAGES=0) cache there
// instead. A cell costs its block's header and rounding (4 to 19 bytes); in the guarded builds
// its block is guarded like any other (diag/guard.ts), so ralloc_heap_check walks a pool's heap
// there too, and freeing a cell whose guard a C function broke fails.

import { ALIGN_BITS, HEADER, blockSizeFor, sizeOf, header } from "../base/block";
import { QUICK_MAX } from "../base/root";
import { GUARDED } from "../base/config";
import { memoryBytes } from "../platform/shim";
import { GUARD_OK, guardedBlockFor, guardSet, guardVerify, guardRetire, nextSerial } from "../diag/guard";
import { noteAlloc, noteFree } from "../core/counters";
import { heapAlloc, heapFree } from "../small/front";
import { LOCAL_MIN, localOver } from "./local";
import { OnFree, RECORD, REC_PTR, REC_LENGTH, elementSize, recordOpen, kindName, KIND_GLOBAL_POOL } from "./cell";
import { ONE_CHUNK_HEADER, tableTake, tableFull, tableFullMessage, FREE_OK, FREE_OVERRUN } from "./records";
import { CellAllocator, A_OWN, A_OWN2, A_TABLE, stateInit, onFreeOf } from "./allocator";

const P_HEAP: usize = A_OWN;
const P_CACHED: usize = A_OWN2;
const P_TABLE: usize = A_TABLE;
const P_CACHE: usize = A_TABLE + ONE_CHUNK_HEADER;
/** Largest block the cache keeps; 0 where the heap has quick lists (they do the same). */
const CACHE_LIMIT: usize = QUICK_MAX > 0 ? 0 : 1024;
/** Where the records start, from the state. */
const P_RECORDS: usize = (P_CACHE + (CACHE_LIMIT > 0 ? ((CACHE_LIMIT >> ALIGN_BITS) + 1) * 4 : 0) + 15) & ~15;

/** The size of the block that holds a cell of n bytes (in the guarded builds, with its guard).
 *  O(1). */
// @ts-ignore: decorator
@inline function blockFor(n: usize): usize {
  return GUARDED ? guardedBlockFor(n) : blockSizeFor(n);
}

/** Address of the cache's head for blocks of size size (a multiple of 16, <= CACHE_LIMIT). O(1). */
// @ts-ignore: decorator
@inline function cacheHead(s: usize, size: usize): usize {
  return s + P_CACHE + (size >> (ALIGN_BITS - 2));
}

/** A block of size `size` from the cache of the pool at s, or 0. Its first word holds the
 *  cache's link; the rest is as its last cell's free left it. O(1). */
// @ts-ignore: decorator
@inline function cachePop(s: usize, size: usize): usize {
  if (size > CACHE_LIMIT) return 0;
  let head = cacheHead(s, size);
  let p = <usize>load<u32>(head);
  if (p) {
    store<u32>(head, load<u32>(p));
    store<u32>(s, load<u32>(s, P_CACHED) - <u32>size, P_CACHED);
  }
  return p;
}

/** A block of size `size` from the heap of the pool at s, after the cache went back to it if
 *  need be; 0 when there is none. O(1), plus the flush. */
function heapBlock(s: usize, size: usize): usize {
  let h = <usize>load<u32>(s, P_HEAP);
  let p = heapAlloc(h, size);
  if (!p && load<u32>(s, P_CACHED) != 0) {
    flushCache(s);
    p = heapAlloc(h, size);
  }
  if (p) noteAlloc(h, sizeOf(p));
  return p;
}

/** Gives every block in the cache of the pool at s back to its heap, merged. O(cached blocks). */
function flushCache(s: usize): void {
  let h = <usize>load<u32>(s, P_HEAP);
  for (let size: usize = 16; size <= CACHE_LIMIT; size += 16) {
    let head = cacheHead(s, size);
    let p = <usize>load<u32>(head);
    store<u32>(head, 0);
    while (p) {
      let next = <usize>load<u32>(p);
      noteFree(h, sizeOf(p));
      heapFree(h, p, header(p));
      p = next;
    }
  }
  store<u32>(s, 0, P_CACHED);
}

/** The engine of a pool (features/allocator.ts): `this` is its state. */
@unmanaged class PoolEngine {
  /** The record of a new cell of len elements (1 .. maxElements) from this pool (its state is
   *  `this`, s), or 0 when the pool has no block for it or every record is live. O(1); OnFree.ZERO zeroes a block the
   *  heap gives (O(bytes)), and a cached one needs only its link cleared. */
  alloc<T>(len: i32): usize {
    let s = changetype<usize>(this);
    let t = s + P_TABLE;
    if (tableFull(t)) return 0;
    let bytes = <usize>len * elementSize<T>();
    let size = blockFor(bytes);
    let zero = onFreeOf(s) == OnFree.ZERO;
    let p = cachePop(s, size);
    if (p) {
      if (zero) store<u32>(p, 0); // the cache's link; the free zeroed the rest of the block
    } else {
      p = heapBlock(s, size);
      if (!p) return 0;
      if (zero) memory.fill(p, 0, bytes); // the heap's own words may be anywhere in it
    }
    if (GUARDED) guardSet(p, bytes, nextSerial(), false); // as any block of the guarded builds
    let r = tableTake(t);
    recordOpen(r, p, len, 0);
    return r;
  }

  /** Takes back the block of live record r's cell (OnFree.ZERO: zeroed first): into the cache,
   *  or back to the heap. FREE_OK, or in the guarded builds FREE_OVERRUN when the block's guard
   *  is broken. O(1), plus zeroing. */
  free<T>(r: usize): u32 {
    let s = changetype<usize>(this);
    let p = load<usize>(r, REC_PTR);
    let size = sizeOf(p);
    if (GUARDED) {
      // a C function given the cell's ptr wrote outside its elements
      if (guardVerify(p) != GUARD_OK) return FREE_OVERRUN;
      guardRetire(p, size);
    }
    let zero = onFreeOf(s) == OnFree.ZERO;
    if (size <= CACHE_LIMIT) {
      if (zero) memory.fill(p, 0, size - HEADER); // the whole block: a cell of its size may take it
      let head = cacheHead(s, size);
      store<u32>(p, load<u32>(head));
      store<u32>(head, <u32>p);
      store<u32>(s, load<u32>(s, P_CACHED) + <u32>size, P_CACHED);
    } else {
      if (zero) memory.fill(p, 0, <usize>load<i32>(r, REC_LENGTH) * elementSize<T>());
      let h = <usize>load<u32>(s, P_HEAP);
      noteFree(h, size);
      heapFree(h, p, header(p));
    }
    return FREE_OK;
  }

  /** Why no cell of len elements could be had, for the message. O(1) (StackAllocator: O(slots)). */
  exhausted<T>(len: i32): string {
    let t = changetype<usize>(this) + P_TABLE;
    return tableFull(t) ? tableFullMessage(t)
      : "the pool has no free block of " + blockFor(<usize>len * elementSize<T>()).toString() + " bytes";
  }
}

/** Lays out a pool of T over [mem, mem + bytes) (above), `kind` naming it in messages, and
 *  returns its engine; stops the program when that cannot hold the records and a local heap,
 *  or lies outside memory. O(1): nothing is zeroed. */
function poolState<T>(mem: usize, bytes: usize, cells: i32, onFree: OnFree, kind: u32): PoolEngine {
  let s = (<u64>mem + 15) & ~15;
  let heapStart = s + P_RECORDS + <u64>max<i32>(cells, 0) * RECORD;
  let end = <u64>mem + <u64>bytes;
  if (cells < 1 || mem == 0 || end > memoryBytes() || heapStart + LOCAL_MIN > end) {
    throw new Error(kindName<T>(kind) + ": " + bytes.toString() + " bytes at " + mem.toString() +
      " cannot hold " + cells.toString() + " cell records and a heap of " + LOCAL_MIN.toString() +
      " bytes inside memory (cells must be 1 or more)");
  }
  let state = <usize>s;
  stateInit(state, kind, onFree, 1, state + P_RECORDS, cells);
  memory.fill(state + P_CACHE, 0, P_RECORDS - P_CACHE);
  store<u32>(state, <u32>localOver(<usize>heapStart, <usize>(end - heapStart)), P_HEAP);
  return changetype<PoolEngine>(state);
}

/** A pool of cells of T over memory nothing else uses: at most `cells` live cells, and as many
 *  elements as fit in the rest. Made through HeapPrealloc, CallocPool or GlobalPool. allocCell
 *  and freeCell are O(1), plus zeroing (OnFree.ZERO). */
export class CellPool<T> extends CellAllocator<T, PoolEngine> {
  /** A pool over [mem, mem + bytes) for cells of T, made by a subclass whose number `kind`
   *  (KIND_…) names it in messages: records for `cells` cells, a local heap over the rest.
   *  Fails when that is too small for them and a local heap, or lies outside memory. O(1). */
  constructor(mem: usize, bytes: usize, cells: i32, onFree: OnFree, kind: u32) {
    super(poolState<T>(mem, bytes, cells, onFree, kind));
  }

  /** The local heap behind the pool, for ralloc_heap_check and ralloc_heap_stats; its blocks
   *  in the cache count as live there. O(1). */
  get heapHandle(): usize {
    return <usize>load<u32>(changetype<usize>(this.engine), P_HEAP);
  }

  /** Bytes of freed blocks waiting in the cache. O(1). */
  get cachedBytes(): u32 {
    return load<u32>(changetype<usize>(this.engine), P_CACHED);
  }

  /** Gives the blocks waiting in the cache back to the heap, merged with their neighbours
   *  (an allocation the heap cannot serve does this itself). O(cached blocks). */
  flush(): void {
    flushCache(changetype<usize>(this.engine));
  }
}

/** Start and end of every buffer a GlobalPool was made over, in pairs. */
const bound = new Array<usize>();

/** A pool over a static buffer (memory.data), which serves this one pool for the module's life
 *  (alloc-no-stdlib's global buffers bound to an allocator). */
export class GlobalPool<T> extends CellPool<T> {
  /** A pool of T over the static buffer [mem, mem + bytes): `cells` records, a local heap over
   *  the rest. Fails when the buffer is not static data (it must end at or below __heap_base),
   *  when any of it was bound to a GlobalPool before, or when it is too small. O(pools bound). */
  constructor(mem: usize, bytes: usize, cells: i32, onFree: OnFree = OnFree.ZERO) {
    super(bindStatic<T>(mem, bytes), bytes, cells, onFree, KIND_GLOBAL_POOL);
  }
}

/** Records [mem, mem + bytes) as bound to a GlobalPool of T and returns mem; stops the program
 *  when that memory is not static data or overlaps a buffer bound before. O(pools bound). */
function bindStatic<T>(mem: usize, bytes: usize): usize {
  let end = <u64>mem + <u64>bytes;
  let who = kindName<T>(KIND_GLOBAL_POOL) + ": the buffer [" + mem.toString() + ", " + end.toString() + ")";
  if (end > <u64>__heap_base) {
    throw new Error(who + " is not static data: it must end at or below __heap_base (" + __heap_base.toString() + ")");
  }
  for (let i = 0; i < bound.length; i += 2) {
    if (<u64>mem < <u64>bound[i + 1] && end > <u64>bound[i]) {
      throw new Error(who + " overlaps [" + bound[i].toString() + ", " + bound[i + 1].toString() +
        "), bound to a GlobalPool already");
    }
  }
  bound.push(mem);
  bound.push(<usize>end);
  return mem;
}
