// inspect/check.ts in the guarded builds: the quick lists' cached blocks and each live block's
// guard are part of the walk (compiled with the debug build's knobs).
import { header, setHeader, sizeOf, CACHED } from "../../../assembly/base/block";
import { heapCheck, checkFailedAt } from "../../../assembly/inspect/check";
import { CHECK_QUICK, CHECK_GUARD } from "../../../assembly/base/abi";
import { R_QUICK_BYTES, field, setField, quickSlot } from "../../../assembly/base/root";
import { requestOf } from "../../../assembly/diag/guard";
import { arenaHeap, take, give } from "../arena.include";

/** A heap with a used block, a cached one (in a quick list) and a last block, in that order. */
function sample(): StaticArray<usize> {
  let r = arenaHeap(1 << 16);
  let used = take(r, 100), cached = take(r, 32), end = take(r, 100);
  give(r, cached);
  let out = new StaticArray<usize>(4);
  out[0] = r; out[1] = used; out[2] = cached; out[3] = end;
  expect<u32>(header(cached) & CACHED).toBe(CACHED);
  expect<u32>(heapCheck(r)).toBe(0);
  return out;
}

describe("heap walker (guarded)", () => {
  it("names a cached block that lost its CACHED bit (a use-after-free write)", () => {
    let s = sample();
    setHeader(s[2], header(s[2]) & ~CACHED);
    // The walk meets it first, as a live block: its guard was retired when it was freed.
    expect<u32>(heapCheck(s[0])).toBe(CHECK_GUARD);
    expect<usize>(checkFailedAt()).toBe(s[2]);
  });

  it("names a quick list whose byte count is off", () => {
    let s = sample();
    setField(s[0], R_QUICK_BYTES, field(s[0], R_QUICK_BYTES) + 16);
    expect<u32>(heapCheck(s[0])).toBe(CHECK_QUICK);
  });

  it("names a cached block listed under another size class", () => {
    let s = sample();
    let size = sizeOf(s[2]);
    store<u32>(quickSlot(s[0], size), 0);
    store<u32>(quickSlot(s[0], size + 16), <u32>s[2]); // the list of the next class now holds it
    expect<u32>(heapCheck(s[0])).toBe(CHECK_QUICK);
    expect<usize>(checkFailedAt()).toBe(s[2]);
  });

  it("names a write past a live block's request (its canary), at that block", () => {
    let s = sample();
    let p = s[1];
    store<u8>(p + requestOf(p), load<u8>(p + requestOf(p)) ^ 0x01);
    expect<u32>(heapCheck(s[0])).toBe(CHECK_GUARD);
    expect<usize>(checkFailedAt()).toBe(p);
  });

  it("names a live block whose trailer was changed (its check word no longer matches)", () => {
    let s = sample();
    let p = s[3];
    let t = p + sizeOf(p) - 16; // the trailer: request, serial, check word
    store<u32>(t, load<u32>(t) - 1); // claims one byte less was asked for
    expect<u32>(heapCheck(s[0])).toBe(CHECK_GUARD);
    expect<usize>(checkFailedAt()).toBe(p);
  });
});
