import { sizeOf } from "../../assembly/base/block";
import { noteRealloc } from "../../assembly/core/counters";
import { writeStats } from "../../assembly/inspect/stats";
import { STATS_SIZE, STATS_VERSION } from "../../assembly/base/abi";
import { arenaHeap, take, give } from "./arena.include";

describe("stats", () => {
  it("fills the versioned struct: size and version first, then the counters", () => {
    let r = arenaHeap(1 << 16);
    let out = heap.alloc(STATS_SIZE);
    let a = take(r, 100);
    let b = take(r, 200);
    noteRealloc(r);
    writeStats(r, out);
    expect<u32>(load<u32>(out, 0)).toBe(64);
    expect<u32>(load<u32>(out, 4)).toBe(STATS_VERSION);
    expect<u32>(load<u32>(out, 8)).toBe(<u32>(sizeOf(a) + sizeOf(b) - 8)); // usable bytes
    expect<u32>(load<u32>(out, 12)).toBe(<u32>(sizeOf(a) + sizeOf(b)));   // peak held: headers in
    expect<bool>(load<u32>(out, 16) >= (1 << 16) - 16).toBe(true);        // arena + root claimed
    expect<u64>(load<u64>(out, 24)).toBe(2);
    expect<u64>(load<u64>(out, 32)).toBe(0);
    expect<u64>(load<u64>(out, 40)).toBe(1);
    expect<u32>(load<u32>(out, 48)).toBe(2);
    let sa = sizeOf(a);
    give(r, a);
    writeStats(r, out);
    expect<u32>(load<u32>(out, 8)).toBe(<u32>(sizeOf(b) - 4));
    expect<u32>(load<u32>(out, 12)).toBe(<u32>(sa + sizeOf(b)));     // the peak is kept
    expect<u64>(load<u64>(out, 32)).toBe(1);
    expect<u32>(load<u32>(out, 48)).toBe(1);
  });
});
