// ops.ts — the operations every front end performs on a heap, whichever heap it is (the global
// one behind the C ABI, a local heap, an AssemblyScript caller's): check the arguments, find a
// block (free lists, then growth from the heap's source), ask the OOM policy, keep the counters.

import {
  ALIGN, HEADER, MIN_BLOCK, MAX_REQUEST, FREE, SIZE_MASK, blockSizeFor, sizeOf, header,
} from "../base/block";
import { R_OBJ_REALLOC_IN, R_OBJ_REALLOC_OUT, SOURCE_SHIM, field, setField } from "../base/root";
import { GUARDED, SECURITY, VALIDATE, PAGES } from "../base/config";
import { M_CHECK, OP_MALLOC, OP_FREE, OP_REALLOC, OP_INPLACE, OP_USABLE, EV_ALLOC, EV_FREE, EV_REALLOC, EV_OOM } from "../base/abi";
import { shimClaim, shimBreak } from "../platform/shim";
import { oomRetry } from "../platform/oom";
import { noteOp, report } from "../diag/report";
import {
  GUARD, guardedBlockFor, guardSet, guardRetire, guardKeepRequest, requestOf, serialOf, nextSerial,
} from "../diag/guard";
import { opEvent, poolEvent } from "../diag/event";
import { findFree } from "../core/bins";
import { noteAlloc, noteFree, noteRealloc, liveBlocks } from "../core/counters";
import { heapAlign, heapResize, heapOwns, heapEndsAt, heapAddMemory, takeBlock } from "../core/heap";
import { heapAlloc, heapFree, flushCaches } from "../small/front";
import {
  PAGE_MAX, classOf, pageAlloc, pageWanted, pageAsksAgain, pageRoom, pageOf, pagePush, objectLive, liveFlag, objectFree, objectSize,
} from "../small/page";
import { growFor, growHeap, sourceOf } from "../heaps/source";
import { checkedLive } from "../inspect/classify";
import { heapCheck, checkFailedAt } from "../inspect/check";

/** Largest request a block can hold: guarded builds need room for the guard too. */
const LARGEST: usize = MAX_REQUEST - (GUARDED ? GUARD : 0);

/** The block size that holds a request of n bytes (n <= LARGEST), guard included. O(1). */
@inline function sizeFor(n: usize): usize {
  return GUARDED ? guardedBlockFor(n) : blockSizeFor(n);
}

/** The grain a block must start on to honour `align` (any value from 1 up, power of two or
 *  not): lcm(align, 16). 0 for align 0 or a grain too large to ever fit. O(1). */
export function grainFor(align: usize): usize {
  if (align == 0) return 0;
  let twos = min<u32>(ctz<u32>(<u32>align), 4); // gcd(align, 16) = 2^twos
  let grain = <u64>align << (4 - twos);
  return grain > <u64>MAX_REQUEST ? 0 : <usize>grain;
}

/** A block of size at least s from heap r: its lists, else more memory from its source. Called,
 *  not inlined: its two call sites are the cold path. */
function grab(r: usize, s: usize): usize {
  let p = heapAlloc(r, s);
  return p ? p : growFor(r, s);
}

/** The memory-validating build walks heap r after every operation and stops at the first
 *  broken invariant; compiled away elsewhere. O(heap) there, O(0) here. */
@inline export function afterOp(r: usize, op: u32): void {
  if (VALIDATE) {
    let code = heapCheck(r);
    if (code) report(M_CHECK, op, checkFailedAt(), code, 0);
  }
}

/** A block for n bytes at a multiple of align from heap r; see opAlloc. In the release build a
 *  small request is an object of a page (small/page.ts) when a page can be had. A general block
 *  is counted as an allocation unless `forRealloc`; an object is never counted (inspect/stats.ts
 *  derives objects' calls), but one taken by realloc is noted so it counts as neither. */
