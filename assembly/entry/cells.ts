// cells.ts — the cell allocators (features/cell.ts) whose memory comes from ralloc-wasm's global
// heap through malloc and calloc (entry/cabi.ts), which is why they sit in the entry layer while
// the cells, StackAllocator and the pools sit in features/:
//   HeapAlloc<T>                each cell from calloc, so it reads zero (alloc-no-stdlib's HeapAlloc)
//   HeapAllocUninitialized<T>   each cell from malloc, not initialised (HeapAllocUninitialized)
//   HeapPrealloc<T>             one pool from malloc, made once (HeapPrealloc)
//   CallocPool<T>               one pool from calloc, made once (CallocBackingStore)
//
//   a HeapAlloc's state, from malloc; its record chunks are malloc'd too, each twice the last
//    0 zeroed   1: cells come from calloc      8 chunk    records in the newest chunk
//    4 onFree   OnFree                        12 kind     KIND_HEAP_ALLOC or KIND_HEAP_UNINITIALIZED
//   16 the record table's header (features/records.ts), room for MOST_CHUNKS chunks

import {
  Allocator, Cell, OnFree, RECORD, REC_PTR, REC_LENGTH, elementSize, recordOpen, unusualLength,
  lengthCell, cellsExhausted, kindName, KIND_HEAP_ALLOC, KIND_HEAP_UNINITIALIZED, KIND_HEAP_PREALLOC,
  KIND_CALLOC_POOL,
} from "../features/cell";
import {
  tableHeaderSize, tableInit, tableAddChunk, tableTake, tableGive, tableLive, tableFull,
  tableWantsChunk, freeStatus, freeFailed, FREE_OK, FREE_EMPTY,
} from "../features/records";
import { CellPool } from "../features/pool";
import { malloc, calloc, free } from "./cabi";

const H_ZEROED: usize = 0;
const H_ON_FREE: usize = 4;
const H_CHUNK: usize = 8;
const H_KIND: usize = 12;
const H_TABLE: usize = 16;
/** Records of a HeapAlloc's first chunk; each later chunk doubles the one before. */
const FIRST_CHUNK: i32 = 64;
/** Chunks a HeapAlloc's table can have: 64 · (2^24 - 1) records, more than memory holds. */
const MOST_CHUNKS: i32 = 24;
/** A HeapAlloc adds records rather than reuse a freed one while fewer than this many wait, so a
 *  freed cell fails on every use for at least this many allocations (features/records.ts). */
export const QUARANTINE: i32 = 64;

/** The record of a new cell of len elements (1 .. maxElements) from malloc (calloc when the
 *  state at s says zeroed), or 0 when memory runs out. O(1) + malloc (+ calloc's zeroing). */
function heapCellAlloc<T>(s: usize, len: i32): usize {
  let t = s + H_TABLE;
  if (tableWantsChunk(t, QUARANTINE)) addRecords(s);
  if (tableFull(t)) return 0;
  let p = load<u32>(s, H_ZEROED) ? calloc(<usize>len, elementSize<T>()) : malloc(<usize>len * elementSize<T>());
  if (!p) return 0;
  let r = tableTake(t);
  recordOpen(r, p, len, 0);
  return r;
}

/** Frees the cell of record r (OnFree.ZERO: zeroed first), retires r. Returns FREE_OK, or why
 *  it would not (features/records.ts). O(chunks) + free (+ zeroing). */
function heapCellFree<T>(s: usize, r: usize): u32 {
  let t = s + H_TABLE;
  let why = freeStatus(t, r);
  if (why != FREE_OK) return why;
  let p = load<usize>(r, REC_PTR);
  if (load<u32>(s, H_ON_FREE) == OnFree.ZERO) memory.fill(p, 0, <usize>load<i32>(r, REC_LENGTH) * elementSize<T>());
  tableGive(t, r);
  free(p);
  return FREE_OK;
}

/** Adds a chunk of records twice the newest to the table of the HeapAlloc at s, from malloc;
 *  without memory for it the table reuses freed records sooner, or is full. O(1) + malloc. */
function addRecords(s: usize): void {
  let n = load<i32>(s, H_CHUNK) * 2;
  let mem = malloc(<usize>n * RECORD);
  if (!mem) return;
  if (tableAddChunk(s + H_TABLE, mem, n)) store<i32>(s, n, H_CHUNK);
  else free(mem);
}

