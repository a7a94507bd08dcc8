// lock.ts — the global lock of the threads build: one word in shared memory, taken with an
// atomic compare-exchange and waited for with memory.atomic.wait32, so a thread that cannot have
// it sleeps until the holder's release wakes it (memory.atomic.notify), never spinning without
// end. It is reentrant for the instance (thread) that holds it: its module global counts how
// deep it holds it, so code under the lock may call code that takes it again (the lock reuse of
// ralloc_lock, an OOM path, a page table growing under a lock-reuse allocation).
//
//   the lock word, a u32 at the start of the hub (heaps/hub.ts)
//   ┌─────────────────────────────────────────────────────────────────────────────┐
//   │ 0 free  │  1 held, nobody waits  │  2 held, some thread may be waiting      │
//   └─────────────────────────────────────────────────────────────────────────────┘
//   take: 0 -> 1 by compare-exchange (the uncontended case: one atomic); else a short spin for
//   the holder to leave, then exchange in 2 and wait while the word is 2.
//   give: an atomic decrement; from 2 it stores 0 and wakes one waiter.
// A browser's main thread may not wait (the wait traps there): take the lock only in workers.
//
// Every function compiles away unless THREADS (base/config.ts) is set.

import { THREADS } from "../base/config";

/** Address of the lock word; 0 until lockAt (the hub's attach). Per instance. */
let word: usize = 0;
/** How many times this instance holds the lock (0: it does not). Per instance. */
let depth: u32 = 0;

/** Compare-exchange attempts while the holder is expected to leave soon, before waiting. */
const SPINS: u32 = 64;

/** Says where the lock word is (the hub's first word). O(1). */
export function lockAt(at: usize): void {
  word = at;
}

/** Whether this instance holds the lock. O(1). */
@inline export function lockHeld(): bool {
  return THREADS && depth != 0;
}

/** Takes the lock (again, when this instance holds it already). O(1) uncontended; otherwise a
 *  short spin, then wait32 until woken. */
export function lockTake(): void {
  if (!THREADS || word == 0) return;
  if (depth++) return;
  if (atomic.cmpxchg<u32>(word, 0, 1) == 0) return;
  for (let i: u32 = 0; i < SPINS; ++i) {
    if (atomic.load<u32>(word) == 0 && atomic.cmpxchg<u32>(word, 0, 1) == 0) return;
  }
  // Contended: mark the word 2 ("someone waits"), and sleep while it stays 2.
  while (atomic.xchg<u32>(word, 2) != 0) atomic.wait<u32>(word, 2, -1);
}

/** Gives the lock back (the outermost give releases it and wakes one waiter). O(1), plus a
 *  notify when someone may be waiting. */
export function lockGive(): void {
  if (!THREADS || word == 0 || depth == 0) return;
  if (--depth) return;
  if (atomic.sub<u32>(word, 1) != 1) {
    atomic.store<u32>(word, 0);
    atomic.notify(word, 1);
  }
}
