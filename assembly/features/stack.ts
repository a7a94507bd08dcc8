// stack.ts — StackAllocator<T>: alloc-no-stdlib's StackAllocator, a free list with a fixed
// number of slots over a buffer the caller supplies (static data from memory.data, or any
// region it owns). All it keeps is inside that buffer: it never touches other memory.
//
//   the caller's buffer [mem, mem + bytes), as the constructor lays it out (each part 16-aligned)
//   ┌────────┬────────────────┬────────────────────┬──────────────────────┬──────────────────────┐
//   │ state  │ record table's │ slots: slots × 8 B │ records: cells × 16 B│ elements: capacity × │
//   │ 32 B   │ header (40 B)  │ {u32 first, count} │ (features/records.ts)│ T, cut into pieces   │
//   └────────┴────────────────┴────────────────────┴──────────────────────┴──────────────────────┘
//
//   the state
//    0 slots     number of slots            16 held      elements of live cells' pieces
//    4 start     first occupied slot        20 dropped   elements of dropped pieces
//    8 data      address of element 0       24 onFree    OnFree
//   12 capacity  elements in all            28 (unused)
//
//   Slots start .. slots - 1 hold the free pieces: a piece's first element's address and its
//   length in elements. At first the one piece is all the elements. A free pushes its piece at
//   start - 1; an allocation takes the first piece from `start` up (the newest first) that
//   holds len elements: whole when fewer than SLACK elements would be left over (the cell keeps
//   them until it is freed), else the cell takes the front and the rest stays in the slot.
//   Pieces are never merged.
//
//   When a free finds every slot taken, the smallest piece goes: the smallest slotted piece,
//   whose slot the freed piece takes, or the freed piece itself when it is no larger. A dropped
//   piece is never handed out again (nothing is corrupted) and is counted in droppedElements,
//   so live (held) + free + dropped elements always make up the capacity.

import { memoryBytes } from "../platform/shim";
import {
  Allocator, Cell, OnFree, RECORD, REC_PTR, REC_EXTENT, elementSize, recordOpen, unusualLength,
  lengthCell, cellsExhausted, kindName, KIND_STACK,
} from "./cell";
import {
  tableHeaderSize, tableInit, tableTake, tableGive, tableLive, tableFull, freeStatus, freeFailed,
  tableFullMessage, FREE_OK, FREE_EMPTY,
} from "./records";

/** A piece at most this many elements longer than a request is handed out whole. */
export const SLACK: u32 = 32;

const S_SLOTS: usize = 0;
const S_START: usize = 4;
const S_DATA: usize = 8;
const S_CAPACITY: usize = 12;
const S_HELD: usize = 16;
const S_DROPPED: usize = 20;
const S_ON_FREE: usize = 24;
const S_TABLE: usize = 32;
/** Where the slots start, from the state. */
const S_SLOT_BASE: usize = (S_TABLE + tableHeaderSize(1) + 15) & ~15;
/** Bytes of one slot: a piece's first element's address and its length in elements. */
const SLOT: usize = 8;


/** Rounds x up to a multiple of 16. O(1). */
// @ts-ignore: decorator
@inline function up16(x: u64): u64 {
  return (x + 15) & ~15;
}

/** Address of slot k of the allocator whose state is at s. O(1). */
// @ts-ignore: decorator
@inline function slotAt(s: usize, k: i32): usize {
  return s + S_SLOT_BASE + <usize>k * SLOT;
}

/** Elements in slot k's piece. O(1). */
// @ts-ignore: decorator
@inline function countAt(s: usize, k: i32): u32 {
  return load<u32>(slotAt(s, k), 4);
}

/** Puts the piece of n elements at p in slot k. O(1). */
// @ts-ignore: decorator
@inline function setSlot(s: usize, k: i32, p: usize, n: u32): void {
  let a = slotAt(s, k);
  store<u32>(a, <u32>p);
  store<u32>(a, n, 4);
}

/** The record of a new cell of len elements (1 .. maxElements) from the allocator at s, or 0
 *  when no piece holds it or every record is live. O(slots scanned). */
