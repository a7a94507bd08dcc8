// cell.ts — typed cells: a run of elements of one value type that a cell allocator hands out
// (features/allocator.ts and the engines: stack.ts, pool.ts, entry/cells.ts), its record, its
// element access and its views; the allocators' numbers and the messages they share. The model is the Rust crate alloc-no-stdlib's: memory comes from an allocator the
// caller chose, as cells of T, and goes back to it cell by cell. Rust forbids touching a freed
// cell at compile time; here a freed cell fails at run time, with a message naming it.
//
// A Cell<T> is not an object of AssemblyScript's runtime: it is the address of a 16-byte record
// in its allocator's record table (features/records.ts), outside the elements. So allocating a
// cell asks nothing of the runtime's heap (a pool never makes memory grow), and a stale Cell
// always names a record: never the middle of another cell's elements, nor the allocator's own
// words (records.ts says how long a freed record stays dead).
//
//   a cell's record
//    0          4          8          12         16
//   ┌──────────┬──────────┬──────────┬──────────┐
//   │ ptr      │ length   │ extent   │ serial   │
//   └──────────┴──────────┴──────────┴──────────┘
//   ptr     address of element 0; kept once the cell is freed, for messages
//   length  elements the cell holds (i32); 0 once it is freed, so the bounds check of [] fails
//           and only that failure asks why
//   extent  live: what the allocator keeps for the cell (StackAllocator: elements of its piece,
//           at least length); freed: the next record in its table's queue of free records
//   serial  bits 0..30: the cell's number, counted over the module from 1 (0: the empty cell);
//           bit 31 FREED: the cell was freed
//
//   T, the element: a number type (i8 … u64, f32, f64, bool, v128) stored as itself, or an
//   @unmanaged class stored inline, offsetof<T>() bytes each; cell[i] is then a reference into
//   the cell, and cell[i] = v copies v's fields in. A managed T is a compile-time error.

/** Byte offsets of a record's fields, and its size. */
export const REC_PTR: usize = 0;
export const REC_LENGTH: usize = 4;
export const REC_EXTENT: usize = 8;
export const REC_SERIAL: usize = 12;
export const RECORD: usize = 16;
/** The serial's bit for a freed cell. */
export const FREED: u32 = 0x8000_0000;

/** What an allocator does with a cell's elements (the seed's `bzero` and `uninitialized`). */
export enum OnFree {
  /** A freed cell's elements are zeroed; and every new cell reads zero, but from
   *  HeapAllocUninitialized, which leaves new cells as malloc gives them. */
  ZERO = 0,
  /** Nothing is zeroed: a new cell holds whatever its memory held (an older cell's elements,
   *  the allocator's own words, or zero where the memory was never used and started zero). */
  LEAVE = 1,
}

/** The interface every cell allocator implements (alloc-no-stdlib's Allocator<T>). */
export interface Allocator<T> {
  /** A cell of len elements (len 0: the empty cell); fails with a message when it cannot. */
  allocCell(len: i32): Cell<T>;
  /** As allocCell, but null when the allocator has no room left (bad input still fails). */
  tryAllocCell(len: i32): Cell<T> | null;
  /** Gives a cell back; it is dead afterwards. Fails on a cell that is not live here. */
  freeCell(cell: Cell<T>): void;
}

/** The cell allocators, numbered: an allocator keeps its number, not its name, so that no
 *  string (an object of the runtime) is touched on its fast paths. */
export const KIND_STACK: u32 = 0;
export const KIND_HEAP_ALLOC: u32 = 1;
export const KIND_HEAP_UNINITIALIZED: u32 = 2;
export const KIND_HEAP_PREALLOC: u32 = 3;
export const KIND_CALLOC_POOL: u32 = 4;
export const KIND_GLOBAL_POOL: u32 = 5;

/** How messages name allocator number k holding elements of T: "HeapPrealloc<u8>". O(1)
 *  (a new string). */
