// ops/ops.ts: the operations every front end performs on a heap (alloc at any alignment, free,
// realloc, in place, usable size, the OOM handler), on fixed arenas (FIXED: memory never grows),
// as release ships them: small requests are objects of pages.
import { STATS_SIZE, ST_MALLOC_CALLS, ST_FREE_CALLS, ST_REALLOC_CALLS, ST_LIVE_BLOCKS } from "../../assembly/base/abi";
import { writeStats } from "../../assembly/inspect/stats";
import {
  opAlloc, opFree, opRealloc, opInplace, opUsable, grainFor,
} from "../../assembly/ops/ops";
import { ROOT_SIZE, R_MALLOCS, R_FREES, R_REALLOCS } from "../../assembly/base/root";
import { MAX_REQUEST } from "../../assembly/base/block";
import { setOomHandlerIndex } from "../../assembly/platform/oom";
import { pageOf } from "../../assembly/small/page";
import { liveBlocks } from "../../assembly/core/counters";
import { heapCheck } from "../../assembly/inspect/check";
import { arenaHeap, warmHeap } from "./arena.include";

/** Fills [p, p + n) with a pattern seeded by `seed`. */
function paint(p: usize, n: usize, seed: u32): void {
  for (let i: usize = 0; i < n; ++i) store<u8>(p + i, <u8>(<u32>i * 13 + seed));
}

/** Whether [p, p + n) holds paint(p, n, seed)'s pattern. */
function painted(p: usize, n: usize, seed: u32): bool {
  for (let i: usize = 0; i < n; ++i) if (load<u8>(p + i) != <u8>(<u32>i * 13 + seed)) return false;
  return true;
}

let oomCalls = 0;
let oomHeap: usize = 0;
let oomVictim: usize = 0;

function refuse(size: usize): bool {
  oomCalls++;
  return false;
}

function retryForever(size: usize): bool {
  oomCalls++;
  return true; // "try again" though nothing was freed: the heap must retry once, not loop
}

function freeVictim(size: usize): bool {
  oomCalls++;
  opFree(oomHeap, oomVictim);
  return true;
}

/** Installs an AssemblyScript OOM handler, as index.ts's setOomHandler does. */
function handle(h: (size: usize) => bool): void {
  setOomHandlerIndex(load<u32>(changetype<usize>(h)));
}

