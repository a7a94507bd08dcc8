import { heapAlign, heapResize, heapOwns } from "../../assembly/core/heap";
import { heapAlloc, heapFree } from "../../assembly/small/front";
import { blockSizeFor, sizeOf, header, FREE, PREV_FREE } from "../../assembly/base/block";
import { heapCheck } from "../../assembly/inspect/check";
import { ROOT_SIZE } from "../../assembly/base/root";
import { noteAlloc } from "../../assembly/core/counters";
import { arenaHeap, take, give } from "./arena.include";



describe("heap (general path)", () => {
  it("hands out disjoint, 16-aligned blocks that hold what was asked", () => {
    let r = arenaHeap(1 << 16);
    let a = take(r, 2000), b = take(r, 3000), c = take(r, 5000);
    expect<usize>(a & 15).toBe(0);
    expect<usize>(b & 15).toBe(0);
    expect<bool>(b >= a + 2000 || a >= b + 3000).toBe(true);
    expect<bool>(c >= b + 3000 || b >= c + 5000).toBe(true);
    expect<bool>(sizeOf(c) - 4 >= 5000).toBe(true);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("merges a freed block with free neighbours on both sides", () => {
    let r = arenaHeap(1 << 16);
    let a = take(r, 2000), b = take(r, 2000), c = take(r, 2000), d = take(r, 2000);
    give(r, a);
    give(r, c);
    expect<u32>(header(b) & PREV_FREE).toBe(PREV_FREE);
    let sa = sizeOf(a), sb = sizeOf(b), sc = sizeOf(c);
    give(r, b); // merges a + b + c
    expect<u32>(header(a) & FREE).toBe(FREE);
    expect<usize>(sizeOf(a)).toBe(sa + sb + sc);
    expect<u32>(heapCheck(r)).toBe(0);
    give(r, d);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("returns 0 when the fixed arena is exhausted, and is whole again after freeing everything", () => {
    let r = arenaHeap(1 << 16);
    let ps = new Array<usize>();
    let p: usize;
    while ((p = take(r, 3000)) != 0) ps.push(p);
    expect<i32>(ps.length).toBeGreaterThan(15);
    expect<usize>(take(r, 3000)).toBe(0);
    expect<u32>(heapCheck(r)).toBe(0);
    for (let i = 0; i < ps.length; i += 2) give(r, ps[i]);
    for (let i = 1; i < ps.length; i += 2) give(r, ps[i]);
    expect<u32>(heapCheck(r)).toBe(0);
    let big = take(r, (1 << 16) - ROOT_SIZE - 64); // all but the root and the span's own bytes
    expect<usize>(big).not.toBe(0);
  });

  it("aligns a block to any power of two and frees the gap and the tail", () => {
    let r = arenaHeap(1 << 18);
    for (let align: usize = 32; align <= 16384; align <<= 1) {
      let s = blockSizeFor(100);
      let raw = heapAlloc(r, s + align + 16);
      expect<usize>(raw).not.toBe(0);
      let p = heapAlign(r, raw, s, align);
      noteAlloc(r, sizeOf(p));
      expect<usize>(p % align).toBe(0);
      expect<usize>(sizeOf(p)).toBe(s);
      expect<u32>(heapCheck(r)).toBe(0);
    }
  });

  it("resizes in place: shrinking always, growing into a free successor", () => {
    let r = arenaHeap(1 << 16);
    let a = take(r, 4000), b = take(r, 4000), c = take(r, 100);
    give(r, b);
    expect<bool>(heapResize(r, a, blockSizeFor(7000))).toBe(true);
    expect<bool>(sizeOf(a) >= blockSizeFor(7000)).toBe(true);
    expect<u32>(heapCheck(r)).toBe(0);
    expect<bool>(heapResize(r, a, blockSizeFor(100000))).toBe(false); // c is in the way
    expect<u32>(heapCheck(r)).toBe(0);
    expect<bool>(heapResize(r, a, blockSizeFor(10))).toBe(true);
    expect<usize>(sizeOf(a)).toBe(blockSizeFor(10));
    expect<u32>(heapCheck(r)).toBe(0);
    give(r, a);
    give(r, c);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("owns only live blocks it handed out", () => {
    let r = arenaHeap(1 << 16);
    let a = take(r, 100);
    expect<bool>(heapOwns(r, a)).toBe(true);
    expect<bool>(heapOwns(r, a + 16)).toBe(false);  // interior: its "header" is payload
    expect<bool>(heapOwns(r, a + 4)).toBe(false);   // misaligned
    expect<bool>(heapOwns(r, 16)).toBe(false);      // below the heap
    give(r, a);
    expect<bool>(heapOwns(r, a)).toBe(false);       // freed (cached)
  });
});
