// heaps.ts — the threads build's ralloc_check: every heap a thread may look at, walked under the
// lock: the global part's (whose blocks include every thread heap's chunks), the calling thread's
// own, and every abandoned one. Other live threads' heaps change without the lock, so they are
// left to their own threads' checks (after they exit, their heaps are abandoned or gone).

import { lockTake, lockGive } from "../platform/lock";
import { hubRoot } from "../heaps/hub";
import { abandonedAfter } from "../heaps/thread";
import { heapCheck } from "./check";

/** Walks the global part's heap, heap `own` (this thread's, or 0) and the abandoned heaps; 0, or
 *  the first broken invariant's code (inspect/check.ts checkFailedAt names where). O(blocks of
 *  those heaps), under the lock. */
export function heapsCheck(own: usize): u32 {
  lockTake();
  let code = heapCheck(hubRoot());
  if (!code) code = heapCheck(own);
  for (let r = abandonedAfter(0); !code && r; r = abandonedAfter(r)) code = heapCheck(r);
  lockGive();
  return code;
}
