// root.ts — the heap root: all one heap knows, kept in linear memory (never in module
// globals) so that instances sharing a memory can share a heap.
//
//   offset  field                         meaning
//   ┌──────┬─────────────────────────────┬────────────────────────────────────────────────┐
//   │    0 │ flMap        u32            │ bit f set: some free list of first level f    │
//   │    4 │ quickBytes   u32            │ bytes sitting in quick lists (guarded builds)  │
//   │    8 │ freeBytes    u32            │ bytes of the blocks in the free lists          │
//   │   12 │ peakHeld     u32            │ most block bytes held (live + cached) at once  │
//   │   16 │ claimed      u32            │ bytes of memory given to this heap             │
//   │   20 │ quickCap     u32            │ most bytes the quick lists may hold            │
//   │   24 │ mallocs      u64            │ allocating calls                               │
//   │   32 │ frees        u64            │ freeing calls                                  │
//   │   40 │ reallocs     u64            │ realloc calls                                  │
//   │   48 │ spans        u32            │ newest span; each links to the one before      │
//   │   52 │ lo           u32            │ lowest payload address of any span             │
//   │   56 │ hi           u32            │ highest span end                               │
//   │   60 │ source       u32            │ ROOT_MAGIC | where more memory comes from      │
//   │   64 │ slMap[FL_COUNT]   u32 each  │ bit s set: free list (f, s) is non-empty       │
//   │  176 │ heads[FL_COUNT × SL_COUNT]  │ first free block of each list                  │
//   │ 1776 │ class[CLASS_SLOTS]          │ per 16-byte class: guarded builds, the first   │
//   │      │                             │ cached block (small/quick.ts); release, the    │
//   │      │                             │ first page with a free object (small/page.ts)  │
//   │ 2048 │ dead count   u32            │ entries in the dead-piece table (core/dead.ts) │
//   │ 2052 │ splits       u32            │ live blocks made by partial frees              │
//   │ 2056 │ dead[DEAD_SLOTS] {u32 start, u32 end}: small freed pieces inside live blocks │
//   │ 2560 │ blockBytes   u32            │ bytes of all blocks in all spans               │
//   │ 2564 │ pageTable    u32            │ the page table block (small/page.ts), or 0     │
//   │ 2568 │ tableBase    u32            │ address of the table's first region            │
//   │ 2572 │ tableCover   u32            │ regions (4 KiB) the table covers               │
//   │ 2576 │ objHanded    u64            │ release: objects ever put on pages' free lists │
//   │ 2584 │ objReallocIn u32            │ release: objects popped by realloc             │
//   │ 2588 │ objReallocOut u32           │ release: objects freed by realloc              │
//   │ 2592 │ classPages[CLASS_SLOTS] u16 │ release only: pages of each class              │
//   │ 2724 │ classAsks[CLASS_SLOTS] u8   │ release only: requests of a class without pages│
//   └──────┴─────────────────────────────┴────────────────────────────────────────────────┘
//   ROOT_SIZE bytes in all with the default knobs: 2800 in release, 2592 in the guarded builds,
//   2336 in small (one class slot; offsets from 1776 on shift down). Bytes in use are derived,
//   not kept (inspect/stats.ts), so no counter of bytes moves on the small-object paths.

import { SMALL_MAX, QUICK_LIMIT, PAGES } from "./config";
import { ALIGN_BITS, HEADER, ALIGN_MASK } from "./block";

// Constants below are written as plain arithmetic (no calls) so the compiler folds them.

/** Second-level lists per first level: 2^SL_BITS. */
export const SL_BITS: u32 = 4;
export const SL_COUNT: u32 = 1 << SL_BITS;
/** Sizes below SB_SIZE get exact lists, 16 bytes apart. */
export const SB_BITS: u32 = SL_BITS + ALIGN_BITS;
export const SB_SIZE: usize = 1 << SB_BITS;
/** First levels: one for the small sizes, one per power of two from SB_SIZE to 2^31. */
export const FL_COUNT: u32 = 32 - SB_BITS + 1;

/** Largest block size kept in quick lists (0 when they are off). */
export const QUICK_MAX: usize = SMALL_MAX > 0 && !PAGES ? (SMALL_MAX + HEADER + ALIGN_MASK) & ~ALIGN_MASK : 0;
/** Quick list heads: one per block size 16·k, k = 0 .. QUICK_MAX/16. */
export const QUICK_COUNT: usize = (QUICK_MAX >> ALIGN_BITS) + 1;
/** Per-class slots in the root: quick list heads (guarded builds) or page lists (release). */
export const CLASS_SLOTS: usize = SMALL_MAX > 0 ? ((SMALL_MAX + HEADER + ALIGN_MASK) >> ALIGN_BITS) + 1 : 1;

export const R_FLMAP: usize = 0;
export const R_QUICK_BYTES: usize = 4;
export const R_FREE_BYTES: usize = 8;
export const R_PEAK_HELD: usize = 12;
export const R_CLAIMED: usize = 16;
export const R_QUICK_CAP: usize = 20;
export const R_MALLOCS: usize = 24;
export const R_FREES: usize = 32;
export const R_REALLOCS: usize = 40;
export const R_SPANS: usize = 48;
export const R_LO: usize = 52;
export const R_HI: usize = 56;
export const R_SOURCE: usize = 60;
export const R_SLMAP: usize = 64;

