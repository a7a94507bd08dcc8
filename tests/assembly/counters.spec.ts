// core/counters.ts: the calls, live blocks and held bytes a heap root counts; first on an empty
// root, then driven by the general path of a fixed arena.
import { noteAlloc, noteFree, noteRealloc, liveBlocks, heldBytes, noteHeld } from "../../assembly/core/counters";
import {
  ROOT_SIZE, R_MALLOCS, R_FREES, R_REALLOCS, R_SPLITS, R_BLOCK_BYTES, R_FREE_BYTES, R_PEAK_HELD, field, setField,
} from "../../assembly/base/root";
import { sizeOf } from "../../assembly/base/block";
import { heapResize } from "../../assembly/core/heap";
import { heapCheck } from "../../assembly/inspect/check";
import { arenaHeap, take, give } from "./arena.include";

function emptyRoot(): usize {
  let r = (heap.alloc(ROOT_SIZE + 16) + 15) & ~15;
  memory.fill(r, 0, ROOT_SIZE);
  return r;
}

describe("counters", () => {
  it("counts allocating, freeing and realloc calls, each in its own 64-bit field", () => {
    let r = emptyRoot();
    noteAlloc(r, 48);
    noteAlloc(r, 16);
    noteAlloc(r, 4096);
    noteFree(r, 16);
    noteRealloc(r);
    noteRealloc(r);
    expect<u64>(load<u64>(r + R_MALLOCS)).toBe(3);
    expect<u64>(load<u64>(r + R_FREES)).toBe(1);
    expect<u64>(load<u64>(r + R_REALLOCS)).toBe(2);
    expect<u32>(liveBlocks(r)).toBe(2);
  });

  it("keeps counting past 2^32 calls, and live blocks stay right", () => {
    let r = emptyRoot();
    store<u64>(r + R_MALLOCS, 0xFFFF_FFFF);
    store<u64>(r + R_FREES, 0xFFFF_FFF0);
    noteAlloc(r, 16);
    expect<u64>(load<u64>(r + R_MALLOCS)).toBe(0x1_0000_0000);
    expect<u32>(liveBlocks(r)).toBe(16);
    noteFree(r, 16);
    noteFree(r, 16);
    expect<u64>(load<u64>(r + R_FREES)).toBe(0xFFFF_FFF2);
    expect<u32>(liveBlocks(r)).toBe(14);
  });

  it("counts the blocks partial frees split off as live", () => {
    let r = emptyRoot();
    noteAlloc(r, 64);
    setField(r, R_SPLITS, 2);
    expect<u32>(liveBlocks(r)).toBe(3);
  });

  it("derives held bytes from the block and free byte counts, and only raises the peak", () => {
    let r = emptyRoot();
    setField(r, R_BLOCK_BYTES, 10000);
    setField(r, R_FREE_BYTES, 4000);
    expect<u32>(heldBytes(r)).toBe(6000);
    noteHeld(r);
    expect<u32>(field(r, R_PEAK_HELD)).toBe(6000);
    setField(r, R_FREE_BYTES, 9000);
    noteHeld(r);
    expect<u32>(field(r, R_PEAK_HELD)).toBe(6000, "the peak stays");
    setField(r, R_FREE_BYTES, 1000);
    noteHeld(r);
    expect<u32>(field(r, R_PEAK_HELD)).toBe(9000);
  });

  it("follows the general path: live blocks, held bytes and their peak", () => {
    let r = arenaHeap(1 << 16);
    expect<u32>(heldBytes(r)).toBe(0);
    let a = take(r, 1000), b = take(r, 3000);
    let held = <u32>(sizeOf(a) + sizeOf(b));
    expect<u32>(liveBlocks(r)).toBe(2);
    expect<u32>(heldBytes(r)).toBe(held);
    expect<u32>(field(r, R_PEAK_HELD)).toBe(held);
    give(r, b);
    expect<u32>(liveBlocks(r)).toBe(1);
    expect<u32>(heldBytes(r)).toBe(<u32>sizeOf(a));
    expect<u32>(field(r, R_PEAK_HELD)).toBe(held, "the peak is kept");
    expect<bool>(heapResize(r, a, 20000)).toBe(true); // grows in place into what b left
    expect<u32>(heldBytes(r)).toBe(<u32>sizeOf(a));
    expect<u32>(field(r, R_PEAK_HELD)).toBe(<u32>sizeOf(a), "growing in place raises the peak");
    expect<u32>(heapCheck(r)).toBe(0);
  });
});
