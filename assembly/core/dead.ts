// dead.ts — the dead-piece table: pieces that partial frees (features/range.ts) freed inside a
// live block but that are too small to stand alone as blocks. They stay inside their block and
// come back with it; the table remembers them so that freeing them twice is refused and so that
// a later partial free next to one takes it along. The core forgets the pieces of whatever goes
// back to the heap (a block freed or cut, a small object freed).
//
//   in the root (base/root.ts), at R_DEAD
//   ┌──────────┬──────────┬────────────────────────────────────────────────────────────┐
//   │ count u32│ splits   │ DEAD_SLOTS entries { u32 start, u32 end }: [start, end)     │
//   │          │ u32      │ an empty entry (start == end) marks a block's exact end     │
//   └──────────┴──────────┴────────────────────────────────────────────────────────────┘
// Cost: O(DEAD_SLOTS) per call, and nothing at all while the table is empty (callers test the
// count first).

import { R_DEAD, DEAD_SLOTS, field, setField } from "../base/root";

/** Address of dead-piece slot i of root r: {u32 start, u32 end}. O(1). */
@inline export function deadSlot(r: usize, i: usize): usize {
  return r + R_DEAD + 8 + (i << 3);
}

/** Forgets the dead pieces recorded in [from, to), even partly (their bytes are going back to
 *  the heap). O(DEAD_SLOTS). */
export function forgetDead(r: usize, from: usize, to: usize): void {
  let n = <usize>field(r, R_DEAD);
  for (let i: usize = 0; i < n; ) {
    let slot = deadSlot(r, i);
    let start = <usize>load<u32>(slot), end = <usize>load<u32>(slot, 4);
    if (start < to && (end > from || (start == end && start > from))) { // empty: an exact-end mark
      store<u64>(slot, load<u64>(deadSlot(r, --n))); // move the last entry here
    } else {
      ++i;
    }
  }
  setField(r, R_DEAD, <u32>n);
}

/** Whether [a, stop) overlaps a recorded dead piece (those bytes were freed already). */
export function overlapsDead(r: usize, a: usize, stop: usize): bool {
  let n = <usize>field(r, R_DEAD);
  for (let i: usize = 0; i < n; ++i) {
    let slot = deadSlot(r, i);
    if (<usize>load<u32>(slot) < stop && <usize>load<u32>(slot, 4) > a) return true;
  }
  return false;
}

/** [a, stop) grown over the recorded dead pieces that touch it and lie in [lo, hi), as a u64
 *  (start low, end high). Changes nothing. O(DEAD_SLOTS^2) at worst. */
export function grownOverDead(r: usize, a: usize, stop: usize, lo: usize = 0, hi: usize = <usize>-1): u64 {
  let n = <usize>field(r, R_DEAD);
  for (let i: usize = 0; i < n; ) {
    let slot = deadSlot(r, i);
    let start = <usize>load<u32>(slot), end = <usize>load<u32>(slot, 4);
    if (start < lo || end > hi) { ++i; continue; } // another object's piece, touching this one
    if (start != end && end == a) a = start; // (an empty exact-end mark grows nothing)
    else if (start != end && start == stop) stop = end;
    else { ++i; continue; }
    i = 0; // the grown range may touch an entry already passed
  }
  return (<u64>stop << 32) | <u64>a;
}

/** Whether live block b's usable end e was made by a partial free (a dead piece, possibly
 *  empty, is recorded ending there): then no byte before e is slack. O(DEAD_SLOTS). */
export function exactEnd(r: usize, e: usize): bool {
  let n = <usize>field(r, R_DEAD);
  for (let i: usize = 0; i < n; ++i) if (<usize>load<u32>(deadSlot(r, i), 4) == e) return true;
  return false;
}

/** Whether the dead-piece table has room for another entry. O(1). */
@inline export function deadRoom(r: usize): bool {
  return <usize>field(r, R_DEAD) < DEAD_SLOTS;
}

/** Records [a, stop) as a dead piece; false when the table is full. O(1). */
export function recordDead(r: usize, a: usize, stop: usize): bool {
  let n = <usize>field(r, R_DEAD);
  if (n >= DEAD_SLOTS) return false;
  store<u32>(deadSlot(r, n), <u32>a);
  store<u32>(deadSlot(r, n), <u32>stop, 4);
  setField(r, R_DEAD, <u32>(n + 1));
  return true;
}

