// block.ts — the block: the unit a heap hands out, and its one-word header.
//
// A block is named by its payload address p, always a multiple of 16. Its header is the u32
// just below p, so a block of size S covers [p - 4, p + S - 4) and the next block's payload
// starts at p + S. S counts the header: a block holds S - 4 bytes of payload.
//
//   the header word, at p - 4
//    31                                        4   3   2   1   0
//   ┌───────────────────────────────────────────┬───┬───┬───┬───┐
//   │ size S: a multiple of 16 (0 = span tail)  │ L │ C │ P │ F │
//   └───────────────────────────────────────────┴───┴───┴───┴───┘
//    F  FREE       the block is in the general free lists
//    P  PREV_FREE  the block just before is FREE; its footer (the u32 at p - 8) holds its address
//    C  CACHED     guarded builds: the block sits in a quick list, free for its owner, in use for
//                  the general heap.  META in the release build (no quick lists there): the block
//                  is ralloc's own, a page of small objects or the page table (small/page.ts)
//    L  LEAD_DEAD  in use, and its first bytes (fewer than 16) were freed by a partial free:
//                  they come back with the rest of the block (features/range.ts)
//
//   a FREE block of size S
//   ┌────────┬────────────┬────────────┬─ ─ ─ ─ ─ ─┬──────────────┐
//   │ header │ next free  │ prev free  │  unused   │ footer = p   │
//   │ p - 4  │ p          │ p + 4      │           │ p + S - 8    │
//   └────────┴────────────┴────────────┴─ ─ ─ ─ ─ ─┴──────────────┘
//   A CACHED block keeps its next link at p; an in-use block is all payload.
//
// The smallest block is 16 bytes (12 of payload), room for the two links and the footer.

/** Grain of every block address and size. */
export const ALIGN: usize = 16;
export const ALIGN_BITS: u32 = 4;
export const ALIGN_MASK: usize = ALIGN - 1;
/** Bytes of header below each payload. */
export const HEADER: usize = 4;
/** Smallest block: a header, two links and a footer. */
export const MIN_BLOCK: usize = 16;

export const FREE: u32 = 1;
export const PREV_FREE: u32 = 2;
export const CACHED: u32 = 4;
/** The same bit in the release build: a page or the page table, never a program's block. */
export const META: u32 = 4;
export const LEAD_DEAD: u32 = 8;
export const FLAGS: u32 = 15;
export const SIZE_MASK: u32 = ~FLAGS;

/** Largest request that can ever fit; larger ones fail before any arithmetic can overflow. */
export const MAX_REQUEST: usize = 0xFFFF_0000;

/** Reads the header of block p. O(1). */
@inline export function header(p: usize): u32 {
  return load<u32>(p - HEADER);
}

/** Writes the header of block p. O(1). */
@inline export function setHeader(p: usize, h: u32): void {
  store<u32>(p - HEADER, h);
}

/** Size of block p, from its header. O(1). */
@inline export function sizeOf(p: usize): usize {
  return load<u32>(p - HEADER) & SIZE_MASK;
}

/** Block size that holds a request of n bytes: n plus the header, rounded up to 16. O(1). */
@inline export function blockSizeFor(n: usize): usize {
  return (n + HEADER + ALIGN_MASK) & ~ALIGN_MASK;
}

/** Bytes a caller may use in a block of size s. O(1). */
@inline export function payloadOf(s: usize): usize {
  return s - HEADER;
}

/** The free block whose footer sits just below p (valid only when p's PREV_FREE is set). O(1). */
@inline export function prevFreeOf(p: usize): usize {
  return load<u32>(p - HEADER - 4);
}

/** Writes the footer of free block p of size s, so its successor can find it. O(1). */
@inline export function setFooter(p: usize, s: usize): void {
  store<u32>(p + s - HEADER - 4, p);
}

/** Offsets of a free block's links from its address. */
export const LINK_NEXT: usize = 0;
export const LINK_PREV: usize = 4;

/** Next-free link of a free or cached block. O(1). */
@inline export function nextLink(p: usize): usize {
  return load<u32>(p, LINK_NEXT);
}

/** Sets the next-free link of a free or cached block. O(1). */
@inline export function setNextLink(p: usize, q: usize): void {
  store<u32>(p, q, LINK_NEXT);
}

/** Prev-free link of a free block. O(1). */
@inline export function prevLink(p: usize): usize {
  return load<u32>(p, LINK_PREV);
}

/** Sets the prev-free link of a free block. O(1). */
@inline export function setPrevLink(p: usize, q: usize): void {
  store<u32>(p, q, LINK_PREV);
}

/** Rounds x up to a multiple of 16. O(1). */
@inline export function alignUp(x: usize): usize {
  return (x + ALIGN_MASK) & ~ALIGN_MASK;
}
