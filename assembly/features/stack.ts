// stack.ts — StackAllocator<T>: alloc-no-stdlib's StackAllocator, a free list with a fixed
// number of slots over a buffer the caller supplies (static data from memory.data, or any
// region it owns). All it keeps is inside that buffer: it never touches other memory.
//
//   the caller's buffer [mem, mem + bytes), as the constructor lays it out (each part 16-aligned)
//   ┌──────────┬────────────────────┬───────────────────────┬─────────────────────────────────┐
//   │ state    │ slots: slots × 8 B │ records: cells × 16 B │ elements: capacity × T, cut     │
//   │ 80 B     │ {u32 first, count} │ (features/records.ts) │ into pieces                     │
//   └──────────┴────────────────────┴───────────────────────┴─────────────────────────────────┘
//
//   the state: features/allocator.ts's common part, then
//    8 held      elements of live cells' pieces      56 slots     number of slots
//   12 dropped   elements of dropped pieces          60 start     first occupied slot
//   16 the record table's header (40 B)              64 capacity  elements in all
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
import { OnFree, RECORD, REC_PTR, REC_EXTENT, elementSize, recordOpen, kindName, KIND_STACK } from "./cell";
import { ONE_CHUNK_HEADER, tableTake, tableFull, tableFullMessage, FREE_OK } from "./records";
import { CellAllocator, A_OWN, A_OWN2, A_TABLE, stateInit, onFreeOf } from "./allocator";

/** A piece at most this many elements longer than a request is handed out whole. */
export const SLACK: u32 = 32;

const S_HELD: usize = A_OWN;
const S_DROPPED: usize = A_OWN2;
const S_TABLE: usize = A_TABLE;
const S_SLOTS: usize = A_TABLE + ONE_CHUNK_HEADER;
const S_START: usize = S_SLOTS + 4;
const S_CAPACITY: usize = S_SLOTS + 8;
/** Where the slots start, from the state. */
const S_SLOT_BASE: usize = (S_CAPACITY + 4 + 15) & ~15;
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

/** The engine of a StackAllocator (features/allocator.ts): `this` is its state. */
@unmanaged class StackEngine {
  /** The record of a new cell of len elements (1 .. maxElements) from this allocator (its state
   *  is `this`, s), or 0 when no piece holds it or every record is live. O(slots scanned). */
  alloc<T>(len: i32): usize {
    let s = changetype<usize>(this);
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

  /** Takes back the piece of live record r's cell: zeroes it (OnFree.ZERO) and pushes it.
   *  FREE_OK. O(1), O(slots) when the list is full, plus zeroing. */
  free<T>(r: usize): u32 {
    let s = changetype<usize>(this);
    let p = load<usize>(r, REC_PTR);
    let n = load<u32>(r, REC_EXTENT);
    if (onFreeOf(s) == OnFree.ZERO) memory.fill(p, 0, <usize>n * elementSize<T>());
    store<u32>(s, load<u32>(s, S_HELD) - n, S_HELD);
    let start = load<i32>(s, S_START);
    if (start > 0) {
      store<i32>(s, start - 1, S_START);
      setSlot(s, start - 1, p, n);
    } else {
      dropSmallest(s, p, n);
    }
    return FREE_OK;
  }

  /** Why no cell of len elements could be had, for the message. O(1) (StackAllocator: O(slots)). */
  exhausted<T>(len: i32): string {
    let s = changetype<usize>(this);
    return tableFull(s + S_TABLE) ? tableFullMessage(s + S_TABLE)
      : "no free piece holds " + len.toString() + " elements (the largest holds " + largestFree(s).toString() +
        "; " + load<u32>(s, S_DROPPED).toString() + " were dropped)";
  }
}

/** The longest free piece of the allocator at s, in elements. O(slots). */
function largestFree(s: usize): u32 {
  let most: u32 = 0;
  for (let k = load<i32>(s, S_START), n = load<i32>(s, S_SLOTS); k < n; ++k) most = max<u32>(most, countAt(s, k));
  return most;
}

/** Lays out a StackAllocator of T over [mem, mem + bytes) (above) and returns its engine; stops
 *  the program when the buffer cannot hold the state, the slots, the records and one element
 *  inside memory. O(1), or O(bytes) with OnFree.ZERO: the elements are zeroed. */
function stackState<T>(mem: usize, bytes: usize, slots: i32, cells: i32, onFree: OnFree): StackEngine {
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
  stateInit(state, KIND_STACK, onFree, 1, <usize>records, cells);
  store<i32>(state, slots, S_SLOTS);
  store<i32>(state, slots - 1, S_START);
  store<u32>(state, capacity, S_CAPACITY);
  setSlot(state, slots - 1, <usize>data, capacity);
  if (onFree == OnFree.ZERO) memory.fill(<usize>data, 0, <usize>capacity * elementSize<T>());
  return changetype<StackEngine>(state);
}

/** alloc-no-stdlib's StackAllocator over the caller's buffer: `slots` free pieces at most,
 *  `cells` live cells at most, elements of T. allocCell scans the free pieces from the newest
 *  (O(slots scanned)); freeCell is O(1), O(slots) when the list is full. */
export class StackAllocator<T> extends CellAllocator<T, StackEngine> {
  /** A StackAllocator over [mem, mem + bytes), which it alone may use while any of its cells
   *  is: room for `slots` free pieces and `cells` live cells, the rest for elements. With
   *  OnFree.ZERO the elements are zeroed now (O(bytes)) and each freed cell then. Fails on a
   *  buffer too small for the state, the slots, the records and one element, or outside memory. */
  constructor(mem: usize, bytes: usize, slots: i32, cells: i32, onFree: OnFree = OnFree.ZERO) {
    super(stackState<T>(mem, bytes, slots, cells, onFree));
  }

  /** Elements in all: live, free and dropped. O(1). */
  get capacity(): u32 {
    return load<u32>(changetype<usize>(this.engine), S_CAPACITY);
  }

  /** Elements held by live cells (a piece taken whole counts whole). O(1). */
  get heldElements(): u32 {
    return load<u32>(changetype<usize>(this.engine), S_HELD);
  }

  /** Elements in the free pieces. O(slots). */
  get freeElements(): u32 {
    let s = changetype<usize>(this.engine);
    let sum: u32 = 0;
    for (let k = load<i32>(s, S_START), n = load<i32>(s, S_SLOTS); k < n; ++k) sum += countAt(s, k);
    return sum;
  }

  /** Elements of pieces dropped because the free list was full: never handed out again. O(1). */
  get droppedElements(): u32 {
    return load<u32>(changetype<usize>(this.engine), S_DROPPED);
  }

  /** Free pieces in the list (at most `slots`). O(1). */
  get freePieces(): i32 {
    let s = changetype<usize>(this.engine);
    return load<i32>(s, S_SLOTS) - load<i32>(s, S_START);
  }

  /** The longest free piece, in elements. O(slots). */
  largestFree(): u32 {
    return largestFree(changetype<usize>(this.engine));
  }
}
