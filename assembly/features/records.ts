// records.ts — a cell allocator's record table: where its cells' records (features/cell.ts)
// live, which of them are free, and whether a cell is one of its own. Like everything an
// allocator keeps, the table is in linear memory (in the memory the allocator manages, for
// StackAllocator and the pools), so its paths touch no object of the AssemblyScript runtime.
//
//   a table's header, then its first chunk of records elsewhere
//    0 ┌──────────┐ fresh      next never-used record of the newest chunk
//    4 │          │ freshEnd   end of the newest chunk
//    8 │          │ head       the oldest freed record, first to be reused (0: none)
//   12 │          │ tail       the newest freed record
//   16 │          │ queued     freed records waiting
//   20 │          │ live       records of live cells
//   24 │          │ size       records in all chunks
//   28 │          │ chunks     bits 0..15: chunks so far; bits 16..31: most chunks
//   32 ├──────────┤
//      │ ranges   │ {u32 start, u32 end} per chunk, room for `most` of them
//      └──────────┘
//
//   a chunk of n records, 16 bytes each
//   ┌──────────┬──────────┬─ ─ ─ ─ ─ ┬──────────┬─ ─ ─ ─ ─ ┐
//   │ record 0 │ record 1 │          │ fresh    │          │
//   └──────────┴──────────┴─ ─ ─ ─ ─ ┴──────────┴─ ─ ─ ─ ─ ┘
//   below `fresh` (all of an older chunk): handed out at least once, live or freed; from `fresh`
//   on: never handed out, holding whatever the memory held
//
// Freed records wait in a first-in first-out queue, linked through their extent field. A record
// is reused only when no fresh record is left, and only after every record freed before it. So
// a Cell kept after its free fails on every use for at least as many allocations as there were
// free records when it was freed (the table's size minus the live cells, for a table that
// cannot grow; HeapAlloc keeps QUARANTINE of them). Past that a stale Cell names a newer cell:
// Rust rules that out at compile time, and a handle one word wide cannot carry more.

import { memoryBytes } from "../platform/shim";
import { RECORD, REC_LENGTH, REC_EXTENT, REC_SERIAL, FREED, EMPTY_CELL, cellName, kindName } from "./cell";

const T_FRESH: usize = 0;
const T_FRESH_END: usize = 4;
const T_HEAD: usize = 8;
const T_TAIL: usize = 12;
const T_QUEUED: usize = 16;
const T_LIVE: usize = 20;
const T_SIZE: usize = 24;
const T_CHUNKS: usize = 28;
const T_RANGES: usize = 32;

/** Bytes of the header of a table of one chunk (StackAllocator's, a pool's): plain arithmetic,
 *  so that offsets after it are compile-time constants. */
export const ONE_CHUNK_HEADER: usize = T_RANGES + 8;

/** Bytes of a table's header with room for `most` chunks. O(1). */
// @ts-ignore: decorator
@inline export function tableHeaderSize(most: i32): usize {
  return T_RANGES + (<usize>most << 3);
}

/** What freeStatus finds out about a record given to freeCell. */
export const FREE_OK: u32 = 0;
export const FREE_EMPTY: u32 = 1;
export const FREE_FOREIGN: u32 = 2;
export const FREE_TWICE: u32 = 3;
/** The guarded builds' pools: the cell's block was written outside the cell (features/pool.ts). */
export const FREE_OVERRUN: u32 = 4;

/** Lays out a table at t with room for `most` chunks, and its first chunk of n records at mem
 *  (16-aligned), memory kept for it. O(1). */
export function tableInit(t: usize, most: i32, mem: usize, n: i32): void {
  memory.fill(t, 0, tableHeaderSize(most));
  store<u32>(t, <u32>most << 16, T_CHUNKS);
  tableAddChunk(t, mem, n);
}

/** Adds a chunk of n records at mem (16-aligned) to table t, used before any freed record.
 *  Returns false when t has its most chunks. O(1). */
export function tableAddChunk(t: usize, mem: usize, n: i32): bool {
  let chunks = load<u32>(t, T_CHUNKS);
  let count = chunks & 0xFFFF;
  if (count == chunks >> 16) return false;
  let end = mem + <usize>n * RECORD;
  let range = t + T_RANGES + (<usize>count << 3);
  store<u32>(range, <u32>mem);
  store<u32>(range, <u32>end, 4);
  store<u32>(t, chunks + 1, T_CHUNKS);
  store<u32>(t, <u32>mem, T_FRESH);
  store<u32>(t, <u32>end, T_FRESH_END);
  store<i32>(t, load<i32>(t, T_SIZE) + n, T_SIZE);
  return true;
}

/** A record of table t for a new cell: a fresh one, else the oldest freed one; 0 when every
 *  record is live. The caller fills it (recordOpen). O(1). */
