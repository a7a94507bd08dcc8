// inspect/check.ts as release ships it: the general blocks' invariants, and the pages of small
// objects (small/page.ts). The quick lists' and guards' checks are in guarded/check.spec.ts.
import { header, setHeader, sizeOf, PREV_FREE, FREE, CACHED, META } from "../../assembly/base/block";
import { heapCheck } from "../../assembly/inspect/check";
import {
  CHECK_PREV_BIT, CHECK_FOOTER, CHECK_COUNTERS, CHECK_SIZE, CHECK_STATE, CHECK_BITMAP, CHECK_LINK,
  CHECK_PAGE, CHECK_DEAD,
} from "../../assembly/base/abi";
import { R_FREE_BYTES, R_FLMAP, field, setField } from "../../assembly/base/root";
import { noteAlloc } from "../../assembly/core/counters";
import { pageAlloc, pageOf, classOf, capacityOf, tableEntry } from "../../assembly/small/page";
import { recordDead } from "../../assembly/core/dead";
import { arenaHeap, take, give } from "./arena.include";


/** A heap with a used and a free (general) block, a guard, a live object of a page of small
 *  objects, and a last block, in that order. */
function sample(): StaticArray<usize> {
  let r = arenaHeap(1 << 16);
  let used = take(r, 2000), free = take(r, 2000), guard = take(r, 100);
  let object = pageAlloc(r, classOf(32)); // (objects are counted by the stats, not here)
  let end = take(r, 100);
  give(r, free);
  let out = new StaticArray<usize>(5);
  out[0] = r; out[1] = used; out[2] = free; out[3] = guard; out[4] = object;
  expect<usize>(pageOf(r, object)).not.toBe(0);
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

  it("names a page that lost its META bit (it would pass for a program's block)", () => {
    let s = sample();
    let pg = pageOf(s[0], s[4]);
    setHeader(pg, header(pg) & ~META);
    expect<u32>(heapCheck(s[0])).toBe(CHECK_PAGE);
  });

  it("names a page whose live flags disagree with its lists (an object freed behind its back, or a stray flag)", () => {
    for (let k = 0; k < 3; ++k) {
      let s = sample();
      let pg = pageOf(s[0], s[4]);
      let flags = pg + 40; // the page's flags: a byte per object (small/page.ts)
      if (k == 0) store<u8>(flags, 0); // its first object, live, no longer flagged
      else if (k == 1) store<u8>(flags + capacityOf(pg) - 1, 1); // an object never handed out flagged live
      else store<u8>(flags, 3); // a threaded object flagged as never threaded
      expect<u32>(heapCheck(s[0])).toBe(CHECK_PAGE);
    }
  });

  it("names a page table entry that does not lead to its page", () => {
    let s = sample();
    let pg = pageOf(s[0], s[4]);
    let t = tableEntry(s[0], pg);
    store<u8>(t, 2); // "a page starts one region below": not where this page starts
    expect<u32>(heapCheck(s[0])).toBe(CHECK_PAGE);
  });

  it("names a dead piece recorded outside every live block", () => {
    let s = sample();
    recordDead(s[0], s[2] + 32, s[2] + 48); // inside the free block
    expect<u32>(heapCheck(s[0])).toBe(CHECK_DEAD);
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