function allocBlock(r: usize, n: usize, align: usize, handle: bool, forRealloc: bool): usize {
  let grain = align == ALIGN ? ALIGN : grainFor(align);
  if (!grain || n > LARGEST) return 0;
  if (PAGES && n <= PAGE_MAX && grain == ALIGN) {
    let o = objectAlloc(r, classOf(n));
    if (o) {
      if (forRealloc) noteObjectRealloc(r, R_OBJ_REALLOC_IN);
      return o;
    }
  }
  let p = generalBlock(r, n, grain, handle);
  if (p && !forRealloc) noteAlloc(r, sizeOf(p));
  return p;
}

/** Counts an object that realloc took (R_OBJ_REALLOC_IN) or freed (R_OBJ_REALLOC_OUT) in heap
 *  r, so the derived malloc and free calls leave it out. O(1). */
function noteObjectRealloc(r: usize, which: usize): void {
  setField(r, which, field(r, which) + 1);
}

/** An object of class c from heap r: from a page with room, else from a page made in the
 *  heap's free memory, else after the empty pages and caches went back to the general lists,
 *  else after growing memory by a page's room; 0 when none of that gives a page, or when the
 *  class has not asked for enough objects yet to be worth a page (the caller then takes a
 *  general block). O(1), plus making a page and growth. */
function objectAlloc(r: usize, c: usize): usize {
  if (!pageWanted(r, c)) return 0; // a class used for a handful of objects: general blocks
  let o = pageAlloc(r, c);
  if (!o && flushCaches(r)) o = pageAlloc(r, c);
  if (!o && growHeap(r, pageRoom(r, c))) o = pageAlloc(r, c);
  return o;
}

/** malloc's hit on the general path (release): a listed free block that fits n bytes, taken and
 *  counted; 0 sends the caller down the whole path (flushes, growth, the OOM policy). Inlined
 *  into malloc. O(1). */
@inline export function generalHit(r: usize, n: usize): usize {
  if (n > LARGEST) return 0;
  let s = blockSizeFor(n);
  let p = findFree(r, s);
  if (!p) return 0;
  takeBlock(r, p, s);
  noteAlloc(r, 0);
  opEvent(EV_ALLOC, p, n, ALIGN, 0);
  return p;
}

/** A general block (with a header) for n bytes on grain `grain` from heap r, growing memory and
 *  asking the OOM handler (when `handle`) as needed. O(1), plus growth. */
function generalBlock(r: usize, n: usize, grain: usize, handle: bool): usize {
  let s = sizeFor(n);
  let want = grain == ALIGN ? <u64>s : <u64>s + <u64>grain + MIN_BLOCK;
  if (want > <u64>MAX_REQUEST) return 0;
  let p = grab(r, <usize>want);
  if (!p) {
    pageAsksAgain(r); // memory is short: a class without pages must ask anew for one
    poolEvent(EV_OOM, n, 0, 0);
  }
  if (!p && handle && oomRetry(n)) p = grab(r, <usize>want);
  if (!p) return 0;
  return grain != ALIGN ? heapAlign(r, p, s, grain) : p;
}

/**
 * Allocates n bytes at a multiple of align (1, 16, 3, 4096, ... any value from 1 up) in heap r.
 * When nothing fits and `handle` is set, asks the OOM handler and retries once. Returns 0 for
 * align 0, sizes that cannot fit, and memory that cannot be had. O(1), plus growth.
 */
export function opAlloc(r: usize, n: usize, align: usize, handle: bool, op: u32 = OP_MALLOC): usize {
  if (GUARDED) noteOp(op);
  let p = allocBlock(r, n, align, handle, false);
  if (p) {
    let serial: u32 = 0;
    if (GUARDED) {
      serial = nextSerial();
      guardSet(p, n, serial, true);
    }
    opEvent(EV_ALLOC, p, n, align, serial);
    afterOp(r, op);
  }
  return p;
}

/** Frees guarded live block p (header h) of heap r: retires its guard, frees it, keeps what it
 *  asked for where a double free can find it. O(1) (O(size) in security: zeroing). */
