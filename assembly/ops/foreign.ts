// foreign.ts — the threads build's operations on blocks the calling thread does not own. The
// global part's blocks (requests of THREAD_LARGE bytes or more, and lock reuse) are allocated,
// resized and measured in its heap under the lock. Another thread's block is measured under the
// lock too (its owner replaces its page table only while holding it, small/page.ts), and is
// never changed in place: realloc moves it (unless it may stay as it is) and frees it to its
// owner (heaps/thread.ts freeElsewhere). The OOM handler is never asked while the lock is held.

import { ALIGN } from "../base/block";
import { THREAD_LARGE } from "../base/config";
import { OP_REALLOC } from "../base/abi";
import { lockTake, lockGive } from "../platform/lock";
import { oomRetry } from "../platform/oom";
import { LOCAL } from "../heaps/owners";
import { hubRoot, hubRootAttached, ownerOfBlock } from "../heaps/hub";
import { RECORD_SIZE, freeElsewhere, reapAbandoned } from "../heaps/thread";
import { globalHeapFor } from "../heaps/global";
import { opAlloc, opInplace, opUsable } from "./ops";

/** A block of n bytes at a multiple of align from the global part, taken under the lock; when
 *  memory runs out and `handle` is set, asks the OOM handler (with the lock given back) and
 *  tries once more. 0 on failure. O(1), plus growth. */
export function globalAlloc(n: usize, align: usize, handle: bool, op: u32): usize {
  let r = hubRootAttached();
  if (!r) return 0;
  reapAbandoned(false); // heaps other threads emptied go back first
  lockTake();
  let p = opAlloc(r, n, align, false, op);
  lockGive();
  if (!p && handle && oomRetry(n)) {
    lockTake();
    p = opAlloc(r, n, align, false, op);
    lockGive();
  }
  return p;
}

/** Usable bytes of p, a block the calling thread does not own: read from its owner's heap (or
 *  the global part's) under the lock; 0 when it is not a live block there, or a local heap's.
 *  O(1), plus the lock. */
export function foreignUsable(p: usize): usize {
  let owner = ownerOfBlock(p);
  if (owner == LOCAL) return 0;
  lockTake();
  let n = opUsable(owner ? owner + RECORD_SIZE : hubRoot(), p);
  lockGive();
  return n;
}

/** realloc of p, a block the calling thread does not own (n = 0 frees it): the global part's
 *  block is resized in place under the lock when it can be; another thread's stays where it is
 *  when n fits and uses at least half of it; otherwise a new block (this thread's, or the
 *  global part's when large) takes its bytes and p goes back to its owner. 0, with p untouched,
 *  when p is not a live block or memory runs out. O(1), plus the copy. */
export function foreignRealloc(p: usize, n: usize): usize {
  let old = foreignUsable(p);
  if (!old) return 0;
  if (!n) {
    freeElsewhere(p);
    return 0;
  }
  if (ownerOfBlock(p) == 0) {
    lockTake();
    let q = opInplace(hubRoot(), p, n, OP_REALLOC);
    lockGive();
    if (q) return q;
  } else if (n <= old && n >= old >> 1) {
    return p;
  }
  let q: usize = 0;
  if (n >= THREAD_LARGE) {
    q = globalAlloc(n, ALIGN, true, OP_REALLOC);
  } else {
    let r = globalHeapFor(n);
    if (r) q = opAlloc(r, n, ALIGN, true, OP_REALLOC);
  }
  if (!q) return 0;
  memory.copy(q, p, min<usize>(old, n));
  freeElsewhere(p);
  return q;
}
