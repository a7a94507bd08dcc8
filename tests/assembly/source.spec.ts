// heaps/source.ts: where a heap's memory comes from. A FIXED heap (an arena) never grows; the
// global heap (SHIM) grows memory through the shim and trims its top back to the break; a local
// heap grown from it (POOL) takes chunks of it, doubling. The global heap and the shim are per
// instance: this file makes the global heap once, and the cases that use it run in order.
import {
  sourceOf, isHeapRoot, growHeap, growFor, takeChunk, chunkEnd, trimTop,
} from "../../assembly/heaps/source";
import { globalHeap, globalHeapRoot } from "../../assembly/heaps/global";
import { localFromPool, localDestroy } from "../../assembly/features/local";
import {
  R_SOURCE, R_CLAIMED, R_SPANS, SOURCE_FIXED, SOURCE_SHIM, SOURCE_POOL, ROOT_MAGIC, field, setField,
} from "../../assembly/base/root";
import { header, sizeOf, FREE } from "../../assembly/base/block";
import { shimBreak, shimMemoryEnd } from "../../assembly/platform/shim";
import { spanEnd } from "../../assembly/core/span";
import { liveBlocks, noteAlloc } from "../../assembly/core/counters";
import { heapCheck } from "../../assembly/inspect/check";
import { opAlloc, opFree } from "../../assembly/ops/ops";
import { arenaHeap } from "./arena.include";