function freeGuarded(r: usize, p: usize, h: u32): void {
  let s = <usize>(h & SIZE_MASK);
  let n = requestOf(p);
  let serial = serialOf(p);
  guardRetire(p, s);
  noteFree(r, s);
  heapFree(r, p, h);
  guardKeepRequest(p, s, n);
  // The last live block gone: the quick lists go back too, so a heap whose blocks were all
  // freed is whole again (not a patchwork of cached blocks), whatever comes next.
  if (!liveBlocks(r)) flushCaches(r);
  opEvent(EV_FREE, p, n, serial, 0);
}

/** Frees block p of heap r; false (and nothing done) when p is not a live block of r. In the
 *  guarded builds a pointer that is not an intact live block is reported and stops. O(1). */
export function opFree(r: usize, p: usize, op: u32 = OP_FREE): bool {
  if (GUARDED) {
    freeGuarded(r, p, checkedLive(r, p, op));
    afterOp(r, op);
    return true;
  }
  if (PAGES) {
    let pg = pageOf(r, p);
    if (pg) {
      let size = objectSize(pg);
      if (!pagePush(r, pg, p)) return false; // (counted by inspect/stats.ts, from the live flags)
      opEvent(EV_FREE, p, size, 0, 0);
      return true;
    }
  }
  if (!heapOwns(r, p)) return false;
  freeLive(r, p);
  return true;
}

/** Frees p, a live general block of heap r (checked by the caller), and counts it. O(1). */
function freeLive(r: usize, p: usize): void {
  let s = sizeOf(p); // before the free: a merge may rewrite p's header
  noteFree(r, s);
  heapFree(r, p, header(p));
  opEvent(EV_FREE, p, s - HEADER, 0, 0);
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
    if (!start || !heapAddMemory(r, start, shimBreak()) || !heapResize(r, p, s)) return false;
  }
  return true;
}

/** Re-guards block p after it was resized in place or moved to: request n, allocation number
 *  serial; in security the bytes past what it held before (old) read zero. O(1) (+ zeroing). */
@inline function reguard(p: usize, old: usize, n: usize, serial: u32): void {
  if (SECURITY && n > old) memory.fill(p + old, 0, n - old);
  guardSet(p, n, serial, false);
}

/**
 * realloc on heap r of p (not 0: the front ends allocate for realloc(0, n) themselves): n = 0
 * frees and returns 0; otherwise resizes in place when it can, else moves (copying) and frees p.
 * Returns 0 and leaves p untouched when it cannot, or when p is not a live block of r (the
 * guarded builds report that and stop). O(1), plus the copy and growth.
 */
export function opRealloc(r: usize, p: usize, n: usize, op: u32 = OP_REALLOC): usize {
  if (PAGES) {
    let pg = pageOf(r, p);
    if (pg) return reallocObject(r, pg, p, n, op);
  }
  let h: u32 = 0;
  if (GUARDED) h = checkedLive(r, p, op);
  else if (!heapOwns(r, p)) return 0;
  if (n == 0) {
    if (GUARDED) opFree(r, p, op);
    else freeLive(r, p); // (p was checked above)
    return 0;
  }
  if (n > LARGEST) return 0;
  noteRealloc(r);
  let old = GUARDED ? requestOf(p) : sizeOf(p) - HEADER;
  let serial = GUARDED ? serialOf(p) : 0;
  let s = sizeFor(n);
  let bs = sizeOf(p);
  let q: usize = 0;
  if (PAGES && s <= bs && bs - s < bs >> 2) {
    q = p; // it fits with less than a quarter to spare: kept whole (room a growing buffer reuses)
  } else if (resizeInPlace(r, p, s, false)) {
    q = p;
  } else {
    // Free memory elsewhere first; then grow memory under p if it ends the heap; then move. A
    // buffer growing in steps moves to half as much again as it held (release), so it moves
    // O(log n) times, not once per step each time a neighbour blocks it.
    let more = !PAGES || n <= old ? n : max<usize>(n, min<usize>(old + (old >> 1), LARGEST));
    q = heapAlloc(r, sizeFor(more));
    if (!q && more != n) q = heapAlloc(r, s);
    if (!q && resizeInPlace(r, p, s, true)) q = p;
    // (the room is not worth the OOM handler: it is asked once, for exactly n)
    if (!q && more != n) q = allocBlock(r, more, ALIGN, false, true);
    if (!q) q = allocBlock(r, n, ALIGN, true, true);
    if (!q) return 0;
  }
  if (q != p) {
    memory.copy(q, p, min<usize>(old, n)); // (q may be an object of a page: no header to read)
    // one realloc: neither a malloc nor a free is counted
    if (GUARDED) {
      let ps = <usize>(h & SIZE_MASK);
      guardRetire(p, ps);
      heapFree(r, p, header(p));
      guardKeepRequest(p, ps, old);
      serial = nextSerial();
    } else {
      heapFree(r, p, header(p));
    }
  }
  if (GUARDED) reguard(q, q == p ? old : min<usize>(old, n), n, serial);
  opEvent(EV_REALLOC, q, n, p, old);
  afterOp(r, op);
  return q;
}