/** The source field's low half: where a heap's memory comes from when it runs out
 *  (heaps/source.ts). FIXED: the memory it was given and nothing more (a local heap over a
 *  buffer, a test arena); SHIM: memory.grow through the shim (the global heap); POOL: chunks of
 *  the global heap (a local heap grown from it). */
export const SOURCE_FIXED: u32 = 0;
export const SOURCE_SHIM: u32 = 1;
export const SOURCE_POOL: u32 = 2;
/** The source field's high half: marks a live heap root, so a stray handle is refused. */
export const ROOT_MAGIC: u32 = 0x7A11_0000;
export const R_HEADS: usize = (R_SLMAP + (<usize>FL_COUNT << 2) + ALIGN_MASK) & ~ALIGN_MASK;
export const R_QUICK: usize = R_HEADS + (<usize>(FL_COUNT * SL_COUNT) << 2);
/** Entries of the dead-piece table: freed pieces too small to become blocks (core/dead.ts). */
export const DEAD_SLOTS: usize = 63;
export const R_DEAD: usize = (R_QUICK + (CLASS_SLOTS << 2) + ALIGN_MASK) & ~ALIGN_MASK;
export const R_SPLITS: usize = R_DEAD + 4;
export const R_BLOCK_BYTES: usize = R_DEAD + 8 + (DEAD_SLOTS << 3);
export const R_PT: usize = R_BLOCK_BYTES + 4;
export const R_PT_BASE: usize = R_BLOCK_BYTES + 8;
export const R_PT_COVER: usize = R_BLOCK_BYTES + 12;
/** Release: objects ever put on the free lists of pages (u64): malloc and free count no objects;
 *  inspect/stats.ts derives the calls from this, the free lists and the live flags. */
export const R_OBJ_HANDED: usize = R_BLOCK_BYTES + 16;
/** Release: objects popped, and objects freed, by realloc (which counts as neither call). */
export const R_OBJ_REALLOC_IN: usize = R_BLOCK_BYTES + 24;
export const R_OBJ_REALLOC_OUT: usize = R_BLOCK_BYTES + 28;
/** Release: pages of each class, a u16 per class (small/page.ts sizes a class's first page by it). */
export const R_CLASS_PAGES: usize = R_BLOCK_BYTES + 32;
/** Release: requests of each class while it has no page, a u8 per class (small/page.ts makes a
 *  class's first page only once it asked PAGE_ASKS times). */
export const R_CLASS_ASKS: usize = R_CLASS_PAGES + (CLASS_SLOTS << 1);
export const ROOT_SIZE: usize = (R_CLASS_PAGES + (PAGES ? CLASS_SLOTS * 3 : 0) + ALIGN_MASK) & ~ALIGN_MASK;

/** Reads a u32 field of root r. O(1). */
@inline export function field(r: usize, offset: usize): u32 {
  return load<u32>(r + offset);
}

/** Writes a u32 field of root r. O(1). */
@inline export function setField(r: usize, offset: usize, v: u32): void {
  store<u32>(r + offset, v);
}

/** Address of the slot holding the head of the quick list for block size s (a multiple of 16):
 *  list s/16, 4 bytes a slot, so s/4. O(1). */
@inline export function quickSlot(r: usize, s: usize): usize {
  return r + R_QUICK + (s >> 2);
}

/** Address of class c's slot: the first page of class c with a free object (small/page.ts). O(1). */
@inline export function classSlot(r: usize, c: usize): usize {
  return r + R_QUICK + (c << 2);
}

/** Address of class c's page count (release). O(1). */
@inline export function classPagesSlot(r: usize, c: usize): usize {
  return r + R_CLASS_PAGES + (c << 1);
}

/** Address of the slot holding free list (fl, sl)'s head. O(1). */
@inline export function headSlot(r: usize, fl: u32, sl: u32): usize {
  return r + R_HEADS + (<usize>((fl << SL_BITS) + sl) << 2);
}

/** Address of first level fl's second-level bitmap. O(1). */
@inline export function slMapSlot(r: usize, fl: u32): usize {
  return r + R_SLMAP + (<usize>fl << 2);
}

/** The quick lists may always cache this much, however small the heap. */
const QUICK_FLOOR: u32 = 65536;

/** Changes heap r's claimed bytes by delta, and with them the quick lists' cap: an eighth of
 *  the heap but at least 64 KiB, and never more than QUICK_LIMIT, so cached blocks never hoard
 *  much of a large heap while a small one still caches its working set. O(1). */
export function addClaimed(r: usize, delta: i32): void {
  let claimed = field(r, R_CLAIMED) + <u32>delta;
  setField(r, R_CLAIMED, claimed);
  if (QUICK_MAX > 0) setField(r, R_QUICK_CAP, min<u32>(<u32>QUICK_LIMIT, max<u32>(claimed >> 3, QUICK_FLOOR)));
}
