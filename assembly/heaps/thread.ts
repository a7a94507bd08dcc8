// thread.ts — a thread's heap in the threads build: the heap an instance allocates from without
// a lock or an atomic (release's engine over chunks of the global part, heaps/hub.ts), its
// record, the blocks other threads free into it, and what becomes of it when its thread exits.
//
// A block freed by a thread that does not own it is pushed onto its owner's record with one
// compare-exchange (mimalloc's "thread free" list: the block's first word links to the next);
// the owner takes the whole list with one exchange on its slow path (a page's pop that missed,
// an aligned or large request, the check, trim, exit) and frees each block as its own. A thread
// that exits hands its empty chunks back; a heap still holding live blocks is abandoned on the
// hub's list, where later frees still reach it, and is adopted by the next instance that needs a
// heap, or emptied and returned by a thread that is about to grow memory.
//
//   a thread record: the first 64 bytes of the heap's first chunk (a unit boundary, so the
//   owner map names it); the heap's root follows it, a cache line away from the word other
//   threads write (remote), so their frees do not evict the owner's hot root fields
//   ┌──────┬─────────────┬───────────────────────────────────────────────────────────────────┐
//   │    0 │ remote  u32 │ the last block another thread freed here (atomic); 0: none        │
//   │    4 │ state   u32 │ OWNED 1 (a thread allocates from it), ABANDONED 2 (on the hub list)│
//   │    8 │ next    u32 │ the next abandoned record (under the lock)                        │
//   │   12 │ serial  u32 │ which heap this is: 1, 2, ... in the order they were made         │
//   │   16 │ -           │ zero (48 bytes)                                                   │
//   │   64 │ root        │ the heap's root (base/root.ts), then its first span               │
//   └──────┴─────────────┴───────────────────────────────────────────────────────────────────┘
// Everything here compiles away unless THREADS.

import { ALIGN, HEADER, MIN_BLOCK, FREE, SIZE_MASK, header, sizeOf } from "../base/block";
import {
  ROOT_SIZE, R_SOURCE, R_SPANS, R_BLOCK_BYTES, R_PT_COVER, ROOT_MAGIC, SOURCE_POOL, field, setField, addClaimed,
} from "../base/root";
import { lockTake, lockGive } from "../platform/lock";
import { removeFree } from "../core/bins";
import { noteFree, liveBlocks } from "../core/counters";
import { SPAN_OVERHEAD, spanNext, spanEnd, spanFirst } from "../core/span";
import { heapCreate, liveHeader } from "../core/heap";
import { pageOf, pagePush } from "../small/page";
import { heapFree, flushCaches } from "../small/front";
import { LOCAL } from "./owners";
import { H_ABANDONED, H_MADE, SELF, hubAt, hubRoot, hubRootAttached, hubChunk, hubGive, ownerOfBlock } from "./hub";

const T_REMOTE: usize = 0;
const T_STATE: usize = 4;
const T_NEXT: usize = 8;
const T_SERIAL: usize = 12;
/** Bytes of a record; the root follows. */
export const RECORD_SIZE: usize = 64;
const OWNED: u32 = 1;
const ABANDONED: u32 = 2;

/** This instance's record; 0 while it has no heap. Per instance. */
let mine: usize = 0;

/** This thread's record, or 0 while it has no heap. O(1). */
@inline export function threadRecord(): usize {
  return mine;
}

/** Makes or adopts this instance's heap, with room for a first block of size s: an abandoned
 *  heap when the hub has one (its pending frees collected), else a new one in a chunk of the
 *  global part. Attaches to a hub at the end of memory first when ralloc_init named none (right
 *  for the first thread only). Returns its root, or 0 when memory cannot give it. O(1), plus a
 *  chunk. */