/** Stops the program: malloc could not give the HeapAlloc at s a cell of len elements. (Apart
 *  from allocCell, whose fast path then needs no room for strings.) */
function mallocFailed<T>(s: usize, len: i32): void {
  cellsExhausted<T>(load<u32>(s, H_KIND), len, "malloc could not give " + (<usize>len * elementSize<T>()).toString() + " bytes");
}

/** Cells from the global heap, one malloc or calloc each: HeapAlloc and HeapAllocUninitialized. */
class HeapCells<T> implements Allocator<T> {
  /** Address of the state (above), from malloc. */
  private readonly state: usize;

  /** `zeroed`: cells come from calloc. `kind` (KIND_…) names the allocator in messages. */
  constructor(zeroed: bool, onFree: OnFree, kind: u32) {
    let s = malloc(H_TABLE + tableHeaderSize(MOST_CHUNKS));
    let records = malloc(<usize>FIRST_CHUNK * RECORD);
    if (!s || !records) cellsExhausted<T>(kind, 0, "malloc could not give its first " + FIRST_CHUNK.toString() + " cell records");
    store<u32>(s, zeroed, H_ZEROED);
    store<u32>(s, onFree, H_ON_FREE);
    store<u32>(s, kind, H_KIND);
    store<i32>(s, FIRST_CHUNK, H_CHUNK);
    tableInit(s + H_TABLE, MOST_CHUNKS, records, FIRST_CHUNK);
    this.state = s;
  }

  /** A cell of len elements from malloc (HeapAlloc: calloc, zeroed). Fails when malloc does
   *  (after the OOM handler's chance), and on a negative len. O(1) + malloc (+ zeroing). */
  allocCell(len: i32): Cell<T> {
    if (unusualLength<T>(len)) return changetype<Cell<T>>(lengthCell<T>(len, load<u32>(this.state, H_KIND)));
    let r = heapCellAlloc<T>(this.state, len);
    if (!r) mallocFailed<T>(this.state, len);
    return changetype<Cell<T>>(r);
  }

  /** As allocCell, but null when malloc fails. */
  tryAllocCell(len: i32): Cell<T> | null {
    if (unusualLength<T>(len)) return changetype<Cell<T>>(lengthCell<T>(len, load<u32>(this.state, H_KIND)));
    return changetype<Cell<T> | null>(heapCellAlloc<T>(this.state, len));
  }

  /** Frees cell's memory (OnFree.ZERO: zeroed first); the cell is dead. Fails on a cell that is
   *  not a live cell of this allocator. O(chunks) + free (+ zeroing). */
  freeCell(cell: Cell<T>): void {
    let r = changetype<usize>(cell);
    let why = heapCellFree<T>(this.state, r);
    if (why > FREE_EMPTY) freeFailed<T>(load<u32>(this.state, H_KIND), r, why); // the empty cell: nothing to free
  }

  /** Live cells. O(1). */
  get liveCells(): i32 {
    return tableLive(this.state + H_TABLE);
  }

  /** What the allocator does with freed cells. O(1). */
  get onFree(): OnFree {
    return load<u32>(this.state, H_ON_FREE);
  }
}

/** alloc-no-stdlib's HeapAlloc: each cell from ralloc-wasm's calloc, so it reads zero. */
export class HeapAlloc<T> extends HeapCells<T> {
  /** onFree: OnFree.ZERO also zeroes each freed cell; OnFree.LEAVE does not. */
  constructor(onFree: OnFree = OnFree.ZERO) {
    super(true, onFree, KIND_HEAP_ALLOC);
  }
}

/** alloc-no-stdlib's HeapAllocUninitialized: each cell from malloc, holding whatever it held. */
export class HeapAllocUninitialized<T> extends HeapCells<T> {
  /** onFree: OnFree.LEAVE (the default) leaves freed cells as they are; OnFree.ZERO zeroes
   *  each freed cell (new cells are still not initialised). */
  constructor(onFree: OnFree = OnFree.LEAVE) {
    super(false, onFree, KIND_HEAP_UNINITIALIZED);
  }
}

/** Stops the program unless `mem`, the memory asked of `from` for a pool of `bytes`, was given. */
function poolMemory<T>(mem: usize, bytes: usize, kind: u32, from: string): usize {
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
