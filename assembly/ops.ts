// ops.ts — the operations every front end performs on a heap, whichever heap it is (the global
// one behind the C ABI, a local heap, an AssemblyScript caller's): check the arguments, find a
// block (free lists, then growth from the heap's source), ask the OOM policy, keep the counters.

import {
  ALIGN, HEADER, MIN_BLOCK, MAX_REQUEST, FREE, blockSizeFor, sizeOf, header,
} from "./block";
import {
  heapAlloc, heapFree, heapAlign, heapResize, heapOwns, heapEndsAt,
} from "./heap";
import { addMemory } from "./span";
import { growFor, sourceOf, SOURCE_SHIM } from "./source";
import { shimClaim, shimBreak } from "./shim";
import { oomRetry } from "./oom";
import { noteAlloc, noteFree, noteRealloc } from "./stats";

/** The grain a block must start on to honour `align` (any value from 1 up, power of two or
 *  not): lcm(align, 16). 0 for align 0 or a grain too large to ever fit. O(1). */
export function grainFor(align: usize): usize {
  if (align == 0) return 0;
  let twos = min<u32>(ctz<u32>(<u32>align), 4); // gcd(align, 16) = 2^twos
  let grain = <u64>align << (4 - twos);
  return grain > <u64>MAX_REQUEST ? 0 : <usize>grain;
}

/** A block of size at least s from heap r: its lists, else more memory from its source. */
@inline function grab(r: usize, s: usize): usize {
  let p = heapAlloc(r, s);
  return p ? p : growFor(r, s);
}

/** A block for n bytes at a multiple of align from heap r, not yet counted; see opAlloc. */
function allocBlock(r: usize, n: usize, align: usize, handle: bool): usize {
  let grain = align == ALIGN ? ALIGN : grainFor(align);
  if (!grain || n > MAX_REQUEST) return 0;
  let s = blockSizeFor(n);
  let want = grain == ALIGN ? <u64>s : <u64>s + <u64>grain + MIN_BLOCK;
  if (want > <u64>MAX_REQUEST) return 0;
  let p = grab(r, <usize>want);
  if (!p && handle && oomRetry(n)) p = grab(r, <usize>want);
  if (!p) return 0;
  return grain != ALIGN ? heapAlign(r, p, s, grain) : p;
}

/**
 * Allocates n bytes at a multiple of align (1, 16, 3, 4096, ... any value from 1 up) in heap r.
 * When nothing fits and `handle` is set, asks the OOM handler and retries once. Returns 0 for
 * align 0, sizes that cannot fit, and memory that cannot be had. O(1), plus growth.
 */
export function opAlloc(r: usize, n: usize, align: usize, handle: bool): usize {
  let p = allocBlock(r, n, align, handle);
  if (p) noteAlloc(r, sizeOf(p));
  return p;
}

/** Frees block p of heap r; false (and nothing done) when p is not a live block of r. O(1). */
export function opFree(r: usize, p: usize): bool {
  if (!heapOwns(r, p)) return false;
  let h = header(p);
  noteFree(r, sizeOf(p));
  heapFree(r, p, h);
  return true;
}

/** Resizes live block p of heap r to size s without moving it: shrinks, or grows into a free
 *  successor; when `grow` is set and p ends the heap, grows memory under it. Returns whether
 *  it did. O(1), plus growth. */
function resizeInPlace(r: usize, p: usize, s: usize, grow: bool): bool {
  let old = sizeOf(p);
  if (!heapResize(r, p, s)) {
    if (!grow || sourceOf(r) != SOURCE_SHIM || !heapEndsAt(r, p, shimBreak())) return false;
    let next = p + old;
    let have = header(next) & FREE ? old + sizeOf(next) : old; // p and the free block after it
    let start = shimClaim(s - have + MIN_BLOCK);
    if (!start || !addMemory(r, start, shimBreak()) || !heapResize(r, p, s)) return false;
  }
  return true;
}

/**
 * realloc on heap r: p = 0 allocates, n = 0 frees and returns 0; otherwise resizes in place when
 * it can, else moves (copying) and frees p. Returns 0 and leaves p untouched when it cannot, or
 * when p is not a live block of r. O(1), plus the copy and growth.
 */
export function opRealloc(r: usize, p: usize, n: usize): usize {
  if (!p) return opAlloc(r, n, ALIGN, true);
  if (!heapOwns(r, p)) return 0;
  if (n == 0) {
    opFree(r, p);
    return 0;
  }
  if (n > MAX_REQUEST) return 0;
  noteRealloc(r);
  let s = blockSizeFor(n);
  if (resizeInPlace(r, p, s, false)) return p;
  // Free memory elsewhere first; then grow memory under p if it ends the heap; then move.
  let q = heapAlloc(r, s);
  if (!q && resizeInPlace(r, p, s, true)) return p;
  if (!q) q = allocBlock(r, n, ALIGN, true);
  if (!q) return 0;
  let old = sizeOf(p);
  memory.copy(q, p, min<usize>(old, sizeOf(q)) - HEADER);
  // one realloc: neither a malloc nor a free is counted
  heapFree(r, p, header(p));
  return q;
}

/** Resizes live block p of heap r to hold n bytes without moving it; returns p, or 0 (and p is
 *  unchanged) when it cannot. Shrinking always succeeds. O(1), plus growth at the top. */
export function opInplace(r: usize, p: usize, n: usize): usize {
  if (!heapOwns(r, p) || n > MAX_REQUEST) return 0;
  return resizeInPlace(r, p, blockSizeFor(n), true) ? p : 0;
}

/** Bytes usable at p in heap r, or 0 when p is not a live block of r. O(1). */
export function opUsable(r: usize, p: usize): usize {
  return heapOwns(r, p) ? sizeOf(p) - HEADER : 0;
}