// @ts-ignore: decorator
@inline export function tableTake(t: usize): usize {
  let r = <usize>load<u32>(t, T_FRESH);
  if (r < <usize>load<u32>(t, T_FRESH_END)) {
    store<u32>(t, <u32>(r + RECORD), T_FRESH);
  } else {
    r = <usize>load<u32>(t, T_HEAD);
    if (!r) return 0;
    let next = load<u32>(r, REC_EXTENT);
    store<u32>(t, next, T_HEAD);
    if (!next) store<u32>(t, 0, T_TAIL);
    store<i32>(t, load<i32>(t, T_QUEUED) - 1, T_QUEUED);
  }
  store<i32>(t, load<i32>(t, T_LIVE) + 1, T_LIVE);
  return r;
}

/** Retires live record r of table t: its cell is freed (length 0, FREED set) and r joins the
 *  end of the queue. O(1). */
// @ts-ignore: decorator
@inline export function tableGive(t: usize, r: usize): void {
  store<i32>(r, 0, REC_LENGTH);
  store<u32>(r, load<u32>(r, REC_SERIAL) | FREED, REC_SERIAL);
  store<u32>(r, 0, REC_EXTENT);
  let tail = <usize>load<u32>(t, T_TAIL);
  if (tail) store<u32>(tail, <u32>r, REC_EXTENT);
  else store<u32>(t, <u32>r, T_HEAD);
  store<u32>(t, <u32>r, T_TAIL);
  store<i32>(t, load<i32>(t, T_QUEUED) + 1, T_QUEUED);
  store<i32>(t, load<i32>(t, T_LIVE) - 1, T_LIVE);
}

/** Records of live cells in table t. O(1). */
// @ts-ignore: decorator
@inline export function tableLive(t: usize): i32 {
  return load<i32>(t, T_LIVE);
}

/** Records in all of table t's chunks. O(1). */
// @ts-ignore: decorator
@inline export function tableSize(t: usize): i32 {
  return load<i32>(t, T_SIZE);
}

/** Whether every record of table t is live: no cell can be made until one is freed. O(1). */
// @ts-ignore: decorator
@inline export function tableFull(t: usize): bool {
  return load<i32>(t, T_LIVE) == load<i32>(t, T_SIZE);
}

/** Whether tableTake would reuse a freed record while fewer than `quarantine` wait: a table
 *  that can grow (HeapAlloc) adds a chunk first. O(1). */
// @ts-ignore: decorator
@inline export function tableWantsChunk(t: usize, quarantine: i32): bool {
  return load<u32>(t, T_FRESH) == load<u32>(t, T_FRESH_END) && load<i32>(t, T_QUEUED) < quarantine;
}

/** Whether r is a record table t handed out (live, or freed since). O(chunks). */
export function tableOwns(t: usize, r: usize): bool {
  let count = <usize>(load<u32>(t, T_CHUNKS) & 0xFFFF);
  for (let i = count; i > 0; --i) {
    let range = t + T_RANGES + ((i - 1) << 3);
    let lo = <usize>load<u32>(range);
    let hi = i == count ? <usize>load<u32>(t, T_FRESH) : <usize>load<u32>(range, 4);
    if (r >= lo && r < hi) return ((r - lo) & (RECORD - 1)) == 0;
  }
  return false;
}

/** Whether record r may be freed into table t: FREE_OK; FREE_EMPTY for the empty cell (nothing
 *  to do); FREE_FOREIGN when t never handed r out; FREE_TWICE when it was freed already. O(chunks). */
// @ts-ignore: decorator
@inline export function freeStatus(t: usize, r: usize): u32 {
  if (!tableOwns(t, r)) return r == EMPTY_CELL ? FREE_EMPTY : FREE_FOREIGN;
  return load<u32>(r, REC_SERIAL) & FREED ? FREE_TWICE : FREE_OK;
}

/** Stops the program: allocator number `kind` of T was given record r to free, and would
 *  not, for `why` (FREE_FOREIGN, FREE_TWICE, FREE_OVERRUN). */
export function freeFailed<T>(kind: u32, r: usize, why: u32): void {
  let who = kindName<T>(kind) + ".freeCell: ";
  if (why == FREE_TWICE) throw new Error(who + cellName(r) + " was freed already (a double free)");
  if (why == FREE_OVERRUN) throw new Error(who + cellName(r) + " was written outside its elements (its block's guard is broken)");
  // a cell of another allocator is named; any other address is not read
  let what = r != 0 && <u64>r + RECORD <= memoryBytes() ? cellName(r) : "that address";
  throw new Error(who + what + " is not a cell of this allocator");
}

/** Why table t cannot make a cell when it is full, for messages. O(digits). */
export function tableFullMessage(t: usize): string {
  return "all " + tableSize(t).toString() + " cell records are live";
}