function stackAlloc<T>(s: usize, len: i32): usize {
  let t = s + S_TABLE;
  if (tableFull(t)) return 0;
  let want = <u32>len;
  let slots = load<i32>(s, S_SLOTS);
  let start = load<i32>(s, S_START);
  let k = start;
  let count: u32 = 0;
  for (; k < slots; ++k) {
    count = countAt(s, k);
    if (count >= want) break;
  }
  if (k == slots) return 0;
  let slot = slotAt(s, k);
  let p = <usize>load<u32>(slot);
  let extent = want;
  if (count - want < SLACK) {
    // whole: the piece at `start` fills the hole, and the list is one shorter
    extent = count;
    if (k != start) store<u64>(slot, load<u64>(slotAt(s, start)));
    store<i32>(s, start + 1, S_START);
  } else {
    setSlot(s, k, p + <usize>want * elementSize<T>(), count - want);
  }
  store<u32>(s, load<u32>(s, S_HELD) + extent, S_HELD);
  let r = tableTake(t);
  recordOpen(r, p, len, extent);
  return r;
}

/** Frees the cell of record r into the allocator at s: zeroes it (OnFree.ZERO), pushes its
 *  piece, retires r. Returns FREE_OK, or why it would not (records.ts). O(1), O(slots) when
 *  the list is full, plus zeroing. */
function stackFree<T>(s: usize, r: usize): u32 {
  let t = s + S_TABLE;
  let why = freeStatus(t, r);
  if (why != FREE_OK) return why;
  let p = load<usize>(r, REC_PTR);
  let n = load<u32>(r, REC_EXTENT);
  if (load<u32>(s, S_ON_FREE) == OnFree.ZERO) memory.fill(p, 0, <usize>n * elementSize<T>());
  store<u32>(s, load<u32>(s, S_HELD) - n, S_HELD);
  tableGive(t, r);
  let start = load<i32>(s, S_START);
  if (start > 0) {
    store<i32>(s, start - 1, S_START);
    setSlot(s, start - 1, p, n);
  } else {
    dropSmallest(s, p, n);
  }
  return FREE_OK;
}

/** With every slot taken, keeps the freed piece of n elements at p in place of the smallest
 *  slotted piece when that is smaller, and drops the smaller of the two. O(slots). */
function dropSmallest(s: usize, p: usize, n: u32): void {
  let slots = load<i32>(s, S_SLOTS);
  let m = 0;
  let least = countAt(s, 0);
  for (let k = 1; k < slots; ++k) {
    let c = countAt(s, k);
    if (c < least) {
      least = c;
      m = k;
    }
  }
  if (least < n) {
    store<u32>(s, load<u32>(s, S_DROPPED) + least, S_DROPPED);
    setSlot(s, m, p, n);
  } else {
    store<u32>(s, load<u32>(s, S_DROPPED) + n, S_DROPPED);
  }
}

/** alloc-no-stdlib's StackAllocator over the caller's buffer: `slots` free pieces at most,
 *  `cells` live cells at most, elements of T. */
export class StackAllocator<T> implements Allocator<T> {
  /** Address of the state, at the buffer's start (rounded up to 16). */
  private readonly state: usize;

  /** A StackAllocator over [mem, mem + bytes), which it alone may use while any of its cells
   *  is: room for `slots` free pieces and `cells` live cells, the rest for elements. With
   *  OnFree.ZERO the elements are zeroed now (O(bytes)) and each freed cell then. Fails on a
   *  buffer too small for the state, the slots, the records and one element, or outside memory. */
  constructor(mem: usize, bytes: usize, slots: i32, cells: i32, onFree: OnFree = OnFree.ZERO) {
    let s = up16(<u64>mem);
    let records = up16(s + S_SLOT_BASE + <u64>max<i32>(slots, 0) * SLOT);
    let data = up16(records + <u64>max<i32>(cells, 0) * RECORD);
    let end = <u64>mem + <u64>bytes;
    if (slots < 1 || cells < 1 || mem == 0 || end > memoryBytes() || data + elementSize<T>() > end) {
      throw new Error(kindName<T>(KIND_STACK) + ": " + bytes.toString() + " bytes at " + mem.toString() +
        " cannot hold " + slots.toString() + " slots, " + cells.toString() +
        " cell records and one element inside memory (slots and cells must be 1 or more)");
    }
    let state = <usize>s;
    let capacity = <u32>((end - data) / elementSize<T>());
    memory.fill(state, 0, S_TABLE);
    store<i32>(state, slots, S_SLOTS);
    store<i32>(state, slots - 1, S_START);
    store<u32>(state, <u32>data, S_DATA);
    store<u32>(state, capacity, S_CAPACITY);
    store<u32>(state, onFree, S_ON_FREE);
    tableInit(state + S_TABLE, 1, <usize>records, cells);
    setSlot(state, slots - 1, <usize>data, capacity);
    if (onFree == OnFree.ZERO) memory.fill(<usize>data, 0, <usize>capacity * elementSize<T>());
    this.state = state;
  }

