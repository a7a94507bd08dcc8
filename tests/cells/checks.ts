// The cell allocators as a program sees them, built by tests/cells.test.js in three
// configurations (release: the pools' own cache; RALLOC_PAGES=0: the heap's quick lists;
// RALLOC_DEBUG=1: the guarded build). `run` drives the generative checks of
// tests/assembly/cellcheck.ts on one allocator; `misuse` does one wrong thing, which must stop
// the program with the exact message the test expects.
import {
  Cell, Allocator, OnFree, StackAllocator, HeapAlloc, HeapAllocUninitialized, HeapPrealloc, CallocPool,
  GlobalPool, CellPool,
} from "../../assembly/index";
import { churn, failure, largestCell, refused } from "../assembly/cellcheck";
import { ralloc_heap_check } from "../../assembly/entry/api";

const STACK = memory.data(1 << 18, 16);
const GLOBAL_ZERO = memory.data(1 << 18, 16);
const GLOBAL_LEAVE = memory.data(1 << 18, 16);
const MISUSE_GLOBAL = memory.data(1 << 14, 16);

/** The allocators `run` checks, made on first use and reused by later runs (each run frees
 *  everything it made, so a later run also checks that all of it came back). */
const made = new Map<i32, Allocator<u32>>();

/** Allocator number `kind` (0 StackAllocator, 1 HeapAlloc, 2 HeapAllocUninitialized,
 *  3 HeapPrealloc, 4 CallocPool, 5 GlobalPool) with OnFree.ZERO or, with `leave`, OnFree.LEAVE. */
function allocator(kind: i32, leave: bool): Allocator<u32> {
  let key = kind * 2 + (leave ? 1 : 0);
  if (made.has(key)) return made.get(key);
  let mode = leave ? OnFree.LEAVE : OnFree.ZERO;
  let a: Allocator<u32>;
  if (kind == 0) a = new StackAllocator<u32>(STACK, 1 << 18, 64, 256, mode);
  else if (kind == 1) a = new HeapAlloc<u32>(mode);
  else if (kind == 2) a = new HeapAllocUninitialized<u32>(mode);
  else if (kind == 3) a = new HeapPrealloc<u32>(1 << 18, 256, mode);
  else if (kind == 4) a = new CallocPool<u32>(1 << 18, 256, mode);
  else a = new GlobalPool<u32>(leave ? GLOBAL_LEAVE : GLOBAL_ZERO, 1 << 18, 256, mode);
  made.set(key, a);
  return a;
}

/** Codes beyond cellcheck's: a pool made memory grow; a pool was not whole again after a run. */
export const GREW = 10;
export const NOT_WHOLE = 11;

/** Allocations refused during the last run (the pool or buffer was full). */
export function lastRefused(): i32 {
  return refused;
}

/** What the last failing run found broken. */
export function lastFailure(): string {
  return failure;
}

/**
 * One seeded run of `ops` steps on allocator `kind` (see allocator()): cells of 1..maxLen u32,
 * at most maxLive live. New cells of HeapAlloc, and of the others but HeapAllocUninitialized
 * with OnFree.ZERO, must read zero. A pool
 * must keep memory.size() and be whole again afterwards: the longest cell it can give is what
 * it was before. (StackAllocator never merges: there, live + free + dropped must make up its
 * capacity.) Returns 0 or the code of the first broken property.
 */
export function run(kind: i32, leave: bool, seed: u32, ops: i32, maxLen: i32, maxLive: i32): i32 {
  let a = allocator(kind, leave);
  let zeroed = kind == 1 || (!leave && kind != 2); // HeapAllocUninitialized's ZERO only wipes freed cells
  let pool = kind >= 3;
  let before = pool ? largestCell(a, 1 << 18) : 0;
  let pages = memory.size();
  let code = churn(a, seed, ops, maxLen, maxLive, zeroed);
  if (code) return code;
  if (pool && memory.size() != pages) return GREW;
  if (pool && largestCell(a, 1 << 18) != before) return NOT_WHOLE;
  if (kind == 0) {
    let s = changetype<StackAllocator<u32>>(changetype<usize>(a));
    if (s.heldElements != 0 || s.freeElements + s.droppedElements != s.capacity) return NOT_WHOLE;
  }
  return 0;
}