/** realloc of p, an address in page pg of heap r (release build): 0 unless p is a live object.
 *  Stays in place while n fits and uses at least half the object; else moves, and a growing
 *  small object moves to at least twice its size, so a buffer grown in small steps moves
 *  O(log n) times before it leaves the pages. O(1), plus the copy. */
function reallocObject(r: usize, pg: usize, p: usize, n: usize, op: u32): usize {
  let f = liveFlag(pg, p);
  if (!f) return 0;
  let size = objectSize(pg);
  let q: usize = 0; // n = 0 frees p and returns 0
  if (n) {
    if (n > LARGEST) return 0;
    noteRealloc(r);
    if (n <= size && (size <= 64 || n >= size >> 1)) return p;
    let want = n > size && n < PAGE_MAX ? min<usize>(max<usize>(n, size << 1), PAGE_MAX) : n;
    q = want != n ? allocBlock(r, want, ALIGN, false, true) : 0; // (the OOM handler is asked for n)
    if (!q) q = allocBlock(r, n, ALIGN, true, true);
    if (!q) return n <= size ? p : 0; // a shrink may always stay where it is
    memory.copy(q, p, min<usize>(size, n));
  }
  objectFree(r, pg, p, f); // (p is still live: f is its flag)
  if (q) {
    noteObjectRealloc(r, R_OBJ_REALLOC_OUT); // a move: no free call (realloc(p, 0) is one)
    opEvent(EV_REALLOC, q, n, p, size);
  } else {
    opEvent(EV_FREE, p, size, 0, 0);
  }
  return q;
}

/** Resizes live block p of heap r to hold n bytes without moving it; returns p, or 0 (and p is
 *  unchanged) when it cannot. Shrinking always succeeds. O(1), plus growth at the top. */
export function opInplace(r: usize, p: usize, n: usize, op: u32 = OP_INPLACE): usize {
  if (PAGES) {
    let pg = pageOf(r, p);
    if (pg) {
      if (!objectLive(pg, p) || n > objectSize(pg)) return 0; // an object never grows in place
      opEvent(EV_REALLOC, p, n, p, objectSize(pg));
      return p;
    }
  }
  if (GUARDED) checkedLive(r, p, op);
  else if (!heapOwns(r, p)) return 0;
  if (n > LARGEST) return 0;
  let old = GUARDED ? requestOf(p) : sizeOf(p) - HEADER;
  let serial = GUARDED ? serialOf(p) : 0;
  if (!resizeInPlace(r, p, sizeFor(n), true)) return 0;
  if (GUARDED) reguard(p, old, n, serial);
  opEvent(EV_REALLOC, p, n, p, old);
  afterOp(r, op);
  return p;
}

/** Bytes usable at p in heap r, or 0 when p is not a live block of r (reported and stopped in
 *  the guarded builds, where the answer is exactly what was asked for). O(1). */
export function opUsable(r: usize, p: usize, op: u32 = OP_USABLE): usize {
  if (GUARDED) {
    checkedLive(r, p, op);
    return requestOf(p);
  }
  if (PAGES) {
    let pg = pageOf(r, p);
    if (pg) return objectLive(pg, p) ? objectSize(pg) : 0;
  }
  return heapOwns(r, p) ? sizeOf(p) - HEADER : 0;
}
