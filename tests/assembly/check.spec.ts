import { heapAlloc, heapFree } from "../../assembly/small/front";
import { blockSizeFor, header, setHeader, sizeOf, PREV_FREE, FREE, CACHED } from "../../assembly/base/block";
import { heapCheck } from "../../assembly/inspect/check";
import {
  CHECK_PREV_BIT, CHECK_FOOTER, CHECK_COUNTERS, CHECK_SIZE, CHECK_QUICK, CHECK_STATE, CHECK_BITMAP,
  CHECK_LINK,
} from "../../assembly/base/abi";
import { R_FREE_BYTES, R_FLMAP, field, setField } from "../../assembly/base/root";
import { noteAlloc, noteFree } from "../../assembly/core/counters";
import { arenaHeap, take, give } from "./arena.include";


/** A heap with a used, a free (general) and a cached block, in that order, plus a guard. */
function sample(): StaticArray<usize> {
  let r = arenaHeap(1 << 16);
  let used = take(r, 2000), free = take(r, 2000), guard = take(r, 100), cached = take(r, 32), end = take(r, 100);
  give(r, free);
  give(r, cached);
  let out = new StaticArray<usize>(5);
  out[0] = r; out[1] = used; out[2] = free; out[3] = guard; out[4] = cached;
  expect<u32>(heapCheck(r)).toBe(0);
  expect<bool>(end != 0).toBe(true);
  return out;
}

describe("heap walker", () => {
  it("passes a sound heap", () => {
    let s = sample();
    expect<u32>(heapCheck(s[0])).toBe(0);
  });

  it("names a PREV_FREE bit that disagrees with the block before", () => {
    let s = sample();
    setHeader(s[3], header(s[3]) & ~PREV_FREE);
    expect<u32>(heapCheck(s[0])).toBe(CHECK_PREV_BIT);
  });

  it("names a broken footer", () => {
    let s = sample();
    store<u32>(s[2] + sizeOf(s[2]) - 8, 12345);
    expect<u32>(heapCheck(s[0])).toBe(CHECK_FOOTER);
  });

  it("names a block below the minimum size", () => {
    let s = sample();
    setHeader(s[1], 0);
    expect<u32>(heapCheck(s[0])).toBe(CHECK_SIZE);
  });

  it("names a block both FREE and CACHED", () => {
    let s = sample();
    setHeader(s[2], header(s[2]) | CACHED);
    expect<u32>(heapCheck(s[0])).toBe(CHECK_STATE);
  });

  it("names a cached block that lost its CACHED bit (a use-after-free write)", () => {
    let s = sample();
    setHeader(s[4], header(s[4]) & ~CACHED);
    let code = heapCheck(s[0]);
    expect<bool>(code == CHECK_QUICK || code == CHECK_COUNTERS).toBe(true);
  });

  it("names a free-list link that leaves the heap", () => {
    let s = sample();
    store<u32>(s[2], 8); // next-free link of the free block
    expect<u32>(heapCheck(s[0])).toBe(CHECK_LINK);
  });

  it("names a bitmap that disagrees with the lists", () => {
    let s = sample();
    setField(s[0], R_FLMAP, field(s[0], R_FLMAP) ^ (1 << 20));
    expect<u32>(heapCheck(s[0])).toBe(CHECK_BITMAP);
  });

  it("names counters that disagree with the walk", () => {
    let s = sample();
    setField(s[0], R_FREE_BYTES, field(s[0], R_FREE_BYTES) + 16);
    expect<u32>(heapCheck(s[0])).toBe(CHECK_COUNTERS);
    expect<u32>(FREE).toBe(1);
  });
});
