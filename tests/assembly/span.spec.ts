import { spanEnd, spanNext, spanFirst } from "../../assembly/core/span";
import { heapCreate, heapAddMemory } from "../../assembly/core/heap";
import { sizeOf, header, FREE } from "../../assembly/base/block";
import { ROOT_SIZE, R_SPANS, R_CLAIMED, field } from "../../assembly/base/root";
import { heapCheck } from "../../assembly/inspect/check";

/** A 16-aligned region of n bytes that nothing else uses. */
function region(n: usize): usize {
  return (heap.alloc(n + 16) + 15) & ~15;
}

describe("span", () => {
  it("turns a fresh stretch into one free block between a head and a tail", () => {
    let r = region(ROOT_SIZE);
    heapCreate(r, r); // a root with no memory yet
    let base = region(4096);
    let p = heapAddMemory(r, base, base + 4096);
    expect<usize>(p).toBe(base + 16);
    expect<usize>(sizeOf(p)).toBe(4096 - 16);
    expect<u32>(header(p) & FREE).toBe(FREE);
    expect<usize>(spanEnd(base)).toBe(base + 4096);
    expect<u32>(field(r, R_SPANS)).toBe(<u32>base);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("extends the newest span in place when the new stretch starts at its end, merging the free tail", () => {
    let r = region(ROOT_SIZE);
    heapCreate(r, r);
    let base = region(8192);
    heapAddMemory(r, base, base + 4096);
    let p = heapAddMemory(r, base + 4096, base + 8192);
    expect<usize>(p).toBe(base + 16);            // merged with the free block before it
    expect<usize>(sizeOf(p)).toBe(8192 - 16);
    expect<usize>(spanNext(base)).toBe(0);       // still one span
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("opens a second span for a stretch that is not contiguous", () => {
    let r = region(ROOT_SIZE);
    heapCreate(r, r);
    let a = region(4096), b = region(4096);
    heapAddMemory(r, a, a + 4096);
    heapAddMemory(r, b, b + 4096);
    expect<u32>(field(r, R_SPANS)).toBe(<u32>b);
    expect<usize>(spanNext(b)).toBe(a);
    expect<u32>(field(r, R_CLAIMED)).toBe(<u32>(ROOT_SIZE + 8192));
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("aligns a ragged stretch inward and refuses one too small to hold a block", () => {
    let r = region(ROOT_SIZE);
    heapCreate(r, r);
    let base = region(4096);
    let p = heapAddMemory(r, base + 3, base + 4096 - 5);
    expect<usize>(p).toBe(base + 32);
    expect<usize>(spanFirst(base + 16)).toBe(p);
    let tiny = region(64);
    expect<usize>(heapAddMemory(r, tiny, tiny + 40)).toBe(0);
    expect<u32>(heapCheck(r)).toBe(0);
  });
});
