// features/range.ts: partial frees (ralloc_dealloc) over fixed arenas, as release ships it: a
// prefix, a suffix or a middle of a general block, the pieces too small to stand alone (a dead
// lead, the dead-piece table), and the objects of release's pages, freed piece by piece.
import {
  heapDealloc, blockHolding, leadOf, DEALLOC_OK, DEALLOC_OUTSIDE, DEALLOC_FREED, DEALLOC_FULL,
} from "../../assembly/features/range";
import { header, sizeOf, FREE, LEAD_DEAD } from "../../assembly/base/block";
import { R_DEAD, R_SPLITS, DEAD_SLOTS, field } from "../../assembly/base/root";
import { deadSlot, exactEnd } from "../../assembly/core/dead";
import { noteAlloc, liveBlocks } from "../../assembly/core/counters";
import { heapCheck } from "../../assembly/inspect/check";
import { pageAlloc, pageOf, classOf, objectLive, pageLive } from "../../assembly/small/page";
import { arenaHeap, take, give } from "./arena.include";

/** Fills [p, p + n) with a pattern that names each byte's offset. */
function paint(p: usize, n: usize): void {
  for (let i: usize = 0; i < n; ++i) store<u8>(p + i, <u8>(i * 7 + 3));
}

/** Whether [p + from, p + to) still holds paint(p, ...)'s pattern. */
function painted(p: usize, from: usize, to: usize): bool {
  for (let i = from; i < to; ++i) if (load<u8>(p + i) != <u8>(i * 7 + 3)) return false;
  return true;
}

/** Dead-piece entry i of heap r as start and end. */
function deadStart(r: usize, i: usize): usize {
  return <usize>load<u32>(deadSlot(r, i));
}
function deadEnd(r: usize, i: usize): usize {
  return <usize>load<u32>(deadSlot(r, i), 4);
}

