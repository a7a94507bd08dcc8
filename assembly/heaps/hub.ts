// hub.ts — the global part of the threads build: the one place in shared memory that every
// thread reaches, behind the global lock (platform/lock.ts). Its heap (a heap at the break,
// source SHIM, grown by the shim alone) hands thread heaps their memory in chunks of whole
// 64 KiB units, mapped to their owner (heaps/owners.ts), and takes them back; it also holds the
// blocks too large for a thread heap and those taken through lock reuse, which any thread frees
// under the lock. Every instance finds it at the heap base that ralloc_init names: the first to
// arrive makes it, the others wait for it to be made and attach.
//
//   the hub, at the heap base (16-aligned)
//   ┌──────┬───────────────┬────────────────────────────────────────────────────────────────┐
//   │    0 │ lock     u32  │ the global lock's word (platform/lock.ts)                      │
//   │    4 │ ready    u32  │ 0 not made, 1 being made, 2 made (atomic: the others wait on it)│
//   │    8 │ root     u32  │ the global part's heap root (0 until made)                     │
//   │   12 │ abandoned u32 │ the first thread heap whose thread exited with live blocks     │
//   │   16 │ made     u32  │ thread heaps made so far (atomic; each record keeps its number)│
//   │   20 │ oom      u32  │ the AssemblyScript library's global OOM handler (table index)  │
//   │   24 │ shim     u32  │ where the shim state was placed (platform/shim.ts)             │
//   │   28 │ -        u32  │ zero                                                           │
//   │   32 │ map[256] u32  │ the owner map's top level (heaps/owners.ts)                    │
//   │ 1056 │ the shim state, 32 bytes (in a library build, above the runtime's memory)      │
//   └──────┴───────────────┴────────────────────────────────────────────────────────────────┘
// The memory at the heap base must read zero until the first instance arrives (fresh memory does).
// Everything here compiles away unless THREADS.

import { ALIGN, HEADER, MIN_BLOCK, MAX_REQUEST, alignUp, sizeOf, header, blockSizeFor } from "../base/block";
import { ROOT_SIZE, R_SOURCE, ROOT_MAGIC, SOURCE_SHIM, setField } from "../base/root";
import { EINVAL, ENOMEM } from "../base/abi";
import {
  shimInit, shimAttach, shimReach, shimReady, shimClaim, shimBreak, shimBase, shimMemoryEnd, shimSbrk, SHIM_SIZE,
  MAX_END,
} from "../platform/shim";
import { lockAt, lockTake, lockGive } from "../platform/lock";
import { setOomSlot } from "../platform/oom";
import { findFree } from "../core/bins";
import { noteAlloc, noteFree } from "../core/counters";
import { SPAN_OVERHEAD } from "../core/span";
import { heapCreate, heapAddMemory, heapAlign, takeBlock } from "../core/heap";
import { heapAlloc, heapFree } from "../small/front";
import { UNIT, MAP_TOP_SIZE, LEAF_SIZE, ownerOf, leavesMissing, ownersAddLeaf, ownersSet, chunkUnitsEnd } from "./owners";

const H_LOCK: usize = 0;
const H_READY: usize = 4;
const H_ROOT: usize = 8;
export const H_ABANDONED: usize = 12;
export const H_MADE: usize = 16;
const H_OOM: usize = 20;
const H_SHIM: usize = 24;
const H_MAP: usize = 32;
/** Bytes of the hub; the shim state follows. */
export const HUB_SIZE: usize = H_MAP + MAP_TOP_SIZE;

const NOT_MADE: u32 = 0;
const BEING_MADE: u32 = 1;
const MADE: u32 = 2;

/** Where this instance found the hub; 0 until it attached. Per instance. */
let hub: usize = 0;
/** The global part's heap root, read once at attach (it never moves). Per instance. */
let root: usize = 0;

/** The hub's address, or 0 before this instance attached. O(1). */
@inline export function hubAt(): usize {
  return hub;
}

/** The global part's heap root, or 0 before this instance attached. O(1). */
@inline export function hubRoot(): usize {
  return root;
}

/** The global part's heap root, attaching this instance first when ralloc_init did not: to a hub
 *  at the end of memory (right for the first thread only; docs/THREADS.md). 0 when memory cannot
 *  hold one. O(1) once attached. */
export function hubRootAttached(): usize {
  if (!hub) hubAttach(shimMemoryEnd());
  return root;
}

/** The owner of the unit holding p (heaps/owners.ts), for an attached instance. O(1). */
@inline export function ownerOfBlock(p: usize): usize {
  return ownerOf(hub + H_MAP, p);
}

/** Makes the hub at `base` (rounded up to 16), or waits until the instance making it is done,
 *  then attaches: the lock, the shim state and the global heap become this instance's too.
 *  Returns 0, EINVAL when this instance is attached already, or ENOMEM when memory cannot hold
 *  the hub. O(1), plus a wait while another instance makes it. */