export function kindName<T>(k: u32): string {
  let name = k == KIND_STACK ? "StackAllocator" : k == KIND_HEAP_ALLOC ? "HeapAlloc"
    : k == KIND_HEAP_UNINITIALIZED ? "HeapAllocUninitialized" : k == KIND_HEAP_PREALLOC ? "HeapPrealloc"
    : k == KIND_CALLOC_POOL ? "CallocPool" : "GlobalPool";
  return name + "<" + nameof<T>() + ">";
}

/** Bytes of one element of T; a managed T does not compile. O(1), folded by the compiler. */
// @ts-ignore: decorator
@inline export function elementSize<T>(): usize {
  if (isManaged<T>()) ERROR("a cell's element must be a number type or an @unmanaged class");
  return isReference<T>() ? offsetof<T>() : sizeof<T>();
}

/** Most elements of T one cell may hold: its bytes stay below 2^31. O(1), folded. */
// @ts-ignore: decorator
@inline export function maxElements<T>(): i32 {
  return <i32>(<usize>0x7FFF_FFF0 / elementSize<T>());
}

/** The cell every allocator returns for a length of 0: no elements, never freed. */
export const EMPTY_CELL: usize = memory.data(<i32>RECORD, 16);

/** Whether len needs no memory or is bad: true for anything outside 1 .. maxElements<T>().
 *  One compare, for an allocator's fast path; lengthCell says what to do then. O(1). */
// @ts-ignore: decorator
@inline export function unusualLength<T>(len: i32): bool {
  return <u32>(len - 1) >= <u32>maxElements<T>();
}

/** The cell for an unusual len: the empty cell for 0. Stops the program, naming allocator
 *  number `kind` of T, for a negative len or one longer than a cell may hold. */
export function lengthCell<T>(len: i32, kind: u32): usize {
  if (len == 0) return EMPTY_CELL;
  let who = kindName<T>(kind) + ".allocCell: ";
  if (len < 0) throw new Error(who + "length " + len.toString() + " is negative");
  throw new Error(who + len.toString() + " elements are more than a cell holds (" + maxElements<T>().toString() + ")");
}

/** Stops the program: allocator number `kind` of T has no room for a cell of len elements;
 *  `why` says what ran out. */
export function cellsExhausted<T>(kind: u32, len: i32, why: string): void {
  throw new Error(kindName<T>(kind) + ".allocCell(" + len.toString() + "): out of memory: " + why);
}

/** The next cell number (1 .. 2^31 - 1, then 1 again). O(1). */
let serials: u32 = 0;

/** Fills record r for a new cell of len elements at ptr, holding extent: numbers it. O(1). */
// @ts-ignore: decorator
@inline export function recordOpen(r: usize, ptr: usize, len: i32, extent: u32): void {
  let n = serials + 1;
  if (n >= FREED) n = 1;
  serials = n;
  store<usize>(r, ptr, REC_PTR);
  store<i32>(r, len, REC_LENGTH);
  store<u32>(r, extent, REC_EXTENT);
  store<u32>(r, n, REC_SERIAL);
}

/** How a message names the cell numbered by serial s: "cell #12", or "the empty cell".
 *  O(digits). */
function nameOf(s: u32): string {
  let n = s & ~FREED;
  return n ? "cell #" + n.toString() : "the empty cell";
}

/** How a message names the cell of record r. O(digits). */
export function cellName(r: usize): string {
  return nameOf(load<u32>(r, REC_SERIAL));
}

/** Stops the program: index i of the cell of record r, of element type `type`, was out of
 *  range, or the cell was freed (`write`: by a store). The cold path of [] and []=. */
export function cellIndexFailed(r: usize, i: i32, write: bool, type: string): void {
  if (load<u32>(r, REC_SERIAL) & FREED) {
    throw new Error(cellName(r) + " (" + type + ") " + (write ? "written" : "read") +
      " at index " + i.toString() + " after it was freed");
  }
  throw new Error(cellName(r) + " (" + type + "): index " + i.toString() + " is out of range [0, " +
    load<i32>(r, REC_LENGTH).toString() + ")");
}

