// cells.ts — the cell allocators (features/cell.ts) whose memory comes from ralloc-wasm's global
// heap through malloc and calloc (entry/cabi.ts), which is why they sit in the entry layer while
// the cells, StackAllocator and the pools sit in features/:
//   HeapAlloc<T>                each cell from calloc, so it reads zero (alloc-no-stdlib's HeapAlloc)
//   HeapAllocUninitialized<T>   each cell from malloc, not initialised (HeapAllocUninitialized)
//   HeapPrealloc<T>             one pool from malloc, made once (HeapPrealloc)
//   CallocPool<T>               one pool from calloc, made once (CallocBackingStore)
//
//   a HeapAlloc's state, from malloc: features/allocator.ts's common part, then
//    8 zeroed   1: cells come from calloc
//   12 chunk    records in the newest chunk (each chunk is malloc'd, twice the one before)
//   16 the record table's header (features/records.ts), room for MOST_CHUNKS chunks

import {
  OnFree, RECORD, REC_PTR, REC_LENGTH, elementSize, recordOpen, cellsExhausted, kindName, KIND_HEAP_ALLOC,
  KIND_HEAP_UNINITIALIZED, KIND_HEAP_PREALLOC, KIND_CALLOC_POOL,
} from "../features/cell";
import {
  tableHeaderSize, tableAddChunk, tableTake, tableFull, tableFullMessage, tableWantsChunk, FREE_OK,
} from "../features/records";
import { CellAllocator, A_OWN, A_OWN2, A_TABLE, stateInit, onFreeOf } from "../features/allocator";
import { CellPool } from "../features/pool";
import { malloc, calloc, free as mallocFree, refusedUnderRuntime } from "./cabi";

const H_ZEROED: usize = A_OWN;
const H_CHUNK: usize = A_OWN2;
const H_TABLE: usize = A_TABLE;
/** Records of a HeapAlloc's first chunk; each later chunk doubles the one before. */
const FIRST_CHUNK: i32 = 64;
/** Chunks a HeapAlloc's table can have: 64 · (2^24 - 1) records, more than memory holds. */
const MOST_CHUNKS: i32 = 24;
/** A HeapAlloc adds records rather than reuse a freed one while fewer than this many wait, so a
 *  freed cell fails on every use for at least this many allocations (features/records.ts). */
export const QUARANTINE: i32 = 64;

/** Adds a chunk of records twice the newest to the table of the HeapAlloc at s, from malloc;
 *  without memory for it the table reuses freed records sooner, or is full. O(1) + malloc. */
function addRecords(s: usize): void {
  let n = load<i32>(s, H_CHUNK) * 2;
  let mem = malloc(<usize>n * RECORD);
  if (!mem) return;
  if (tableAddChunk(s + H_TABLE, mem, n)) store<i32>(s, n, H_CHUNK);
  else mallocFree(mem);
}

/** The engine of a HeapAlloc (features/allocator.ts): `this` is its state. */
@unmanaged class HeapEngine {
  /** The record of a new cell of len elements (1 .. maxElements) from malloc (calloc when the
   *  state at s says zeroed), or 0 when memory runs out. O(1) + malloc (+ calloc's zeroing). */
  alloc<T>(len: i32): usize {
    let s = changetype<usize>(this);
    let t = s + H_TABLE;
    if (tableWantsChunk(t, QUARANTINE)) addRecords(s);
    if (tableFull(t)) return 0;
    let p = load<u32>(s, H_ZEROED) ? calloc(<usize>len, elementSize<T>()) : malloc(<usize>len * elementSize<T>());
    if (!p) return 0;
    let r = tableTake(t);
    recordOpen(r, p, len, 0);
    return r;
  }

  /** Frees the memory of live record r's cell (OnFree.ZERO: zeroed first). FREE_OK. O(1) +
   *  free (+ zeroing). */
  free<T>(r: usize): u32 {
    let p = load<usize>(r, REC_PTR);
    if (onFreeOf(changetype<usize>(this)) == OnFree.ZERO) memory.fill(p, 0, <usize>load<i32>(r, REC_LENGTH) * elementSize<T>());
    mallocFree(p);
    return FREE_OK;
  }

