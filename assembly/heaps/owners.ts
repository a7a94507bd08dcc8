// owners.ts — the owner map of the threads build: which thread heap owns each 64 KiB unit of
// memory, so a free from any thread finds the owner of the block in two loads, without a lock.
// The global part (heaps/hub.ts) hands memory to thread heaps only in whole, aligned units, and
// writes their entries here under the lock before the heap uses them; a thread reads the entry
// of a live block, which does not change while the block lives.
//
//   an address p, split for the map
//    31        24 23        16 15                              0
//   ┌────────────┬────────────┬─────────────────────────────────┐
//   │ top index  │ leaf index │ offset inside the 64 KiB unit   │
//   └────────────┴────────────┴─────────────────────────────────┘
//   top   256 u32 in the hub: the address of the leaf for each 16 MiB, or 0 (none made yet)
//   leaf  256 u32, a block of the global part's heap (made on first use, never freed): the owner
//         of each unit: a thread record's address (heaps/thread.ts), LOCAL (a local heap's
//         chunk), or 0 (the global part's own memory, or memory no heap was given)


/** Bits of a unit: 64 KiB, a wasm page. */
export const UNIT_BITS: usize = 16;
export const UNIT: usize = 1 << UNIT_BITS;
/** Bytes of the top level (it lives in the hub) and of a leaf. */
export const MAP_TOP_SIZE: usize = 1024;
export const LEAF_SIZE: usize = 1024;
/** Owner of a local heap's chunks (features/local.ts): free() leaves their blocks alone. */
export const LOCAL: usize = 1;

/** Owner of the unit holding p in the map whose top level is at `top`: a record, LOCAL or 0.
 *  O(1): two loads. */
@inline export function ownerOf(top: usize, p: usize): usize {
  let leaf = <usize>load<u32>(top + ((p >> 24) << 2));
  return leaf ? <usize>load<u32>(leaf + (((p >> UNIT_BITS) & 255) << 2)) : 0;
}

/** The leaves map [start, end) would need that do not exist yet: how many. The caller (holding
 *  the lock) makes them with ownersAddLeaf before ownersSet. O(16 MiB steps). */
export function leavesMissing(top: usize, start: usize, end: usize): u32 {
  let n: u32 = 0;
  for (let t = start >> 24; t <= (end - 1) >> 24; ++t) if (!load<u32>(top + (t << 2))) n++;
  return n;
}

/** Installs `leaf` (LEAF_SIZE zeroed bytes, or more) as the first missing leaf of [start, end).
 *  Under the lock. O(16 MiB steps). */
export function ownersAddLeaf(top: usize, start: usize, end: usize, leaf: usize): void {
  for (let t = start >> 24; t <= (end - 1) >> 24; ++t) {
    let slot = top + (t << 2);
    if (!load<u32>(slot)) {
      memory.fill(leaf, 0, LEAF_SIZE);
      store<u32>(slot, <u32>leaf);
      return;
    }
  }
}

/** Makes `owner` the owner of every unit of [start, end) (start and end on unit boundaries;
 *  every leaf made). Under the lock. O(units). */
export function ownersSet(top: usize, start: usize, end: usize, owner: usize): void {
  for (let u = start; u < end; u += UNIT) {
    let leaf = <usize>load<u32>(top + ((u >> 24) << 2));
    store<u32>(leaf + (((u >> UNIT_BITS) & 255) << 2), <u32>owner);
  }
}

/** End of the units a chunk at p covers: a block of the global part whose payload starts on a
 *  unit and whose size is a whole number of units (and fewer than 16 bytes more, which a cut
 *  leaves on it): the units [p, p + size rounded down to units). O(1). */
@inline export function chunkUnitsEnd(p: usize, size: usize): usize {
  return p + (size & ~(UNIT - 1));
}