  /** A cell of len elements: the first free piece from the newest on that holds it. Fails
   *  when no piece does or every cell record is live, and on a negative len. O(slots scanned). */
  allocCell(len: i32): Cell<T> {
    if (unusualLength<T>(len)) return changetype<Cell<T>>(lengthCell<T>(len, KIND_STACK));
    let r = stackAlloc<T>(this.state, len);
    if (!r) this.exhausted(len);
    return changetype<Cell<T>>(r);
  }

  /** As allocCell, but null when no piece holds len elements or every record is live. */
  tryAllocCell(len: i32): Cell<T> | null {
    if (unusualLength<T>(len)) return changetype<Cell<T>>(lengthCell<T>(len, KIND_STACK));
    return changetype<Cell<T> | null>(stackAlloc<T>(this.state, len));
  }

  /** Gives cell back (OnFree.ZERO: zeroed) and keeps its piece; the cell is dead. Fails on a
   *  cell that is not a live cell of this allocator. O(1), O(slots) when the list is full. */
  freeCell(cell: Cell<T>): void {
    let r = changetype<usize>(cell);
    let why = stackFree<T>(this.state, r);
    if (why > FREE_EMPTY) freeFailed<T>(KIND_STACK, r, why); // the empty cell: nothing to free
  }

  /** Stops the program: no room for a cell of len elements, and why. */
  private exhausted(len: i32): void {
    let s = this.state;
    cellsExhausted<T>(KIND_STACK, len, tableFull(s + S_TABLE)
      ? tableFullMessage(s + S_TABLE)
      : "no free piece holds " + len.toString() + " elements (the largest holds " + this.largestFree().toString() +
        "; " + this.droppedElements.toString() + " were dropped)");
  }

  /** Elements in all: live, free and dropped. O(1). */
  get capacity(): u32 {
    return load<u32>(this.state, S_CAPACITY);
  }

  /** Live cells. O(1). */
  get liveCells(): i32 {
    return tableLive(this.state + S_TABLE);
  }

  /** What the allocator does with freed cells. O(1). */
  get onFree(): OnFree {
    return load<u32>(this.state, S_ON_FREE);
  }

  /** Elements held by live cells (a piece taken whole counts whole). O(1). */
  get heldElements(): u32 {
    return load<u32>(this.state, S_HELD);
  }

  /** Elements in the free pieces. O(slots). */
  get freeElements(): u32 {
    let s = this.state;
    let sum: u32 = 0;
    for (let k = load<i32>(s, S_START), n = load<i32>(s, S_SLOTS); k < n; ++k) sum += countAt(s, k);
    return sum;
  }

  /** Elements of pieces dropped because the free list was full: never handed out again. O(1). */
  get droppedElements(): u32 {
    return load<u32>(this.state, S_DROPPED);
  }

  /** Free pieces in the list (at most `slots`). O(1). */
  get freePieces(): i32 {
    return load<i32>(this.state, S_SLOTS) - load<i32>(this.state, S_START);
  }

  /** The longest free piece, in elements. O(slots). */
  largestFree(): u32 {
    let s = this.state;
    let most: u32 = 0;
    for (let k = load<i32>(s, S_START), n = load<i32>(s, S_SLOTS); k < n; ++k) most = max<u32>(most, countAt(s, k));
    return most;
  }
}
