// small/front.ts: a heap's free memory as its callers see it, as release ships it: the free
// lists, and the empty pages the small path holds back, flushed before a request fails; a whole
// list searched before giving up; a freed block coming back whole. (The guarded builds' quick
// lists in front of the lists: guarded/quick.spec.ts.)
import { heapAlloc, heapFree, flushCaches } from "../../assembly/small/front";
import { QUICK_MAX } from "../../assembly/small/quick";
import { pageAlloc, pageOf, classOf } from "../../assembly/small/page";
import { findFree } from "../../assembly/core/bins";
import { recordDead } from "../../assembly/core/dead";
import { header, setHeader, sizeOf, FREE, LEAD_DEAD } from "../../assembly/base/block";
import { ROOT_SIZE, R_DEAD, R_PT, field } from "../../assembly/base/root";
import { noteAlloc, noteFree } from "../../assembly/core/counters";
import { heapCheck } from "../../assembly/inspect/check";
import { pagePush } from "../../assembly/small/page";
import { arenaHeap, take, give } from "./arena.include";

describe("front (a heap's free memory)", () => {
  it("has no quick lists as release ships it", () => {
    expect<usize>(QUICK_MAX).toBe(0);
  });

  it("flushes the empty pages it holds back before a request fails, so all of the heap can be had", () => {
    let r = arenaHeap(1 << 16);
    let o = pageAlloc(r, classOf(48));
    let pg = pageOf(r, o);
    expect<bool>(pagePush(r, pg, o)).toBe(true);
    expect<usize>(pageOf(r, o)).toBe(pg, "an emptied page stays where it is");
    let all: usize = (1 << 16) - ROOT_SIZE - 64; // all but the root and the span's own bytes
    let s = (all + 4 + 15) & ~15;
    expect<usize>(findFree(r, s)).toBe(0, "the empty page and the table split the free memory");
    let p = heapAlloc(r, s);
    expect<usize>(p).not.toBe(0);
    noteAlloc(r, sizeOf(p));
    expect<usize>(pageOf(r, o)).toBe(0, "the page went back");
    expect<u32>(field(r, R_PT)).toBe(0, "and the table with it");
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("says whether it flushed anything", () => {
    let r = arenaHeap(1 << 16);
    expect<bool>(flushCaches(r)).toBe(false);
    let o = pageAlloc(r, 1);
    expect<bool>(flushCaches(r)).toBe(false, "a page in use is not flushed");
    pagePush(r, pageOf(r, o), o);
    expect<bool>(flushCaches(r)).toBe(true);
    expect<bool>(flushCaches(r)).toBe(false);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("searches all of the request's own list before giving up, past the bounded scan", () => {
    let r = arenaHeap(1 << 16);
    let y = take(r, 1068); // a 1,072-byte block: list [1024, 1088), like the 1,040-byte ones
    take(r, 12);
    let xs = new Array<usize>();
    for (let i = 0; i < 40; ++i) {
      xs.push(take(r, 1036)); // 1,040 bytes
      take(r, 12); // keeps them apart
    }
    while (take(r, 12) != 0) {} // nothing else free
    give(r, y); // first in, so last in its list
    for (let i = 0; i < xs.length; ++i) give(r, xs[i]);
    expect<usize>(sizeOf(y)).toBe(1072);
    expect<usize>(findFree(r, 1056)).toBe(0, "the good-fit search and its scan of 32 miss y");
    let p = heapAlloc(r, 1056);
    expect<usize>(p).toBe(y);
    noteAlloc(r, sizeOf(p));
    expect<u32>(heapCheck(r)).toBe(0);
    expect<usize>(heapAlloc(r, 1056)).toBe(0, "none is left: 0, and nothing grows");
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("takes a freed block back whole: its dead lead and the dead pieces inside it, not another block's", () => {
    let r = arenaHeap(1 << 16);
    let b = take(r, 2000), c = take(r, 2000), fence = take(r, 100);
    let size = sizeOf(b);
    setHeader(b, header(b) | LEAD_DEAD); // as a partial free of its first bytes leaves it
    store<u8>(b, 5);
    recordDead(r, b + 100, b + 110);
    recordDead(r, c + 50, c + 60);
    noteFree(r, sizeOf(b));
    heapFree(r, b, header(b));
    expect<u32>(header(b) & (FREE | LEAD_DEAD)).toBe(FREE);
    expect<u32>(field(r, R_DEAD)).toBe(1, "c's piece stays");
    expect<u32>(heapCheck(r)).toBe(0);
    expect<usize>(sizeOf(b)).toBe(size, "b is one free block of its whole size (its neighbours are live)");
    expect<bool>(fence != 0).toBe(true);
  });
});
