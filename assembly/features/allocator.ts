// allocator.ts — what every cell allocator does around its engine: the Allocator<T> interface,
// a length's checks, the failures and their messages. StackAllocator (features/stack.ts), the
// pools (features/pool.ts) and HeapAlloc (entry/cells.ts) are this class over their engines.
//
// An engine is an @unmanaged class whose `this` is the address of the allocator's state in
// linear memory, so that its paths touch no object of the AssemblyScript runtime; it has
//   alloc<T>(len: i32): usize      the record of a new cell of len elements (1 .. maxElements<T>()),
//                                  or 0 when there is no room
//   free<T>(r: usize): u32         gives back the memory of live record r's cell (zeroing it for
//                                  OnFree.ZERO): FREE_OK, or why it would not (records.ts); the
//                                  class has checked r and retires it afterwards
//   exhausted<T>(len: i32): string why a cell of len elements could not be had, for the message
// The class is generic over the engine, so every call to it is direct (and mostly inlined).
//
//   every state begins the same way; the engine's own fields follow the record table's header
//    0 ┌──────────┐ kind     which allocator it is (KIND_…, features/cell.ts)
//    4 │          │ onFree   OnFree
//    8 │          │ (the engine's)
//   12 │          │ (the engine's)
//   16 ├──────────┤
//      │ table    │ the record table's header (records.ts): tableHeaderSize(most chunks) bytes
//      └──────────┘

import { Allocator, Cell, OnFree, unusualLength, lengthCell, cellsExhausted } from "./cell";
import { tableInit, tableLive, tableGive, freeStatus, freeFailed, FREE_OK, FREE_EMPTY } from "./records";

export const A_KIND: usize = 0;
export const A_ON_FREE: usize = 4;
/** Two words of the engine's own. */
export const A_OWN: usize = 8;
export const A_OWN2: usize = 12;
export const A_TABLE: usize = 16;

/** Begins the state of allocator number `kind` at s: its OnFree, and a record table with room
 *  for `most` chunks and its first chunk of n records at mem. O(1). */
export function stateInit(s: usize, kind: u32, onFree: OnFree, most: i32, mem: usize, n: i32): void {
  store<u32>(s, kind, A_KIND);
  store<u32>(s, onFree, A_ON_FREE);
  store<u64>(s, 0, A_OWN);
  tableInit(s + A_TABLE, most, mem, n);
}

/** Which allocator the state at s is. O(1). */
// @ts-ignore: decorator
@inline export function kindOf(s: usize): u32 {
  return load<u32>(s, A_KIND);
}

/** What the allocator whose state is at s does with freed cells. O(1). */
// @ts-ignore: decorator
@inline export function onFreeOf(s: usize): OnFree {
  return load<u32>(s, A_ON_FREE);
}

/** Stops the program: engine e has no room for a cell of len elements of T. (Apart from
 *  allocCell, whose fast path then needs no room for strings.) */
function allocFailed<T, E>(e: E, len: i32): void {
  cellsExhausted<T>(kindOf(changetype<usize>(e)), len, e.exhausted<T>(len));
}

/** A cell allocator of elements of T over engine E (above). */
export class CellAllocator<T, E> implements Allocator<T> {
  /** engine: the allocator's state, made by the subclass. O(1). */
  constructor(protected readonly engine: E) {}

  /** A cell of len elements (0: the empty cell). Stops the program with a message when the
   *  allocator has no room for it, and for a negative len. O(the engine's alloc). */
  allocCell(len: i32): Cell<T> {
    let e = this.engine;
    if (unusualLength<T>(len)) return changetype<Cell<T>>(lengthCell<T>(len, kindOf(changetype<usize>(e))));
    let r = e.alloc<T>(len);
    if (!r) allocFailed<T, E>(e, len);
    return changetype<Cell<T>>(r);
  }

  /** As allocCell, but null when the allocator has no room (bad input still stops it). O(the
   *  engine's alloc). */
  tryAllocCell(len: i32): Cell<T> | null {
    let e = this.engine;
    if (unusualLength<T>(len)) return changetype<Cell<T>>(lengthCell<T>(len, kindOf(changetype<usize>(e))));
    return changetype<Cell<T> | null>(e.alloc<T>(len));
  }

  /** Gives cell back; it is dead afterwards (the empty cell: nothing happens). Stops the program
   *  with a message for a cell this allocator did not hand out, or freed already. O(the
   *  engine's free). */
  freeCell(cell: Cell<T>): void {
    let r = changetype<usize>(cell);
    let e = this.engine;
    let t = changetype<usize>(e) + A_TABLE;
    let why = freeStatus(t, r);
    if (why == FREE_OK) why = e.free<T>(r);
    if (why == FREE_OK) tableGive(t, r);
    else if (why > FREE_EMPTY) freeFailed<T>(kindOf(changetype<usize>(e)), r, why);
  }

  /** Live cells. O(1). */
  get liveCells(): i32 {
    return tableLive(changetype<usize>(this.engine) + A_TABLE);
  }

  /** What the allocator does with freed cells. O(1). */
  get onFree(): OnFree {
    return onFreeOf(changetype<usize>(this.engine));
  }
}
