// small/front.ts in the guarded builds: the quick lists in front of the free lists (compiled
// with the debug build's knobs). A block freed into a quick list comes back whole, as it does
// to the free lists (front.spec.ts).
import { heapAlloc, heapFree } from "../../../assembly/small/front";
import { recordDead } from "../../../assembly/core/dead";
import { header, setHeader, sizeOf, CACHED, LEAD_DEAD } from "../../../assembly/base/block";
import { R_DEAD, field } from "../../../assembly/base/root";
import { guardRetire } from "../../../assembly/diag/guard";
import { noteFree } from "../../../assembly/core/counters";
import { arenaHeap, take, give } from "../arena.include";

describe("front (guarded: quick lists first)", () => {
  it("hands out a cached block of the size before any free block", () => {
    let r = arenaHeap(1 << 16);
    let a = take(r, 100), fence = take(r, 100), b = take(r, 100), fence2 = take(r, 100);
    give(r, a);
    give(r, b);
    expect<u32>(header(a) & CACHED).toBe(CACHED);
    expect<usize>(heapAlloc(r, sizeOf(a))).toBe(b, "the last cached first");
    expect<bool>(fence != 0 && fence2 != 0).toBe(true);
  });

  it("takes a cached block back whole: its dead lead mark and the dead pieces inside it go", () => {
    let r = arenaHeap(1 << 16);
    let b = take(r, 100), c = take(r, 2000), fence = take(r, 100);
    setHeader(b, header(b) | LEAD_DEAD); // as a partial free of its first bytes leaves it
    store<u8>(b, 3);
    recordDead(r, b + 40, b + 44);
    recordDead(r, c + 50, c + 60);
    let s = sizeOf(b);
    guardRetire(b, s);
    noteFree(r, s);
    heapFree(r, b, header(b));
    expect<u32>(header(b) & CACHED).toBe(CACHED, "small: into its quick list");
    expect<u32>(header(b) & LEAD_DEAD).toBe(0, "without the dead lead mark");
    expect<u32>(field(r, R_DEAD)).toBe(1, "c's piece stays");
    let again = heapAlloc(r, s);
    expect<usize>(again).toBe(b);
    expect<u32>(header(again) & (LEAD_DEAD | CACHED)).toBe(0);
    expect<bool>(fence != 0).toBe(true);
  });
});