@unmanaged class V3 {
  x: f32;
  y: f32;
  z: f32;
}

/** Where misuse 12's buffer lies, for the expected message. */
export function misuseGlobal(): usize {
  return MISUSE_GLOBAL;
}

/** Does wrong thing number n (tests/cells.test.js lists them with their messages). */
export function misuse(n: i32): void {
  let s = new StackAllocator<u8>(memory.data(4096, 16), 4096, 4, 2);
  let c = s.allocCell(4); // cell #1
  if (n == 1) {
    s.freeCell(c);
    c[2]; // read after free
  } else if (n == 2) {
    s.freeCell(c);
    c[0] = 1; // write after free
  } else if (n == 3) {
    s.freeCell(c);
    s.freeCell(c); // double free
  } else if (n == 4) {
    c[4]; // one past the end
  } else if (n == 5) {
    c[-1] = 0;
  } else if (n == 6) {
    let other = new StackAllocator<u8>(memory.data(4096, 16), 4096, 4, 2);
    other.freeCell(c); // another allocator's cell
  } else if (n == 7) {
    s.freeCell(c);
    c.ptr; // handing a freed cell to C
  } else if (n == 8) {
    let v = c.slice(1, 3);
    s.freeCell(c);
    v[0]; // a view outlives its cell
  } else if (n == 9) {
    c.slice(2, 5);
  } else if (n == 10) {
    new HeapPrealloc<u32>(1 << 16, 8).allocCell(100000); // more than the pool holds
  } else if (n == 11) {
    new HeapAlloc<f64>().allocCell(-3);
  } else if (n == 12) {
    new GlobalPool<u8>(MISUSE_GLOBAL, 1 << 14, 8);
    new GlobalPool<u16>(MISUSE_GLOBAL + 4096, 4096, 8); // part of the same buffer again
  } else if (n == 13) {
    let f = new HeapAlloc<f64>().allocCell(3); // cell #2
    f[9] = 1;
  } else if (n == 14) {
    let v = new HeapPrealloc<V3>(1 << 16, 8).allocCell(2); // cell #2
    v[2].x = 1;
  } else if (n == 15) {
    s.allocCell(1); // cell #2: both records are live now
    s.allocCell(1);
  } else if (n == 16) {
    let a: Allocator<u8> = s; // through the interface: the same checks
    a.freeCell(c);
    a.freeCell(c);
  } else if (n == 17) {
    new GlobalPool<u8>(heap.alloc(1 << 14), 1 << 14, 8); // memory of the runtime's heap, not static
  } else if (n == 19) {
    s.allocCell(5000); // more than the buffer holds
  } else if (n == 20) {
    new StackAllocator<u8>(memory.data(64, 16), 64, 4, 4); // no room for its own parts
  } else if (n == 21) {
    new HeapAlloc<f64>().allocCell(0x7FFF_FFFF); // more than any cell may hold
  } else if (n == 18) {
    let p = new HeapPrealloc<u8>(1 << 16, 8);
    let d = p.allocCell(5); // cell #2
    store<u8>(d.ptr + 5, 1); // as a C function writing one byte too many would
    p.freeCell(d); // the guarded builds find it here
  }
}

/** A pool's heap after some cells came and went, walked by ralloc_heap_check: 0 when sound. */
export function poolHeapCheck(): u32 {
  let p = new HeapPrealloc<u32>(1 << 16, 64);
  let cells = new StaticArray<usize>(40);
  for (let i = 0; i < 40; ++i) cells[i] = changetype<usize>(p.allocCell(1 + i * 7));
  for (let i = 0; i < 40; i += 3) p.freeCell(changetype<Cell<u32>>(cells[i]));
  return ralloc_heap_check(p.heapHandle);
}
