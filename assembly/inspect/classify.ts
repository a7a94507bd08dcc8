// classify.ts — naming a bad pointer exactly, in the guarded builds (debug, validate, security):
// outside the heap, misaligned, static data, never allocated, inside a live block, freed already,
// or an intact block whose guard was broken. The fast checks (diag/guard.ts) run on every free,
// realloc and usable-size call; only when they fail does classify() walk the span to name the
// mistake, so its O(blocks) cost is paid once, on the way to stopping (diag/report.ts).

import { HEADER, FREE, CACHED, SIZE_MASK, header } from "../base/block";
import { R_LO, R_HI, field } from "../base/root";
import {
  M_USE_FREED, M_OUTSIDE, M_MISALIGNED, M_STATIC, M_NEVER, M_INTERIOR, M_OVERFLOW, M_BAD_HEADER,
} from "../base/abi";
import { shimBase, shimReady, shimMemoryEnd, memoryBytes } from "../platform/shim";
import { report, noteOp } from "../diag/report";
import { GUARD, GUARD_MIN_BLOCK, GUARD_OK, GUARD_BAD_CANARY, guardVerify, requestOf, plausibleRequest } from "../diag/guard";
import { blockAround, brokenBlock } from "../core/span";
import { globalHeapRoot } from "../heaps/global";

/** The header of p when p is an intact live block of heap r (its guard verified); otherwise
 *  reports exactly what p is and stops. O(1) for a good pointer. */
export function checkedLive(r: usize, p: usize, op: u32): u32 {
  noteOp(op);
  if ((p & 15) == 0 && p >= <usize>field(r, R_LO) && p < <usize>field(r, R_HI)) {
    let h = header(p);
    let s = <usize>(h & SIZE_MASK);
    if ((h & (FREE | CACHED)) == 0 && s >= GUARD_MIN_BLOCK && s <= <usize>field(r, R_HI) - p
      && guardVerify(p) == GUARD_OK) return h;
  }
  classify(r, p, op);
  return header(p); // classify came back: p is a live block after all
}

/** Size to name for freed block p (tombstone or free header h): the request kept by diag/guard.ts
 *  when it is plausible, else the payload. A free block that grew by merging keeps its own size
 *  at p + 8 (core/heap.ts freeBlock). O(1). */
function freedSize(p: usize, h: u32): usize {
  let s = <usize>(h & SIZE_MASK);
  if ((h & CACHED) == 0 && s >= GUARD_MIN_BLOCK) {
    let own = <usize>load<u32>(p, 8); // (a merged free block's first block)
    if (own >= GUARD_MIN_BLOCK && own < s && (own & 15) == 0) s = own;
  }
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
  let memEnd = memoryBytes();
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