export function threadHeapMake(s: usize): usize {
  if (!hubRootAttached()) return 0;
  let h = hubAt();
  reapAbandoned(false);
  lockTake();
  let rec = <usize>load<u32>(h + H_ABANDONED);
  if (rec) store<u32>(h + H_ABANDONED, load<u32>(rec + T_NEXT));
  lockGive();
  if (rec) {
    store<u32>(rec + T_STATE, OWNED);
    store<u32>(rec + T_NEXT, 0);
    mine = rec;
    collect(rec, rec + RECORD_SIZE);
    return rec + RECORD_SIZE;
  }
  let first = RECORD_SIZE + ROOT_SIZE + SPAN_OVERHEAD + ALIGN + max<usize>(s, MIN_BLOCK);
  let chunk = hubChunk(first, SELF);
  if (!chunk) return 0;
  memory.fill(chunk, 0, RECORD_SIZE);
  store<u32>(chunk + T_STATE, OWNED);
  store<u32>(chunk + T_SERIAL, atomic.add<u32>(h + H_MADE, 1) + 1);
  let r = heapCreate(chunk + RECORD_SIZE, chunk + sizeOf(chunk) - HEADER);
  setField(r, R_SOURCE, ROOT_MAGIC | SOURCE_POOL); // grown in chunks of the hub (heaps/source.ts)
  mine = chunk;
  return r;
}

/** Frees p, a block of heap r as its owner frees it: an object of a page goes back to its page
 *  when it is live, a general block when it carries a live header; anything else is left alone.
 *  The caller owns r (or holds the lock, for the global part's heap or an abandoned one). O(1). */
export function freeOwned(r: usize, p: usize): void {
  let pg = pageOf(r, p);
  if (pg) {
    pagePush(r, pg, p);
    return;
  }
  let h = liveHeader(r, p);
  if (!h) return;
  noteFree(r, <usize>(h & SIZE_MASK));
  heapFree(r, p, h);
}

/** Frees p when this thread does not own it, and says so: to its owner's record (one
 *  compare-exchange), or to the global part under the lock; a local heap's block and a pointer
 *  off the 16-byte grid are left alone. False when p is this thread's (or no hub exists): the
 *  caller frees it. O(1), plus the lock for the global part's blocks. */
export function freeElsewhere(p: usize): bool {
  if (!hubAt()) return false;
  let owner = ownerOfBlock(p);
  if (owner == mine && owner != 0) return false;
  if ((p & 15) != 0 || owner == LOCAL) return true;
  if (owner) {
    let head: u32;
    do {
      head = atomic.load<u32>(owner + T_REMOTE);
      store<u32>(p, head);
    } while (atomic.cmpxchg<u32>(owner + T_REMOTE, head, <u32>p) != head);
  } else {
    lockTake();
    freeOwned(hubRoot(), p);
    lockGive();
  }
  return true;
}

/** Frees into heap r (of record rec) every block other threads pushed onto rec. O(blocks). */
function collect(rec: usize, r: usize): void {
  let p = <usize>atomic.xchg<u32>(rec + T_REMOTE, 0);
  while (p) {
    let next = <usize>load<u32>(p);
    freeOwned(r, p);
    p = next;
  }
}

/** Frees into this thread's heap r the blocks other threads freed since the last time: on the
 *  slow paths. O(1) when there are none (one atomic load), else O(blocks). */
@inline export function collectRemote(r: usize): void {
  if (mine && atomic.load<u32>(mine + T_REMOTE)) collect(mine, r);
}

/** Gives every chunk of heap r that holds nothing back to the global part (all but the first,
 *  which holds the root): a span whose one block is free. Returns the bytes given back. The
 *  caller owns r, or holds the lock. O(spans). */
export function returnEmptyChunks(r: usize): usize {
  let bytes: usize = 0;
  let link = r + R_SPANS; // the word that points at s
  let s = <usize>field(r, R_SPANS);
  while (s) {
    let next = spanNext(s);
    let b = spanFirst(s), end = spanEnd(s);
    let h = header(b);
    if (s != r + ROOT_SIZE && (h & FREE) != 0 && b + <usize>(h & SIZE_MASK) == end) {
      removeFree(r, b, end - b);
      store<u32>(link, <u32>next);
      setField(r, R_BLOCK_BYTES, field(r, R_BLOCK_BYTES) - <u32>(end - b));
      addClaimed(r, -<i32>(end - s));
      bytes += end - s;
      hubGive(s); // (s is the chunk: its span starts where the chunk's payload does)
    } else {
      link = s;
    }
    s = next;
  }
  return bytes;
}

/** Whether heap r, its caches flushed, holds nothing: no live block, no page. O(1). */
@inline function emptied(r: usize): bool {
  return liveBlocks(r) == 0 && field(r, R_PT_COVER) == 0;
}

