// small/quick.ts: the guarded builds' quick lists, compiled with the debug build's knobs (blocks
// carry guards: a 32-byte request is a 64-byte block, so sizes are read from the blocks).
import { quickFlush, quickPop, QUICK_MAX } from "../../../assembly/small/quick";
import { header, sizeOf, CACHED, FREE } from "../../../assembly/base/block";
import { R_QUICK_BYTES, R_QUICK_CAP, R_CLAIMED, field } from "../../../assembly/base/root";
import { QUICK_LIMIT, GUARDED } from "../../../assembly/base/config";
import { M_BAD_LIST } from "../../../assembly/base/abi";
import { heapCheck } from "../../../assembly/inspect/check";
import { arenaHeap, take, give } from "../arena.include";
import { reportedCode, reportedAddr, reportCount } from "./report.include";

let gR: usize = 0;
let gS: usize = 0;

describe("quick lists (small-object path)", () => {
  it("is compiled with the guarded knobs", () => {
    expect<bool>(GUARDED).toBe(true);
    expect<bool>(QUICK_MAX >= 1024).toBe(true);
  });

  it("caches a freed small block and hands it back, last in first out", () => {
    let r = arenaHeap(1 << 16);
    let a = take(r, 32), b = take(r, 32);
    give(r, a);
    give(r, b);
    expect<u32>(header(a) & CACHED).toBe(CACHED);
    expect<u32>(field(r, R_QUICK_BYTES)).toBe(<u32>(sizeOf(a) + sizeOf(b)));
    expect<usize>(take(r, 32)).toBe(b);
    expect<usize>(take(r, 30)).toBe(a); // same class: 30 bytes and the guard round to the same block
    expect<u32>(header(a) & CACHED).toBe(0);
    expect<u32>(field(r, R_QUICK_BYTES)).toBe(0);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("sends blocks above QUICK_MAX straight to the general lists", () => {
    let r = arenaHeap(1 << 16);
    let a = take(r, QUICK_MAX + 100), guard = take(r, 16);
    give(r, a);
    expect<u32>(header(a) & FREE).toBe(FREE);
    expect<u32>(field(r, R_QUICK_BYTES)).toBe(0);
    give(r, guard);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("caches at most an eighth of the heap (at least 64 KiB, at most QUICK_LIMIT)", () => {
    expect<u32>(field(arenaHeap(1 << 16), R_QUICK_CAP)).toBe(65536); // the floor
    for (let k = 0; k < 2; ++k) {
      let bytes: usize = k == 0 ? 1 << 20 : QUICK_LIMIT * 16;
      let r = arenaHeap(bytes);
      let cap = min<u32>(<u32>QUICK_LIMIT, max<u32>(field(r, R_CLAIMED) >> 3, 65536));
      expect<u32>(field(r, R_QUICK_CAP)).toBe(cap);
      let ps = new Array<usize>();
      ps.push(take(r, 32));
      let bs = <u32>sizeOf(ps[0]);
      for (let i = 0; i < <i32>(cap / bs) + 100; ++i) ps.push(take(r, 32));
      for (let i = 0; i < ps.length; ++i) give(r, ps[i]);
      expect<bool>(field(r, R_QUICK_BYTES) <= cap).toBe(true);
      expect<bool>(field(r, R_QUICK_BYTES) > cap - bs).toBe(true); // it did fill up to the cap
      expect<u32>(heapCheck(r)).toBe(0);
    }
  });

  it("merges the cache back before the general path hands out blocks around it", () => {
    let r = arenaHeap(1 << 17);
    let ps = new Array<usize>();
    ps.push(take(r, 12));
    let bs = <u32>sizeOf(ps[0]);
    let n = <i32>((field(r, R_QUICK_CAP) >> 1) / bs) + 100; // over half the cap
    for (let i = 1; i < n; ++i) ps.push(take(r, 12));
    for (let i = 0; i < ps.length; ++i) give(r, ps[i]);
    expect<bool>(field(r, R_QUICK_BYTES) > field(r, R_QUICK_CAP) >> 1).toBe(true);
    let big = take(r, 2000); // a general-path request
    expect<u32>(field(r, R_QUICK_BYTES)).toBe(0);
    expect<usize>(big).toBe(ps[0]); // the merged cache is reused from its start
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("flushes every cached block back, merged, so a large block fits again", () => {
    let r = arenaHeap(1 << 16);
    let ps = new Array<usize>();
    let p: usize;
    while ((p = take(r, 40)) != 0) ps.push(p);
    for (let i = 0; i < ps.length; ++i) give(r, ps[i]);
    expect<bool>(field(r, R_QUICK_BYTES) > 0).toBe(true);
    // A large request cannot be met from the lists alone: the heap flushes and merges.
    let big = take(r, 40000);
    expect<usize>(big).not.toBe(0);
    expect<u32>(field(r, R_QUICK_BYTES)).toBe(0);
    expect<u32>(heapCheck(r)).toBe(0);
    expect<bool>(quickFlush(r)).toBe(false); // nothing left to flush
  });

  it("reports a cached block whose link was overwritten (a write after free) instead of following it", () => {
    let r = arenaHeap(1 << 16);
    let live = take(r, 32), b = take(r, 32), fence = take(r, 32);
    give(r, b);
    store<u32>(b, <u32>live); // the program writes a pointer into the freed block
    gR = r;
    gS = sizeOf(b);
    let before = reportCount();
    expect<() => void>(() => { quickPop(gR, gS); }).toThrow();
    expect<u32>(reportCount()).toBe(before + 1);
    expect<u32>(reportedCode()).toBe(M_BAD_LIST);
    expect<usize>(reportedAddr()).toBe(b);
    expect<u32>(header(live) & CACHED).toBe(0); // never handed out from the list
    expect<bool>(fence != 0).toBe(true);
  });
});