describe("ops", () => {
  it("computes the grain of any alignment: lcm(align, 16), 0 for 0 or one too large", () => {
    expect<usize>(grainFor(0)).toBe(0);
    expect<usize>(grainFor(1)).toBe(16);
    expect<usize>(grainFor(8)).toBe(16);
    expect<usize>(grainFor(16)).toBe(16);
    expect<usize>(grainFor(3)).toBe(48);
    expect<usize>(grainFor(12)).toBe(48);
    expect<usize>(grainFor(24)).toBe(48);
    expect<usize>(grainFor(100)).toBe(400);
    expect<usize>(grainFor(4096)).toBe(4096);
    expect<usize>(grainFor(0x8000_0000)).toBe(0x8000_0000);
    expect<usize>(grainFor(0xFFFF_FFFF)).toBe(0, "odd and huge: the grain would pass 4 GiB");
  });

  it("allocates at any alignment, power of two or not: aligned, 16-aligned, disjoint, each holding its bytes", () => {
    let r = arenaHeap(1 << 21);
    let aligns: StaticArray<usize> = [1, 2, 3, 4, 5, 7, 8, 12, 16, 24, 32, 48, 100, 256, 1000, 4096, 12288];
    let sizes: StaticArray<usize> = [0, 1, 30, 500, 3000];
    let ps = new Array<usize>(), ns = new Array<usize>();
    for (let i = 0; i < aligns.length; ++i) {
      for (let j = 0; j < sizes.length; ++j) {
        let n = sizes[j], align = aligns[i];
        let p = opAlloc(r, n, align, false);
        expect<usize>(p).not.toBe(0);
        expect<usize>(p % align).toBe(0, "a multiple of the alignment");
        expect<usize>(p & 15).toBe(0);
        expect<bool>(opUsable(r, p) >= n).toBe(true);
        paint(p, n, <u32>ps.length);
        ps.push(p);
        ns.push(n);
      }
    }
    expect<u32>(heapCheck(r)).toBe(0);
    for (let i = 0; i < ps.length; ++i) {
      expect<bool>(painted(ps[i], ns[i], <u32>i)).toBe(true, "no allocation overlapped another");
      for (let j = i + 1; j < ps.length; ++j) {
        let a = ps[i], b = ps[j];
        expect<bool>(a + max<usize>(ns[i], 1) <= b || b + max<usize>(ns[j], 1) <= a).toBe(true);
      }
    }
    for (let i = 0; i < ps.length; ++i) expect<bool>(opFree(r, ps[i])).toBe(true);
    expect<u32>(liveBlocks(r)).toBe(0);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("refuses alignment 0 and sizes past the largest request", () => {
    let r = arenaHeap(1 << 16);
    expect<usize>(opAlloc(r, 10, 0, false)).toBe(0);
    expect<usize>(opAlloc(r, 10, 0xFFFF_FFFF, false)).toBe(0);
    expect<usize>(opAlloc(r, MAX_REQUEST + 1, 16, false)).toBe(0);
    expect<usize>(opAlloc(r, 0xFFFF_FFFF, 16, false)).toBe(0);
    expect<u32>(liveBlocks(r)).toBe(0);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("serves a small request with align <= 16 from a page, anything else as a general block", () => {
    let r = warmHeap(1 << 18);
    expect<bool>(pageOf(r, opAlloc(r, 32, 16, false)) != 0).toBe(true);
    expect<bool>(pageOf(r, opAlloc(r, 32, 8, false)) != 0).toBe(true);
    expect<bool>(pageOf(r, opAlloc(r, 1024, 16, false)) != 0).toBe(true);
    let a = opAlloc(r, 32, 32, false);
    expect<usize>(pageOf(r, a)).toBe(0);
    expect<usize>(a % 32).toBe(0);
    expect<usize>(pageOf(r, opAlloc(r, 1025, 16, false))).toBe(0);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("takes a general block for a small request when the heap cannot hold a page", () => {
    let r = arenaHeap(ROOT_SIZE + 3000);
    let p = opAlloc(r, 32, 16, false);
    expect<usize>(p).not.toBe(0);
    expect<usize>(pageOf(r, p)).toBe(0);
    expect<bool>(opUsable(r, p) >= 32).toBe(true);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("realloc keeps the contents through objects and blocks, growing and shrinking, moving or not", () => {
    let r = arenaHeap(1 << 20);
    let sizes: StaticArray<usize> = [20, 100, 3000, 50000, 2500, 40, 8, 1000, 1000, 20000];
    let p = opAlloc(r, sizes[0], 16, false);
    paint(p, sizes[0], 1);
    let blockers = new Array<usize>();
    for (let i = 1; i < sizes.length; ++i) {
      blockers.push(opAlloc(r, 64 * i, 16, false)); // something right after, often
      let old = sizes[i - 1], n = sizes[i];
      let q = opRealloc(r, p, n);
      expect<usize>(q).not.toBe(0);
      expect<bool>(opUsable(r, q) >= n).toBe(true);
      expect<bool>(painted(q, min<usize>(old, n), <u32>i)).toBe(true, "the bytes it held, up to the new size");
      if (q != p) expect<usize>(opUsable(r, p)).toBe(0, "the old place is freed");
      paint(q, n, <u32>i + 1);
      p = q;
      expect<u32>(heapCheck(r)).toBe(0);
    }
    let live = liveBlocks(r);
    expect<usize>(opRealloc(r, p, 0)).toBe(0, "realloc(p, 0) frees p");
    expect<usize>(opUsable(r, p)).toBe(0);
    expect<u32>(liveBlocks(r)).toBe(live - 1);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("realloc of a pointer that is not live returns 0 and changes nothing", () => {
    let r = arenaHeap(1 << 16);
    let a = opAlloc(r, 2000, 16, false); // (realloc(0, n) is the front ends' to turn into an allocation)
    expect<bool>(a != 0 && opUsable(r, a) >= 2000).toBe(true);
    let o = opAlloc(r, 50, 16, false), gone = opAlloc(r, 3000, 16, false), gone2 = opAlloc(r, 60, 16, false);
    opFree(r, gone);
    opFree(r, gone2);
    let copy = heap.alloc(1 << 16);
    memory.copy(copy, r, 1 << 16);
    expect<usize>(opRealloc(r, gone, 10)).toBe(0);
    expect<usize>(opRealloc(r, gone2, 10)).toBe(0);
    expect<usize>(opRealloc(r, a + 16, 10)).toBe(0);
    expect<usize>(opRealloc(r, o + 16, 10)).toBe(0);
    expect<usize>(opRealloc(r, a + 4, 10)).toBe(0);
    expect<i32>(memory.compare(copy, r, 1 << 16)).toBe(0);
  });

  it("a realloc that cannot be met returns 0 and leaves the block live, in place and intact", () => {
    let r = arenaHeap(1 << 16);
    let p = opAlloc(r, 1000, 16, false), o = opAlloc(r, 100, 16, false);
    paint(p, 1000, 9);
    paint(o, 100, 5);
    expect<usize>(opRealloc(r, p, 1 << 20)).toBe(0);
    expect<usize>(opRealloc(r, o, 1 << 20)).toBe(0);
    expect<usize>(opRealloc(r, p, MAX_REQUEST + 1)).toBe(0);
    expect<bool>(opUsable(r, p) >= 1000 && painted(p, 1000, 9)).toBe(true);
    expect<bool>(opUsable(r, o) >= 100 && painted(o, 100, 5)).toBe(true);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("a realloc that shrinks an object stays where it is when no smaller one can be had", () => {
    let r = warmHeap(1 << 16);
    let big = opAlloc(r, 1024, 16, false);
    expect<usize>(pageOf(r, big)).not.toBe(0);
    paint(big, 1024, 4);
    let n = 0;
    while (opAlloc(r, 100, 16, false) != 0) ++n; // fills the class of 100 bytes and the heap
    while (opAlloc(r, 1, 16, false) != 0) ++n;
    expect<bool>(n > 10).toBe(true);
    expect<usize>(opRealloc(r, big, 100)).toBe(big, "a shrink may always stay");
    expect<usize>(opUsable(r, big)).toBe(1024);
    expect<bool>(painted(big, 1024, 4)).toBe(true);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("in place: shrinking always works; growing takes a free successor, never a live one; an object never grows", () => {
    let r = warmHeap(1 << 16);
    let a = opAlloc(r, 4000, 16, false), b = opAlloc(r, 4000, 16, false), c = opAlloc(r, 100, 16, false);
    paint(a, 4000, 3);
    let usable = opUsable(r, a);
    expect<usize>(opInplace(r, a, 6000)).toBe(0, "b is in the way");
    expect<usize>(opUsable(r, a)).toBe(usable);
    expect<bool>(painted(a, 4000, 3)).toBe(true);
    opFree(r, b);
    expect<usize>(opInplace(r, a, 6000)).toBe(a);
    expect<bool>(opUsable(r, a) >= 6000).toBe(true);
    expect<bool>(painted(a, 4000, 3)).toBe(true);
    let shrink: StaticArray<usize> = [5000, 3000, 1000, 100, 1, 0];
    for (let i = 0; i < shrink.length; ++i) {
      expect<usize>(opInplace(r, a, shrink[i])).toBe(a);
      expect<bool>(opUsable(r, a) >= shrink[i] && opUsable(r, a) < shrink[i] + 32).toBe(true, "cut down to its new size");
      expect<u32>(heapCheck(r)).toBe(0);
    }
    let o = opAlloc(r, 100, 16, false);
    expect<usize>(opUsable(r, o)).toBe(112);
    expect<usize>(opInplace(r, o, 50)).toBe(o);
    expect<usize>(opInplace(r, o, 112)).toBe(o);
    expect<usize>(opInplace(r, o, 113)).toBe(0, "an object never grows in place");
    expect<usize>(opUsable(r, o)).toBe(112);
    opFree(r, o);
    expect<usize>(opInplace(r, o, 10)).toBe(0, "nor does a freed one shrink");
    opFree(r, a);
    expect<usize>(opInplace(r, a, 10)).toBe(0);
    expect<u32>(heapCheck(r)).toBe(0);
    expect<bool>(c != 0).toBe(true);
  });

  it("frees only live blocks: a second free, an interior or misaligned pointer change nothing", () => {
    let r = arenaHeap(1 << 16);
    let a = opAlloc(r, 2000, 16, false), o = opAlloc(r, 40, 16, false), fence = opAlloc(r, 2000, 16, false);
    expect<bool>(opFree(r, a)).toBe(true);
    expect<bool>(opFree(r, o)).toBe(true);
    let copy = heap.alloc(1 << 16);
    memory.copy(copy, r, 1 << 16);
    let bad: StaticArray<usize> = [a, o, fence + 16, fence + 4, o + 16, 16, 0];
    for (let i = 0; i < bad.length; ++i) expect<bool>(opFree(r, bad[i])).toBe(false);
    expect<i32>(memory.compare(copy, r, 1 << 16)).toBe(0);
    expect<u32>(liveBlocks(r)).toBe(1);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("counts a malloc per allocation, a free per free, and a realloc (not a malloc and a free) when it moves", () => {
    let r = warmHeap(1 << 18);
    let p = opAlloc(r, 100, 16, false), q = opAlloc(r, 5000, 16, false);
    opFree(r, q);
    let moved = opRealloc(r, p, 20000);
    expect<bool>(moved != p).toBe(true);
    // (p is an object of a page: its calls are derived from the pages by the stats)
    let st = heap.alloc(STATS_SIZE);
    writeStats(r, st);
    expect<u64>(load<u64>(st + ST_MALLOC_CALLS)).toBe(2);
    expect<u64>(load<u64>(st + ST_FREE_CALLS)).toBe(1);
    expect<u64>(load<u64>(st + ST_REALLOC_CALLS)).toBe(1);
    expect<u32>(load<u32>(st + ST_LIVE_BLOCKS)).toBe(1);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("asks the OOM handler once when memory cannot be had, never when told not to, and retries once", () => {
    let r = arenaHeap(1 << 17);
    oomCalls = 0;
    handle(refuse);
    expect<usize>(opAlloc(r, 1 << 20, 16, false)).toBe(0);
    expect<i32>(oomCalls).toBe(0, "tryAlloc: no handler");
    expect<usize>(opAlloc(r, 1 << 20, 16, true)).toBe(0);
    expect<i32>(oomCalls).toBe(1);
    handle(retryForever);
    expect<usize>(opAlloc(r, 1 << 20, 16, true)).toBe(0);
    expect<i32>(oomCalls).toBe(2, "one retry, not a loop");
    // a handler that frees memory: the retry succeeds
    oomHeap = r;
    oomVictim = opAlloc(r, 100000, 16, false);
    expect<usize>(oomVictim).not.toBe(0);
    handle(freeVictim);
    let p = opAlloc(r, 100000, 16, true);
    expect<usize>(p).not.toBe(0);
    expect<i32>(oomCalls).toBe(3);
    setOomHandlerIndex(0);
    expect<u32>(heapCheck(r)).toBe(0);
  });
});
