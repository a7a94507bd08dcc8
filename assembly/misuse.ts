// misuse.ts — what the guarded builds (debug, validate, security) do with a pointer the program
// should not have passed: name the mistake exactly, tell the host, and stop.
//
// A report goes to the host through the `ralloc_hooks.report(code, op, addr, size, aux)` import,
// which formats the one-line message (bindings/messages.ts; the README lists every one) and
// normally throws; if it returns, the module traps. Release builds never come here: they ignore
// what they cannot use (cabi.ts says how).
//
//   code         message (OP is the operation's name, below)
//    1 USE_FREED  double free of A (N bytes) | OP of freed A (N bytes)
//    2 OUTSIDE    invalid OP of A (outside the heap)
//    3 MISALIGNED invalid OP of A (misaligned)
//    4 STATIC     invalid OP of A (static data, below the heap)
//    5 NEVER      invalid OP of A (never allocated)
//    6 INTERIOR   invalid OP of A (inside the N-byte block at B)
//    7 OVERFLOW   write past the end of A (N bytes), found by OP
//    8 BAD_HEADER corrupted header of A (N bytes), found by OP
//    9 BAD_LIST   corrupted free list at A (N bytes), found by OP
//   10 CHECK      heap check failed: NAME (code N) at A, after OP
//   11 LEAK       N blocks leaked (M bytes), then one line per live block
//   12 RANGE      invalid OP of A (N bytes: not inside one live block)
//
// The fast checks (guard.ts) run on every free, realloc and usable-size call; only when they
// fail does classify() walk the span to name the mistake exactly, so its O(blocks) cost is paid
// once, on the way to stopping.

import { HEADER, FREE, CACHED, SIZE_MASK, header } from "./block";
import { R_LO, R_HI, field } from "./root";
import { blockAround, brokenBlock } from "./span";
import { shimBase, shimReady, shimMemoryEnd } from "./shim";
import { globalHeapRoot } from "./cabi";
import { GUARD, GUARD_MIN_BLOCK, GUARD_OK, GUARD_BAD_CANARY, guardVerify, requestOf, plausibleRequest } from "./guard";

export const M_USE_FREED: u32 = 1;
export const M_OUTSIDE: u32 = 2;
export const M_MISALIGNED: u32 = 3;
export const M_STATIC: u32 = 4;
export const M_NEVER: u32 = 5;
export const M_INTERIOR: u32 = 6;
export const M_OVERFLOW: u32 = 7;
export const M_BAD_HEADER: u32 = 8;
export const M_BAD_LIST: u32 = 9;
export const M_CHECK: u32 = 10;
export const M_LEAK: u32 = 11;
export const M_RANGE: u32 = 12;

// The operations a report can name.
export const OP_FREE: u32 = 1;
export const OP_REALLOC: u32 = 2;
export const OP_USABLE: u32 = 3;
export const OP_DEALLOC: u32 = 4;
export const OP_INPLACE: u32 = 5;
export const OP_CHECK: u32 = 6;
export const OP_MALLOC: u32 = 7;
export const OP_LEAK: u32 = 8;
export const OP_HEAP_FREE: u32 = 9;
export const OP_HEAP_REALLOC: u32 = 10;
export const OP_HEAP_USABLE: u32 = 11;
export const OP_CALLOC: u32 = 12;
export const OP_ALIGNED: u32 = 13;
export const OP_ALLOC: u32 = 14;
export const OP_HEAP_ALLOC: u32 = 15;
export const OP_HEAP_CHECK: u32 = 16;

/** The operation under way, for reports made deep inside it (a broken free list). */
let opNow: u32 = 7; // OP_MALLOC (a literal: a const from this file would need a start function)

/** Records the operation under way (guarded builds). O(1). */
@inline export function noteOp(op: u32): void {
  opNow = op;
}

/** The operation under way. O(1). */
export function currentOp(): u32 {
  return opNow;
}

/** A tombstone: the header a guarded build leaves on a block absorbed by a merge (size | FREE |
 *  CACHED, a pair no real block carries), so freeing it again is still a double free. */
@inline export function tombstone(s: usize): u32 {
  return <u32>s | FREE | CACHED;
}