describe("source", () => {
  it("a FIXED heap never grows: growth gives nothing, memory and its claim stay as they are", () => {
    let r = arenaHeap(1 << 16);
    expect<u32>(sourceOf(r)).toBe(SOURCE_FIXED);
    let claimed = field(r, R_CLAIMED);
    let pages = memory.size();
    expect<usize>(growHeap(r, 1 << 20)).toBe(0);
    expect<usize>(growFor(r, 4096)).toBe(0);
    expect<usize>(opAlloc(r, 1 << 20, 16, true)).toBe(0);
    expect<u32>(field(r, R_CLAIMED)).toBe(claimed);
    expect<i32>(memory.size()).toBe(pages);
    expect<usize>(trimTop(r)).toBe(0, "nor is it trimmed");
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("knows a live heap root by its mark", () => {
    let r = arenaHeap(1 << 16);
    expect<bool>(isHeapRoot(r)).toBe(false, "an arena is not marked");
    setField(r, R_SOURCE, ROOT_MAGIC | SOURCE_FIXED);
    expect<bool>(isHeapRoot(r)).toBe(true);
    expect<bool>(isHeapRoot(r + 16)).toBe(false);
    expect<bool>(isHeapRoot(r + 4)).toBe(false);
    expect<bool>(isHeapRoot(0)).toBe(false);
    expect<bool>(isHeapRoot(<usize>shimMemoryEnd() + 64)).toBe(false, "outside memory: never read");
    setField(r, R_SOURCE, 0);
    expect<bool>(isHeapRoot(r)).toBe(false, "destroyed");
  });

  it("the global heap (SHIM) grows memory for a request: the new memory extends its top free block", () => {
    let r = globalHeap(16);
    expect<usize>(r).not.toBe(0);
    expect<usize>(globalHeapRoot()).toBe(r);
    expect<u32>(sourceOf(r)).toBe(SOURCE_SHIM);
    expect<bool>(isHeapRoot(r)).toBe(true);
    let claimed = field(r, R_CLAIMED);
    let pages = memory.size();
    let want: usize = 600000; // more than memory holds now
    let f = growHeap(r, want);
    expect<usize>(f).not.toBe(0);
    expect<u32>(header(f) & FREE).toBe(FREE);
    expect<bool>(sizeOf(f) >= want).toBe(true);
    expect<bool>(memory.size() > pages).toBe(true);
    expect<bool>(field(r, R_CLAIMED) > claimed).toBe(true);
    expect<usize>(spanEnd(<usize>field(r, R_SPANS))).toBe(shimBreak(), "its newest span ends at the break");
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("growFor takes the new block directly, of exactly the size asked", () => {
    let r = globalHeapRoot();
    let p = growFor(r, 2000000);
    expect<usize>(p).not.toBe(0);
    noteAlloc(r, sizeOf(p)); // as ops/ops.ts, its caller, counts it
    expect<usize>(sizeOf(p)).toBe(2000000);
    expect<u32>(header(p) & FREE).toBe(0);
    expect<u32>(heapCheck(r)).toBe(0);
    expect<bool>(opFree(r, p)).toBe(true);
  });

  it("trims free memory at the top back to the break, once", () => {
    let r = globalHeapRoot();
    let p = opAlloc(r, 3000000, 16, true); // at the top: nothing below fits
    expect<usize>(p).not.toBe(0);
    let slack = trimTop(r); // growth's slack above p
    expect<bool>(slack < 1 << 20).toBe(true);
    expect<usize>(trimTop(r)).toBe(0, "the top block is in use");
    let top = shimBreak();
    let claimed = field(r, R_CLAIMED);
    opFree(r, p);
    let given = trimTop(r);
    expect<bool>(given >= 3000000).toBe(true);
    expect<usize>(shimBreak()).toBe(top - given);
    expect<u32>(field(r, R_CLAIMED)).toBe(claimed - <u32>given);
    expect<usize>(spanEnd(<usize>field(r, R_SPANS))).toBe(shimBreak());
    expect<usize>(trimTop(r)).toBe(0, "nothing free is left at the top");
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("a local heap grown from the global heap (POOL) takes chunks of it, at least doubling", () => {
    let pool = globalHeapRoot();
    let live = liveBlocks(pool);
    let h = localFromPool(4096);
    expect<usize>(h).not.toBe(0);
    expect<u32>(sourceOf(h)).toBe(SOURCE_POOL);
    expect<u32>(liveBlocks(pool)).toBe(live + 1, "its first chunk is a live block of the global heap");
    let claimed = field(h, R_CLAIMED);
    let f = growHeap(h, 50000);
    expect<usize>(f).not.toBe(0);
    expect<bool>(sizeOf(f) >= 50000).toBe(true);
    expect<bool>(field(h, R_CLAIMED) >= 2 * claimed).toBe(true, "doubled");
    expect<u32>(liveBlocks(pool)).toBe(live + 2);
    let p = opAlloc(h, 300000, 16, true); // grows again, by itself
    expect<usize>(p).not.toBe(0);
    expect<u32>(liveBlocks(pool)).toBe(live + 3);
    claimed = field(h, R_CLAIMED);
    expect<usize>(growHeap(h, 1000)).not.toBe(0);
    expect<bool>(field(h, R_CLAIMED) >= 2 * claimed).toBe(true, "a small request still doubles a large heap");
    expect<u32>(heapCheck(h)).toBe(0);
    expect<u32>(heapCheck(pool)).toBe(0);
    localDestroy(h, pool);
    expect<u32>(liveBlocks(pool)).toBe(live, "every chunk went back");
    expect<bool>(isHeapRoot(h)).toBe(false);
    expect<u32>(heapCheck(pool)).toBe(0);
  });

  it("a chunk's usable end is its block's payload end", () => {
    let pool = globalHeapRoot();
    let c = takeChunk(10000);
    expect<usize>(c).not.toBe(0);
    expect<bool>(sizeOf(c) >= 10004).toBe(true);
    expect<usize>(chunkEnd(c)).toBe(c + sizeOf(c) - 4);
    opFree(pool, c);
    expect<u32>(heapCheck(pool)).toBe(0);
  });

  it("a FIXED heap still never grows once there is a global heap to grow from", () => {
    expect<usize>(globalHeapRoot()).not.toBe(0);
    let r = arenaHeap(1 << 16);
    let claimed = field(r, R_CLAIMED);
    let live = liveBlocks(globalHeapRoot());
    expect<usize>(growHeap(r, 1 << 20)).toBe(0);
    expect<usize>(opAlloc(r, 1 << 20, 16, true)).toBe(0);
    expect<u32>(field(r, R_CLAIMED)).toBe(claimed);
    expect<u32>(liveBlocks(globalHeapRoot())).toBe(live, "no chunk was taken for it");
  });
});