export function hubAttach(base: usize): i32 {
  if (hub) return EINVAL;
  let at = (<u64>max<usize>(base, 16) + 15) & ~15;
  if (at + HUB_SIZE + SHIM_SIZE > MAX_END || !shimReach(at + HUB_SIZE + SHIM_SIZE)) return ENOMEM;
  let h = <usize>at;
  while (true) {
    let was = atomic.cmpxchg<u32>(h + H_READY, NOT_MADE, BEING_MADE);
    if (was == NOT_MADE) {
      if (!hubMake(h)) {
        atomic.store<u32>(h + H_READY, NOT_MADE); // another instance may try again
        atomic.notify(h + H_READY);
        return ENOMEM;
      }
      atomic.store<u32>(h + H_READY, MADE);
      atomic.notify(h + H_READY);
      break;
    }
    if (was == MADE) break;
    atomic.wait<u32>(h + H_READY, BEING_MADE, -1); // being made: sleep until it is done
  }
  if (!shimReady()) shimAttach(<usize>load<u32>(h + H_SHIM));
  hub = h;
  root = <usize>load<u32>(h + H_ROOT);
  lockAt(h + H_LOCK);
  setOomSlot(h + H_OOM);
  return 0;
}

/** Makes the hub at h (whose ready word this instance set to "being made"): the shim state
 *  after it, and the global part's heap at the break. False when memory cannot hold them. O(1),
 *  plus a grow. */
function hubMake(h: usize): bool {
  memory.fill(h + H_ROOT, 0, HUB_SIZE - H_ROOT);
  if (!shimReady()) shimInit(h + HUB_SIZE, 0);
  if (!shimReady()) return false;
  let start = shimClaim(ROOT_SIZE + SPAN_OVERHEAD + ALIGN + MIN_BLOCK);
  if (!start) return false;
  let r = heapCreate(alignUp(start), shimBreak());
  setField(r, R_SOURCE, ROOT_MAGIC | SOURCE_SHIM);
  store<u32>(h + H_SHIM, <u32>shimBase());
  store<u32>(h + H_ROOT, <u32>r);
  return true;
}

/** A block of size at least s from the global part's heap, growing memory at the break when its
 *  lists have none; 0 when memory cannot grow. Under the lock. O(1), plus growth. */
function grab(s: usize): usize {
  let p = heapAlloc(root, s);
  if (p) return p;
  let start = shimClaim(s + SPAN_OVERHEAD + ALIGN);
  let f = start ? heapAddMemory(root, start, shimBreak()) : 0;
  return f && sizeOf(f) >= s ? takeBlock(root, f, s) : 0;
}

/** A block of exactly `size` bytes (whole units) from the global part's heap whose payload
 *  starts on a unit: from a free block that already holds such a window when the lists have
 *  one (a chunk given back, most often), else from a larger block, aligned. Under the lock.
 *  O(1), plus growth. */
function unitBlock(size: usize): usize {
  let f = findFree(root, size);
  let p: usize = 0;
  if (f) {
    let q = (f + UNIT - 1) & ~(UNIT - 1);
    let gap = q - f; // none, or room for a free block: heapAlign frees it
    if ((gap == 0 || gap >= MIN_BLOCK) && f + sizeOf(f) >= q + size) p = takeBlock(root, f, gap + size);
  }
  if (!p) p = grab(size + UNIT + MIN_BLOCK);
  return p ? heapAlign(root, p, size, UNIT) : 0;
}

/** Owner value that makes a chunk its own owner (a thread heap's first chunk holds its record). */
export const SELF: usize = 0xFFFF_FFFF;

/** A chunk of at least `bytes` usable bytes for a thread heap or a local heap: a block of the
 *  global part starting on a unit, whole units long, mapped to `owner` (SELF: to the chunk
 *  itself). Takes the lock; 0 when memory cannot give it. Usable up to p + size - 4, as
 *  heaps/source.ts chunkEnd says. O(units), plus growth. */
export function hubChunk(bytes: usize, owner: usize): usize {
  if (!root || bytes > MAX_REQUEST - UNIT) return 0;
  let size = (bytes + HEADER + UNIT - 1) & ~(UNIT - 1);
  lockTake();
  let p = unitBlock(size);
  if (p) {
    let end = chunkUnitsEnd(p, sizeOf(p));
    let top = hub + H_MAP;
    while (leavesMissing(top, p, end)) {
      let leaf = grab(blockSizeFor(LEAF_SIZE)); // a live block of the global part, kept for good
      if (!leaf) break;
      noteAlloc(root, sizeOf(leaf));
      ownersAddLeaf(top, p, end, leaf);
    }
    if (leavesMissing(top, p, end)) {
      heapFree(root, p, header(p));
      p = 0;
    } else {
      ownersSet(top, p, end, owner == SELF ? p : owner);
      noteAlloc(root, sizeOf(p));
    }
  }
  lockGive();
  return p;
}

/** Takes chunk p (from hubChunk) back: its units belong to no one again, and its block is
 *  free in the global part. Takes the lock. O(units). */
export function hubGive(p: usize): void {
  lockTake();
  ownersSet(hub + H_MAP, p, chunkUnitsEnd(p, sizeOf(p)), 0);
  noteFree(root, sizeOf(p));
  heapFree(root, p, header(p));
  lockGive();
}

/** sbrk for the threads build: the break moves under the lock (attaching first when needed).
 *  Returns the old break, or -1. O(1), plus growth. */
export function hubSbrk(delta: i32): usize {
  if (!hubRootAttached()) return <usize>-1;
  lockTake();
  let old = shimSbrk(delta);
  lockGive();
  return old;
}