/** Stops the program: the cell of record r was freed before `what` (a verb phrase). */
export function cellUseFailed(r: usize, what: string, type: string): void {
  throw new Error(cellName(r) + " (" + type + ") " + what + " after it was freed");
}

/** Stops the program: [start, end) is not a range of the cell of record r's length elements. */
function sliceFailed(r: usize, start: i32, end: i32, length: i32, type: string): void {
  throw new Error(cellName(r) + " (" + type + "): slice(" + start.toString() + ", " + end.toString() +
    ") is not inside [0, " + length.toString() + ")");
}

/** Element i of T at address p, a reference into memory for an @unmanaged class. O(1). */
// @ts-ignore: decorator
@inline function loadElement<T>(p: usize, i: i32): T {
  if (isReference<T>()) return changetype<T>(p + <usize>i * elementSize<T>());
  return load<T>(p + (<usize>i << alignof<T>()));
}

/** Stores v as element i of T at address p (an @unmanaged class: copies its fields). O(1). */
// @ts-ignore: decorator
@inline function storeElement<T>(p: usize, i: i32, v: T): void {
  if (isReference<T>()) {
    memory.copy(p + <usize>i * elementSize<T>(), changetype<usize>(v), elementSize<T>());
  } else {
    store<T>(p + (<usize>i << alignof<T>()), v);
  }
}

/** A cell: length elements of T at ptr, handed out by a cell allocator. The reference is the
 *  address of its record (above); cells are made only by allocators, never with `new`. */
@unmanaged export class Cell<T> {
  /** Elements of the cell; 0 once it is freed, and for the empty cell. O(1). */
  get length(): i32 {
    return load<i32>(changetype<usize>(this), REC_LENGTH);
  }

  /** Whether the cell was freed. O(1). */
  get freed(): bool {
    return (load<u32>(changetype<usize>(this), REC_SERIAL) & FREED) != 0;
  }

  /** The cell's number, which messages name it by (0: the empty cell). O(1). */
  get serial(): u32 {
    return load<u32>(changetype<usize>(this), REC_SERIAL) & ~FREED;
  }

  /** Address of element 0, to hand the cell to C with length or byteLength; fails on a freed
   *  cell (0 for the empty cell). O(1). */
  get ptr(): usize {
    let r = changetype<usize>(this);
    if (load<u32>(r, REC_SERIAL) & FREED) cellUseFailed(r, "had its ptr taken", nameof<T>());
    return load<usize>(r, REC_PTR);
  }

  /** Bytes of the elements: length times the element's size. O(1). */
  get byteLength(): i32 {
    return this.length * <i32>elementSize<T>();
  }

  /** Element i; fails (in every build) when i is not in [0, length), naming the cell, and
   *  saying so when it was freed. O(1): one bounds check, whose failure alone asks why. */
  // @ts-ignore: decorator
  @inline @operator("[]") get(i: i32): T {
    let r = changetype<usize>(this);
    if (<u32>i >= <u32>load<i32>(r, REC_LENGTH)) cellIndexFailed(r, i, false, nameof<T>());
    return loadElement<T>(load<usize>(r, REC_PTR), i);
  }

  /** Sets element i to v; the same check as get. O(1) (an @unmanaged class: O(its size)). */
  // @ts-ignore: decorator
  @inline @operator("[]=") set(i: i32, v: T): void {
    let r = changetype<usize>(this);
    if (<u32>i >= <u32>load<i32>(r, REC_LENGTH)) cellIndexFailed(r, i, true, nameof<T>());
    storeElement<T>(load<usize>(r, REC_PTR), i, v);
  }

  /** Sets every element to v. O(length). */
  fill(v: T): void {
    let n = this.length;
    if (!n && this.freed) cellUseFailed(changetype<usize>(this), "filled", nameof<T>());
    let p = load<usize>(changetype<usize>(this), REC_PTR);
    for (let i = 0; i < n; ++i) storeElement<T>(p, i, v);
  }