describe("range (partial frees)", () => {
  it("frees a prefix: the front becomes a free block, the rest stays live with its bytes and a dead lead", () => {
    let r = arenaHeap(1 << 16);
    let b = take(r, 2000), fence = take(r, 100);
    paint(b, 2000);
    let live = liveBlocks(r);
    expect<u32>(heapDealloc(r, b, 1000)).toBe(DEALLOC_OK);
    let q = b + 992; // the last 16-byte boundary at or below b + 1000
    expect<u32>(header(b) & FREE).toBe(FREE, "the prefix is a free block");
    expect<usize>(sizeOf(b)).toBe(992);
    expect<u32>(header(q) & (FREE | LEAD_DEAD)).toBe(LEAD_DEAD);
    expect<usize>(leadOf(q)).toBe(8, "b + 992 .. b + 1000 are dead, inside the kept block");
    expect<bool>(painted(b, 1000, 2000)).toBe(true, "the kept bytes are untouched");
    expect<usize>(blockHolding(r, b + 1000, 1000)).toBe(q);
    expect<u32>(liveBlocks(r)).toBe(live, "still one live block");
    expect<u32>(heapCheck(r)).toBe(0);
    // freeing any of it again changes nothing
    expect<u32>(heapDealloc(r, b, 1000)).not.toBe(DEALLOC_OK);
    expect<u32>(heapDealloc(r, b + 995, 10)).toBe(DEALLOC_FREED, "it overlaps the dead lead");
    expect<bool>(painted(b, 1000, 2000)).toBe(true);
    expect<u32>(heapCheck(r)).toBe(0);
    // the kept block comes back whole, its dead lead with it
    give(r, q);
    expect<u32>(header(b) & FREE).toBe(FREE);
    expect<bool>(sizeOf(b) >= 2000).toBe(true, "merged with the prefix");
    expect<u32>(heapCheck(r)).toBe(0);
    expect<bool>(fence != 0).toBe(true);
  });

  it("frees a suffix: the block is cut, its new end recorded as exact", () => {
    let r = arenaHeap(1 << 16);
    let b = take(r, 2000), fence = take(r, 100);
    paint(b, 2000);
    expect<u32>(heapDealloc(r, b + 1000, 1012)).toBe(DEALLOC_OK); // to the block's usable end
    expect<usize>(sizeOf(b)).toBe(1008, "cut down to its first 1,000 bytes, rounded up");
    expect<u32>(header(b + 1008) & FREE).toBe(FREE, "the tail is a free block");
    expect<u32>(field(r, R_DEAD)).toBe(1);
    expect<usize>(deadStart(r, 0)).toBe(b + 1000, "the bytes left of the cut are dead");
    expect<usize>(deadEnd(r, 0)).toBe(b + 1004);
    expect<bool>(exactEnd(r, b + 1004)).toBe(true);
    expect<bool>(painted(b, 0, 1000)).toBe(true);
    expect<u32>(heapCheck(r)).toBe(0);
    expect<u32>(heapDealloc(r, b + 1002, 2)).toBe(DEALLOC_FREED);
    expect<u32>(heapDealloc(r, b + 1000, 1012)).not.toBe(DEALLOC_OK);
    // a range next to the dead piece takes it along
    expect<u32>(heapDealloc(r, b + 990, 10)).toBe(DEALLOC_OK);
    expect<u32>(field(r, R_DEAD)).toBe(1);
    expect<usize>(deadStart(r, 0)).toBe(b + 990);
    expect<usize>(deadEnd(r, 0)).toBe(b + 1004);
    expect<bool>(painted(b, 0, 990)).toBe(true);
    expect<u32>(heapCheck(r)).toBe(0);
    // freeing the block forgets its pieces
    give(r, b);
    expect<u32>(field(r, R_DEAD)).toBe(0);
    expect<u32>(heapCheck(r)).toBe(0);
    expect<bool>(fence != 0).toBe(true);
  });

  it("frees a middle: one live block becomes two around a free block", () => {
    let r = arenaHeap(1 << 16);
    let b = take(r, 4000), fence = take(r, 100);
    paint(b, 4000);
    let live = liveBlocks(r);
    let splits = field(r, R_SPLITS);
    expect<u32>(heapDealloc(r, b + 1024, 1024)).toBe(DEALLOC_OK);
    let m = b + 1040, q = b + 2048;
    expect<usize>(sizeOf(b)).toBe(1040);
    expect<u32>(header(m) & FREE).toBe(FREE, "the middle is a free block");
    expect<usize>(sizeOf(m)).toBe(q - m);
    expect<u32>(header(q) & (FREE | LEAD_DEAD)).toBe(0, "q starts exactly at the range's end: no dead lead");
    expect<u32>(field(r, R_SPLITS)).toBe(splits + 1);
    expect<u32>(liveBlocks(r)).toBe(live + 1);
    expect<bool>(painted(b, 0, 1024) && painted(b, 2048, 4000)).toBe(true, "both kept parts keep their bytes");
    expect<bool>(exactEnd(r, b + 1036)).toBe(true, "b's new end is exact");
    expect<u32>(heapCheck(r)).toBe(0);
    expect<u32>(heapDealloc(r, b + 1100, 8)).not.toBe(DEALLOC_OK, "inside the freed middle");
    expect<u32>(heapDealloc(r, b + 1000, 100)).toBe(DEALLOC_OUTSIDE, "not inside one live block");
    expect<u32>(heapCheck(r)).toBe(0);
    give(r, q);
    give(r, b);
    expect<u32>(header(b) & FREE).toBe(FREE);
    expect<bool>(sizeOf(b) >= 4000).toBe(true, "all of it one free block again");
    expect<u32>(field(r, R_DEAD)).toBe(0);
    expect<u32>(heapCheck(r)).toBe(0);
    expect<bool>(fence != 0).toBe(true);
  });

  it("records a middle piece too small to stand alone, refuses it twice, and takes it along later", () => {
    let r = arenaHeap(1 << 16);
    let b = take(r, 300), fence = take(r, 100);
    paint(b, 300);
    let size = sizeOf(b);
    expect<u32>(heapDealloc(r, b + 100, 18)).toBe(DEALLOC_OK);
    expect<usize>(sizeOf(b)).toBe(size, "no block was cut");
    expect<u32>(field(r, R_DEAD)).toBe(1);
    expect<usize>(deadStart(r, 0)).toBe(b + 100);
    expect<usize>(deadEnd(r, 0)).toBe(b + 118);
    expect<u32>(heapCheck(r)).toBe(0);
    expect<u32>(heapDealloc(r, b + 110, 4)).toBe(DEALLOC_FREED);
    expect<u32>(heapDealloc(r, b + 90, 12)).toBe(DEALLOC_FREED, "overlaps the piece");
    // a range touching the piece grows over it; now a 16-byte block fits between the parts
    expect<u32>(heapDealloc(r, b + 118, 10)).toBe(DEALLOC_OK);
    expect<usize>(sizeOf(b)).toBe(112);
    expect<u32>(header(b + 112) & FREE).toBe(FREE);
    expect<usize>(sizeOf(b + 112)).toBe(16);
    expect<u32>(field(r, R_DEAD)).toBe(1, "the old piece was forgotten, b's exact end recorded");
    expect<usize>(deadStart(r, 0)).toBe(b + 100);
    expect<usize>(deadEnd(r, 0)).toBe(b + 108);
    expect<bool>(painted(b, 0, 100) && painted(b, 128, 300)).toBe(true);
    expect<u32>(heapCheck(r)).toBe(0);
    expect<bool>(fence != 0).toBe(true);
  });

  it("refuses a middle piece when the dead-piece table is full, changing nothing; a prefix needs no entry", () => {
    let r = arenaHeap(1 << 16);
    let b = take(r, 8000), fence = take(r, 100);
    for (let i: usize = 0; i < DEAD_SLOTS; ++i) expect<u32>(heapDealloc(r, b + 64 * i + 36, 2)).toBe(DEALLOC_OK);
    expect<u32>(field(r, R_DEAD)).toBe(<u32>DEAD_SLOTS);
    expect<u32>(heapCheck(r)).toBe(0);
    paint(b + 5000, 2000);
    let copy = heap.alloc(8000);
    memory.copy(copy, b, 8000);
    expect<u32>(heapDealloc(r, b + 64 * DEAD_SLOTS + 36, 2)).toBe(DEALLOC_FULL);
    expect<u32>(heapDealloc(r, b + 5000, 1000)).toBe(DEALLOC_FULL, "a large middle records b's new end too");
    expect<i32>(memory.compare(copy, b, 8000)).toBe(0, "nothing changed");
    expect<u32>(field(r, R_DEAD)).toBe(<u32>DEAD_SLOTS);
    // a range next to a recorded piece merges into its entry: no new entry needed
    expect<u32>(heapDealloc(r, b + 38, 2)).toBe(DEALLOC_OK);
    expect<u32>(field(r, R_DEAD)).toBe(<u32>DEAD_SLOTS);
    // a prefix is a dead lead, not an entry
    expect<u32>(heapDealloc(r, b, 2)).toBe(DEALLOC_OK);
    expect<usize>(leadOf(b)).toBe(2);
    expect<u32>(heapCheck(r)).toBe(0);
    give(r, b);
    expect<u32>(field(r, R_DEAD)).toBe(0, "freeing the block forgets all its pieces");
    expect<u32>(heapCheck(r)).toBe(0);
    expect<bool>(fence != 0).toBe(true);
  });

  it("frees the whole block when the range covers it (up to the rounding slack)", () => {
    let r = arenaHeap(1 << 16);
    let b = take(r, 1990), fence = take(r, 100);
    let live = liveBlocks(r);
    expect<u32>(heapDealloc(r, b, 1990)).toBe(DEALLOC_OK); // 2,000 usable: the last 10 are slack
    expect<u32>(header(b) & FREE).toBe(FREE);
    expect<u32>(liveBlocks(r)).toBe(live - 1);
    expect<u32>(heapDealloc(r, b, 1990)).toBe(DEALLOC_OUTSIDE, "freed: no live block holds it");
    expect<u32>(heapCheck(r)).toBe(0);
    expect<bool>(fence != 0).toBe(true);
  });

  it("refuses a range outside every live block, an empty range and one past a block's end, changing nothing", () => {
    let r = arenaHeap(1 << 16);
    let a = take(r, 1000), b = take(r, 1000), c = take(r, 1000);
    give(r, b);
    let copy = heap.alloc(1 << 16);
    memory.copy(copy, r, 1 << 16);
    expect<u32>(heapDealloc(r, a + 900, 200)).toBe(DEALLOC_OUTSIDE, "runs past a's end");
    expect<u32>(heapDealloc(r, a + 10, 0)).toBe(DEALLOC_OUTSIDE, "empty");
    expect<u32>(heapDealloc(r, b + 10, 10)).toBe(DEALLOC_OUTSIDE, "inside a free block");
    expect<u32>(heapDealloc(r, a - 4, 8)).toBe(DEALLOC_OUTSIDE, "a's header");
    expect<u32>(heapDealloc(r, 16, 8)).toBe(DEALLOC_OUTSIDE, "below the heap");
    expect<i32>(memory.compare(copy, r, 1 << 16)).toBe(0);
    expect<bool>(c != 0).toBe(true);
  });

  it("frees an object of a page piece by piece: the pieces are recorded, and the object goes when they cover it", () => {
    let r = arenaHeap(1 << 16);
    let o = pageAlloc(r, classOf(64)); // (objects are counted by the stats, not here)
    let other = pageAlloc(r, classOf(64));
    let pg = pageOf(r, o);
    expect<u32>(<u32>pageLive(pg)).toBe(2);
    expect<u32>(heapDealloc(r, o + 16, 16)).toBe(DEALLOC_OK);
    expect<bool>(objectLive(pg, o)).toBe(true);
    expect<u32>(field(r, R_DEAD)).toBe(1);
    expect<u32>(heapCheck(r)).toBe(0);
    expect<u32>(heapDealloc(r, o + 20, 4)).toBe(DEALLOC_FREED);
    expect<u32>(heapDealloc(r, o + 60, 8)).toBe(DEALLOC_OUTSIDE, "runs into the next object");
    expect<u32>(heapDealloc(r, o, 16)).toBe(DEALLOC_OK);
    expect<u32>(field(r, R_DEAD)).toBe(1, "merged with the piece it touches");
    expect<usize>(deadStart(r, 0)).toBe(o);
    expect<usize>(deadEnd(r, 0)).toBe(o + 32);
    expect<u32>(heapCheck(r)).toBe(0);
    // the rest, short of the object's last 8 bytes (rounding slack): the object is freed
    expect<u32>(heapDealloc(r, o + 32, 24)).toBe(DEALLOC_OK);
    expect<bool>(objectLive(pg, o)).toBe(false);
    expect<u32>(field(r, R_DEAD)).toBe(0);
    expect<u32>(<u32>pageLive(pg)).toBe(1, "one object of the page is live: the other");
    expect<bool>(objectLive(pg, other)).toBe(true, "its neighbour is untouched");
    expect<u32>(heapCheck(r)).toBe(0);
    expect<u32>(heapDealloc(r, o, 64)).toBe(DEALLOC_OUTSIDE, "a free object");
  });
});