// @ts-ignore: decorator
@external("ralloc_hooks", "report")
declare function hostReport(code: u32, op: u32, addr: u32, size: u32, aux: u32): void;

/** Tells the host about a misuse and stops. Never returns. */
export function report(code: u32, op: u32, addr: usize, size: usize, aux: usize): void {
  hostReport(code, op, <u32>addr, <u32>size, <u32>aux);
  unreachable();
}

/** The header of p when p is an intact live block of heap r (its guard verified); otherwise
 *  reports exactly what p is and stops. O(1) for a good pointer. */
export function checkedLive(r: usize, p: usize, op: u32): u32 {
  opNow = op;
  if ((p & 15) == 0 && p >= <usize>field(r, R_LO) && p < <usize>field(r, R_HI)) {
    let h = header(p);
    let s = <usize>(h & SIZE_MASK);
    if ((h & (FREE | CACHED)) == 0 && s >= GUARD_MIN_BLOCK && s <= <usize>field(r, R_HI) - p
      && guardVerify(p) == GUARD_OK) return h;
  }
  classify(r, p, op);
  return header(p); // classify came back: p is a live block after all
}

/** Size to name for freed block p (tombstone or free header h): the request kept by guard.ts
 *  when it is plausible, else the payload. O(1). */
function freedSize(p: usize, h: u32): usize {
  let s = <usize>(h & SIZE_MASK);
  if (s < GUARD_MIN_BLOCK) return s >= HEADER ? s - HEADER : 0;
  let n = <usize>load<u32>(p + s - 16);
  return plausibleRequest(s, n) ? n : s - HEADER - GUARD;
}

/** Names what p is for operation op on heap r (0: no heap yet) and reports it; returns only
 *  when p turns out to be an intact live block. `anyByte`: p may be any byte (a range's start,
 *  for ralloc_dealloc), so misalignment is no mistake. O(blocks in p's span). */
export function classify(r: usize, p: usize, op: u32, anyByte: bool = false): void {
  if ((p & 15) && !anyByte) { report(M_MISALIGNED, op, p, 0, 0); return; }
  let base = shimReady() ? shimBase() : shimMemoryEnd();
  let memEnd = <u64>memory.size() << 16;
  if (!r) {
    report(<u64>p >= memEnd ? M_OUTSIDE : p < base ? M_STATIC : M_NEVER, op, p, 0, 0);
    return;
  }
  let global = r == globalHeapRoot(); // below it lie the program's static data and stack
  if (<u64>p >= memEnd || p >= <usize>field(r, R_HI) || (!global && p < <usize>field(r, R_LO))) {
    report(M_OUTSIDE, op, p, 0, 0);
    return;
  }
  if (global && p < base) { report(M_STATIC, op, p, 0, 0); return; }
  let b = blockAround(r, p);
  let broken = brokenBlock();
  if (broken) { report(M_BAD_HEADER, op, broken, header(broken) & SIZE_MASK, 0); return; }
  if (!b) { report(M_NEVER, op, p, 0, 0); return; }
  let h = header(b);
  if (anyByte) return; // inside a block: the caller knows what a range there means
  if (b == p) {
    if (h & (FREE | CACHED)) { report(M_USE_FREED, op, p, freedSize(p, h), 0); return; }
    let why = guardVerify(p);
    if (why == GUARD_OK) return;
    if (why == GUARD_BAD_CANARY) report(M_OVERFLOW, op, p, requestOf(p), 0);
    else report(M_BAD_HEADER, op, p, h & SIZE_MASK, 0);
    return;
  }
  if ((h & (FREE | CACHED)) == 0) {
    report(M_INTERIOR, op, p, guardVerify(b) == GUARD_OK ? requestOf(b) : <usize>(h & SIZE_MASK) - HEADER, b);
    return;
  }
  let t = header(p); // inside free space: a tombstone means p was a block, freed and merged
  if ((t & (FREE | CACHED)) == (FREE | CACHED)) report(M_USE_FREED, op, p, freedSize(p, t), 0);
  else report(M_NEVER, op, p, 0, 0);
}