  /** Elements [start, end) as a view: reads and writes go to this cell's memory (nothing is
   *  copied), and fail once the cell is freed. Fails unless 0 <= start <= end <= length. O(1),
   *  plus one small object of the AssemblyScript runtime (the view). */
  slice(start: i32, end: i32): CellView<T> {
    let r = changetype<usize>(this);
    let n = load<i32>(r, REC_LENGTH);
    if (!n && (load<u32>(r, REC_SERIAL) & FREED)) cellUseFailed(r, "sliced", nameof<T>());
    if (start < 0 || end < start || end > n) sliceFailed(r, start, end, n, nameof<T>());
    let p = load<usize>(r, REC_PTR) + <usize>start * elementSize<T>();
    return new CellView<T>(r, load<u32>(r, REC_SERIAL), p, end - start);
  }
}

/** A view of part of a cell (Cell.slice): its elements are the cell's own. It knows the cell by
 *  its record and number, so it fails once that cell is freed, even after the record serves a
 *  newer cell. A view is an object of AssemblyScript's runtime (the garbage collector frees it). */
@final export class CellView<T> {
  /** A view of `length` elements from address start, part of the cell of `record`, numbered
   *  `serial`; made by slice. O(1). */
  constructor(
    private readonly record: usize,
    private readonly serial: u32,
    /** Address of the view's element 0. */
    private readonly start: usize,
    /** Elements in the view. */
    readonly length: i32,
  ) {}

  /** Whether the cell the view is part of is still live. O(1). */
  get alive(): bool {
    return load<u32>(this.record, REC_SERIAL) == this.serial;
  }

  /** Address of the view's element 0, for C; fails once the cell is freed. O(1). */
  get ptr(): usize {
    if (!this.alive) this.failFreed("had its ptr taken");
    return this.start;
  }

  /** Bytes of the view's elements. O(1). */
  get byteLength(): i32 {
    return this.length * <i32>elementSize<T>();
  }

  /** Element i of the view; fails when i is not in [0, length) or the cell was freed. O(1). */
  @operator("[]") get(i: i32): T {
    if (<u32>i >= <u32>this.length || !this.alive) this.failAt(i, false);
    return loadElement<T>(this.start, i);
  }

  /** Sets element i of the view to v; the same checks as get. O(1). */
  @operator("[]=") set(i: i32, v: T): void {
    if (<u32>i >= <u32>this.length || !this.alive) this.failAt(i, true);
    storeElement<T>(this.start, i, v);
  }

  /** Elements [start, end) of this view, as a view of the same cell. O(1), plus the object. */
  slice(start: i32, end: i32): CellView<T> {
    if (!this.alive) this.failFreed("sliced");
    if (start < 0 || end < start || end > this.length) {
      throw new Error("a view of " + this.cellName() + " (" + nameof<T>() + "): slice(" + start.toString() +
        ", " + end.toString() + ") is not inside [0, " + this.length.toString() + ")");
    }
    let p = this.start + <usize>start * elementSize<T>();
    return new CellView<T>(this.record, this.serial, p, end - start);
  }

  /** The cell's name as it was when the view was made. O(digits). */
  private cellName(): string {
    return nameOf(this.serial);
  }

  /** Stops the program: the cell was freed before `what`. */
  private failFreed(what: string): void {
    throw new Error("a view of " + this.cellName() + " (" + nameof<T>() + ") " + what + " after the cell was freed");
  }

  /** Stops the program: index i of the view was out of range or its cell freed (`write`). */
  private failAt(i: i32, write: bool): void {
    if (!this.alive) this.failFreed((write ? "written" : "read") + " at index " + i.toString());
    throw new Error("a view of " + this.cellName() + " (" + nameof<T>() + "): index " + i.toString() +
      " is out of range [0, " + this.length.toString() + ")");
  }
}