  /** Why no cell of len elements could be had, for the message. O(1) (StackAllocator: O(slots)). */
  exhausted<T>(len: i32): string {
    let t = changetype<usize>(this) + H_TABLE;
    return tableFull(t) ? tableFullMessage(t) : "malloc could not give " + (<usize>len * elementSize<T>()).toString() + " bytes";
  }
}

/** The state of a HeapAlloc of T (above), from malloc, with its first chunk of records; stops
 *  the program when malloc cannot give them. O(1). */
function heapState<T>(zeroed: bool, onFree: OnFree, kind: u32): HeapEngine {
  refusedUnderRuntime();
  let s = malloc(H_TABLE + tableHeaderSize(MOST_CHUNKS));
  let records = malloc(<usize>FIRST_CHUNK * RECORD);
  if (!s || !records) cellsExhausted<T>(kind, 0, "malloc could not give its first " + FIRST_CHUNK.toString() + " cell records");
  stateInit(s, kind, onFree, MOST_CHUNKS, records, FIRST_CHUNK);
  store<u32>(s, zeroed, H_ZEROED);
  store<i32>(s, FIRST_CHUNK, H_CHUNK);
  return changetype<HeapEngine>(s);
}

/** alloc-no-stdlib's HeapAlloc: each cell from ralloc-wasm's calloc, so it reads zero. */
export class HeapAlloc<T> extends CellAllocator<T, HeapEngine> {
  /** onFree: OnFree.ZERO also zeroes each freed cell; OnFree.LEAVE does not. allocCell is a
   *  calloc (O(1) + zeroing), freeCell a free (O(record chunks)). */
  constructor(onFree: OnFree = OnFree.ZERO) {
    super(heapState<T>(true, onFree, KIND_HEAP_ALLOC));
  }
}

/** alloc-no-stdlib's HeapAllocUninitialized: each cell from malloc, holding whatever it held. */
export class HeapAllocUninitialized<T> extends CellAllocator<T, HeapEngine> {
  /** onFree: OnFree.LEAVE (the default) leaves freed cells as they are; OnFree.ZERO zeroes
   *  each freed cell (new cells are still not initialised). allocCell is a malloc, freeCell a
   *  free (O(record chunks)). */
  constructor(onFree: OnFree = OnFree.LEAVE) {
    super(heapState<T>(false, onFree, KIND_HEAP_UNINITIALIZED));
  }
}

/** Stops the program unless `mem`, the memory asked of `from` for a pool of `bytes`, was given. */
function poolMemory<T>(mem: usize, bytes: usize, kind: u32, from: string): usize {
  refusedUnderRuntime();
  if (!mem) throw new Error(kindName<T>(kind) + ": " + from + " could not give a pool of " + bytes.toString() + " bytes");
  return mem;
}

/** alloc-no-stdlib's HeapPrealloc: one pool from malloc, allocated once; after that, however
 *  cells come and go, nothing asks for memory again (memory.size() never changes). */
export class HeapPrealloc<T> extends CellPool<T> {
  /** A pool of `bytes` bytes in all (its records, its heap and every cell's block) from malloc,
   *  with records for `cells` live cells. Fails when malloc cannot give it. O(1), no zeroing:
   *  OnFree.ZERO zeroes each cell as it is handed out and as it is freed. */
  constructor(bytes: usize, cells: i32, onFree: OnFree = OnFree.ZERO) {
    super(poolMemory<T>(malloc(bytes), bytes, KIND_HEAP_PREALLOC, "malloc"), bytes, cells, onFree, KIND_HEAP_PREALLOC);
  }
}

/** alloc-no-stdlib's CallocBackingStore: one pool of zeroed memory from calloc, allocated once. */
export class CallocPool<T> extends CellPool<T> {
  /** As HeapPrealloc, over memory calloc zeroed (O(bytes)): with OnFree.LEAVE, a cell of memory
   *  no cell had before reads zero except where the pool's heap kept its own words. */
  constructor(bytes: usize, cells: i32, onFree: OnFree = OnFree.ZERO) {
    super(poolMemory<T>(calloc(1, bytes), bytes, KIND_CALLOC_POOL, "calloc"), bytes, cells, onFree, KIND_CALLOC_POOL);
  }
}