/** Collects, flushes and hands back what heap r (of record rec) holds empty; returns whether
 *  nothing is left in it. O(spans + pages). */
function settle(rec: usize, r: usize): bool {
  collect(rec, r);
  flushCaches(r);
  returnEmptyChunks(r);
  return emptied(r);
}

/** The calling thread is done with its heap: the blocks others freed are collected, empty
 *  chunks go back to the global part, and the heap goes back whole when nothing in it lives,
 *  else it is abandoned (its blocks stay valid, frees still reach it) for a later thread to
 *  adopt. Returns the live blocks left behind (0: none). The instance may allocate again
 *  afterwards: it then makes or adopts a heap. O(spans + pages). */
export function threadExit(r: usize): u32 {
  let rec = mine;
  if (!rec) return 0;
  mine = 0;
  if (settle(rec, r)) {
    setField(r, R_SOURCE, 0); // no longer a heap root
    hubGive(rec);
    return 0;
  }
  let left = liveBlocks(r);
  lockTake();
  store<u32>(rec + T_STATE, ABANDONED);
  store<u32>(rec + T_NEXT, load<u32>(hubAt() + H_ABANDONED));
  store<u32>(hubAt() + H_ABANDONED, <u32>rec);
  lockGive();
  return left == 0 ? 1 : left; // (live objects of pages are not in liveBlocks: at least 1)
}

/** Settles the abandoned heaps (`all`, or only those other threads freed blocks into since),
 *  and gives back those left empty: what a thread does before it takes memory from the global
 *  part, and on trim. Takes the lock when there are any. Returns the heaps given back. O(1)
 *  when none is abandoned; else O(abandoned heaps), plus their spans and pages when settled. */
export function reapAbandoned(all: bool): u32 {
  let h = hubAt();
  if (!h || !atomic.load<u32>(h + H_ABANDONED)) return 0;
  let n: u32 = 0;
  lockTake();
  let link = h + H_ABANDONED;
  let rec = <usize>load<u32>(link);
  while (rec) {
    let next = <usize>load<u32>(rec + T_NEXT);
    let r = rec + RECORD_SIZE;
    if ((all || atomic.load<u32>(rec + T_REMOTE) != 0) && settle(rec, r)) {
      store<u32>(link, <u32>next);
      setField(r, R_SOURCE, 0);
      hubGive(rec);
      n++;
    } else {
      link = rec + T_NEXT;
    }
    rec = next;
  }
  lockGive();
  return n;
}

/** A chunk of at least `bytes` for heap r (0: a local heap being made) from the global part,
 *  mapped to r's owner; abandoned heaps that other threads emptied go back first. O(units),
 *  plus what reapAbandoned and growth cost. */
export function threadChunk(bytes: usize, r: usize): usize {
  reapAbandoned(false);
  return hubChunk(bytes, threadChunkOwner(r));
}

/** The first abandoned heap's root (0: none), and the next one after root r: for the check of
 *  every heap. Under the lock. O(1). */
export function abandonedAfter(r: usize): usize {
  let rec = r ? <usize>load<u32>(r - RECORD_SIZE + T_NEXT) : <usize>load<u32>(hubAt() + H_ABANDONED);
  return rec ? rec + RECORD_SIZE : 0;
}

/** The owner map's value for a chunk of heap r: its record when r is a thread heap (whose
 *  root chunk the map names), LOCAL for a local heap or a heap still being made (r = 0). O(1). */
export function threadChunkOwner(r: usize): usize {
  let owner = r ? ownerOfBlock(r) : LOCAL;
  return owner ? owner : LOCAL;
}

/** Whether p is a block the calling thread does not own (the global part's, another thread's,
 *  or a local heap's), when a hub exists. O(1): two loads. */
@inline export function foreign(p: usize): bool {
  if (!hubAt()) return false;
  let owner = ownerOfBlock(p);
  return owner == 0 || owner != mine;
}

/** Whether h is a thread heap's root (whose record, before it, the owner map names). O(1). */
export function isThreadRoot(h: usize): bool {
  return hubAt() != 0 && h > RECORD_SIZE && ownerOfBlock(h) + RECORD_SIZE == h;
}
